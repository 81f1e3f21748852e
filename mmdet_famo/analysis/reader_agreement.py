"""How reliable is the ground truth: agreement between readers who
annotated the same images (the paper's Table 6, "Reliability of the gold
standards").

The paper used two radiologists' labels as its gold standard after checking
that they agreed, excellently in most body parts and fairly to well at the
elbow (Methods, "Data labeling"). Given two or more readers' files in the
package's COCO format, this module computes, over all images and by body
part and by view:

* **per image** (fracture present: at least one outline) and **per case**
  (any view positive): the share of items on which all readers agree, with
  an exact (Clopper-Pearson) interval, and Cohen's kappa for two readers or
  Fleiss' kappa for more, with a jackknife interval that leaves out one
  whole case at a time (the views of a study are not independent);
* **per fracture:** the readers' outlines matched one to one by the
  package's hit rule on their boxes (intersection over the smaller box
  >= 0.5 by default, as ``FractureCaseMetric``), giving the proportion of
  specific agreement ``2 matched / (n_A + n_B)`` (the F1 of one reader
  against the other), and for matched pairs the mean mask Dice and IoU,
  each with a case jackknife interval; with more than two readers every
  pair of readers is pooled;
* **per image, fracture counts:** ICC(2,1) (two-way random, absolute
  agreement) with Shrout and Fleiss' interval.

Kappa and ICC are named by an interpretation scale (Cicchetti 1994 by
default, whose words the paper uses; or Landis and Koch 1977).
"""
import csv
import io
import json
import os
import os.path as osp
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import partial
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np
from scipy.optimize import linear_sum_assignment

from ..datasets.coco_builder import (CASE_KEYS, DatasetRecordError,
                                     check_fracture_coco)
from ..evaluation.file_io import write_atomically
from ..evaluation.functional.agreement import (
    AGREEMENT_BANDS, BAND_SCALE_NAMES, agreement_band,
    cluster_jackknife_interval, icc_two_way_random, kappa, kappa_features,
    kappa_from_sums, mask_overlap, percent_agreement, segmentation_rle,
    specific_agreement)
from ..evaluation.functional.box_matching import (OVERLAP_CRITERIA,
                                                  pairwise_overlaps)
from ..evaluation.functional.proportions import (CI_METHODS,
                                                 proportion_confidence_interval
                                                 )

NAN = float('nan')
#: Files written by :func:`write_agreement`.
REPORT_FILE = 'reader_agreement.md'
SUMMARY_CSV = 'agreement.csv'
RATINGS_CSV = 'per_image_ratings.csv'
MATCHES_CSV = 'matched_fractures.csv'
FIGURE_FILE = 'kappa_by_body_part.png'
#: Image metadata that must be the same in every reader's file.
SHARED_IMAGE_KEYS = ('width', 'height') + CASE_KEYS
#: How many names an error message lists before '...'.
MAX_NAMES_IN_ERROR = 10


@dataclass(frozen=True)
class AgreementSettings:
    """How instances are matched and intervals computed.

    Args:
        hit_criterion (str): Overlap of two readers' boxes, one of
            :data:`OVERLAP_CRITERIA`. Defaults to FractureCaseMetric's.
        hit_thr (float): Least overlap of a match. Defaults to 0.5.
        confidence_level (float): Of every interval. Defaults to 0.95.
        ci_method (str): Interval of percent agreement, 'exact'
            (Clopper-Pearson) or 'wilson'.
        band_scale (str): 'cicchetti' or 'landis-koch'.
    """
    hit_criterion: str = 'iosmall'
    hit_thr: float = 0.5
    confidence_level: float = 0.95
    ci_method: str = 'exact'
    band_scale: str = 'cicchetti'

    def __post_init__(self) -> None:
        if self.hit_criterion not in OVERLAP_CRITERIA:
            raise ValueError(f'hit_criterion must be one of '
                             f'{OVERLAP_CRITERIA}, got {self.hit_criterion!r}')
        if not 0 < self.hit_thr <= 1:
            raise ValueError(f'hit_thr must be in (0, 1], got {self.hit_thr}')
        if not 0 < self.confidence_level < 1:
            raise ValueError('confidence_level must be in (0, 1)')
        if self.ci_method not in CI_METHODS:
            raise ValueError(f'ci_method must be one of {CI_METHODS}')
        if self.band_scale not in AGREEMENT_BANDS:
            raise ValueError(f'band_scale must be one of '
                             f'{sorted(AGREEMENT_BANDS)}')


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


