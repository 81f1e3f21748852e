"""Build, validate and summarise fracture annotations in the package's COCO
format.

The format is COCO detection JSON with one category ``{'id': 1, 'name':
'fracture'}``.  Image records carry, besides ``id, file_name, width,
height``, the case metadata the per-case metric needs: ``case_id`` (the
study), ``patient_id``, ``body_part`` and ``view`` (lower-case strings,
``'unknown'`` where the source does not say).  Each annotation holds the
instance segmentation (polygons or RLE) and the tight box derived from it:
the paper derives its training boxes from radiologists' instance
segmentations (Methods, "Data labeling"), and instances may overlap.
Fracture-free images are image records without annotations.

Every converter and the phantom generator go through :class:`CocoBuilder`,
so every file they write passes the same checks, and each broken record
raises :class:`DatasetRecordError` naming it.
"""
import copy
import sys
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path
from typing import Dict, Iterator, List, Mapping, Optional, Sequence, Union

import numpy as np
from mmengine.fileio import dump
from pycocotools import mask as mask_utils
from terminaltables import AsciiTable

FRACTURE_CATEGORY = {'id': 1, 'name': 'fracture'}
CASE_KEYS = ('case_id', 'patient_id', 'body_part', 'view')
IMAGE_KEYS = ('id', 'file_name', 'width', 'height') + CASE_KEYS
UNKNOWN = 'unknown'
ALL_IMAGES = 'all'  # all.json holds every image, <split>.json a split

# Polygon vertices up to this many pixels outside the image are clipped onto
# its border (rounding in annotation tools); farther ones are an error.
OUTSIDE_TOLERANCE_PX = 1.0


class DatasetRecordError(ValueError):
    """A source record (image, annotation, label line) that cannot be
    converted; the message names the record and the reason."""


@contextmanager
def exit_on_record_error() -> Iterator[None]:
    """CLI guard: a :class:`DatasetRecordError` exits with ``error: <msg>``."""
    try:
        yield
    except DatasetRecordError as e:
        sys.exit(f'error: {e}')


