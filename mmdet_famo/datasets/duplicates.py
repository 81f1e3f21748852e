"""Exact and near-duplicate radiographs, found by their pixels.

Public sets hold one radiograph under several ids: byte-identical files,
and copies re-encoded, resized or re-windowed.  Split by id, such copies
land in both the training and the test split and the test measures memory
(the same concern as patient leakage, see :mod:`.splits`), so duplicates
are found from the pixels, never from ids or file bytes:

- **Exact duplicates** decode to the same pixels: the SHA-256 of the image
  as :class:`~.transforms.LoadRadiograph` reads it (no CLAHE, 16 bits, its
  shape), so another container (DICOM or PNG), other metadata or another
  file name still match.
- **Near duplicates** have perceptual hashes within
  :data:`MAX_PHASH_DISTANCE` bits of each other: the pHash of ``imagehash``
  (the signs of the lowest 16 x 16 DCT coefficients of the image shrunk to
  64 x 64, against their median; Zauner 2010), 256 bits (``hash_size``
  :data:`PHASH_SIZE`), of the image stretched over its own range to 8 bits,
  so a linear change of brightness or contrast barely moves it.  pHash
  rather than dHash: on the FracAtlas sample, JPEG quality 30 moved the
  256-bit dHash by up to 37 bits and the pHash by 12, with distinct images
  as far apart under both.

The threshold, 32 of 256 bits (12.5 %), was measured on phantoms
(:mod:`mmdet_famo.phantom`) and on the 28 FracAtlas sample radiographs.
Re-encoding as JPEG (quality 30-95), resizing (x 0.5-1.25), blur, pixel
noise and a linear contrast change moved the pHash by at most 12 bits, a
gamma of 0.85-1.4 by up to 26.  Distinct images were at least 48 bits
apart: 1,200 phantoms (719,400 pairs; their limbs look much alike at
64 x 64, 0.01 % of the pairs within 68 bits) and the FracAtlas sample (58).
A false match only keeps two images in one split, while a miss leaks a
copy into the test split, so the threshold sits above every copy measured
and 16 bits below the closest distinct pair.  Not caught, by design:
crops (a 2 % crop moved it by 44 bits) and saturating contrast changes,
which make another image.  ``max_distance`` changes it; 0 keeps only
identical hashes.

A file that cannot be decoded (a truncated JPEG, a broken DICOM) has no
pixels to compare: its fingerprint is the SHA-256 of its bytes, so
byte-identical copies of it are still exact duplicates (FracAtlas holds
such a pair of truncated files), and it is named among
:func:`unreadable_images`, for the converters to leave out.

Duplicates link images into groups (connected components: a copy of a
copy is in the group); :func:`~.splits.split_by_patient` keeps each group
in one split, as one patient.
"""
import hashlib
import logging
from argparse import ArgumentParser, Namespace
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

import imagehash
import numpy as np
from mmengine.logging import print_log
from PIL import Image
from tqdm import tqdm

from .coco_builder import DatasetRecordError, subset_coco
from .transforms.loading import LoadRadiograph, RadiographError

#: Side of the pHash's DCT block: 16 x 16 = 256 bits.
PHASH_SIZE = 16
#: Hamming distance (bits of 256) up to which two images are near
#: duplicates; see the module docstring for the measurement behind it.
MAX_PHASH_DISTANCE = 32
#: Image-record key of the fingerprint: ``{'pixels': sha256 hex, 'phash':
#: hex}``, or, for a file that could not be decoded, ``{'bytes': sha256 hex
#: of the file, 'unreadable': the reason}``.
FINGERPRINT_KEY = 'fingerprint'

#: Decodes as training does (orientation, bit depth, photometric
#: interpretation, rescale), without the CLAHE that would blur the hashes.
_LOADER = LoadRadiograph(clip_limit=None, output='uint16')


@dataclass(frozen=True)
class DuplicatePair:
    """Two images (ids ``first < second``) found to be duplicates;
    ``distance`` is the bits their pHashes differ in."""
    first: int
    second: int
    exact: bool
    distance: int


