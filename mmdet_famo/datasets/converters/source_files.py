"""Read what converters need from source files: image sizes from headers
(without decoding pixels) and CSV rows."""
import csv
from pathlib import Path
from typing import List, Tuple

from ..coco_builder import DatasetRecordError
from ..image_files import RadiographError, read_display_size


def read_image_size(path: Path) -> Tuple[int, int]:
    """``(width, height)`` of a PNG/JPEG/TIFF file as displayed (its EXIF
    orientation applied, as ``LoadRadiograph`` reads it), from its header (a
    2304 x 2880 JPEG costs as little as a small one)."""
    if not path.is_file():
        raise DatasetRecordError(f'{path}: missing image file')
    try:
        return read_display_size(str(path))
    except RadiographError as e:
        raise DatasetRecordError(str(e)) from e


def read_csv_rows(path: Path) -> List[dict]:
    """The rows of a CSV file (UTF-8, with or without BOM) as dicts."""
    if not path.is_file():
        raise DatasetRecordError(f'{path}: missing file')
    with open(path, newline='', encoding='utf-8-sig') as f:
        return list(csv.DictReader(f))