class CocoBuilder:
    """Collect image records and fracture instances into a COCO dict.

    Boxes are never taken from the source: each is the tight extent of its
    instance segmentation, ``[x, y, w, h]`` of the polygon vertices or of
    the mask's pixels, so that all data sets share one box convention.

    Example:
        >>> builder = CocoBuilder()
        >>> image_id = builder.add_image('a.dcm', 64, 48, case_id='c1',
        ...                              patient_id='p1', body_part='wrist')
        >>> annotation = builder.add_polygons(
        ...     image_id, [[2, 3, 10, 3, 10, 7]], record='a.dcm')
        >>> annotation['bbox']
        [2.0, 3.0, 8.0, 4.0]
    """

    def __init__(self) -> None:
        self.images: List[dict] = []
        self.annotations: List[dict] = []
        self._file_names: Dict[str, int] = {}

    def add_image(self,
                  file_name: str,
                  width: int,
                  height: int,
                  case_id: str,
                  patient_id: str,
                  body_part: Optional[str] = None,
                  view: Optional[str] = None,
                  **metadata) -> int:
        """Add one image record and return its id (ids count from 1).

        ``metadata`` are further JSON values kept in the record, e.g.
        FracAtlas's ``body_parts`` flags; they cannot replace the
        :data:`IMAGE_KEYS`.
        """
        clashes = sorted(set(metadata) & set(IMAGE_KEYS))
        if clashes:
            raise ValueError(f'metadata cannot set {clashes}')
        if file_name in self._file_names:
            raise DatasetRecordError(f'image {file_name!r} is listed twice')
        if int(width) <= 0 or int(height) <= 0:
            raise DatasetRecordError(
                f'image {file_name!r} has size {width}x{height}')
        for key, value in (('case_id', case_id), ('patient_id', patient_id)):
            if value is None or str(value).strip() == '':
                raise DatasetRecordError(f'image {file_name!r} has no {key}')
        image_id = len(self.images) + 1
        self.images.append(
            dict(
                id=image_id,
                file_name=file_name,
                width=int(width),
                height=int(height),
                case_id=str(case_id),
                patient_id=str(patient_id),
                body_part=normalise_tag(body_part),
                view=normalise_tag(view),
                **metadata))
        self._file_names[file_name] = image_id
        return image_id

    def add_polygons(self, image_id: int, polygons: Sequence[Sequence[float]],
                     record: str) -> dict:
        """Add one instance outlined by polygons ``[[x1, y1, x2, y2, ...]]``.

        Vertices within :data:`OUTSIDE_TOLERANCE_PX` of the image are
        clipped onto it; ``record`` names the source in error messages.
        """
        image = self._image(image_id)
        width, height = image['width'], image['height']
        if not polygons:
            raise DatasetRecordError(f'{record}: empty segmentation')
        clipped = []
        for polygon in polygons:
            coords = np.asarray(polygon, dtype=np.float64)
            if coords.ndim != 1 or coords.size < 6 or coords.size % 2:
                raise DatasetRecordError(
                    f'{record}: a polygon needs at least 3 (x, y) vertices, '
                    f'got {coords.size} numbers')
            if not np.isfinite(coords).all():
                raise DatasetRecordError(f'{record}: non-finite coordinate')
            xs, ys = coords[0::2], coords[1::2]
            if (xs.min() < -OUTSIDE_TOLERANCE_PX
                    or ys.min() < -OUTSIDE_TOLERANCE_PX
                    or xs.max() > width + OUTSIDE_TOLERANCE_PX
                    or ys.max() > height + OUTSIDE_TOLERANCE_PX):
                raise DatasetRecordError(
                    f'{record}: polygon spans x {xs.min():.1f}..'
                    f'{xs.max():.1f}, y {ys.min():.1f}..{ys.max():.1f}, '
                    f'outside the {width}x{height} image '
                    f'{image["file_name"]!r}')
            coords[0::2] = xs.clip(0, width)
            coords[1::2] = ys.clip(0, height)
            clipped.append(coords)
        vertices = np.concatenate(clipped)
        x1, y1 = vertices[0::2].min(), vertices[1::2].min()
        x2, y2 = vertices[0::2].max(), vertices[1::2].max()
        if x2 - x1 <= 0 or y2 - y1 <= 0:
            raise DatasetRecordError(
                f'{record}: degenerate polygon (zero width or height)')
        rles = mask_utils.frPyObjects([c.tolist() for c in clipped], height,
                                      width)
        area = float(mask_utils.area(mask_utils.merge(rles)))
        return self._add_annotation(
            image_id, [c.tolist() for c in clipped],
            [float(x1), float(y1),
             float(x2 - x1),
             float(y2 - y1)], area)

    def add_mask(self, image_id: int, mask: np.ndarray, record: str) -> dict:
        """Add one instance given as a binary mask of the image's size; it is
        stored as COCO RLE and its box is the extent of its pixels."""
        image = self._image(image_id)
        shape = (image['height'], image['width'])
        if mask.shape != shape:
            raise DatasetRecordError(
                f'{record}: mask is {mask.shape[1]}x{mask.shape[0]} but the '
                f'image {image["file_name"]!r} is {shape[1]}x{shape[0]}')
        if not mask.any():
            raise DatasetRecordError(f'{record}: empty mask')
        rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
        bbox = [float(v) for v in mask_utils.toBbox(rle)]
        area = float(mask_utils.area(rle))
        rle['counts'] = rle['counts'].decode('ascii')
        return self._add_annotation(image_id, rle, bbox, area)

    def to_dict(self) -> dict:
        """A copy of the COCO dict (``images``, ``annotations``,
        ``categories``)."""
        return copy.deepcopy(
            dict(
                images=self.images,
                annotations=self.annotations,
                categories=[FRACTURE_CATEGORY]))

    def _image(self, image_id: int) -> dict:
        if not 1 <= image_id <= len(self.images):
            raise DatasetRecordError(f'no image with id {image_id}')
        return self.images[image_id - 1]

    def _add_annotation(self, image_id: int, segmentation, bbox: List[float],
                        area: float) -> dict:
        annotation = dict(
            id=len(self.annotations) + 1,
            image_id=image_id,
            category_id=FRACTURE_CATEGORY['id'],
            bbox=bbox,
            segmentation=segmentation,
            area=area,
            iscrowd=0)
        self.annotations.append(annotation)
        return annotation