@dataclass(frozen=True)
class AgreementEstimate:
    """A statistic with its interval; ``reason`` says why it is nan."""
    value: float
    ci_low: float = NAN
    ci_high: float = NAN
    method: str = ''
    n: int = 0
    reason: str = ''


@dataclass
class GroupAgreement:
    """Agreement on all images, a body part or a view."""
    kind: str  #: 'all', 'body_part' or 'view'
    name: str
    num_images: int
    num_cases: int
    fractures: Tuple[int, ...]  #: outlines per reader
    statistics: Dict[str, AgreementEstimate] = field(default_factory=dict)


@dataclass
class MatchedPair:
    """Two readers' outlines of one fracture (or one side alone)."""
    image: int
    reader_a: int
    reader_b: int
    annotation_a: Optional[int]
    annotation_b: Optional[int]
    box_overlap: float = NAN
    dice: float = NAN
    iou: float = NAN


@dataclass
class ReaderAgreement:
    """Everything :func:`write_agreement` writes."""
    readers: ReaderSet
    settings: AgreementSettings
    groups: List[GroupAgreement]
    pairs: List[MatchedPair]

    @property
    def kappa_name(self) -> str:
        return "Cohen's kappa" if len(self.readers.names) == 2 else \
            "Fleiss' kappa"


#: Statistic keys, in report order: (key, level, what).
STATISTICS = (
    ('image_agreement', 'image', 'percent agreement'),
    ('image_kappa', 'image', 'kappa'),
    ('case_agreement', 'case', 'percent agreement'),
    ('case_kappa', 'case', 'kappa'),
    ('lesion_agreement', 'fracture', 'specific agreement'),
    ('dice', 'fracture', 'mean Dice of matched pairs'),
    ('iou', 'fracture', 'mean IoU of matched pairs'),
    ('count_icc', 'image', 'ICC(2,1) of fracture counts'),
)
#: Statistics named by an interpretation band.
BANDED = ('image_kappa', 'case_kappa', 'count_icc')


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


def match_instances(boxes_a: np.ndarray,
                    boxes_b: np.ndarray,
                    criterion: str = 'iosmall',
                    thr: float = 0.5) -> List[Tuple[int, int, float]]:
    """Match two readers' outlines of one image one to one by the hit rule.

    A pair can match when its boxes overlap by at least ``thr``
    (:func:`pairwise_overlaps`, ``criterion``). Of all one-to-one matchings
    the one with the most pairs is taken, of those the one with the largest
    total overlap: readers' outlines have no scores to order a greedy
    matching, and this one does not depend on which reader comes first.

    Returns:
        list[tuple[int, int, float]]: (index in A, index in B, overlap).
    """
    overlaps = pairwise_overlaps(boxes_a, boxes_b, criterion)
    eligible = overlaps >= min(thr, 1 - 1e-10)  # pycocotools' cap
    if not eligible.any():
        return []
    # each match outweighs any sum of overlaps: the most pairs win first
    weights = np.where(eligible, eligible.size + 1 + overlaps, 0.)
    rows, cols = linear_sum_assignment(weights, maximize=True)
    return [(int(r), int(c), float(overlaps[r, c]))
            for r, c in zip(rows, cols) if eligible[r, c]]