def fingerprint_pixels(image: np.ndarray) -> dict:
    """The fingerprint of a decoded image: ``{'pixels': SHA-256 hex of its
    shape, dtype and pixels, 'phash': 256-bit pHash in hex}``."""
    image = np.ascontiguousarray(image)
    digest = hashlib.sha256(f'{image.shape}{image.dtype}'.encode())
    digest.update(image.tobytes())
    low, high = float(image.min()), float(image.max())
    stretched = np.rint((image - low) * (255 / ((high - low) or 1.0)))
    phash = imagehash.phash(
        Image.fromarray(stretched.astype(np.uint8)), hash_size=PHASH_SIZE)
    return dict(pixels=digest.hexdigest(), phash=str(phash))


def fingerprint_file(path: Union[str, Path]) -> dict:
    """The :func:`fingerprint_pixels` of a radiograph file (DICOM, PNG,
    JPEG) as :class:`LoadRadiograph` decodes it.

    Raises:
        RadiographError: If the file cannot be read.
    """
    results = _LOADER.transform(dict(img_path=str(path)))
    return fingerprint_pixels(results['img'])


def fingerprint_bytes(path: Union[str, Path], reason: str) -> dict:
    """The fingerprint of a file that cannot be decoded: ``{'bytes':
    SHA-256 hex of the file, 'unreadable': reason}``."""
    digest = hashlib.sha256()
    try:
        with open(path, 'rb') as file:
            for chunk in iter(lambda: file.read(1 << 20), b''):
                digest.update(chunk)
    except OSError as error:  # a missing file: nothing to compare
        return dict(bytes=None, unreadable=f'{reason}; {error}')
    return dict(bytes=digest.hexdigest(), unreadable=reason)


def add_fingerprints(coco: Mapping,
                     image_dir: Union[str, Path],
                     progress: bool = True) -> List[str]:
    """Set :data:`FINGERPRINT_KEY` on each image record of ``coco`` that
    has none, reading ``image_dir/<file_name>``; a file that cannot be
    decoded gets the fingerprint of its bytes (:func:`fingerprint_bytes`)
    and is named in a warning.

    Returns:
        list[str]: The files that could not be decoded, with the reasons.
    """
    todo = [image for image in coco['images'] if FINGERPRINT_KEY not in image]
    unreadable = []
    for image in tqdm(todo, desc='fingerprints', disable=not progress):
        path = Path(image_dir) / image['file_name']
        try:
            image[FINGERPRINT_KEY] = fingerprint_file(path)
        except RadiographError as error:
            image[FINGERPRINT_KEY] = fingerprint_bytes(path, error.reason)
            unreadable.append(f'{image["file_name"]} ({error.reason})')
    if unreadable:
        print_log(
            f'{len(unreadable)} images could not be decoded (compared by '
            f'their bytes only): {unreadable[:10]}',
            logger='current',
            level=logging.WARNING)
    return unreadable


def unreadable_images(coco: Mapping) -> Dict[int, str]:
    """Image id to the reason its file could not be decoded, for the
    records :func:`add_fingerprints` found unreadable."""
    return {
        image['id']: image[FINGERPRINT_KEY]['unreadable']
        for image in coco['images']
        if (image.get(FINGERPRINT_KEY) or {}).get('unreadable')
    }


def find_duplicates(
        fingerprints: Mapping[int, Optional[Mapping]],
        max_distance: int = MAX_PHASH_DISTANCE) -> List[DuplicatePair]:
    """Every pair of images that are exact or near duplicates.

    Args:
        fingerprints: Image id to its fingerprint (None: not compared).
        max_distance: Largest pHash Hamming distance of near duplicates.

    Returns:
        list[DuplicatePair]: Sorted by ids.
    """
    if max_distance < 0:
        raise ValueError(f'max_distance must be >= 0, got {max_distance}')
    pairs = byte_identical_pairs(fingerprints)
    items = sorted((i, f) for i, f in fingerprints.items()
                   if f is not None and 'pixels' in f)
    if len(items) < 2:
        return sorted(pairs, key=lambda p: (p.first, p.second))
    ids = [i for i, _ in items]
    hashes = [imagehash.hex_to_hash(f['phash']) for _, f in items]
    sizes = {h.hash.size for h in hashes}
    if len(sizes) != 1:
        raise DatasetRecordError(
            f'perceptual hashes of different sizes {sorted(sizes)} bits: '
            'fingerprints made by different versions; recompute them')
    bits = np.packbits(np.stack([h.hash.ravel() for h in hashes]), axis=1)
    words = np.ascontiguousarray(
        np.pad(bits, ((0, 0), (0, -bits.shape[1] % 8)))).view(np.uint64)
    block = 64  # rows compared at once: 64 x N x 4 words stay small
    for start in range(0, len(ids), block):
        rows = words[start:start + block]
        distances = np.bitwise_count(rows[:, None, :] ^
                                     words[None, start:]).sum(-1)
        for row, column in zip(*np.nonzero(distances <= max_distance)):
            first, second = start + row, start + column
            if second <= first:
                continue
            pairs.append(
                DuplicatePair(
                    ids[first], ids[second], items[first][1]['pixels'] ==
                    items[second][1]['pixels'],
                    int(distances[row, column])))
    return sorted(pairs, key=lambda p: (p.first, p.second))