def normalise_tag(value: Optional[str]) -> str:
    """Lower-case, trimmed metadata value; ``'unknown'`` when empty."""
    if value is None:
        return UNKNOWN
    value = str(value).strip().lower()
    return value or UNKNOWN


def check_fracture_coco(coco: Mapping, source: str) -> None:
    """Raise :class:`DatasetRecordError` naming the first record of ``coco``
    (read from ``source``) that breaks the package's format."""
    for key in ('images', 'annotations', 'categories'):
        if key not in coco:
            raise DatasetRecordError(f'{source}: no {key!r} list')
    categories = {c['id']: c['name'] for c in coco['categories']}
    if categories != {FRACTURE_CATEGORY['id']: FRACTURE_CATEGORY['name']}:
        raise DatasetRecordError(
            f'{source}: categories are {categories}, expected '
            f'{FRACTURE_CATEGORY}')
    image_ids = set()
    for image in coco['images']:
        missing = [key for key in IMAGE_KEYS if image.get(key) in (None, '')]
        if missing:
            raise DatasetRecordError(
                f'{source}: image {image.get("id")} '
                f'({image.get("file_name")!r}) lacks {", ".join(missing)}')
        image_ids.add(image['id'])
    for annotation in coco['annotations']:
        if annotation.get('image_id') not in image_ids:
            raise DatasetRecordError(
                f'{source}: annotation {annotation.get("id")} refers to '
                f'image {annotation.get("image_id")}, which is not listed')
        if annotation.get('category_id') != FRACTURE_CATEGORY['id']:
            raise DatasetRecordError(
                f'{source}: annotation {annotation.get("id")} has unknown '
                f'category {annotation.get("category_id")}')


def subset_coco(coco: Mapping, image_ids: Sequence[int]) -> dict:
    """The images ``image_ids`` of ``coco`` (in that order) with their
    annotations; ids are kept, so subsets of one file stay comparable."""
    wanted = set(image_ids)
    by_id = {image['id']: image for image in coco['images']}
    return dict(
        images=[by_id[i] for i in image_ids],
        annotations=[
            a for a in coco['annotations'] if a['image_id'] in wanted
        ],
        categories=list(coco['categories']))


def save_annotations(out_dir: Union[str, Path], coco: Mapping,
                     splits: Mapping[str, Mapping]) -> None:
    """Write ``coco`` to ``out_dir/all.json`` and each split to
    ``out_dir/<name>.json``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, content in {ALL_IMAGES: coco, **splits}.items():
        dump(content, str(out_dir / f'{name}.json'))


def report_splits(out_dir: Union[str, Path],
                  splits: Mapping[str, Mapping]) -> None:
    """Print ``written to <out_dir>`` and the :func:`summary_table`."""
    print(f'written to {out_dir}')
    print(summary_table(splits))


def write_splits(out_dir: Union[str, Path], coco: Mapping,
                 splits: Mapping[str, Mapping]) -> None:
    """:func:`save_annotations`, then :func:`report_splits`."""
    save_annotations(out_dir, coco, splits)
    report_splits(out_dir, splits)


def summary_table(splits: Mapping[str, Mapping]) -> str:
    """A table of images, fracture-free images, cases, patients and
    fractures per split and body part, with a total row per split."""
    header = [
        'split', 'body part', 'images', 'fracture-free', 'cases', 'patients',
        'fractures'
    ]
    rows = [header]
    for split, coco in splits.items():
        fractures = defaultdict(int)
        for annotation in coco['annotations']:
            fractures[annotation['image_id']] += 1
        groups = defaultdict(list)
        for image in coco['images']:
            groups[image['body_part']].append(image)
        groups = dict(sorted(groups.items()))
        if len(groups) != 1:
            groups['all'] = list(coco['images'])
        for body_part, images in groups.items():
            rows.append([
                split, body_part,
                len(images),
                sum(fractures[image['id']] == 0 for image in images),
                len({image['case_id']
                     for image in images}),
                len({image['patient_id']
                     for image in images}),
                sum(fractures[image['id']] for image in images)
            ])
    table = AsciiTable(rows)
    for column in range(2, len(header)):
        table.justify_columns[column] = 'right'
    return table.table
