from .square_gt_boxes import SquareGTBoxes  # noqa: F401
from .loading import LoadRadiograph, RadiographError  # noqa: F401
