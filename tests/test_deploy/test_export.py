"""tools/deployment/export_onnx.py on the demo configs (random weights) and
the paper's X-101 config: one checked graph of standard operators that
runs at any size up to the stated maximum."""
import json
import subprocess
import sys

import numpy as np
import pytest

onnx = pytest.importorskip('onnx', reason='onnx is not installed')
ort = pytest.importorskip('onnxruntime',
                          reason='onnxruntime is not installed')

from mmdet_famo.deploy.export import export_onnx, graph_domains  # noqa: E402
from mmdet_famo.deploy.model_info import ModelInfo  # noqa: E402
from mmdet_famo.deploy.runtime import OnnxDetector  # noqa: E402

pytestmark = pytest.mark.heavy

DEMO_CONFIGS = [
    'configs/demo/faster-rcnn_r18_fpn_1xb4-5e_phantom.py',
    'configs/demo/famo_faster-rcnn_r18_fpn_1xb4-5e_phantom.py',
]
PAPER_FAMO_CONFIG = \
    'configs/famo/famo_faster-rcnn_x101-32x4d_fpn_4xb1-35e_fracture.py'
#: Operators a two-stage detector needs beyond convolutions: the
#: detection ones the graph must express in the standard domain.
DETECTION_OPS = {'RoiAlign', 'NonMaxSuppression', 'TopK', 'NonZero'}


def check_graph(onnx_file: str) -> dict:
    """onnx.checker on the file; its operators, all in the default
    domain."""
    onnx.checker.check_model(onnx_file, full_check=True)
    domains = graph_domains(onnx_file)
    assert list(domains) == [''], f'operator domains: {list(domains)}'
    assert DETECTION_OPS <= set(domains[''])
    model = onnx.load(onnx_file, load_external_data=False)
    assert [opset.domain for opset in model.opset_import] == ['']
    assert model.opset_import[0].version >= 16
    return domains


@pytest.mark.parametrize('config, by_command',
                         [(DEMO_CONFIGS[0], True), (DEMO_CONFIGS[1], False)])
def test_demo_config_exports(config, by_command, tmp_path):
    """The command (for the baseline; the function it calls for FAMO, which
    spares a second interpreter's start-up) writes a checked graph whose
    RoiAlign is half_pixel, with the metadata of a random-weight export;
    ONNX Runtime runs it at sizes from a strip to the maximum, and on a
    black image."""
    out = tmp_path / 'demo.onnx'
    if by_command:
        result = subprocess.run(
            [sys.executable, 'tools/deployment/export_onnx.py', config,
             '--random-init', str(out)],
            capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stderr
        summary = json.loads(result.stdout)
        assert list(summary['operator_domains']) == ['']
    else:
        export_onnx(config, None, str(out))
    check_graph(str(out))
    roi_aligns = [
        node for node in onnx.load(str(out)).graph.node
        if node.op_type == 'RoiAlign'
    ]
    assert len(roi_aligns) == 3  # one per pooled FPN level (strides 8-32)
    for node in roi_aligns:
        attributes = {a.name: onnx.helper.get_attribute_value(a)
                      for a in node.attribute}
        assert attributes['coordinate_transformation_mode'] == b'half_pixel'
        assert attributes['sampling_ratio'] == 2  # the demo config's
    info = ModelInfo.from_file(str(out))
    assert info.checkpoint == info.checkpoint_sha256 == ''
    assert info.config_name == config.rsplit('/', 1)[-1]
    assert info.preprocessing['max_size'] == [320, 320]
    assert info.preprocessing['loader'] == {}
    detector = OnnxDetector(str(out), num_threads=1)
    rng = np.random.RandomState(0)
    for shape in [(320, 256, 3), (20, 300, 3), (300, 20, 3), (64, 64, 3)]:
        boxes, scores = detector(rng.randint(0, 256, shape, np.uint8))
        assert boxes.shape == (len(scores), 4)
        assert (np.diff(scores) <= 0).all()
        assert (boxes[:, 2:] <= np.array(shape[1::-1]) + 1e-3).all()
    boxes, scores = detector(np.zeros((100, 80, 3), np.uint8))
    assert boxes.shape[1] == 4


def test_paper_x101_config_exports(tmp_path):
    """The paper's FAMO X-101 32x4d model (random weights: the graph only)
    exports as one checked graph of standard operators, and runs at 800 x
    640."""
    out = str(tmp_path / 'x101.onnx')
    info = export_onnx(PAPER_FAMO_CONFIG, None, out)
    assert info.preprocessing['max_size'] == [800, 800]
    domains = check_graph(out)
    assert 'RoiAlign' in domains['']
    detector = OnnxDetector(out, num_threads=2)
    image = np.random.RandomState(0).randint(0, 256, (800, 640, 3),
                                             np.uint8)
    boxes, scores = detector(image)
    assert boxes.shape == (len(scores), 4) and len(scores) <= 100


def test_unsupported_pipeline_is_refused(tmp_path):
    """A config whose test pipeline the runtime cannot repeat is refused,
    naming the config."""
    from mmengine.config import Config
    cfg = Config.fromfile(DEMO_CONFIGS[0])
    cfg.test_dataloader.dataset.pipeline.insert(
        1, dict(type='RandomFlip', prob=0.))
    with pytest.raises(ValueError, match='faster-rcnn_r18_fpn_1xb4-5e'):
        export_onnx(cfg, None, str(tmp_path / 'x.onnx'))


def test_uncapped_config_matches_pytorch(tmp_path):
    """nms_pre and max_per_img of -1 (no cap, MMDetection's meaning) keep
    every anchor and every box, as the PyTorch model does."""
    import torch
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from mmdet.apis import init_detector
    from mmdet.registry import MODELS
    from mmdet_famo.apis import build_inference_pipeline
    from .test_parity import match
    options = {'model.test_cfg.rpn.nms_pre': -1,
               'model.test_cfg.rcnn.max_per_img': -1,
               'model.test_cfg.rcnn.score_thr': 0.}
    cfg = Config.fromfile(DEMO_CONFIGS[1])
    cfg.merge_from_dict(options)
    init_default_scope('mmdet')
    torch.manual_seed(0)
    checkpoint = str(tmp_path / 'random.pth')
    torch.save(
        dict(state_dict=MODELS.build(cfg.model).state_dict(),
             meta=dict(dataset_meta=dict(classes=('fracture', )))),
        checkpoint)
    out = str(tmp_path / 'uncapped.onnx')
    export_onnx(cfg, checkpoint, out)
    model = init_detector(cfg, checkpoint, device='cpu')
    _, transforms = build_inference_pipeline(model.cfg)
    image = np.random.RandomState(1).randint(0, 256, (300, 200, 3),
                                             np.uint8)
    data = transforms(dict(img=image, img_shape=(300, 200),
                           ori_shape=(300, 200), img_id=0, img_path=''))
    with torch.no_grad():
        sample, = model.test_step(dict(inputs=[data['inputs']],
                                       data_samples=[data['data_samples']]))
    expected = sample.pred_instances
    boxes, scores = OnnxDetector(out, num_threads=1)(image)
    assert len(expected.scores) > 20  # more than the config's cap of 20
    ious, differences = match(expected.bboxes.numpy(),
                              expected.scores.numpy(), boxes, scores)
    assert ious.min() >= 0.99 and differences.max() <= 1e-3
