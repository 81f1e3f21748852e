# FAMO on the main job's CPU-sized baseline: RoIs squared before
# RoI-Align and box deltas relative to the squares.
_base_ = './faster-rcnn_r18_fpn_1xb4-5e_phantom.py'

model = dict(
    roi_head=dict(
        bbox_roi_extractor=dict(type='FAMOBBoxRoIExtractor'),
        bbox_head=dict(bbox_coder=dict(type='FAMODeltaXYWHBBoxCoder'))))
