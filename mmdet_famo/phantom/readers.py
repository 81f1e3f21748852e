"""Further readers' annotations of a phantom data set, with controlled
disagreement, to demonstrate and test the reader agreement analysis
(``tools/analysis/reader_agreement.py``; the paper's Table 6).

Reader 1 is the generator's own annotation (the phantoms' truth). Every
further reader sees the same images and, independently of the others,

* misses each fracture with probability ``miss_rate``;
* adds, on each image with probability ``false_finding_rate``, one false
  finding: a thin fracture-like outline where there is no fracture;
* outlines each fracture it finds a little differently: the mask shifted by
  up to ``jitter_px`` pixels in x and y, and grown or shrunk by one pixel
  (one chance in three each); exactly as the reference when ``jitter_px``
  is 0.

Every draw is seeded with ``(seed, reader, image index)``, so the files
depend only on the reference annotations and these settings.
"""
from dataclasses import dataclass
from pathlib import Path
from typing import List, Mapping, Union

import cv2
import numpy as np
from mmengine.fileio import dump
from pycocotools import mask as mask_utils

from mmdet_famo.datasets.coco_builder import CASE_KEYS, CocoBuilder
from mmdet_famo.evaluation.functional.agreement import segmentation_rle

#: ``annotations/reader_<k>.json``, k from 1 (the reference).
READER_FILE = 'reader_{}.json'


@dataclass(frozen=True)
class ReaderDisagreement:
    """How much a simulated reader departs from the reference.

    Args:
        miss_rate (float): Chance of missing each fracture.
        false_finding_rate (float): Chance per image of one extra false
            finding.
        jitter_px (int): Largest shift of an outline, in pixels.
        seed (int): Seed of every draw.
    """
    miss_rate: float = 0.1
    false_finding_rate: float = 0.05
    jitter_px: int = 1
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ('miss_rate', 'false_finding_rate'):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f'{name} must be in [0, 1], got '
                                 f'{getattr(self, name)}')
        if self.jitter_px < 0:
            raise ValueError(f'jitter_px must be >= 0, got {self.jitter_px}')


def simulate_reader(coco: Mapping, reader: int,
                    disagreement: ReaderDisagreement) -> dict:
    """Another reader's annotation of the images of ``coco``.

    Args:
        coco (Mapping): The reference annotations (package COCO format).
        reader (int): The reader's number, 2 or more (seeds its draws).
        disagreement (ReaderDisagreement): Misses, false findings, jitter.

    Returns:
        dict: A COCO dict of the same images (same file names and case
        metadata) with this reader's instances.
    """
    if reader < 2:
        raise ValueError(f'reader 1 is the reference; got reader {reader}')
    by_image: dict = {image['id']: [] for image in coco['images']}
    for annotation in coco['annotations']:
        by_image[annotation['image_id']].append(annotation)
    builder = CocoBuilder()
    for index, image in enumerate(coco['images']):
        rng = np.random.default_rng((disagreement.seed, reader, index))
        height, width = image['height'], image['width']
        image_id = builder.add_image(image['file_name'], width, height,
                                     **{key: image[key]
                                        for key in CASE_KEYS})
        masks = [
            mask_utils.decode(
                segmentation_rle(a['segmentation'], height,
                                 width)).astype(bool)
            for a in by_image[image['id']]
        ]
        found = rng.random(len(masks)) >= disagreement.miss_rate
        for number, mask in enumerate(masks):
            jittered = jitter_outline(rng, mask, disagreement.jitter_px)
            if found[number]:
                annotation = builder.add_mask(
                    image_id,
                    jittered,
                    record=f'{image["file_name"]} reader {reader} '
                    f'fracture {number}')
                # the phantom's own record of the line's angle, if any
                reference = by_image[image['id']][number]
                if 'fracture_orientation' in reference:
                    annotation['fracture_orientation'] = \
                        reference['fracture_orientation']
        if rng.random() < disagreement.false_finding_rate:
            builder.add_mask(
                image_id,
                false_finding(rng, height, width, masks),
                record=f'{image["file_name"]} reader {reader} false finding')
    return builder.to_dict()


def jitter_outline(rng: np.random.Generator, mask: np.ndarray,
                   jitter_px: int) -> np.ndarray:
    """``mask`` shifted by up to ``jitter_px`` px in x and y and grown or
    shrunk by one pixel; the shifted mask alone if shrinking empties it;
    ``mask`` itself when ``jitter_px`` is 0."""
    if jitter_px == 0:
        return mask
    dx, dy = rng.integers(-jitter_px, jitter_px + 1, size=2)
    shift = np.float32([[1, 0, dx], [0, 1, dy]])
    moved = cv2.warpAffine(mask.astype(np.uint8),
                           shift, (mask.shape[1], mask.shape[0]),
                           flags=cv2.INTER_NEAREST)
    change = int(rng.integers(3))  # 0 keep, 1 grow, 2 shrink
    kernel = np.ones((3, 3), np.uint8)
    changed = moved
    if change == 1:
        changed = cv2.dilate(moved, kernel)
    elif change == 2:
        changed = cv2.erode(moved, kernel)
    if not changed.any():
        changed = moved if moved.any() else mask.astype(np.uint8)
    return changed.astype(bool)


def false_finding(rng: np.random.Generator, height: int, width: int,
                  fractures: List[np.ndarray]) -> np.ndarray:
    """A thin fracture-like outline (a rotated bar 12-30 px long, 3-6 px
    wide) in the central part of the image, off every real fracture's box
    when a few tries allow."""
    taken = np.zeros((height, width), bool)
    for mask in fractures:
        ys, xs = np.nonzero(mask)
        taken[ys.min():ys.max() + 1, xs.min():xs.max() + 1] = True
    bar = np.zeros((height, width), np.uint8)
    for _ in range(20):
        bar[:] = 0
        centre = (float(rng.uniform(0.2, 0.8) * width),
                  float(rng.uniform(0.2, 0.8) * height))
        size = (float(rng.uniform(12, 30)), float(rng.uniform(3, 6)))
        corners = cv2.boxPoints((centre, size, float(rng.uniform(0, 180))))
        cv2.fillPoly(bar, [np.round(corners).astype(np.int32)], 1)
        if not (bar.astype(bool) & taken).any():
            break
    return bar.astype(bool)


def write_reader_annotations(annotation_dir: Union[str, Path], coco: Mapping,
                             num_readers: int,
                             disagreement: ReaderDisagreement) -> List[Path]:
    """Write ``reader_1.json`` (the reference ``coco``) to
    ``reader_<num_readers>.json`` (simulated) into ``annotation_dir``.

    Returns:
        list[Path]: The files written, reader 1 first.
    """
    if num_readers < 2:
        raise ValueError(f'need at least 2 readers, got {num_readers}')
    annotation_dir = Path(annotation_dir)
    annotation_dir.mkdir(parents=True, exist_ok=True)
    readers = [dict(coco)] + [
        simulate_reader(coco, reader, disagreement)
        for reader in range(2, num_readers + 1)
    ]
    paths = []
    for number, content in enumerate(readers, start=1):
        path = annotation_dir / READER_FILE.format(number)
        dump(content, str(path))
        paths.append(path)
    return paths
