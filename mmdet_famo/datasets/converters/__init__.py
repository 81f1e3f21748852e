"""Converters from source data sets to the package's COCO format; the
command-line tools in ``tools/dataset_converters`` wrap them."""
from .dicom_folder import convert_dicom_folder, view_from_view_position
from .fracatlas import (convert_fracatlas, fracatlas_flag_counts,
                        official_split)
from .grazpedwri import convert_grazpedwri

__all__ = [
    'convert_dicom_folder', 'convert_fracatlas', 'convert_grazpedwri',
    'fracatlas_flag_counts', 'official_split', 'view_from_view_position'
]
