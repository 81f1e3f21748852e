from .square_boxes import square_boxes

__all__ = ['square_boxes']
