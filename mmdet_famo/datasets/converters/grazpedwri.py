"""Convert GRAZPEDWRI-DX (Nagy et al., Scientific Data 9, 222, 2022).

Layout::

    ROOT/images/*.png   16-bit grayscale paediatric wrist radiographs
    ROOT/labels/*.txt   YOLO boxes: class x_c y_c w h, normalised to [0, 1]
    ROOT/meta.yaml      class names ('names': {3: fracture, 8: text, ...})
    ROOT/dataset.csv    filestem, patient_id, study_number, projection
                        (1 AP, 2 lateral, 3 oblique), fracture_visible ...

Every image under ``images/`` becomes an image record (the set ships in
parts; rows of ``dataset.csv`` without an image are skipped and counted);
a case is ``patient_id`` + ``study_number``.  GRAZPEDWRI-DX has boxes, not
outlines, so a fracture's segmentation is its box as a 4-point polygon,
and the annotation says so with ``box_only: true`` (``RandomRotate`` then
turns the image by multiples of 90 degrees only, see its docstring).
Boxes of the other classes (text, metal, periosteal reaction ...) are
dropped; an image without a label file is fracture-free, as in YOLO.
``file_name`` is relative to ``ROOT/images``.
"""
import logging
from pathlib import Path
from typing import Dict, Union

import yaml
from mmengine.logging import print_log
from mmengine.utils import scandir
from tqdm import tqdm

from ..coco_builder import CocoBuilder, DatasetRecordError
from .source_files import read_csv_rows, read_image_size

PROJECTIONS = {'1': 'ap', '2': 'lateral', '3': 'oblique'}
BODY_PART = 'wrist'


def convert_grazpedwri(root: Union[str, Path],
                       fracture_class: str = 'fracture',
                       progress: bool = True) -> dict:
    """The COCO dict of the images under ``ROOT/images``.

    Args:
        root: The data set's folder.
        fracture_class: Name (in ``meta.yaml``) of the class to keep.
        progress: Show a progress bar.

    Returns:
        dict: The COCO dict in the package's format.
    """
    root = Path(root)
    names = read_class_names(root / 'meta.yaml')
    fracture_ids = [i for i, name in names.items() if name == fracture_class]
    if not fracture_ids:
        raise DatasetRecordError(
            f'{root / "meta.yaml"}: no class {fracture_class!r} among '
            f'{sorted(names.values())}')
    rows = {
        row['filestem']: row
        for row in read_csv_rows(root / 'dataset.csv')
    }
    file_names = sorted(scandir(str(root / 'images'), '.png'))
    if not file_names:
        raise DatasetRecordError(f'no PNG images in {root / "images"}')

    builder = CocoBuilder()
    disagreements = []
    for file_name in tqdm(
            file_names, desc='GRAZPEDWRI-DX', disable=not progress):
        stem = Path(file_name).stem
        if stem not in rows:
            raise DatasetRecordError(
                f'{root / "dataset.csv"}: no row for image {file_name}')
        row = rows[stem]
        width, height = read_image_size(root / 'images' / file_name)
        patient_id = row['patient_id'].strip()
        image_id = builder.add_image(
            file_name,
            width,
            height,
            case_id=f'{patient_id}_{row["study_number"].strip()}',
            patient_id=patient_id,
            body_part=BODY_PART,
            view=PROJECTIONS.get(row['projection'].strip(), 'unknown'))
        label_path = root / 'labels' / f'{stem}.txt'
        polygons = read_yolo_boxes(label_path, names, fracture_ids[0], width,
                                   height) if label_path.is_file() else []
        for number, polygon in polygons:
            annotation = builder.add_polygons(image_id, [polygon],
                                              f'{label_path}: line {number}')
            annotation['box_only'] = True  # the outline is only the box
        if (row.get('fracture_visible', '').strip() == '1') != bool(polygons):
            disagreements.append(stem)
    skipped = len(set(rows) - {Path(name).stem for name in file_names})
    if skipped:
        print_log(
            f'{skipped} rows of dataset.csv have no image in '
            f'{root / "images"}; skipped',
            logger='current')
    if disagreements:
        print_log(
            f'dataset.csv "fracture_visible" disagrees with the fracture '
            f'boxes for {len(disagreements)} images (the boxes are used): '
            f'{disagreements[:10]}',
            logger='current',
            level=logging.WARNING)
    return builder.to_dict()


def read_class_names(path: Path) -> Dict[int, str]:
    """Class id to name, from a YOLO ``meta.yaml`` (``names`` as a dict or
    a list)."""
    if not path.is_file():
        raise DatasetRecordError(f'{path}: missing file')
    with open(path) as f:
        names = (yaml.safe_load(f) or {}).get('names')
    if isinstance(names, list):
        names = dict(enumerate(names))
    if not isinstance(names, dict) or not names:
        raise DatasetRecordError(f'{path}: no class "names"')
    return {int(i): str(name) for i, name in names.items()}


def read_yolo_boxes(path: Path, names: Dict[int, str], fracture_id: int,
                    width: int, height: int) -> list:
    """``(line number, polygon)`` of each fracture box of a YOLO label file,
    in pixels; boxes of other known classes are dropped."""
    boxes = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        try:
            class_id = int(fields[0])
            centre_x, centre_y, box_w, box_h = map(float, fields[1:])
        except ValueError as e:
            raise DatasetRecordError(
                f'{path}: line {number} is not "class x_c y_c w h": '
                f'{line!r}') from e
        if class_id not in names:
            raise DatasetRecordError(
                f'{path}: line {number} has unknown category {class_id}')
        if class_id != fracture_id:
            continue
        x1, x2 = (centre_x - box_w / 2) * width, (centre_x + box_w / 2) * width
        y1, y2 = (centre_y - box_h / 2) * height, (centre_y +
                                                   box_h / 2) * height
        boxes.append((number, [x1, y1, x2, y1, x2, y2, x1, y2]))
    return boxes
