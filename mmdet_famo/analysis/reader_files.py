"""Readers' files of the same images for the agreement analysis (the
paper's Table 6): read, checked and aligned by file name.

Every reader's file is in the package's COCO format (data/README.md). The
checks come before any statistic: a file not in that format, a file name
listed twice, images in one reader's file only, or image size or case
metadata that differ between readers stop the analysis with an error
naming the files and records.
"""
import json
import os.path as osp
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Sequence

import numpy as np

from ..datasets.coco_builder import (CASE_KEYS, DatasetRecordError,
                                     check_fracture_coco)
from ..evaluation.functional.agreement import segmentation_rle

#: Image metadata that must be the same in every reader's file.
SHARED_IMAGE_KEYS = ('width', 'height') + CASE_KEYS
#: How many names an error message lists before '...'.
MAX_NAMES_IN_ERROR = 10


@dataclass
class ReaderSet:
    """The same images annotated by R readers, aligned by file name.

    ``images`` holds the image metadata (reader 1's records, which every
    reader shares); ``instances[r][i]`` reader r's instances on image i,
    each ``dict(id=, bbox=(x1, y1, x2, y2), rle=)``.
    """
    names: List[str]
    paths: List[str]
    images: List[dict]
    instances: List[List[List[dict]]]

    @property
    def counts(self) -> np.ndarray:
        """(images, readers) numbers of outlined fractures."""
        return np.array([[len(reader[i]) for reader in self.instances]
                         for i in range(len(self.images))],
                        dtype=int).reshape(len(self.images), len(self.names))


def load_readers(paths: Sequence[str],
                 names: Optional[Sequence[str]] = None) -> ReaderSet:
    """Read and check two or more readers' COCO files of the same images.

    Args:
        paths (Sequence[str]): One file per reader.
        names (Sequence[str], optional): Readers' names; the file names
            without ``.json`` by default (``R1``, ``R2``... if those repeat).

    Returns:
        ReaderSet: The images in reader 1's order, every reader's instances.

    Raises:
        DatasetRecordError: Naming the file and records when a file is not
            in the package's format, lists a file name twice, the readers'
            image sets differ, an image's size or case metadata differ
            between readers, or a segmentation cannot be decoded.
    """
    paths = [str(path) for path in paths]
    if len(paths) < 2:
        raise DatasetRecordError(
            f'need at least two readers\' files, got {len(paths)}')
    repeated = [
        p for p, n in Counter(map(osp.realpath, paths)).items() if n > 1
    ]
    if repeated:
        raise DatasetRecordError(
            f'the same file is given for several readers: {repeated}')
    if names is None:
        names = [osp.splitext(osp.basename(path))[0] for path in paths]
        if len(set(names)) != len(names):
            names = [f'R{k}' for k in range(1, len(paths) + 1)]
    names = list(names)
    if len(names) != len(paths) or len(set(names)) != len(names):
        raise DatasetRecordError(
            f'need {len(paths)} different reader names, got {names}')
    cocos = [_read_coco(path) for path in paths]
    by_name = [
        _images_by_file_name(coco, path) for coco, path in zip(cocos, paths)
    ]
    _check_same_images(by_name, paths)
    reference = cocos[0]['images']
    if not reference:
        raise DatasetRecordError(f'{paths[0]}: no images')
    images = [{
        key: image[key]
        for key in ('file_name', ) + SHARED_IMAGE_KEYS
    } for image in reference]
    instances = [
        _reader_instances(coco, images, records, path)
        for coco, records, path in zip(cocos, by_name, paths)
    ]
    return ReaderSet(names, paths, images, instances)


def _read_coco(path: str) -> dict:
    try:
        with open(path) as file:
            coco = json.load(file)
    except json.JSONDecodeError as error:
        raise DatasetRecordError(f'{path}: not JSON ({error})') from error
    if not isinstance(coco, dict):
        raise DatasetRecordError(f'{path}: not a COCO dict')
    check_fracture_coco(coco, path)
    return coco


def _images_by_file_name(coco: Mapping, path: str) -> Dict[str, dict]:
    """Image records by file name; file names listed twice are an error."""
    ids = defaultdict(list)
    for image in coco['images']:
        ids[image['file_name']].append(image['id'])
    duplicates = {name: i for name, i in ids.items() if len(i) > 1}
    if duplicates:
        raise DatasetRecordError(
            f'{path}: {len(duplicates)} file name(s) listed more than once: ' +
            _list_names(f'{name!r} (images {", ".join(map(str, i))})'
                        for name, i in duplicates.items()))
    image_ids = Counter(image['id'] for image in coco['images'])
    repeated = [i for i, n in image_ids.items() if n > 1]
    if repeated:
        raise DatasetRecordError(f'{path}: image id(s) used more than once: ' +
                                 _list_names(map(str, repeated)))
    return {image['file_name']: image for image in coco['images']}


def _check_same_images(by_name: Sequence[Dict[str, dict]],
                       paths: Sequence[str]) -> None:
    """Every reader lists the same file names with the same metadata."""
    problems = []
    reference = by_name[0]
    for records, path in zip(by_name[1:], paths[1:]):
        only_first = [n for n in reference if n not in records]
        only_here = [n for n in records if n not in reference]
        if only_first:
            problems.append(f'{len(only_first)} image(s) only in {paths[0]}, '
                            f'not in {path}: {_list_names(only_first)}')
        if only_here:
            problems.append(f'{len(only_here)} image(s) only in {path}, not '
                            f'in {paths[0]}: {_list_names(only_here)}')
    if problems:
        raise DatasetRecordError('the readers annotated different images: ' +
                                 '; '.join(problems))
    for records, path in zip(by_name[1:], paths[1:]):
        for name, image in reference.items():
            differing = [
                f'{key} {image[key]!r} vs {records[name][key]!r}'
                for key in SHARED_IMAGE_KEYS
                if image[key] != records[name][key]
            ]
            if differing:
                problems.append(f'{name!r}: {", ".join(differing)}')
        if problems:
            raise DatasetRecordError(
                f'image records differ between {paths[0]} and {path}: ' +
                _list_names(problems))


def _reader_instances(coco: Mapping, images: Sequence[dict],
                      records: Mapping[str,
                                       dict], path: str) -> List[List[dict]]:
    """One reader's instances, image by image in ``images``' order."""
    position = {
        records[image['file_name']]['id']: index
        for index, image in enumerate(images)
    }
    instances: List[List[dict]] = [[] for _ in images]
    for annotation in coco['annotations']:
        index = position[annotation['image_id']]
        image = images[index]
        record = (f'{path}: annotation {annotation.get("id")} of '
                  f'{image["file_name"]!r}')
        try:
            x, y, w, h = (float(v) for v in annotation['bbox'])
            rle = segmentation_rle(annotation['segmentation'], image['height'],
                                   image['width'])
        except (KeyError, TypeError, ValueError) as error:
            raise DatasetRecordError(f'{record}: {error}') from error
        if not np.isfinite([x, y, w, h]).all() or w <= 0 or h <= 0:
            raise DatasetRecordError(f'{record}: bad bbox '
                                     f'{annotation["bbox"]}')
        instances[index].append(
            dict(id=annotation.get('id'), bbox=(x, y, x + w, y + h), rle=rle))
    return instances


def _list_names(names) -> str:
    names = list(names)
    shown = ', '.join(names[:MAX_NAMES_IN_ERROR])
    return shown + (f', ... ({len(names)} in all)'
                    if len(names) > MAX_NAMES_IN_ERROR else '')