def byte_identical_pairs(
        fingerprints: Mapping[int, Optional[Mapping]]) -> List[DuplicatePair]:
    """Pairs of undecodable files with the same bytes (exact, distance 0)."""
    by_digest: Dict[str, List[int]] = {}
    for image_id, fingerprint in sorted(
            (i, f) for i, f in fingerprints.items() if f is not None):
        if fingerprint.get('bytes'):
            by_digest.setdefault(fingerprint['bytes'], []).append(image_id)
    return [
        DuplicatePair(first, second, True, 0)
        for ids in by_digest.values()
        for index, first in enumerate(ids) for second in ids[index + 1:]
    ]


def duplicate_groups(pairs: Sequence[DuplicatePair]) -> List[List[int]]:
    """The groups of images linked by ``pairs`` (connected components),
    each sorted, in order of their smallest id."""
    parent: Dict[int, int] = {}

    def root(node: int) -> int:
        parent.setdefault(node, node)
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for pair in pairs:
        parent[root(pair.second)] = root(pair.first)
    groups: Dict[int, List[int]] = {}
    for node in sorted(parent):
        groups.setdefault(root(node), []).append(node)
    return sorted(groups.values())


def fingerprints_of(coco: Mapping, source: str) -> Dict[int, Optional[dict]]:
    """Image id to the fingerprint stored in its record.

    Raises:
        DatasetRecordError: Naming the first record without one.
    """
    for image in coco['images']:
        if FINGERPRINT_KEY not in image:
            raise DatasetRecordError(
                f'{source}: image {image["id"]} ({image["file_name"]!r}) has '
                'no fingerprint; give the image folder (--img-dir) to '
                'compute it, or skip the check (--no-duplicate-check)')
    return {image['id']: image[FINGERPRINT_KEY] for image in coco['images']}


def describe_pairs(coco: Mapping, pairs: Sequence[DuplicatePair]) -> str:
    """One line per pair, naming both images by id and file."""
    names = {image['id']: image['file_name'] for image in coco['images']}
    lines = []
    for pair in pairs:
        kind = ('exact duplicates (same pixels)' if pair.exact else
                f'near duplicates (pHash {pair.distance} of '
                f'{PHASH_SIZE ** 2} bits apart)')
        lines.append(f'{kind}: image {pair.first} ({names[pair.first]!r}) '
                     f'and image {pair.second} ({names[pair.second]!r})')
    return '\n'.join(lines)


def check_duplicates(coco: Mapping,
                     image_dir: Optional[Union[str, Path]],
                     max_distance: int = MAX_PHASH_DISTANCE,
                     source: str = 'annotations',
                     progress: bool = True) -> List[DuplicatePair]:
    """Fingerprint the images of ``coco`` that have no fingerprint yet
    (from ``image_dir``; None: every record must have one), find the
    duplicates and print the number of pairs and each pair's images.

    Returns:
        list[DuplicatePair]: For :func:`duplicate_groups`.
    """
    if image_dir is not None:
        add_fingerprints(coco, image_dir, progress)
    pairs = find_duplicates(fingerprints_of(coco, source), max_distance)
    exact = sum(pair.exact for pair in pairs)
    # printed, as the converters' summary table is: it is their report
    print(f'duplicate images: {exact} exact and {len(pairs) - exact} near '
          'pairs' + (', each group kept in one split:\n' +
                     describe_pairs(coco, pairs) if pairs else ''))
    return pairs


