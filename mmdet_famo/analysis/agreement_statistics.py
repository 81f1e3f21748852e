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

The readers' files are read by :mod:`.reader_files`, their outlines
matched by :mod:`.reader_matching`; :mod:`.agreement_report`,
:mod:`.agreement_tables` and :mod:`.agreement_figure` write the results.
Kappa and ICC are named by an interpretation scale (Cicchetti 1994 by
default, whose words the paper uses; or Landis and Koch 1977).
"""
from dataclasses import dataclass, field
from typing import Dict, List, Sequence, Tuple

import numpy as np

from ..evaluation.functional.agreement import (
    AGREEMENT_BANDS, cluster_jackknife_interval, icc_two_way_random, kappa,
    kappa_features, kappa_from_sums, percent_agreement, specific_agreement)
from ..evaluation.functional.box_matching import OVERLAP_CRITERIA
from ..evaluation.functional.proportions import (CI_METHODS,
                                                 proportion_confidence_interval
                                                 )
from .reader_files import ReaderSet
from .reader_matching import MatchedPair, match_readers

NAN = float('nan')


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


def compute_agreement(
    readers: ReaderSet, settings: AgreementSettings = AgreementSettings()
) -> ReaderAgreement:
    """All statistics of this module, overall and by body part
    and by view.

    Args:
        readers (ReaderSet): See :func:`load_readers`.
        settings (AgreementSettings): Matching and intervals.

    Returns:
        ReaderAgreement: The groups' statistics and every matched pair.
    """
    pairs = match_readers(readers, settings.hit_criterion, settings.hit_thr)
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


def _jackknife(value: float, features: np.ndarray, clusters: Sequence,
               statistic, settings: AgreementSettings, undefined: str,
               bounds: Tuple[float, float] = (0., 1.)
               ) -> AgreementEstimate:
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
