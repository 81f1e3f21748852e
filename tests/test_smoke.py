"""The plugin through a user's config: custom_imports, build, train,
predict."""
import subprocess
import sys

import pytest
import torch
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData

from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from tests.detector_cfg import tiny_detector_cfg

pytestmark = pytest.mark.heavy

FAMO_CONFIG = ('configs/famo/'
               'famo_faster-rcnn_x101-32x4d_fpn_4xb1-35e_fracture.py')


def fake_batch(size=(96, 128)):
    """Two radiograph-sized inputs: one with a thin fracture, one without."""
    torch.manual_seed(0)
    inputs = [torch.randint(0, 256, (3, *size), dtype=torch.uint8)
              for _ in range(2)]
    samples = []
    for boxes in ([[20., 40., 100., 48.]], []):
        sample = DetDataSample(
            metainfo=dict(img_shape=size, ori_shape=size, pad_shape=size,
                          scale_factor=(1., 1.), batch_input_shape=size))
        sample.gt_instances = InstanceData(
            bboxes=torch.tensor(boxes).reshape(-1, 4),
            labels=torch.zeros(len(boxes), dtype=torch.long))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def test_config_alone_imports_the_plugin():
    """A fresh interpreter that only loads the config gets the registrations
    (through ``custom_imports``), as a user's ``tools/train.py`` run does."""
    check = ('import sys; from mmengine.config import Config; '
             f'Config.fromfile({FAMO_CONFIG!r}); '
             'from mmdet.registry import MODELS, TRANSFORMS; '
             "assert 'mmdet_famo' in sys.modules; "
             "assert MODELS.get('FAMOBBoxRoIExtractor'); "
             "assert TRANSFORMS.get('LoadRadiograph')")
    subprocess.run([sys.executable, '-c', check], check=True)


def test_config_builds_trains_a_step_and_predicts():
    cfg = tiny_detector_cfg(FAMO_CONFIG)
    init_default_scope('mmdet')
    model = MODELS.build(cfg.model)
    assert type(model.roi_head.bbox_roi_extractor).__name__ == \
        'FAMOBBoxRoIExtractor'
    assert all(init['type'] != 'Pretrained'  # nothing is downloaded
               for init in model.backbone.init_cfg)

    model.train()
    data = model.data_preprocessor(fake_batch(), training=True)
    losses = model(**data, mode='loss')
    total = sum(v for k, v in losses.items() if 'loss' in k
                for v in (v if isinstance(v, list) else [v]))
    assert torch.isfinite(total)
    total.backward()
    grads = [p.grad for p in model.roi_head.parameters() if p.grad is not None]
    assert grads and any(g.abs().sum() > 0 for g in grads)

    model.eval()
    with torch.no_grad():
        data = model.data_preprocessor(fake_batch(), training=False)
        results = model(**data, mode='predict')
    assert len(results) == 2
    for result in results:
        boxes = result.pred_instances.bboxes
        assert boxes.shape[1] == 4
        assert (result.pred_instances.labels == 0).all()  # one class


def test_missing_plugin_is_an_error():
    cfg = tiny_detector_cfg(FAMO_CONFIG)
    cfg.model.roi_head.bbox_roi_extractor.type = 'NotRegisteredExtractor'
    init_default_scope('mmdet')
    with pytest.raises(KeyError, match='NotRegisteredExtractor'):
        MODELS.build(cfg.model)
