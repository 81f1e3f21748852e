# FAMO on FracAtlas: the FracAtlas control config with RoIs squared before
# RoI-Align and box deltas relative to the squares, and nothing else (same
# split, see the control config).
_base_ = './faster-rcnn_x101-32x4d_fpn_4xb1-35e_fracatlas.py'

model = dict(
    roi_head=dict(
        bbox_roi_extractor=dict(type='FAMOBBoxRoIExtractor'),
        bbox_head=dict(bbox_coder=dict(type='FAMODeltaXYWHBBoxCoder'))))