def compute_agreement(
    readers: ReaderSet, settings: AgreementSettings = AgreementSettings()
) -> ReaderAgreement:
    """All statistics of :mod:`reader_agreement`, overall and by body part
    and by view.

    Args:
        readers (ReaderSet): See :func:`load_readers`.
        settings (AgreementSettings): Matching and intervals.

    Returns:
        ReaderAgreement: The groups' statistics and every matched pair.
    """
    pairs = _match_all(readers, settings)
    counts = readers.counts
    images = readers.images
    body_parts = np.array([image['body_part'] for image in images])
    views = np.array([image['view'] for image in images])
    groups = [('all', 'all', np.ones(len(images), bool))]
    groups += [('body_part', part, body_parts == part)
               for part in sorted(set(body_parts))]
    groups += [('view', view, views == view) for view in sorted(set(views))]
    return ReaderAgreement(readers, settings, [
        _group_agreement(kind, name, selected, readers, counts, pairs,
                         settings) for kind, name, selected in groups
    ], pairs)


def _match_all(readers: ReaderSet,
               settings: AgreementSettings) -> List[MatchedPair]:
    """Matched and unmatched outlines of every pair of readers."""
    pairs = []
    num_readers = len(readers.names)
    for index in range(len(readers.images)):
        for a in range(num_readers):
            for b in range(a + 1, num_readers):
                first = readers.instances[a][index]
                second = readers.instances[b][index]
                matches = match_instances(
                    np.array([i['bbox'] for i in first]).reshape(-1, 4),
                    np.array([i['bbox'] for i in second]).reshape(-1, 4),
                    settings.hit_criterion, settings.hit_thr)
                for i, j, overlap in matches:
                    masks = mask_overlap(first[i]['rle'], second[j]['rle'])
                    pairs.append(
                        MatchedPair(index, a, b, first[i]['id'],
                                    second[j]['id'], overlap, masks.dice,
                                    masks.iou))
                matched_a = {i for i, _, _ in matches}
                matched_b = {j for _, j, _ in matches}
                pairs += [
                    MatchedPair(index, a, b, first[i]['id'], None)
                    for i in range(len(first)) if i not in matched_a
                ]
                pairs += [
                    MatchedPair(index, a, b, None, second[j]['id'])
                    for j in range(len(second)) if j not in matched_b
                ]
    return pairs


def _group_agreement(kind: str, name: str, selected: np.ndarray,
                     readers: ReaderSet, counts: np.ndarray,
                     pairs: Sequence[MatchedPair],
                     settings: AgreementSettings) -> GroupAgreement:
    images = [image for image, keep in zip(readers.images, selected) if keep]
    case_of_image = np.array([image['case_id'] for image in images])
    group = GroupAgreement(kind, name, len(images), len(set(case_of_image)),
                           tuple(int(n) for n in counts[selected].sum(0)))
    stats = group.statistics
    image_ratings = (counts[selected] > 0).astype(int)
    stats['image_agreement'] = _percent_agreement(image_ratings, settings)
    stats['image_kappa'] = _kappa(image_ratings, case_of_image, settings)
    if kind == 'view':
        reason = 'a case spans several views'
        stats['case_agreement'] = AgreementEstimate(NAN, reason=reason)
        stats['case_kappa'] = AgreementEstimate(NAN, reason=reason)
    else:
        case_ratings, cases = _case_ratings(readers, selected, image_ratings)
        stats['case_agreement'] = _percent_agreement(case_ratings, settings)
        stats['case_kappa'] = _kappa(case_ratings, cases, settings)
    stats.update(_lesion_agreement(selected, readers, pairs, settings))
    icc = icc_two_way_random(counts[selected], settings.confidence_level)
    stats['count_icc'] = AgreementEstimate(
        icc.value,
        icc.ci_low,
        icc.ci_high,
        method='ICC(2,1), Shrout-Fleiss F interval',
        n=len(images),
        reason='' if not np.isnan(icc.value) else
        'fewer than 2 images or every count the same')
    return group


