"""ONNX Runtime's RoiAlign and NonMaxSuppression against mmcv's kernels,
the definitions the exported graph relies on."""
import numpy as np
import pytest
import torch
from mmcv.ops import RoIAlign
from mmcv.ops import nms as mmcv_nms

onnx = pytest.importorskip('onnx', reason='onnx is not installed')
ort = pytest.importorskip('onnxruntime',
                          reason='onnxruntime is not installed')
from onnx import TensorProto, helper  # noqa: E402

from mmdet_famo.deploy.onnx_ops import OPSET, nms, roi_align  # noqa: E402

# Tracing mmcv's ops warns on their shape asserts, fixed for the trace.
pytestmark = pytest.mark.filterwarnings('ignore::torch.jit.TracerWarning')

#: Feature map 1 x 3 x 13 x 17 at stride 8: an image of 104 x 136 px.
HEIGHT, WIDTH, STRIDE = 13, 17, 8
#: RoIs in image pixels: inside, at each border, past the image, thin in
#: both directions (1:40), sub-pixel, a single point and a huge square.
ROIS = np.array([
    [10.3, 12.7, 60.1, 50.9],
    [0., 0., 30., 20.],
    [100., 80., 136., 104.],
    [-20., -15., 25., 30.],
    [120., 90., 170., 140.],
    [5., 40., 131., 43.2],
    [60., 2., 63., 101.],
    [50.2, 50.2, 50.7, 50.6],
    [70., 70., 70., 70.],
    [-200., -200., 400., 400.],
], dtype=np.float32)


def run_roi_align(features: np.ndarray, rois: np.ndarray, output_size: int,
                  sampling_ratio: int, mode: str) -> np.ndarray:
    """ONNX Runtime's RoiAlign on one node graph."""
    node = helper.make_node(
        'RoiAlign', ['X', 'rois', 'batch_indices'], ['Y'],
        coordinate_transformation_mode=mode,
        mode='avg',
        output_height=output_size,
        output_width=output_size,
        sampling_ratio=sampling_ratio,
        spatial_scale=1 / STRIDE)
    graph = helper.make_graph(
        [node], 'roi_align', [
            helper.make_tensor_value_info('X', TensorProto.FLOAT,
                                          list(features.shape)),
            helper.make_tensor_value_info('rois', TensorProto.FLOAT,
                                          [None, 4]),
            helper.make_tensor_value_info('batch_indices', TensorProto.INT64,
                                          [None])
        ], [
            helper.make_tensor_value_info('Y', TensorProto.FLOAT,
                                          [None, None, None, None])
        ])
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid('', OPSET)])
    onnx.checker.check_model(model)
    session = ort.InferenceSession(model.SerializeToString(),
                                   providers=['CPUExecutionProvider'])
    return session.run(
        None, dict(X=features, rois=rois,
                   batch_indices=np.zeros(len(rois), np.int64)))[0]


def mmcv_roi_align(features: np.ndarray, rois: np.ndarray, output_size: int,
                   sampling_ratio: int, aligned: bool) -> np.ndarray:
    layer = RoIAlign(output_size, 1 / STRIDE, sampling_ratio, 'avg', aligned)
    with_index = np.concatenate([np.zeros((len(rois), 1), np.float32), rois],
                                axis=1)
    return layer(torch.from_numpy(features),
                 torch.from_numpy(with_index)).numpy()


@pytest.fixture(scope='module')
def features():
    return np.random.RandomState(0).randn(1, 3, HEIGHT,
                                          WIDTH).astype(np.float32)


@pytest.mark.parametrize('sampling_ratio', [0, 2])
@pytest.mark.parametrize('output_size', [7, 3])
def test_half_pixel_is_mmcv_aligned(features, sampling_ratio, output_size):
    """ONNX's half_pixel is mmcv's aligned=True, sampling_ratio=0 (an
    adaptive ceil(roi / bins) samples per bin) included, on every kind of
    RoI, to float rounding."""
    expected = mmcv_roi_align(features, ROIS, output_size, sampling_ratio,
                              True)
    actual = run_roi_align(features, ROIS, output_size, sampling_ratio,
                           'half_pixel')
    assert np.abs(expected).max() > 0.1  # not comparing zeros
    np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-5)


def test_output_half_pixel_is_not_aligned(features):
    """The pixel offset matters: ONNX's other mode (mmcv's aligned=False)
    differs from aligned=True, so the test above can fail."""
    aligned = mmcv_roi_align(features, ROIS, 7, 2, True)
    legacy = run_roi_align(features, ROIS, 7, 2, 'output_half_pixel')
    np.testing.assert_allclose(legacy,
                               mmcv_roi_align(features, ROIS, 7, 2, False),
                               rtol=1e-5,
                               atol=1e-5)
    assert np.abs(legacy - aligned).max() > 0.05


