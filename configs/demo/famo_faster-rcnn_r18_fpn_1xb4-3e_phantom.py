# FAMO on the main job's CPU-sized baseline: RoIs squared before RoI-Align.
_base_ = './faster-rcnn_r18_fpn_1xb4-3e_phantom.py'

model = dict(
    roi_head=dict(bbox_roi_extractor=dict(type='FAMOBBoxRoIExtractor')))