def _case_ratings(readers: ReaderSet, selected: np.ndarray,
                  image_ratings: np.ndarray) -> Tuple[np.ndarray, List[str]]:
    """Per case and reader: positive if any of its views is. A case of a
    body part group holds the case's images of that body part."""
    case_ids = [
        image['case_id'] for image, keep in zip(readers.images, selected)
        if keep
    ]
    cases = list(dict.fromkeys(case_ids))
    index = {case: k for k, case in enumerate(cases)}
    ratings = np.zeros((len(cases), image_ratings.shape[1]), int)
    np.maximum.at(ratings, [index[c] for c in case_ids], image_ratings)
    return ratings, cases


def _percent_agreement(ratings: np.ndarray,
                       settings: AgreementSettings) -> AgreementEstimate:
    agreeing, total = percent_agreement(ratings)
    if total == 0:
        return AgreementEstimate(NAN, reason='no items')
    low, high = proportion_confidence_interval(agreeing, total,
                                               settings.confidence_level,
                                               settings.ci_method)
    method = {'exact': 'Clopper-Pearson', 'wilson': 'Wilson'}
    return AgreementEstimate(agreeing / total, low, high,
                             method[settings.ci_method], total)


def _jackknife(
    value: float,
    features: np.ndarray,
    clusters: Sequence,
    statistic,
    settings: AgreementSettings,
    undefined: str,
    bounds: Tuple[float, float] = (0., 1.)) -> AgreementEstimate:
    """``value`` with its case jackknife interval."""
    if np.isnan(value):
        return AgreementEstimate(NAN, n=len(features), reason=undefined)
    interval = cluster_jackknife_interval(features, clusters, statistic,
                                          settings.confidence_level, bounds)
    reason = '' if not np.isnan(interval.ci_low) else (
        'no interval: fewer than 2 cases, or undefined with a case left out')
    return AgreementEstimate(value, interval.ci_low,
                             interval.ci_high, 'case jackknife, t interval',
                             len(features), reason)


def _kappa(ratings: np.ndarray, clusters: Sequence,
           settings: AgreementSettings) -> AgreementEstimate:
    num_readers = ratings.shape[1]
    return _jackknife(kappa(ratings), kappa_features(ratings), clusters,
                      lambda sums: kappa_from_sums(sums, num_readers),
                      settings,
                      'every rating the same' if len(ratings) else 'no items',
                      (-1., 1.))


def _lesion_agreement(
        selected: np.ndarray, readers: ReaderSet, pairs: Sequence[MatchedPair],
        settings: AgreementSettings) -> Dict[str, AgreementEstimate]:
    """Specific agreement of outlines, mean Dice and IoU of matched ones."""
    case_of = [image['case_id'] for image in readers.images]
    in_group = [p for p in pairs if selected[p.image]]
    matched = [
        p for p in in_group
        if p.annotation_a is not None and p.annotation_b is not None
    ]
    # per image: (matched pairs, outlines of both readers) over reader pairs
    lesion = np.zeros((len(readers.images), 2))
    for pair in in_group:
        both = pair.annotation_a is not None and pair.annotation_b is not None
        lesion[pair.image] += (1, 2) if both else (0, 1)
    images = np.flatnonzero(selected)
    num_matched, num_outlines = lesion[images].sum(0)
    stats = dict(lesion_agreement=_jackknife(
        specific_agreement(num_matched, num_outlines), lesion[images],
        [case_of[i] for i in images], lambda s: np.where(
            s[:, 1] > 0, 2 * s[:, 0] / np.maximum(s[:, 1], 1), np.nan),
        settings, 'no fracture outlined'))
    for key in ('dice', 'iou'):
        values = np.array([getattr(p, key) for p in matched])
        features = np.stack([values, np.ones(len(values))], axis=1)
        stats[key] = _jackknife(
            float(values.mean()) if len(values) else NAN, features,
            [case_of[p.image] for p in matched], lambda s: np.where(
                s[:, 1] > 0, s[:, 0] / np.maximum(s[:, 1], 1), np.nan),
            settings, 'no matched fracture')
    return stats


# ---------------------------------------------------------------- outputs


