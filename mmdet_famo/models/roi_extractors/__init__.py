from .famo_roi_extractor import FAMOBBoxRoIExtractor

__all__ = ['FAMOBBoxRoIExtractor']
