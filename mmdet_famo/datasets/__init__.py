from mmdet_famo.dependencies import WITH_MMDET

if WITH_MMDET:  # the registered dataset and transforms
    from .fracture_dataset import FractureDataset  # noqa: F401
    from .transforms import *  # noqa: F401,F403