def format_estimate(estimate: AgreementEstimate,
                    percent: bool = False,
                    band: str = '') -> str:
    """'0.82 [0.71, 0.91] excellent', '91.2 % [86.0, 95.0]' or 'n/a'."""
    if np.isnan(estimate.value):
        return 'n/a'
    scale = 100 if percent else 1
    digits = 1 if percent else 2
    text = f'{estimate.value * scale:.{digits}f}'
    if percent:
        text += ' %'
    if np.isnan(estimate.ci_low):
        text += ' [no CI]'
    else:
        text += (f' [{estimate.ci_low * scale:.{digits}f}, '
                 f'{estimate.ci_high * scale:.{digits}f}]')
    return f'{text} {band}'.strip()


def _cell(report: ReaderAgreement, group: GroupAgreement, key: str) -> str:
    estimate = group.statistics[key]
    band = agreement_band(estimate.value, report.settings.band_scale) \
        if key in BANDED else ''
    return format_estimate(
        estimate,
        key.endswith('_agreement') and key != 'lesion_agreement', band)


def render_table(report: ReaderAgreement, kind: str) -> List[str]:
    """The Markdown table of the groups of ``kind`` ('body_part' or
    'view') and the overall row, laid out as the paper's Table 6."""
    names = ' / '.join(report.readers.names)
    header = [
        'Body part' if kind == 'body_part' else 'View', 'Images (cases)',
        f'Fractures ({names})', 'Image agreement',
        f'Image {report.kappa_name}', 'Case agreement',
        f'Case {report.kappa_name}', 'Fracture specific agreement',
        'Dice (matched)', 'IoU (matched)', 'Count ICC(2,1)'
    ]
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    rows = [g for g in report.groups if g.kind == kind]
    rows += [g for g in report.groups if g.kind == 'all']
    for group in rows:
        label = '**All**' if group.kind == 'all' else group.name
        cells = [
            label, f'{group.num_images} ({group.num_cases})', ' / '.join(
                map(str, group.fractures))
        ] + [_cell(report, group, key) for key, _, _ in STATISTICS]
        if kind == 'view' and group.kind == 'view':
            cells[5] = cells[6] = '—'
        lines.append('| ' + ' | '.join(cells) + ' |')
    return lines


def render_report(report: ReaderAgreement, note: str = '') -> str:
    """``reader_agreement.md``: the inputs, Table 6 by body part and by
    view, and how every figure was computed."""
    settings = report.settings
    readers = report.readers
    level = f'{settings.confidence_level:.0%}'
    bands = ', '.join(
        f'{name} from {lower:.2f}' if np.isfinite(lower) else name
        for lower, name in AGREEMENT_BANDS[settings.band_scale])
    overall = next(g for g in report.groups if g.kind == 'all')
    lines = ['# Reliability of the ground truth: reader agreement', '']
    if note:
        lines += [f'> **{note}**', '']
    lines += [
        f'{len(readers.names)} readers on {overall.num_images} images '
        f'({overall.num_cases} cases):', ''
    ] + [
        f'- {name}: `{path}`'
        for name, path in zip(readers.names, readers.paths)
    ] + ['']
    lines += [
        '## Table 6: reliability of the gold standard, by body part', ''
    ] + render_table(report, 'body_part')
    lines += ['', '## By view', ''] + render_table(report, 'view')
    lines += [
        '', '## How these were computed', '',
        f'- Intervals are {level}. "n/a": undefined (every rating the same, '
        'no fracture outlined or no matched pair); "no CI": fewer than 2 '
        'cases, or the statistic is undefined with one of them left out.',
        '- **Image / case agreement:** share of images (cases) on which all '
        'readers agree whether there is a fracture (an image is positive when '
        'a reader outlined at least one fracture; a case when any of its '
        f'views is); {overall.statistics["image_agreement"].method or "exact"}'
        ' interval.', f'- **{report.kappa_name}:** ' +
        ('scikit-learn `cohen_kappa_score`'
         if len(readers.names) == 2 else 'statsmodels `fleiss_kappa`') +
        '; interval from the jackknife leaving out one case at a time '
        '(Fleiss and Davies 1982), estimate -/+ t quantile x standard error '
        '(the views of a case are not independent).',
        '- **Fracture specific agreement:** outlines matched one to one when '
        f'their boxes overlap by {settings.hit_criterion} >= '
        f'{settings.hit_thr:g} (the package\'s hit rule; most pairs, then '
        'largest total overlap); 2 x matched / (outlines of both readers), '
        'the F1 of one reader against the other' +
        (', pooled over every pair of readers'
         if len(readers.names) > 2 else '') + '; case jackknife interval.',
        '- **Dice, IoU:** of the matched pairs\' masks (pycocotools), mean '
        'with a case jackknife interval.',
        '- **Count ICC(2,1):** intraclass correlation of the number of '
        'fractures each reader outlined per image, two-way random effects, '
        'absolute agreement, single reader (Shrout and Fleiss 1979), with '
        'their F-based interval.',
        '- **Bands** beside kappa and ICC: '
        f'{BAND_SCALE_NAMES[settings.band_scale]}: {bands}.', ''
    ]
    return '\n'.join(lines)


