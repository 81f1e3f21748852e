# The paper's control model: the stock MMDetection Faster R-CNN ResNeXt-101
# 32x4d + FPN, with one class 'fracture', the paper's data pipeline and its
# schedule. Every other setting is MMDetection's.
_base_ = 'mmdet::faster_rcnn/faster-rcnn_x101-32x4d_fpn_1x_coco.py'
custom_imports = dict(imports=['mmdet_famo'], allow_failed_imports=False)

model = dict(roi_head=dict(bbox_head=dict(num_classes=1)))

# Data (see data/README.md): DICOM (or 8/16-bit PNG/JPEG) radiographs read
# with CLAHE by LoadRadiograph; fracture-free images kept in training and
# evaluation; case metadata passed on to the metric. Images are resized so
# the long side is 800 px, aspect kept (the paper's "Data pre-processing").
dataset_type = 'FractureDataset'
data_root = 'data/fracture/'
image_scale = (800, 800)
meta_keys = ('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor',
             'flip', 'flip_direction', 'case_id', 'patient_id', 'body_part',
             'view')
train_pipeline = [
    dict(type='LoadRadiograph'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
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
val_evaluator = dict(_delete_=True, type='FractureCaseMetric')
test_evaluator = val_evaluator

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
# the validation per-case AUC kept apart.
default_hooks = dict(
    checkpoint=dict(
        interval=1,
        max_keep_ckpts=3,
        save_best='fracture/case_auc',
        rule='greater'))
