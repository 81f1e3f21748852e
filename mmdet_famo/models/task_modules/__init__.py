from .famo_delta_xywh_bbox_coder import FAMODeltaXYWHBBoxCoder

__all__ = ['FAMODeltaXYWHBBoxCoder']
