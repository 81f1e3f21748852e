"""EfficientNet-Lite's SAME padding in an exported ONNX graph: computed for
each input size, not kept from the size the graph was traced at (a
FracAtlas model traced at 480 x 480 gave other scores than PyTorch on
480 x 384 inputs)."""
import numpy as np
import onnxruntime
import pytest
import torch

from mmdet_famo.models.backbones.efficientnet_lite import (EfficientNetLite,
                                                           SameConv2d)


def exported(module, example, path):
    with torch.no_grad():
        torch.onnx.export(module, (example, ), str(path), dynamo=False,
                          input_names=['x'], output_names=['y'],
                          dynamic_axes=dict(x={2: 'h', 3: 'w'}))
    return onnxruntime.InferenceSession(
        str(path), providers=['CPUExecutionProvider'])


@pytest.mark.parametrize('kernel, stride', [(3, 2), (5, 2), (3, 1)])
def test_same_conv_pads_each_input_size_as_tensorflow(kernel, stride,
                                                      tmp_path):
    torch.manual_seed(0)
    conv = SameConv2d(2, 3, kernel, stride, bias=False).eval()
    session = exported(conv, torch.rand(1, 2, 16, 16), tmp_path / 'c.onnx')
    for height, width in ((16, 16), (16, 12), (15, 9), (21, 8)):
        x = torch.rand(1, 2, height, width)
        # TensorFlow's SAME: ceil(size / stride) outputs, the extra row or
        # column of padding at the bottom or right
        total = [max((-(-n // stride) - 1) * stride + kernel - n, 0)
                 for n in (height, width)]
        with torch.no_grad():
            reference = torch.nn.functional.conv2d(
                torch.nn.functional.pad(
                    x, (total[1] // 2, total[1] - total[1] // 2,
                        total[0] // 2, total[0] - total[0] // 2)),
                conv.weight, stride=stride)
            torch.testing.assert_close(conv(x), reference)
        np.testing.assert_allclose(
            session.run(None, dict(x=x.numpy()))[0], reference.numpy(),
            rtol=1e-5, atol=1e-5)


def test_exported_encoder_matches_pytorch_at_other_sizes(tmp_path):
    torch.manual_seed(0)

    class LastLevel(torch.nn.Module):

        def __init__(self):
            super().__init__()
            self.encoder = EfficientNetLite(out_indices=(2, 4, 6))

        def forward(self, x):
            return self.encoder(x)[-1]

    encoder = LastLevel().eval()
    session = exported(encoder, torch.rand(1, 3, 96, 96), tmp_path / 'e.onnx')
    x = torch.rand(1, 3, 96, 64)  # the traced height, another width
    with torch.no_grad():
        expected = encoder(x).numpy()
    np.testing.assert_allclose(
        session.run(None, dict(x=x.numpy()))[0], expected, rtol=1e-4,
        atol=1e-4)
