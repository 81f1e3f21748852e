"""Patient-level data splits and the leakage check.

Views of one case, and cases of one patient, look alike (same anatomy, same
fracture seen from two sides, same hardware).  If they fall into both the
training and the test split the test measures memory, not detection, so the
split unit is the patient.  The splits are stratified by body part and by
fracture presence so that every split has the per-body-part mix the paper
reports on (Results, Tables 4 and 5).
"""
from argparse import Action, ArgumentParser, Namespace
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np
from .coco_builder import ALL_IMAGES, DatasetRecordError, subset_coco

DEFAULT_RATIOS = {'train': 0.7, 'val': 0.1, 'test': 0.2}
LEAKAGE_KEYS = ('patient_id', 'case_id', 'file_name')


class RatiosAction(Action):
    """Parse ``name=share ...`` into exactly the splits named.

    mmengine's ``DictAction`` merges what is given into the default, so
    ``--ratios train=0.8 test=0.2`` would keep the default's ``val``; here
    the option replaces the default, and a share that is not a number is a
    usage error naming it.
    """

    def __call__(self,
                 parser: ArgumentParser,
                 namespace: Namespace,
                 values: Sequence[str],
                 option_string: Optional[str] = None) -> None:
        ratios = {}
        for item in values:
            name, sep, share = item.partition('=')
            if not (sep and name) or name in ratios:
                parser.error(f'{option_string}: {item!r} is not name=share, '
                             'or names a split twice')
            try:
                ratios[name] = float(share)
            except ValueError:
                parser.error(f'{option_string}: the share in {item!r} is '
                             'not a number')
        setattr(namespace, self.dest, ratios)


def add_split_arguments(parser: ArgumentParser, seed: bool = True) -> None:
    """Add the CLI options ``--ratios`` (exactly the splits given, see
    :class:`RatiosAction`) and, if ``seed``, ``--seed``."""
    parser.add_argument(
        '--ratios',
        nargs='+',
        action=RatiosAction,
        default=dict(DEFAULT_RATIOS),
        metavar='NAME=SHARE',
        help='the splits to write, each name=share, e.g. train=0.7 val=0.1 '
        'test=0.2 (only the splits named are written)')
    if seed:
        parser.add_argument('--seed', type=int, default=0, help='split seed')


@dataclass(frozen=True)
class Leak:
    """One ``key`` value (a patient, case or file) found in several
    splits."""
    key: str
    value: str
    splits: Tuple[str, ...]

    def __str__(self) -> str:
        return f'{self.key} {self.value!r} is in {", ".join(self.splits)}'


def normalise_ratios(ratios: Mapping[str, float]) -> Dict[str, float]:
    """Ratios scaled to sum to 1, e.g. ``{'train': 7, 'val': 1, 'test': 2}``
    becomes ``{'train': 0.7, 'val': 0.1, 'test': 0.2}``."""
    if ALL_IMAGES in ratios:
        raise ValueError(f'{ALL_IMAGES!r} cannot name a split: '
                         f'{ALL_IMAGES}.json holds every image')
    values = np.asarray(list(ratios.values()), dtype=np.float64)
    if values.size == 0 or (values < 0).any() or values.sum() <= 0 \
            or not np.isfinite(values).all():
        raise ValueError(
            f'split ratios must be non-negative with a positive sum, got '
            f'{dict(ratios)}')
    return dict(zip(ratios, (values / values.sum()).tolist()))


def patient_strata(coco: Mapping) -> Dict[str, Tuple[str, bool]]:
    """Each patient's stratum: (the body part of most of their images,
    whether any of their images shows a fracture)."""
    fractured_images = {a['image_id'] for a in coco['annotations']}
    body_parts = defaultdict(Counter)
    fractured = defaultdict(bool)
    for image in coco['images']:
        patient = str(image['patient_id'])
        body_parts[patient][image['body_part']] += 1
        fractured[patient] |= image['id'] in fractured_images
    return {
        patient: (min(parts, key=lambda part:
                      (-parts[part], part)), fractured[patient])
        for patient, parts in body_parts.items()
    }


def merge_duplicate_patients(
        coco: Mapping, duplicate_groups: Sequence[Sequence[int]]) -> dict:
    """``coco`` with the ``patient_id`` of each record replaced by its
    split unit: patients linked through a group of duplicate images (see
    :mod:`.duplicates`), directly or through other groups, become one
    unit, named after its smallest patient id; other patients stay as
    they are."""
    patient_of = {
        image['id']: str(image['patient_id'])
        for image in coco['images']
    }
    parent = {patient: patient for patient in patient_of.values()}

    def root(patient: str) -> str:
        while parent[patient] != patient:
            parent[patient] = parent[parent[patient]]
            patient = parent[patient]
        return patient

    for group in duplicate_groups:
        missing = [i for i in group if i not in patient_of]
        if missing:
            raise DatasetRecordError(
                f'duplicate group {list(group)} names images {missing} '
                'that are not in the data set')
        roots = sorted({root(patient_of[i]) for i in group})
        for other in roots[1:]:
            parent[other] = roots[0]
    return dict(
        coco,
        images=[
            dict(image, patient_id=root(patient_of[image['id']]))
            for image in coco['images']
        ])


