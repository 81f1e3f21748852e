# The paper's control model: the stock MMDetection Faster R-CNN ResNeXt-101
# 32x4d + FPN, with one class 'fracture', the paper's data pipeline and its
# schedule. Every other setting is MMDetection's.
_base_ = 'mmdet::faster_rcnn/faster-rcnn_x101-32x4d_fpn_1x_coco.py'
custom_imports = dict(imports=['mmdet_famo'], allow_failed_imports=False)

model = dict(roi_head=dict(bbox_head=dict(num_classes=1)))

# Data (see data/README.md): DICOM (or 8/16-bit PNG/JPEG) radiographs read
# with CLAHE by LoadRadiograph; fracture-free images kept in training and
# evaluation; case metadata and, when annotated, fracture orientations passed
# on to the metric. Images are resized so the long side is 800 px, aspect
# kept (the paper's "Data pre-processing").
dataset_type = 'FractureDataset'
data_root = 'data/fracture/'
image_scale = (800, 800)
meta_keys = ('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor',
             'flip', 'flip_direction', 'case_id', 'patient_id', 'body_part',
             'view', 'fracture_orientations')
# Training augmentation, the paper's list ("Data pre-processing"): scale and
# aspect ratio floating, image shifting, pixel noise, brightness floating,
# 360-degree random rotation, random flip and random colour inverse. The
# rotation and the shift move the instance masks with the image (at full
# resolution, before the masks are downscaled) and re-derive each box from
# its mask, so boxes stay the tight boxes of the fractures' outlines
# ("Data labeling"), and drop the instances they push out of the image; the
# resizes and the flip keep tight boxes tight, and FilterAnnotations after
# them drops the boxes they shrank. An instance survives only if its box is
# more than `min_box_size` px wide and high; fracture-free images stay
# (keep_empty=False). Our transforms' docstrings justify their probabilities
# and ranges; tools/misc/browse_dataset.py shows the result. An unreadable
# training file is logged and skipped (another sample is drawn) rather than
# ending a long run; evaluation still stops on one.
min_box_size = 1
train_pipeline = [
    dict(type='LoadRadiograph', on_error='skip'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='RandomRotate', prob=0.5, min_size=min_box_size),
    dict(type='RandomTranslate', prob=0.5, min_size=min_box_size),
    # Scale floating: long side 640..960 px, +-20% around the paper's 800
    # (the paper gives no range; the rotation's larger canvas also shrinks
    # the anatomy by up to 1/sqrt(2) at 45 degrees).
    dict(
        type='RandomResize',
        scale=image_scale,
        ratio_range=(0.8, 1.2),
        keep_ratio=True),
    dict(type='RandomAspectRatio', max_ratio=1.2),
    dict(type='RandomFlip', prob=0.5),
    dict(
        type='FilterAnnotations',
        min_gt_bbox_wh=(min_box_size, min_box_size),
        keep_empty=False),
    # Factor 0.8, 0.9, 1.0, 1.1 or 1.2 (mmdet draws colour magnitudes in
    # steps of 0.1); 8-bit images, as LoadRadiograph gives by default.
    dict(type='Brightness', prob=0.5, min_mag=0.8, max_mag=1.2),
    dict(type='GaussianNoise', prob=0.5),
    dict(type='RandomInvert', prob=0.5),
    dict(type='PackDetInputs', meta_keys=meta_keys)
]
test_pipeline = [
    dict(type='LoadRadiograph'),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    # After Resize, so the ground truth stays in original-image coordinates,
    # where the metric compares it with the rescaled predictions.
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs', meta_keys=meta_keys)
]
train_dataloader = dict(
    batch_size=1,  # x 4 GPUs
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/train.json',
        data_prefix=dict(img='images/'),
        filter_cfg=dict(filter_empty_gt=False, min_size=0),
        pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/val.json',
        data_prefix=dict(img='images/'),
        pipeline=test_pipeline))
test_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/test.json',
        data_prefix=dict(img='images/'),
        test_mode=True,
        pipeline=test_pipeline))
# Validation chooses the operating points (suspected: target sensitivity
# 0.95 per image; definite: the best worse Youden's J of images and cases)
# on the localised scores; the test evaluator
# never fits its own: it reads the validation's points (tools/test.py
# --threshold-file) or reports AP, AUC and FROC only.
val_evaluator = dict(
    _delete_=True, type='FractureCaseMetric', choose_operating_points=True)
test_evaluator = dict(_delete_=True, type='FractureCaseMetric')

# Schedule (the paper's "Training details"): SGD, learning rate warmed up
# linearly from 0.001 to 0.005 over 500 iterations and then held, 35 epochs;
# the best epoch chosen on the validation set.
train_cfg = dict(max_epochs=35)
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=0.001 / 0.005,
        by_epoch=False,
        begin=0,
        end=500),
]
optim_wrapper = dict(optimizer=dict(lr=0.005))
# lr=0.005 is for 4 GPUs x 1 image; other batch sizes follow the linear
# scaling rule (Goyal et al., the paper's ref. 13).
auto_scale_lr = dict(enable=True, base_batch_size=4)
# A checkpoint every epoch (the last three kept on disk) and the best epoch by
# the validation per-case AUC (of the localised score, the paper's rule)
# kept apart, with its operating points beside it
# (best_operating_threshold.json, BestOperatingPointsHook).
default_hooks = dict(
    checkpoint=dict(
        interval=1,
        max_keep_ckpts=3,
        save_best='fracture/case_auc',
        rule='greater'))
# Random generators' states saved in checkpoints, so that a resumed training
# continues exactly as an uninterrupted one would.
custom_hooks = [
    dict(type='RandomStateHook'),
    dict(type='BestOperatingPointsHook')
]
