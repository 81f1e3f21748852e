# FAMO on FracAtlas with the EfficientNet-Lite1 encoder: its control config
# with RoIs squared before RoI-Align and box deltas relative to the squares,
# and nothing else (tests/test_configs).
_base_ = './faster-rcnn_effl1_fpn_1xb4-12e_fracatlas.py'

model = dict(
    roi_head=dict(
        bbox_roi_extractor=dict(type='FAMOBBoxRoIExtractor'),
        bbox_head=dict(bbox_coder=dict(type='FAMODeltaXYWHBBoxCoder'))))
