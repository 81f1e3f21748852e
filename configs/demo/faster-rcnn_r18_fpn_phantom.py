# The main job's CPU-sized baseline: the paper's baseline config with a
# half-width ResNet-18 + FPN (random init: nothing is downloaded), 320 px
# images, 128 sampled RoIs per image, the embedded phantom data and a short
# schedule (about 5 minutes of training on 2 CPU cores). FAMO's demo config
# differs from this one exactly as the paper's FAMO config differs from its
# baseline.
_base_ = '../famo/faster-rcnn_x101-32x4d_fpn_4xb1-35e_fracture.py'

data_root = 'data/phantom/'
image_scale = (320, 320)
neck_channels = 64
model = dict(
    backbone=dict(
        _delete_=True,
        type='ResNet',
        depth=18,
        base_channels=32,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        frozen_stages=-1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,  # no pretrained statistics to keep
        style='pytorch',
        init_cfg=None),
    neck=dict(in_channels=[32, 64, 128, 256], out_channels=neck_channels),
    # Phantom fractures are small (median box 16 x 33 px): anchors from 16 px.
    rpn_head=dict(
        in_channels=neck_channels,
        feat_channels=neck_channels,
        anchor_generator=dict(scales=[4])),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=neck_channels),
        bbox_head=dict(in_channels=neck_channels, fc_out_channels=256)),
    train_cfg=dict(rcnn=dict(sampler=dict(num=128))))

# The paper config's training augmentation at the demo's image scale
# (tests/test_configs checks that the two lists differ only there).
train_pipeline = [
    dict(type='LoadRadiograph', on_error='skip'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='RandomRotate', prob=0.5, min_size={{_base_.min_box_size}}),
    dict(type='RandomTranslate', prob=0.5, min_size={{_base_.min_box_size}}),
    dict(
        type='RandomResize',
        scale=image_scale,
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
    dict(type='PackDetInputs', meta_keys={{_base_.meta_keys}})
]
test_pipeline = [
    dict(type='LoadRadiograph'),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs', meta_keys={{_base_.meta_keys}})
]
train_dataloader = dict(
    batch_size=4,
    num_workers=1,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=1, dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = dict(
    num_workers=1, dataset=dict(data_root=data_root, pipeline=test_pipeline))

# From scratch on the CPU: a higher rate, a short warm-up, few epochs.
train_cfg = dict(max_epochs=8, val_interval=8)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=50)
]
optim_wrapper = dict(optimizer=dict(lr=0.02))
default_hooks = dict(logger=dict(interval=10))
randomness = dict(seed=0)
