"""mmdet-famo: fracture detection on radiographs with the Feature Ambiguity
Mitigate Operator (FAMO), as an MMDetection 3.x plugin.

Importing this package registers every component into MMDetection's
registries, so a config needs only::

    custom_imports = dict(imports=['mmdet_famo'], allow_failed_imports=False)

Without MMDetection (the runtime install, docs/deployment.md) nothing is
registered, and the readers, the inference API and the DICOM node still
import.
"""
from .dependencies import WITH_MMDET
from .version import __version__

if WITH_MMDET:
    from .utils import allow_mmengine_checkpoints
    allow_mmengine_checkpoints()

    from . import datasets, engine, evaluation, models  # noqa: F401

__all__ = ['__version__']