def test_no_rois(features):
    """No RoIs give no pooled features (an image without proposals)."""
    out = run_roi_align(features, np.zeros((0, 4), np.float32), 7, 0,
                        'half_pixel')
    assert out.shape == (0, 3, 7, 7)


def export_function(function, args, names, path):
    """Export ``function`` of ``args`` with the first dimension of each
    input dynamic."""

    class Wrapper(torch.nn.Module):

        def forward(self, *inputs):
            return function(*inputs)

    torch.onnx.export(
        Wrapper(),
        args,
        path,
        dynamo=False,
        opset_version=OPSET,
        input_names=names,
        dynamic_axes={name: {0: 'n'}
                      for name in names})
    return ort.InferenceSession(str(path),
                                providers=['CPUExecutionProvider'])


def test_roi_align_op_exports_as_standard(features, tmp_path):
    """The traced op runs mmcv's kernel and exports as RoiAlign in the
    default domain with mmcv's parameters; both give the same features."""
    session = export_function(
        lambda feats, boxes: roi_align(feats, boxes,
                                       torch.zeros(len(boxes)).long(), 7,
                                       1 / STRIDE, 0, True),
        (torch.from_numpy(features), torch.from_numpy(ROIS)),
        ['features', 'boxes'], tmp_path / 'roi_align.onnx')
    graph = onnx.load(str(tmp_path / 'roi_align.onnx')).graph
    node, = [node for node in graph.node if node.op_type == 'RoiAlign']
    attributes = {a.name: helper.get_attribute_value(a)
                  for a in node.attribute}
    assert node.domain == ''
    assert attributes['coordinate_transformation_mode'] == b'half_pixel'
    assert attributes['sampling_ratio'] == 0
    expected = mmcv_roi_align(features, ROIS, 7, 0, True)
    traced = roi_align(torch.from_numpy(features), torch.from_numpy(ROIS),
                       torch.zeros(len(ROIS)).long(), 7, 1 / STRIDE, 0,
                       True).numpy()
    np.testing.assert_array_equal(traced, expected)
    actual, = session.run(None, dict(features=features, boxes=ROIS))
    np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-5)


def random_boxes(rng, count):
    xy = rng.uniform(0, 100, (count, 2))
    wh = rng.uniform(2, 40, (count, 2))
    return np.concatenate([xy, xy + wh], axis=1).astype(np.float32)


@pytest.mark.parametrize('iou_threshold', [0.5, 0.7])
def test_nms_matches_mmcv(tmp_path, iou_threshold):
    """NonMaxSuppression keeps mmcv's boxes in mmcv's order (descending
    score), clustered boxes, exact duplicates and no boxes included."""
    rng = np.random.RandomState(1)
    boxes = random_boxes(rng, 300)
    boxes[1] = boxes[0]  # a duplicate: IoU 1
    scores = rng.permutation(300).astype(np.float32) / 300
    session = export_function(
        lambda b, s: nms(b, s, iou_threshold, 1000),
        (torch.from_numpy(boxes), torch.from_numpy(scores)),
        ['boxes', 'scores'], tmp_path / 'nms.onnx')
    _, expected = mmcv_nms(torch.from_numpy(boxes), torch.from_numpy(scores),
                           iou_threshold)
    actual, = session.run(None, dict(boxes=boxes, scores=scores))
    assert 20 < len(expected) < 300
    np.testing.assert_array_equal(actual, expected.numpy())
    empty, = session.run(
        None,
        dict(boxes=np.zeros((0, 4), np.float32),
             scores=np.zeros(0, np.float32)))
    assert empty.shape == (0, )


def test_nms_threshold_is_strict(tmp_path):
    """A box whose IoU equals the threshold is kept by both (suppression
    needs IoU above it): boxes [0, 10] and [5, 15] x [0, 10], IoU 1/3."""
    boxes = np.array([[0, 0, 10, 10], [5, 0, 15, 10]], np.float32)
    scores = np.array([0.9, 0.8], np.float32)
    session = export_function(lambda b, s: nms(b, s, 1 / 3, 10),
                              (torch.from_numpy(boxes),
                               torch.from_numpy(scores)),
                              ['boxes', 'scores'], tmp_path / 'nms.onnx')
    kept, = session.run(None, dict(boxes=boxes, scores=scores))
    _, expected = mmcv_nms(torch.from_numpy(boxes), torch.from_numpy(scores),
                           1 / 3)
    assert expected.tolist() == [0, 1]
    assert kept.tolist() == [0, 1]
