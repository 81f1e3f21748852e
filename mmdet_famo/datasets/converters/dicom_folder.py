"""Convert a folder of DICOM radiographs plus instance segmentations.

The paper's own data: DICOM files, and fracture areas outlined by
radiologists as instance segmentations that may overlap, from which the
boxes are derived (Methods, "Data labeling").  The segmentations come
either as a COCO file (polygons or RLE; ``file_name`` relative to the DICOM
folder) or as one mask image per instance, ``<dicom path without
suffix>_<k>.png`` in a mask folder (any non-zero pixel is fracture).

Every DICOM file under the folder becomes an image; one without
segmentations is fracture-free.  A COCO annotation with a ``bbox`` and no
``segmentation`` becomes a box-only instance: its box as a 4-point polygon,
marked ``box_only: true`` (``RandomRotate`` then keeps its box exact).
Case (StudyInstanceUID), patient
(PatientID), body part (BodyPartExamined) and view (ViewPosition) are read
from the DICOM tags unless the COCO image record gives ``case_id``,
``patient_id``, ``body_part`` or ``view``.
"""
import logging
import os.path as osp
from collections import Counter, defaultdict
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
import pydicom
from mmengine.fileio import load
from mmengine.logging import print_log
from mmengine.utils import scandir
from pycocotools import mask as mask_utils
from pydicom.errors import InvalidDicomError
from tqdm import tqdm

from ..coco_builder import CocoBuilder, DatasetRecordError
from ..modalities import modality_refusal

VIEW_POSITIONS = {
    'AP': 'ap',
    'PA': 'pa',
    'LL': 'lateral',
    'RL': 'lateral',
    'LAT': 'lateral',
    'LATERAL': 'lateral',
    'LLO': 'oblique',
    'RLO': 'oblique',
    'OBL': 'oblique',
    'OBLIQUE': 'oblique',
}


def view_from_view_position(code: Optional[str]) -> str:
    """The package's view name for a DICOM ViewPosition (``'LL'`` ->
    ``'lateral'``); codes without a mapping are kept, lower-cased."""
    code = str(code or '').strip().upper()
    return VIEW_POSITIONS.get(code, code.lower() or 'unknown')


def convert_dicom_folder(dicom_dir: Union[str, Path],
                         coco_file: Optional[Union[str, Path]] = None,
                         mask_dir: Optional[Union[str, Path]] = None,
                         suffix: str = '.dcm',
                         fracture_categories: Sequence[str] = ('fracture', ),
                         progress: bool = True,
                         allowed_modalities: Sequence[str] = ()) -> dict:
    """Build the COCO dict of a DICOM folder and its segmentations.

    Args:
        dicom_dir: Folder searched recursively for files ending in
            ``suffix``; ``file_name`` is the path relative to it.
        coco_file: COCO file of the segmentations, or None.
        mask_dir: Folder of per-instance mask images, or None.
        suffix: Suffix of the DICOM files (``''`` for every file).
        fracture_categories: Category names in ``coco_file`` that are
            fractures; the file's other categories are dropped.
        progress: Show a progress bar.
        allowed_modalities: Modalities accepted besides projection
            radiographs (see :mod:`mmdet_famo.datasets.modalities`); a file
            of another modality is refused, naming it and why.

    Returns:
        dict: The COCO dict in the package's format.
    """
    dicom_dir = Path(dicom_dir)
    file_names = sorted(scandir(str(dicom_dir), suffix, recursive=True))
    if not file_names:
        raise DatasetRecordError(
            f'no DICOM files (*{suffix}) under {dicom_dir}')
    records, segmentations = {}, defaultdict(list)
    if coco_file is not None:
        records, segmentations = read_coco_segmentations(
            coco_file, set(file_names), fracture_categories)
    if mask_dir is not None:
        for file_name, mask_files in read_mask_files(mask_dir, file_names,
                                                     suffix).items():
            segmentations[file_name].extend(
                (name, mask, False) for name, mask in mask_files)

    builder = CocoBuilder()
    for file_name in tqdm(file_names, desc='DICOM', disable=not progress):
        record = records.get(file_name, {})
        facts = read_dicom_facts(dicom_dir / file_name, allowed_modalities)
        for key in ('width', 'height'):
            if key in record and int(record[key]) != facts[key]:
                raise DatasetRecordError(
                    f'{coco_file}: image {file_name!r} has {key} '
                    f'{record[key]} but the DICOM file has {facts[key]}')
        image_id = builder.add_image(
            file_name,
            facts['width'],
            facts['height'],
            case_id=record.get('case_id') or facts['case_id'],
            patient_id=record.get('patient_id') or facts['patient_id'],
            body_part=record.get('body_part') or facts['body_part'],
            view=record.get('view') or facts['view'])
        for name, segmentation, box_only in segmentations[file_name]:
            if isinstance(segmentation, list):
                annotation = builder.add_polygons(image_id, segmentation,
                                                  name)
                if box_only:  # its outline is only its box
                    annotation['box_only'] = True
            else:
                builder.add_mask(image_id,
                                 segmentation_mask(segmentation, facts, name),
                                 name)
    return builder.to_dict()


