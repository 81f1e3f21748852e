
from mmdet_famo.dependencies import WITH_MMDET

if WITH_MMDET:  # the registered transforms; radiograph_pixels needs none
    from .square_gt_boxes import SquareGTBoxes  # noqa: F401
    from .loading import LoadRadiograph, RadiographError  # noqa: F401
    from .gaussian_noise import GaussianNoise  # noqa: F401
    from .random_aspect_ratio import RandomAspectRatio  # noqa: F401
    from .random_invert import RandomInvert  # noqa: F401
    from .random_rotate import RandomRotate  # noqa: F401
    from .random_translate import RandomTranslate  # noqa: F401