@dataclass(frozen=True)
class DuplicateLeak:
    """A pair of duplicate images in two different splits."""
    pair: DuplicatePair
    images: Tuple[Tuple[str, int, str], Tuple[str, int, str]]

    def __str__(self) -> str:
        kind = ('exact duplicates' if self.pair.exact else
                f'near duplicates (pHash {self.pair.distance} bits apart)')
        (split_a, id_a, name_a), (split_b, id_b, name_b) = self.images
        return (f'{kind}: image {id_a} ({name_a!r}) in {split_a} and image '
                f'{id_b} ({name_b!r}) in {split_b}')


def find_duplicate_leaks(
        splits: Mapping[str, Mapping],
        image_dir: Optional[Union[str, Path]] = None,
        max_distance: int = MAX_PHASH_DISTANCE,
        progress: bool = True) -> List[DuplicateLeak]:
    """Every pair of duplicate images that lie in different splits.

    Args:
        splits: Split name to its COCO dict (records with fingerprints, or
            ``image_dir`` to compute the missing ones).
        image_dir: Folder the ``file_name`` of every split is relative to.
        max_distance: See :func:`find_duplicates`.
        progress: Show a progress bar while fingerprinting.

    Returns:
        list[DuplicateLeak]: Empty when no copy crosses a split.
    """
    owners, fingerprints = [], {}
    for name, coco in splits.items():
        if image_dir is not None:
            add_fingerprints(coco, image_dir, progress)
        for image_id, fingerprint in fingerprints_of(coco, name).items():
            fingerprints[len(owners)] = fingerprint
            owners.append((name, image_id))
    names = {(name, image['id']): image['file_name']
             for name, coco in splits.items() for image in coco['images']}
    leaks = []
    for pair in find_duplicates(fingerprints, max_distance):
        first, second = owners[pair.first], owners[pair.second]
        if first[0] != second[0]:
            leaks.append(
                DuplicateLeak(
                    DuplicatePair(first[1], second[1], pair.exact,
                                  pair.distance),
                    ((*first, names[first]), (*second, names[second]))))
    return leaks


def add_duplicate_arguments(parser: ArgumentParser,
                            img_dir: bool = False) -> None:
    """Add the CLI options of the duplicate check: ``--max-phash-distance``,
    ``--no-duplicate-check`` and, if ``img_dir``, ``--img-dir``."""
    if img_dir:
        parser.add_argument(
            '--img-dir',
            help='folder the file names are relative to; fingerprints the '
            'image records lack are computed from its files')
    parser.add_argument(
        '--max-phash-distance',
        type=int,
        default=MAX_PHASH_DISTANCE,
        help='near duplicates differ in at most this many of the 256 pHash '
        f'bits (default {MAX_PHASH_DISTANCE}; 0: identical hashes only)')
    parser.add_argument(
        '--no-duplicate-check',
        action='store_true',
        help='do not look for duplicate images (faster; copies of one '
        'radiograph may then land in two splits)')


def duplicate_groups_from_args(coco: Mapping,
                               image_dir: Optional[Union[str, Path]],
                               args: Namespace,
                               source: str = 'annotations') -> List[List[int]]:
    """The :func:`duplicate_groups` of ``coco`` that a CLI tool with
    :func:`add_duplicate_arguments` asks for: none with
    ``--no-duplicate-check``, else :func:`check_duplicates`'s."""
    if args.no_duplicate_check:
        return []
    return duplicate_groups(
        check_duplicates(coco, image_dir, args.max_phash_distance, source))


def leave_out_unreadable(
    coco: Mapping, splits: Mapping[str, Mapping]
) -> Tuple[dict, Dict[str, dict], List[dict]]:
    """``coco`` and its ``splits`` without the images
    :func:`add_fingerprints` could not decode, and the list of what was left
    out (``{'id', 'file_name', 'reason'}``).

    The converters decide once, here, what becomes of an undecodable file:
    it is not part of the data set, and the list says so. Kept, it would
    be refused by the loader at evaluation (an evaluation set never skips
    an image) and skipped, unseen, in training. It is left out after the
    split, so that every readable image stays in the split the whole set
    gives it (leaving it out first would deal the splits anew).
    """
    reasons = unreadable_images(coco)
    excluded = [
        dict(id=image['id'], file_name=image['file_name'],
             reason=reasons[image['id']])
        for image in coco['images'] if image['id'] in reasons
    ]

    def readable(subset: Mapping) -> dict:
        return subset_coco(subset, [
            image['id'] for image in subset['images']
            if image['id'] not in reasons
        ])

    return readable(coco), {
        name: readable(split)
        for name, split in splits.items()
    }, excluded
