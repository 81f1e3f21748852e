# The control model on ResNeXt-101 64x4d: the 32x4d fracture config with the
# backbone delta of MMDetection's own faster-rcnn_x101-64x4d_fpn_1x_coco.py.
_base_ = './faster-rcnn_x101-32x4d_fpn_4xb1-35e_fracture.py'

model = dict(
    backbone=dict(
        groups=64,
        init_cfg=dict(
            type='Pretrained', checkpoint='open-mmlab://resnext101_64x4d')))
