"""Convert FracAtlas (Abedeen et al., Scientific Data 10, 521, 2023).

Layout::

    ROOT/images/Fractured/*.jpg, ROOT/images/Non_fractured/*.jpg
    ROOT/Annotations/COCO JSON/COCO_fracture_masks.json
        (polygons, category id 0 'fractured')
    ROOT/dataset.csv  (image_id, hand, leg, hip, shoulder, mixed, hardware,
        multiscan, fractured, fracture_count, frontal, lateral, oblique)
    ROOT/Utilities/Fracture Split/{train,valid,test}.csv  (image_id)

FracAtlas has no patient or study identifiers, so each image is its own
patient and its own case: per-case scores equal per-image scores, and a
patient-level split cannot keep views of one patient together.  Body part
comes from the hand/leg/hip/shoulder flags ('mixed' when several or the
mixed flag are set); view from frontal/lateral/oblique ('frontal' is kept
as such: FracAtlas does not say AP or PA; 'multiple' for multi-view
scans).  Beside these single values each image record keeps every flag of
its row: ``body_parts`` (the set flags among hand, leg, hip, shoulder and
mixed), ``views`` (among frontal, lateral, oblique), ``hardware`` and
``multiscan`` (booleans), so the data set's published per-flag counts can
be recomputed from the output (:func:`fracatlas_flag_counts`).
``file_name`` is relative to ``ROOT/images``.
"""
import logging
from pathlib import Path
from typing import Dict, Mapping, Sequence, Union

from mmengine.fileio import load
from mmengine.logging import print_log
from tqdm import tqdm

from ..coco_builder import CocoBuilder, DatasetRecordError, subset_coco
from ..splits import split_by_patient
from .source_files import read_csv_rows, read_image_size

IMAGE_FOLDERS = ('Fractured', 'Non_fractured')
COCO_FILE = 'Annotations/COCO JSON/COCO_fracture_masks.json'
SPLIT_FOLDER = 'Utilities/Fracture Split'
OFFICIAL_SPLITS = {'train': 'train', 'valid': 'val', 'test': 'test'}
FRACTURE_CATEGORY_NAME = 'fractured'
BODY_PART_FLAGS = ('hand', 'leg', 'hip', 'shoulder')
MIXED_FLAG = 'mixed'
VIEW_FLAGS = ('frontal', 'lateral', 'oblique')
BOOLEAN_FLAGS = ('hardware', 'multiscan')


def convert_fracatlas(root: Union[str, Path], progress: bool = True) -> dict:
    """The COCO dict of every image listed in FracAtlas's ``dataset.csv``.

    Fractures are the COCO file's polygons; images without polygons are
    fracture-free.  Where ``dataset.csv``'s ``fractured`` flag disagrees
    with the polygons (IMG0003298 in the full set), the polygons win and
    the image is named in a warning.
    """
    root = Path(root)
    rows = read_csv_rows(root / 'dataset.csv')
    coco_path = root / COCO_FILE
    source = load(str(coco_path))
    fracture_ids = {
        c['id']
        for c in source['categories'] if c['name'] == FRACTURE_CATEGORY_NAME
    }
    records = {image['file_name']: image for image in source['images']}
    unlisted = set(records) - {row['image_id'] for row in rows}
    if unlisted:
        raise DatasetRecordError(
            f'{coco_path}: images {sorted(unlisted)[:5]} are not in '
            'dataset.csv')
    annotations = {image['id']: [] for image in source['images']}
    for annotation in source['annotations']:
        name = f'{coco_path}: annotation {annotation.get("id")}'
        if annotation.get('category_id') not in fracture_ids:
            raise DatasetRecordError(
                f'{name} has unknown category {annotation.get("category_id")}')
        if annotation.get('image_id') not in annotations:
            raise DatasetRecordError(
                f'{name} refers to image {annotation.get("image_id")}, '
                'which is not listed')
        annotations[annotation['image_id']].append(annotation)

    builder = CocoBuilder()
    disagreements = []
    for row in tqdm(rows, desc='FracAtlas', disable=not progress):
        name = row['image_id']
        file_name = find_image(root / 'images', name)
        width, height = read_image_size(root / 'images' / file_name)
        record = records.get(name)
        if record and (record['width'], record['height']) != (width, height):
            raise DatasetRecordError(
                f'{coco_path}: image {name} is {record["width"]}x'
                f'{record["height"]} in the annotations but {width}x{height}'
                ' on disk')
        stem = Path(name).stem
        image_id = builder.add_image(
            file_name,
            width,
            height,
            case_id=stem,
            patient_id=stem,
            body_part=body_part(row),
            view=view(row),
            body_parts=[
                part for part in BODY_PART_FLAGS + (MIXED_FLAG, )
                if flag(row, part)
            ],
            views=[name for name in VIEW_FLAGS if flag(row, name)],
            **{column: flag(row, column)
               for column in BOOLEAN_FLAGS})
        fractures = annotations[record['id']] if record else []
        for annotation in fractures:
            segmentation = annotation.get('segmentation')
            if not isinstance(segmentation, list):
                raise DatasetRecordError(
                    f'{coco_path}: annotation {annotation.get("id")} '
                    f'({name}) has no polygons')
            builder.add_polygons(
                image_id, segmentation,
                f'{coco_path}: annotation {annotation["id"]} ({name})')
        if flag(row, 'fractured') != bool(fractures):
            disagreements.append(name)
    if disagreements:
        print_log(
            f'dataset.csv "fractured" disagrees with the polygons for '
            f'{len(disagreements)} images (the polygons are used): '
            f'{disagreements[:10]}',
            logger='current',
            level=logging.WARNING)
    return builder.to_dict()


