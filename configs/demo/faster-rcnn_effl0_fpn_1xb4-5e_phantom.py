# The demo's control model with an ImageNet-pretrained encoder: the r18 demo
# config with EfficientNet-Lite0 (as the FracAtlas configs use it) instead
# of a ResNet-18 trained from scratch, and nothing else but what the encoder
# needs (its channels, its ImageNet preprocessing, a tenth of the heads'
# learning rate). docs/design-notes.md gives what it measured on the
# phantoms and why the demo keeps ResNet-18.
_base_ = './faster-rcnn_r18_fpn_1xb4-5e_phantom.py'

model = dict(
    data_preprocessor=dict(
        mean=[127.0, 127.0, 127.0], std=[128.0, 128.0, 128.0]),
    # strides 4-32 (stages 1, 2, 4, 6), as the r18 stages; the FPN still
    # starts at stride 8
    backbone=dict(
        _delete_=True,
        type='EfficientNetLite',
        arch='lite0',
        out_indices=(1, 2, 4, 6),
        frozen_stages=1,
        norm_eval=True,
        init_cfg=dict(
            type='Pretrained', checkpoint='efficientnet-lite://lite0')),
    neck=dict(in_channels=[24, 40, 112, 320]))
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.1)}))
