"""Read what converters need from source files: image sizes from headers
(without decoding pixels) and CSV rows."""
import csv
from pathlib import Path
from typing import List, Tuple

from PIL import Image, UnidentifiedImageError

from ..coco_builder import DatasetRecordError


def read_image_size(path: Path) -> Tuple[int, int]:
    """``(width, height)`` of a PNG/JPEG file, read from its header (a
    2304 x 2880 JPEG costs as little as a small one)."""
    if not path.is_file():
        raise DatasetRecordError(f'{path}: missing image file')
    try:
        with Image.open(path) as image:
            return image.size
    except (UnidentifiedImageError, OSError) as e:
        raise DatasetRecordError(f'{path}: unreadable image ({e})') from e


def read_csv_rows(path: Path) -> List[dict]:
    """The rows of a CSV file (UTF-8, with or without BOM) as dicts."""
    if not path.is_file():
        raise DatasetRecordError(f'{path}: missing file')
    with open(path, newline='', encoding='utf-8-sig') as f:
        return list(csv.DictReader(f))