def summary_rows(report: ReaderAgreement) -> List[dict]:
    """``agreement.csv``: one row per group and statistic."""
    rows = []
    for group in report.groups:
        for key, level, what in STATISTICS:
            estimate = group.statistics[key]
            rows.append(
                dict(group_kind=group.kind,
                     group=group.name,
                     images=group.num_images,
                     cases=group.num_cases,
                     level=level,
                     statistic=key,
                     description=what,
                     value=estimate.value,
                     ci_low=estimate.ci_low,
                     ci_high=estimate.ci_high,
                     interval=estimate.method,
                     band=agreement_band(estimate.value,
                                         report.settings.band_scale)
                     if key in BANDED else '',
                     n=estimate.n,
                     note=estimate.reason))
    return rows


def rating_rows(report: ReaderAgreement) -> List[dict]:
    """``per_image_ratings.csv``: every image's fractures per reader."""
    readers = report.readers
    counts = readers.counts
    return [
        dict({key: image[key]
              for key in ('file_name', ) + CASE_KEYS}, **{
                  f'fractures_{name}': int(n)
                  for name, n in zip(readers.names, row)
              }) for image, row in zip(readers.images, counts)
    ]


def match_rows(report: ReaderAgreement) -> List[dict]:
    """``matched_fractures.csv``: every matched pair and unmatched
    outline, by pair of readers."""
    names = report.readers.names
    rows = []
    for pair in report.pairs:
        image = report.readers.images[pair.image]
        rows.append(
            dict(file_name=image['file_name'],
                 case_id=image['case_id'],
                 body_part=image['body_part'],
                 view=image['view'],
                 reader_a=names[pair.reader_a],
                 reader_b=names[pair.reader_b],
                 annotation_a=''
                 if pair.annotation_a is None else pair.annotation_a,
                 annotation_b=''
                 if pair.annotation_b is None else pair.annotation_b,
                 box_overlap=pair.box_overlap,
                 dice=pair.dice,
                 iou=pair.iou))
    return rows