def read_dicom_facts(path: Path,
                     allowed_modalities: Sequence[str] = ()) -> dict:
    """Size, case, patient, body part and view from a DICOM header; a file
    that is not a projection radiograph (nor an allowed modality) is
    refused."""
    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        rows, columns = int(ds.Rows), int(ds.Columns)
    except (InvalidDicomError, AttributeError, OSError) as e:
        raise DatasetRecordError(
            f'{path}: not a readable DICOM image ({e})') from e
    refusal = modality_refusal(ds, allowed_modalities)
    if refusal:
        raise DatasetRecordError(f'{path}: {refusal}')
    return dict(
        width=columns,
        height=rows,
        case_id=str(ds.get('StudyInstanceUID', '') or ''),
        patient_id=str(ds.get('PatientID', '') or ''),
        body_part=str(ds.get('BodyPartExamined', '') or ''),
        view=view_from_view_position(ds.get('ViewPosition')))


def read_coco_segmentations(
    coco_file: Union[str,
                     Path], file_names: set, fracture_categories: Sequence[str]
) -> Tuple[Dict[str, dict], Dict[str, List[Tuple[str, object, bool]]]]:
    """Image records by ``file_name`` and each image's fracture
    segmentations as ``(record name, polygons or RLE, box only)``."""
    coco = load(str(coco_file))
    categories = {c['id']: c['name'] for c in coco.get('categories', [])}
    wanted = {name.lower() for name in fracture_categories}
    fracture_ids = {
        i
        for i, name in categories.items() if name.lower() in wanted
    }
    if not fracture_ids:
        raise DatasetRecordError(
            f'{coco_file}: no category named {sorted(wanted)} among '
            f'{sorted(categories.values())}')
    records = {}
    file_of = {}
    for image in coco.get('images', []):
        file_name = image.get('file_name')
        if file_name not in file_names:
            raise DatasetRecordError(
                f'{coco_file}: image {image.get("id")} has no DICOM file '
                f'{file_name!r} (missing image file)')
        records[file_name] = image
        file_of[image['id']] = file_name
    segmentations = defaultdict(list)
    dropped = Counter()
    for annotation in coco.get('annotations', []):
        name = f'{coco_file}: annotation {annotation.get("id")}'
        if annotation.get('image_id') not in file_of:
            raise DatasetRecordError(
                f'{name} refers to image {annotation.get("image_id")}, '
                'which is not listed')
        category = annotation.get('category_id')
        if category not in categories:
            raise DatasetRecordError(f'{name} has unknown category '
                                     f'{category}')
        if category not in fracture_ids:
            dropped[categories[category]] += 1
            continue
        file_name = file_of[annotation['image_id']]
        segmentation = annotation.get('segmentation')
        box_only = not segmentation
        if box_only:  # a box without an outline: a box-only instance
            segmentation = box_polygon(annotation.get('bbox'), name)
        segmentations[file_name].append(
            (f'{name} ({file_name})', segmentation, box_only))
    if dropped:
        print_log(
            f'dropped annotations of other categories: {dict(dropped)}',
            logger='current',
            level=logging.WARNING)
    return records, segmentations


def box_polygon(bbox, name: str) -> List[List[float]]:
    """The 4-point polygon of a COCO ``[x, y, w, h]`` box."""
    if not isinstance(bbox, (list, tuple)) or len(bbox) != 4:
        raise DatasetRecordError(f'{name} has neither a segmentation nor a '
                                 f'[x, y, w, h] bbox (got {bbox!r})')
    x, y, w, h = (float(v) for v in bbox)
    return [[x, y, x + w, y, x + w, y + h, x, y + h]]


def read_mask_files(mask_dir: Union[str, Path], file_names: Sequence[str],
                    suffix: str) -> Dict[str, List[Tuple[str, np.ndarray]]]:
    """Each DICOM file's instance masks, from ``<stem>_<k>.png`` files."""
    mask_dir = Path(mask_dir)
    stems = {
        (name[:-len(suffix)] if suffix else osp.splitext(name)[0]): name
        for name in file_names
    }
    masks = defaultdict(list)
    for mask_name in sorted(scandir(str(mask_dir), '.png', recursive=True)):
        stem, _, index = mask_name[:-len('.png')].rpartition('_')
        if stem not in stems or not index.isdigit():
            raise DatasetRecordError(
                f'{mask_dir / mask_name}: no DICOM file '
                f'{stem + suffix!r} under the DICOM folder for this mask '
                '(masks are named <dicom path without suffix>_<k>.png)')
        mask = cv2.imread(str(mask_dir / mask_name), cv2.IMREAD_UNCHANGED)
        if mask is None:
            raise DatasetRecordError(
                f'{mask_dir / mask_name}: unreadable mask image')
        if mask.ndim == 3:
            mask = mask.max(axis=2)
        masks[stems[stem]].append((str(mask_dir / mask_name), mask > 0))
    return masks


def segmentation_mask(segmentation, facts: dict, name: str) -> np.ndarray:
    """The binary mask of an RLE segmentation (or of a mask array)."""
    if isinstance(segmentation, np.ndarray):
        return segmentation
    if not isinstance(segmentation, dict) or 'counts' not in segmentation:
        raise DatasetRecordError(f'{name}: segmentation is neither '
                                 'polygons nor RLE')
    size = [facts['height'], facts['width']]
    if list(segmentation.get('size', size)) != size:
        raise DatasetRecordError(
            f'{name}: RLE size {segmentation.get("size")} differs from the '
            f'image size {size}')
    rle = segmentation
    if isinstance(rle['counts'], list):
        rle = mask_utils.frPyObjects(rle, *size)
    return mask_utils.decode(rle).astype(bool)
