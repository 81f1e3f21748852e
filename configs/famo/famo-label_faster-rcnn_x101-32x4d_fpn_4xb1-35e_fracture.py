# Label-level FAMO (ablation): the ground-truth boxes themselves are squared
# in training, after every geometric step, so the detector learns and
# predicts squares. The test pipeline is unchanged: predictions are evaluated
# against the original tight boxes. Keep this pipeline equal to the
# baseline's plus SquareGTBoxes (tests/test_configs checks it).
_base_ = './faster-rcnn_x101-32x4d_fpn_4xb1-35e_fracture.py'

train_pipeline = [
    dict(type='LoadRadiograph', on_error='skip'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='RandomRotate', prob=0.5, min_size={{_base_.min_box_size}}),
    dict(
        type='RandomTranslate', prob=0.5, min_size={{_base_.min_box_size}}),
    dict(
        type='RandomResize',
        scale={{_base_.image_scale}},
        ratio_range=(0.8, 1.2),
        keep_ratio=True),
    dict(type='RandomAspectRatio', max_ratio=1.2),
    dict(type='RandomFlip', prob=0.5),
    dict(
        type='FilterAnnotations',
        min_gt_bbox_wh=({{_base_.min_box_size}}, {{_base_.min_box_size}}),
        keep_empty=False),
    dict(type='Brightness', prob=0.5, min_mag=0.8, max_mag=1.2),
    dict(type='GaussianNoise', prob=0.5),
    dict(type='RandomInvert', prob=0.5),
    dict(type='SquareGTBoxes'),
    dict(type='PackDetInputs', meta_keys={{_base_.meta_keys}})
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
