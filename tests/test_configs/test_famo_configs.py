"""A FAMO config differs from its baseline only where FAMO differs."""
import pytest
from mmengine.config import Config

FAMO_PAIRS = [
    ('configs/famo/faster-rcnn_x101-32x4d_fpn_4xb1-35e_fracture.py',
     'configs/famo/famo_faster-rcnn_x101-32x4d_fpn_4xb1-35e_fracture.py'),
    ('configs/famo/faster-rcnn_x101-64x4d_fpn_4xb1-35e_fracture.py',
     'configs/famo/famo_faster-rcnn_x101-64x4d_fpn_4xb1-35e_fracture.py'),
]
LABEL_PAIR = (
    'configs/famo/faster-rcnn_x101-32x4d_fpn_4xb1-35e_fracture.py',
    'configs/famo/famo-label_faster-rcnn_x101-32x4d_fpn_4xb1-35e_fracture.py')


def flatten(value, prefix=''):
    """{'a': {'b': [1, {'c': 2}]}} -> {'a.b.0': 1, 'a.b.1.c': 2}."""
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, (list, tuple)):
        items = enumerate(value)
    else:
        return {prefix: value}
    flat = {}
    for key, item in items:
        flat.update(flatten(item, f'{prefix}{key}.'))
    return flat


def resolved_difference(base_file, other_file):
    base = flatten(Config.fromfile(base_file).to_dict())
    other = flatten(Config.fromfile(other_file).to_dict())
    keys = set(base) | set(other)
    return {k: (base.get(k), other.get(k))
            for k in keys if base.get(k) != other.get(k)}


# FAMO is the squared RoIs (the extractor) and box deltas relative to those
# squares (the RoI head's coder); a FAMO config changes these two and
# nothing else.
FAMO_DIFFERENCE = {
    'model.roi_head.bbox_roi_extractor.type.':
    ('SingleRoIExtractor', 'FAMOBBoxRoIExtractor'),
    'model.roi_head.bbox_head.bbox_coder.type.':
    ('DeltaXYWHBBoxCoder', 'FAMODeltaXYWHBBoxCoder'),
}


@pytest.mark.parametrize('baseline, famo', FAMO_PAIRS)
def test_famo_config_differs_only_in_famo(baseline, famo):
    assert resolved_difference(baseline, famo) == FAMO_DIFFERENCE


def test_label_famo_config_only_squares_training_labels():
    baseline, label = LABEL_PAIR
    base_pipeline = Config.fromfile(baseline).train_dataloader.dataset.pipeline
    label_pipeline = Config.fromfile(label).train_dataloader.dataset.pipeline
    assert label_pipeline[:-2] == base_pipeline[:-1]
    assert label_pipeline[-2] == dict(type='SquareGTBoxes')
    assert label_pipeline[-1] == base_pipeline[-1]
    assert all(
        key.startswith(('train_dataloader.dataset.pipeline.',
                        'train_pipeline.'))
        for key in resolved_difference(baseline, label))


def test_paper_recipe():
    cfg = Config.fromfile(FAMO_PAIRS[0][1])
    assert cfg.model.backbone.type == 'ResNeXt'
    assert cfg.model.backbone.init_cfg.type == 'Pretrained'  # stock weights
    assert cfg.model.roi_head.bbox_head.num_classes == 1
    assert cfg.optim_wrapper.optimizer.type == 'SGD'
    assert cfg.optim_wrapper.optimizer.lr == 0.005
    warmup, = cfg.param_scheduler  # warm-up, then held: no decay step
    assert warmup.type == 'LinearLR' and warmup.end == 500
    assert warmup.start_factor * cfg.optim_wrapper.optimizer.lr == \
        pytest.approx(0.001)
    assert cfg.auto_scale_lr == dict(enable=True, base_batch_size=4)
    assert cfg.train_dataloader.batch_size == 1
    assert cfg.train_cfg.max_epochs == 35
    assert cfg.default_hooks.checkpoint.interval == 1
    assert cfg.default_hooks.checkpoint.save_best
    assert cfg.train_dataloader.dataset.filter_cfg.filter_empty_gt is False
    resize = [t for t in cfg.test_pipeline if t.type == 'Resize'][0]
    assert resize.scale == (800, 800) and resize.keep_ratio


DEMO_PAIR = ('configs/demo/faster-rcnn_r18_fpn_1xb4-5e_phantom.py',
             'configs/demo/famo_faster-rcnn_r18_fpn_1xb4-5e_phantom.py')


def test_demo_famo_config_differs_only_in_famo():
    assert resolved_difference(*DEMO_PAIR) == FAMO_DIFFERENCE


def test_demo_pipelines_are_the_papers_at_a_smaller_scale():
    """The demo's pipelines are the paper's at the demo's image scale, but
    for its two documented training changes: a 160 px crop after the flip,
    and no colour inversion."""
    paper = Config.fromfile(FAMO_PAIRS[0][0])
    demo = Config.fromfile(DEMO_PAIR[0])
    paper_train = [step for step in paper.train_pipeline
                   if step.type != 'RandomInvert']
    assert len(paper_train) == len(paper.train_pipeline) - 1
    flip = [step.type for step in paper_train].index('RandomFlip')
    crop = demo.train_pipeline[flip + 1]
    assert crop == dict(type='RandomCrop', crop_size=(160, 160),
                        allow_negative_crop=True, recompute_bbox=True)
    paper_train.insert(flip + 1, crop)
    for paper_steps, demo_steps in ((paper_train, demo.train_pipeline),
                                    (paper.test_pipeline,
                                     demo.test_pipeline)):
        assert len(paper_steps) == len(demo_steps)
        for paper_step, demo_step in zip(paper_steps, demo_steps):
            if 'scale' in paper_step:
                assert demo_step.scale == demo.image_scale
                paper_step, demo_step = (dict(step, scale=None)
                                         for step in (paper_step, demo_step))
            assert paper_step == demo_step
    assert demo.train_dataloader.dataset.pipeline == demo.train_pipeline
    assert demo.model.backbone.init_cfg is None  # nothing is downloaded


def test_pretrained_demo_config_changes_only_the_encoder():
    """The demo with an ImageNet-pretrained encoder differs from the r18
    demo in the encoder and what it needs, nothing else."""
    changed = resolved_difference(
        DEMO_PAIR[0], 'configs/demo/faster-rcnn_effl0_fpn_1xb4-5e_phantom.py')
    allowed = ('model.backbone.', 'model.neck.in_channels.',
               'model.data_preprocessor.mean.', 'model.data_preprocessor.std.',
               'optim_wrapper.paramwise_cfg.')
    assert changed and all(key.startswith(allowed) for key in changed), \
        sorted(changed)
    assert changed['model.neck.in_channels.0.'] == (32, 24)
