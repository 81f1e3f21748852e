# The CPU-sized FracAtlas control config with a deeper encoder:
# EfficientNet-Lite1 (ImageNet top-1 76.7 % against Lite0's 75.1 %; the
# same widths, so the FPN's inputs stay 40, 112 and 320 channels, and 10 %
# more blocks). The Lite0 models do not fit their own training images
# (docs/real-radiographs.md, Where the limit lies), and Lite1 is the
# cheapest capacity lever measured: 1.20x the iteration time
# (benchmarks/fracatlas_levers.py).
_base_ = './faster-rcnn_effl0_fpn_1xb4-12e_fracatlas.py'

model = dict(
    backbone=dict(
        arch='lite1',
        init_cfg=dict(checkpoint='efficientnet-lite://lite1')))