def plot_kappa_by_body_part(report: ReaderAgreement) -> bytes:
    """PNG of per-image and per-case kappa with intervals by body part
    (and overall, on top), over the interpretation bands."""
    from matplotlib.figure import Figure

    groups = [g for g in report.groups if g.kind == 'all']
    groups += [g for g in report.groups if g.kind == 'body_part']
    series = (('image_kappa', 'tab:blue', 'per image', -0.15),
              ('case_kappa', 'tab:orange', 'per case', 0.15))
    table = {
        key:
        np.array([(g.statistics[key].value, g.statistics[key].ci_low,
                   g.statistics[key].ci_high) for g in groups])
        for key, _, _, _ in series
    }
    lowest = np.nanmin(
        [np.nanmin(t) if np.isfinite(t).any() else 0. for t in table.values()])
    low_end = min(-0.2, np.floor(lowest * 10) / 10 - 0.05)
    figure = Figure(figsize=(7, 0.45 * len(groups) + 2), dpi=100)
    axes = figure.subplots()
    positions = len(groups) - 1 - np.arange(len(groups))  # 'all' on top
    bands = AGREEMENT_BANDS[report.settings.band_scale]
    for (lower, name), shade in zip(bands, np.linspace(0.96, 0.80,
                                                       len(bands))):
        upper = next((b for b, _ in bands if b > lower), 1.02)
        start = max(lower, low_end)
        axes.axvspan(start, upper, color=str(shade), zorder=0)
        axes.text((start + upper) / 2,
                  len(groups) - 0.45,
                  name,
                  ha='center',
                  va='bottom',
                  fontsize=8,
                  color='0.3')
    for key, colour, label, offset in series:
        values, lows, highs = table[key].T
        has_ci = ~np.isnan(lows)
        axes.errorbar(values[has_ci],
                      positions[has_ci] + offset,
                      xerr=[
                          values[has_ci] - lows[has_ci],
                          highs[has_ci] - values[has_ci]
                      ],
                      fmt='o',
                      color=colour,
                      capsize=3,
                      label=f'{label}')
        no_ci = ~has_ci & ~np.isnan(values)
        axes.plot(values[no_ci],
                  positions[no_ci] + offset,
                  'o',
                  color=colour,
                  markerfacecolor='white',
                  label=f'{label}, no interval' if no_ci.any() else None)
        for position in positions[np.isnan(values)]:
            axes.text(0.,
                      position + offset,
                      f'{label}: n/a',
                      ha='center',
                      va='center',
                      fontsize=7,
                      color=colour)
    axes.set_yticks(positions)
    axes.set_yticklabels([('all' if g.kind == 'all' else g.name) +
                          f' ({g.num_images} img, {g.num_cases} cases)'
                          for g in groups])
    axes.set_ylim(-0.6, len(groups) - 0.05)
    axes.set_xlim(low_end, 1.02)
    axes.set_xlabel(f'{report.kappa_name} '
                    f'({report.settings.confidence_level:.0%} interval)')
    axes.set_title(
        f'Reader agreement by body part ({len(report.readers.names)}'
        f' readers); bands: '
        f'{BAND_SCALE_NAMES[report.settings.band_scale]}',
        fontsize=10)
    axes.legend(loc='upper center',
                bbox_to_anchor=(0.5, -0.1),
                ncol=2,
                fontsize=7)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format='png')
    return buffer.getvalue()


def _csv_text(rows: Sequence[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]) if rows else [])
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def write_agreement(report: ReaderAgreement,
                    out_dir: str,
                    note: str = '') -> Dict[str, str]:
    """Write the report, the CSV files and the figure into ``out_dir``.

    Every file is rendered before the first is written, and each is
    written through a temporary file, so a failure leaves earlier outputs
    intact.

    Returns:
        dict[str, str]: File name to path, of every file written.
    """
    contents = {
        REPORT_FILE: render_report(report, note).encode(),
        SUMMARY_CSV: _csv_text(summary_rows(report)).encode(),
        RATINGS_CSV: _csv_text(rating_rows(report)).encode(),
        MATCHES_CSV: _csv_text(match_rows(report)).encode(),
        FIGURE_FILE: plot_kappa_by_body_part(report),
    }
    os.makedirs(out_dir, exist_ok=True)
    written = {}
    for name, data in contents.items():
        path = osp.join(out_dir, name)
        write_atomically(path, partial(_write_bytes, data))
        written[name] = path
    return written


def _write_bytes(data: bytes, path: str) -> None:
    with open(path, 'wb') as file:
        file.write(data)


def summary_lines(report: ReaderAgreement) -> List[str]:
    """A few lines for the terminal: the overall figures."""
    overall = next(g for g in report.groups if g.kind == 'all')
    return [
        f'{len(report.readers.names)} readers, {overall.num_images} images, '
        f'{overall.num_cases} cases, fractures '
        f'{" / ".join(map(str, overall.fractures))}'
    ] + [
        f'  {what} ({level}): {_cell(report, overall, key)}'
        for key, level, what in STATISTICS
    ]
