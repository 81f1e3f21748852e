# FAMO: the baseline with RoIs squared before RoI-Align, and nothing else.
_base_ = './faster-rcnn_x101-32x4d_fpn_4xb1-35e_fracture.py'

model = dict(
    roi_head=dict(bbox_roi_extractor=dict(type='FAMOBBoxRoIExtractor')))
