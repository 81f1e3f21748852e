"""mmdet-famo: fracture detection on radiographs with the Feature Ambiguity
Mitigate Operator (FAMO), as an MMDetection 3.x plugin.

Importing this package registers every component into MMDetection's
registries, so a config needs only::

    custom_imports = dict(imports=['mmdet_famo'], allow_failed_imports=False)
"""
from .utils import allow_mmengine_checkpoints
from .version import __version__

allow_mmengine_checkpoints()

from . import datasets, engine, evaluation, models  # noqa: E402,F401

__all__ = ['__version__']
