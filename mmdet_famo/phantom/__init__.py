"""Phantom radiographs: the package's embedded default data.

Synthetic DICOM radiographs of long bones with thin fracture lines, their
instance masks and COCO annotations split by patient; see ``data/README.md``
and ``tools/misc/make_phantoms.py``.
"""
from .dicom_writer import PixelEncoding, RadiographTags, write_radiograph_dicom
from .generator import PhantomConfig, generate_phantom_dataset
from .render import ANATOMIES, Anatomy, Radiograph, render_radiograph

__all__ = [
    'ANATOMIES', 'Anatomy', 'PhantomConfig', 'PixelEncoding', 'Radiograph',
    'RadiographTags', 'generate_phantom_dataset', 'render_radiograph',
    'write_radiograph_dicom'
]
