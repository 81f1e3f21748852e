from mmdet_famo.dependencies import WITH_MMDET

if WITH_MMDET:  # the registered metric
    from .metrics import *  # noqa: F401,F403