def split_by_patient(
        coco: Mapping,
        ratios: Mapping[str, float] = DEFAULT_RATIOS,
        seed: int = 0,
        duplicate_groups: Sequence[Sequence[int]] = ()) -> Dict[str, dict]:
    """Split a COCO dict into ``ratios``' splits so that no patient is in
    two of them, stratified by body part and fracture presence.

    Patients are shuffled with ``seed``, grouped by stratum, and dealt out
    in that order, each to the split furthest below its share of the images
    dealt so far.  Every stratum is a run of consecutive patients, so each
    split gets its share of every stratum, to within about one patient, and
    of the whole set.  The patients of a group of duplicate images count as
    one patient (:func:`merge_duplicate_patients`), so copies of one
    radiograph under different ids never land in two splits.

    Args:
        coco (Mapping): A COCO dict in the package's format.
        ratios (Mapping[str, float]): Split name to its share of the images;
            scaled to sum to 1, a share may be 0.
        seed (int): Seed of the shuffle; the same seed gives the same split.
        duplicate_groups (Sequence[Sequence[int]]): Groups of image ids
            that are duplicates of each other, e.g. from
            :func:`~.duplicates.duplicate_groups`. Defaults to none.

    Returns:
        dict[str, dict]: Split name to its COCO dict (image ids kept).
    """
    shares = normalise_ratios(ratios)
    names = list(shares)
    target = np.asarray(list(shares.values()))
    units = merge_duplicate_patients(coco, duplicate_groups)
    images_of = defaultdict(list)
    for image in units['images']:
        images_of[image['patient_id']].append(image['id'])
    strata = patient_strata(units)
    patients = sorted(images_of)
    shuffled = [
        patients[i]
        for i in np.random.default_rng(seed).permutation(len(patients))
    ]
    dealt = np.zeros(len(names))
    split_of_image = {}
    for patient in sorted(shuffled, key=strata.__getitem__):
        images = images_of[patient]
        split = int(np.argmax(target * (dealt.sum() + len(images)) - dealt))
        dealt[split] += len(images)
        split_of_image.update((image_id, split) for image_id in images)
    return {
        name:
        subset_coco(coco, [
            image['id']
            for image in coco['images'] if split_of_image[image['id']] == index
        ])
        for index, name in enumerate(names)
    }


def find_leakage(splits: Mapping[str, Mapping],
                 keys: Sequence[str] = LEAKAGE_KEYS) -> List[Leak]:
    """Every patient, case or image file found in more than one split.

    Args:
        splits (Mapping[str, Mapping]): Split name to its COCO dict.
        keys (Sequence[str]): Image-record keys to check.

    Returns:
        list[Leak]: The leaks, by key and value; empty when the splits are
        disjoint.
    """
    order = {name: index for index, name in enumerate(splits)}
    leaks = []
    for key in keys:
        owners = defaultdict(set)
        for name, coco in splits.items():
            for image in coco['images']:
                if image.get(key) in (None, ''):
                    raise DatasetRecordError(
                        f'split {name!r}: image {image.get("id")} '
                        f'({image.get("file_name")!r}) has no {key}')
                owners[str(image[key])].add(name)
        leaks.extend(
            Leak(key, value, tuple(sorted(names, key=order.__getitem__)))
            for value, names in sorted(owners.items()) if len(names) > 1)
    return leaks


def fracture_enriched_subset(coco: Mapping, fracture_free: int,
                             seed: int = 0) -> dict:
    """Every fractured image of ``coco`` and ``fracture_free`` of its
    fracture-free images, drawn at random (``seed``), in file order.

    A training set for a short schedule: a fracture-free image gives the RoI
    head only negatives, and positives are the scarce signal; on the
    phantoms, 10 % fracture-free training studies instead of 50 % raised the
    validation AP50 from 0.12 to 0.33 (docs/design-notes.md). Evaluation
    sets are never subsampled.

    Raises:
        ValueError: If ``fracture_free`` is negative or more than the
            fracture-free images there are.
    """
    fractured = {a['image_id'] for a in coco['annotations']}
    free = [image['id'] for image in coco['images']
            if image['id'] not in fractured]
    if not 0 <= fracture_free <= len(free):
        raise ValueError(f'cannot draw {fracture_free} fracture-free images '
                         f'from the {len(free)} there are')
    kept = set(np.random.default_rng(seed).choice(
        free, fracture_free, replace=False).tolist()) | fractured
    return subset_coco(
        coco, [image['id'] for image in coco['images'] if image['id'] in kept])