def fracatlas_flag_counts(coco: Mapping) -> Dict[str, int]:
    """The number of images with each ``dataset.csv`` flag (body parts,
    mixed, hardware, multiscan, views), counted from the image records of
    :func:`convert_fracatlas`: they equal the column sums of
    ``dataset.csv``."""
    counts = dict.fromkeys(
        BODY_PART_FLAGS + (MIXED_FLAG, ) + BOOLEAN_FLAGS + VIEW_FLAGS, 0)
    for image in coco['images']:
        for name in image['body_parts'] + image['views']:
            counts[name] += 1
        for column in BOOLEAN_FLAGS:
            counts[column] += bool(image[column])
    return counts


def official_split(
        root: Union[str, Path],
        coco: Mapping,
        ratios: Mapping[str, float],
        seed: int,
        duplicate_groups: Sequence[Sequence[int]] = ()) -> Dict[str, dict]:
    """FracAtlas's own split of the fractured images, with the
    fracture-free images (which its split files leave out) split by
    :func:`split_by_patient` with ``ratios`` over train/val/test.

    A fracture-free image in a group of ``duplicate_groups`` with a listed
    image joins that image's split; the other groups are kept whole by the
    split.  Duplicates that FracAtlas's own split files put in different
    splits stay there (the split would not be the official one otherwise)
    and are named in a warning; ``check_leakage.py`` reports them too.
    """
    root = Path(root)
    if set(ratios) != set(OFFICIAL_SPLITS.values()):
        raise ValueError(f'the official split needs ratios for '
                         f'{sorted(OFFICIAL_SPLITS.values())}, got {ratios}')
    fractured = {a['image_id'] for a in coco['annotations']}
    id_of = {
        Path(image['file_name']).name: image['id']
        for image in coco['images']
    }
    split_ids = {name: [] for name in OFFICIAL_SPLITS.values()}
    for file_stem, name in OFFICIAL_SPLITS.items():
        path = root / SPLIT_FOLDER / f'{file_stem}.csv'
        for row in read_csv_rows(path):
            if row['image_id'] not in id_of:
                raise DatasetRecordError(
                    f'{path}: image {row["image_id"]} is not in dataset.csv')
            split_ids[name].append(id_of[row['image_id']])
    listed = {i for ids in split_ids.values() for i in ids}
    missing = sorted(fractured - listed)
    if missing:
        raise DatasetRecordError(
            f'{root / SPLIT_FOLDER}: fractured images {missing[:5]} are in '
            'no split file')
    members = {name: set(ids) for name, ids in split_ids.items()}
    split_of = {i: name for name, ids in members.items() for i in ids}
    free_groups, official_leaks = [], []
    for group in duplicate_groups:
        splits = sorted({split_of[i] for i in group if i in split_of})
        if len(splits) > 1:
            official_leaks.append(group)
        if splits:  # unlisted copies follow the first listed image
            members[split_of[min(i for i in group if i in split_of)]].update(
                i for i in group if i not in split_of)
        else:
            free_groups.append(group)
    if official_leaks:
        print_log(
            f'FracAtlas\'s split files put duplicates in different splits '
            f'(kept as the official split): image ids {official_leaks[:10]}',
            logger='current',
            level=logging.WARNING)
    placed = {i for ids in members.values() for i in ids}
    fracture_free = subset_coco(
        coco,
        [image['id'] for image in coco['images'] if image['id'] not in placed])
    for name, split in split_by_patient(fracture_free, ratios, seed,
                                        free_groups).items():
        members[name].update(image['id'] for image in split['images'])
    return {
        name:
        subset_coco(coco, [
            image['id']
            for image in coco['images'] if image['id'] in members[name]
        ])
        for name in ratios
    }


def find_image(image_dir: Path, name: str) -> str:
    """``Fractured/<name>`` or ``Non_fractured/<name>``, whichever exists."""
    for folder in IMAGE_FOLDERS:
        if (image_dir / folder / name).is_file():
            return f'{folder}/{name}'
    raise DatasetRecordError(
        f'dataset.csv: image {name} is in neither '
        f'{" nor ".join(str(image_dir / f) for f in IMAGE_FOLDERS)} '
        '(missing image file)')


def flag(row: Mapping[str, str], column: str) -> bool:
    """A 0/1 column of ``dataset.csv``."""
    return str(row.get(column, '')).strip() == '1'


def body_part(row: Mapping[str, str]) -> str:
    """The body part of a ``dataset.csv`` row."""
    parts = [part for part in BODY_PART_FLAGS if flag(row, part)]
    if flag(row, MIXED_FLAG) or len(parts) > 1:
        return MIXED_FLAG
    return parts[0] if parts else 'unknown'


def view(row: Mapping[str, str]) -> str:
    """The view of a ``dataset.csv`` row."""
    views = [name for name in VIEW_FLAGS if flag(row, name)]
    if len(views) > 1:
        return 'multiple'
    return views[0] if views else 'unknown'
