"""Each model's figures and the paired tests between two models, on all of
the test set or a body part of it (paper, Tables 1-4).

Every figure comes from a run's score tables through the functions that
:class:`FractureCaseMetric` uses, and is named as the metric names it
(``box_AP50``, ``image_sensitivity``, ``case_auc``...), so that each model's
numbers equal the metric's own at the same confidence level, interval
method and AP overlap criterion. Sensitivity and specificity are those of
the model's own operating threshold, as its run recorded them.

Paired tests: DeLong's test of the two AUCs on the same images or cases,
two-sided and one-sided against "model A is not better" (the paper tested
the hypothesis that FAMO is worse than the control); McNemar's test of the
two models' correct calls on the positives (sensitivity) and on the
negatives (specificity); a paired bootstrap over the images of the two
per-fracture AP50s, which also gives each its interval
(:func:`~mmdet_famo.evaluation.functional.paired_ap_bootstrap`). Precision
has no paired test: the two models' boxes are not paired.

By body part, each measure is tested once per body part: a family of
tests of which one falls below 0.05 by chance alone more often than 1 in
20. :func:`holm_across_groups` adjusts each measure's p-values over the
body parts (Holm's step-down method, which holds the family-wise error
rate under any dependence; statsmodels' ``multipletests``).
"""
import warnings
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from sklearn.exceptions import UndefinedMetricWarning
from statsmodels.stats.multitest import multipletests

from ..evaluation.functional import (COCO_IOU_THRS, auc_confidence_interval,
                                     box_average_precision, match_detections,
                                     mcnemar_test, paired_ap_bootstrap,
                                     paired_delong_test,
                                     proportion_confidence_interval)
from ..evaluation.functional.box_shapes import (aspect_ratio_bins,
                                                box_orientation_bins,
                                                orientation_bins,
                                                subset_average_precision)
from .evaluation_run import EvaluationRun, Table

NAN = float('nan')
#: The levels of the paper's evaluation, in report order.
LEVELS = ('fracture', 'image', 'case')
#: The AUC rows: key suffix, score column, label. The localised score (the
#: paper's rule) is the headline and gets the paired tests.
AUC_ROWS = (('auc', 'localised_score', 'AUC'),
            ('max_score_auc', 'max_box_score', 'AUC of the highest box score'))
#: Names of the paired tests.
DELONG_TWO_SIDED = 'DeLong, two-sided'
DELONG_ONE_SIDED = 'DeLong, one-sided'
MCNEMAR = 'McNemar'
BOOTSTRAP = 'Paired bootstrap over images'


#: Fewest fractured images for the AP50 bootstrap. With k of them a
#: resample misses them all about e^-k of the time and holds each a
#: Poisson(1) number of times, so with few the resampled APs take a handful
#: of values and the percentiles and p-value are artefacts of that (two hip
#: fractures on FracAtlas gave p = 0.001 for AP50 0.000 against 0.300).
MIN_BOOTSTRAP_FRACTURED_IMAGES = 10
#: A row's headline test, the first of these it has: the one a table with
#: a single p-value column shows.
HEADLINE_TESTS = (DELONG_TWO_SIDED, MCNEMAR, BOOTSTRAP)


@dataclass(frozen=True)
class StatisticsSettings:
    """Settings of the intervals and of AP; the defaults are
    FractureCaseMetric's."""
    confidence_level: float = 0.95
    ci_method: str = 'exact'
    ap_criterion: str = 'iou'


@dataclass(frozen=True)
class Estimate:
    """One model's figure: value, interval, counts of a proportion, and
    why the value or its interval is nan (empty when it is not)."""
    value: float
    ci_low: float = NAN
    ci_high: float = NAN
    successes: Optional[int] = None
    total: Optional[int] = None
    reason: str = ''


@dataclass(frozen=True)
class PairedTest:
    """A paired test of model A against model B.

    ``statistic`` is DeLong's z (positive when A's AUC is larger) or
    McNemar's statistic; ``only_a_correct`` and ``only_b_correct`` are
    McNemar's discordant counts; ``difference_interval`` is the bootstrap's
    interval of A − B; ``reason`` says why ``pvalue`` is nan.
    """
    name: str
    pvalue: float
    statistic: float = NAN
    method: str = ''
    only_a_correct: Optional[int] = None
    only_b_correct: Optional[int] = None
    reason: str = ''
    difference_interval: Tuple[float, float] = (NAN, NAN)


@dataclass(frozen=True)
class ComparisonRow:
    """One measure of both models, e.g. per-image AUC, and its tests."""
    key: str  #: FractureCaseMetric's metric name, e.g. 'image_auc'
    label: str  #: e.g. 'Per-image AUC'
    estimates: Tuple[Estimate, Estimate]
    tests: Tuple[PairedTest, ...] = ()

    @property
    def difference(self) -> float:
        """Model A's value minus model B's."""
        return self.estimates[0].value - self.estimates[1].value


@dataclass(frozen=True)
class GroupComparison:
    """The rows of one group (the whole test set or a body part), by
    level; a level without images or cases in the group is left out."""
    name: str
    num_images: int
    num_cases: int
    rows: Dict[str, List[ComparisonRow]]


@dataclass(frozen=True)
class Comparison:
    """Model A against model B: the whole test set, its fractured images
    alone (per fracture), each body part, and the fractures of each box
    shape and orientation."""
    runs: Tuple[EvaluationRun, EvaluationRun]
    settings: StatisticsSettings
    overall: GroupComparison
    fractured_images: GroupComparison
    body_parts: List[GroupComparison]
    box_shapes: List[GroupComparison]


def compare_group(name: str, runs: Sequence[EvaluationRun],
                  image_selected: np.ndarray, case_selected: np.ndarray,
                  settings: StatisticsSettings) -> GroupComparison:
    """Both models' figures and the paired tests on the selected images and
    cases.

    Args:
        name (str): The group's name.
        runs (Sequence[EvaluationRun]): Model A and model B, aligned (see
            :func:`~.evaluation_run.align_to`).
        image_selected (np.ndarray): (num_images, ) bool.
        case_selected (np.ndarray): (num_cases, ) bool.
        settings (StatisticsSettings): Interval and AP settings.

    Returns:
        GroupComparison: The group's rows.
    """
    rows = {}
    if image_selected.any():
        rows['fracture'] = fracture_rows(runs, image_selected, settings)
        rows['image'] = binary_rows('image', runs, image_selected, settings)
    if case_selected.any():
        rows['case'] = binary_rows('case', runs, case_selected, settings)
    return GroupComparison(name, int(image_selected.sum()),
                           int(case_selected.sum()), rows)


def body_part_groups(runs: Sequence[EvaluationRun],
                     settings: StatisticsSettings) -> List[GroupComparison]:
    """One group per body part, as the metric breaks down (paper, Table 4):
    images by their body part, cases by theirs (several views of different
    parts make a group such as 'hand+wrist' of cases only). None when the
    test set holds a single body part."""
    images, cases = runs[0].images, runs[0].cases
    parts = sorted(set(images['body_part']) | set(cases['body_part']))
    if len(parts) < 2:
        return []
    return [
        compare_group(part, runs, images['body_part'] == part,
                      cases['body_part'] == part, settings) for part in parts
    ]


def fractured_image_group(runs: Sequence[EvaluationRun],
                          settings: StatisticsSettings) -> GroupComparison:
    """The per-fracture rows on the test set's fractured images alone:
    the AP of detection benchmarks whose test sets hold no fracture-free
    image (FracAtlas's own split, for one), where a false box on a
    fracture-free image costs nothing."""
    fractured = runs[0].images['n_fractures'] > 0
    return GroupComparison('fractured images', int(fractured.sum()), 0,
                           dict(fracture=fracture_rows(runs, fractured,
                                                       settings)))


def fracture_rows(runs: Sequence[EvaluationRun], selected: np.ndarray,
                  settings: StatisticsSettings) -> List[ComparisonRow]:
    """Per-fracture AP@[.50:.95], AP50 (COCO, every box; with bootstrap
    intervals and the paired bootstrap test), and precision and
    sensitivity of the boxes at the operating threshold."""
    measures = (
        ('box_mAP', 'Per-fracture AP@[.50:.95]'),
        ('box_AP50', 'Per-fracture AP50'),
        ('box_precision', 'Per-fracture precision'),
        ('box_sensitivity', 'Per-fracture sensitivity'),
    )
    estimates = [_fracture_estimates(run, selected, settings) for run in runs]
    rows = [
        ComparisonRow(key, label, tuple(e[key] for e in estimates))
        for key, label in measures
    ]
    rows[1] = _ap50_bootstrap(rows[1], runs, selected, settings)
    return rows


def _ap50_bootstrap(row: ComparisonRow, runs: Sequence[EvaluationRun],
                    selected: np.ndarray,
                    settings: StatisticsSettings) -> ComparisonRow:
    """The AP50 row with each model's bootstrap interval and the paired
    bootstrap test; without them below
    :data:`MIN_BOOTSTRAP_FRACTURED_IMAGES` fractured images."""
    num_gts = runs[0].images['n_fractures'][selected]
    if num_gts.sum() == 0:
        return ComparisonRow(row.key, row.label, row.estimates, (PairedTest(
            BOOTSTRAP, NAN, reason='no fractures'), ))
    fractured = int((num_gts > 0).sum())
    if fractured < MIN_BOOTSTRAP_FRACTURED_IMAGES:
        return ComparisonRow(row.key, row.label, row.estimates, (PairedTest(
            BOOTSTRAP, NAN, reason=f'{fractured} fractured images; the '
            f'bootstrap needs {MIN_BOOTSTRAP_FRACTURED_IMAGES}'), ))
    scores, is_tp = [], []
    for run in runs:
        detections = [d for d, keep in zip(run.detections, selected) if keep]
        scores.append([np.reshape(d['pred_scores'], -1) for d in detections])
        is_tp.append([
            match_detections(d['pred_bboxes'], d['pred_scores'],
                             d['gt_bboxes'], [0.5], settings.ap_criterion)[0]
            for d in detections
        ])
    result = paired_ap_bootstrap(scores, is_tp, num_gts,
                                 settings.confidence_level)
    estimates = tuple(
        Estimate(estimate.value, *interval) for estimate, interval in zip(
            row.estimates, (result.interval_a, result.interval_b)))
    test = PairedTest(BOOTSTRAP, result.pvalue,
                      method=f'{result.num_resamples:,} resamples',
                      difference_interval=result.difference_interval)
    return ComparisonRow(row.key, row.label, estimates, (test, ))


def _fracture_estimates(run: EvaluationRun, selected: np.ndarray,
                        settings: StatisticsSettings) -> Dict[str, Estimate]:
    images = run.images
    detections = [d for d, keep in zip(run.detections, selected) if keep]
    num_fractures = int(images['n_fractures'][selected].sum())
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', UndefinedMetricWarning)
        aps = box_average_precision([d['pred_bboxes'] for d in detections],
                                    [d['pred_scores'] for d in detections],
                                    [d['gt_bboxes'] for d in detections],
                                    COCO_IOU_THRS, settings.ap_criterion)
    no_fracture = 'no fractures' if num_fractures == 0 else ''
    hits = int(images['n_fractures_detected'][selected].sum())
    kept = hits + int(images['n_false_boxes'][selected].sum())
    return dict(
        box_mAP=Estimate(float(aps.mean()), reason=no_fracture),
        box_AP50=Estimate(float(aps[0]), reason=no_fracture),
        box_precision=_proportion(hits, kept, run.threshold, settings,
                                  'no box scores at least the threshold'),
        box_sensitivity=_proportion(hits, num_fractures, run.threshold,
                                    settings, 'no fractures'))


def box_shape_groups(runs: Sequence[EvaluationRun],
                     settings: StatisticsSettings) -> List[GroupComparison]:
    """Per-fracture AP50 and sensitivity (definite point) of the fractures
    of each aspect-ratio bin and, when every fracture has one, each
    orientation bin (:mod:`mmdet_famo.evaluation.functional.box_shapes`:
    the bins and AP over a bin as COCO's area ranges)."""
    detections = [run.detections for run in runs]
    gt_bins = {'aspect ratio': [aspect_ratio_bins(d['gt_bboxes'])
                                for d in detections[0]]}
    pred_bins = {'aspect ratio': [[aspect_ratio_bins(d['pred_bboxes'])
                                   for d in run] for run in detections]}
    orientations = [d['gt_orientations'] for d in detections[0]]
    if any(len(o) for o in orientations) and not any(
            np.isnan(o).any() for o in orientations):
        gt_bins['orientation'] = [orientation_bins(o) for o in orientations]
        pred_bins['orientation'] = [[
            box_orientation_bins(d['pred_bboxes']) for d in run
        ] for run in detections]
    groups = []
    for kind, bins in gt_bins.items():
        for name in sorted(set(np.concatenate(bins + [[]]).tolist())):
            in_bin = [b == name for b in bins]
            num_fractures = int(sum(map(np.sum, in_bin)))
            estimates = []
            for run, run_detections, run_pred_bins in zip(
                    runs, detections, pred_bins[kind]):
                with warnings.catch_warnings():
                    warnings.simplefilter('ignore', UndefinedMetricWarning)
                    ap50 = subset_average_precision(
                        [d['pred_bboxes'] for d in run_detections],
                        [d['pred_scores'] for d in run_detections],
                        [d['gt_bboxes'] for d in run_detections], in_bin,
                        [b == name for b in run_pred_bins], 0.5,
                        settings.ap_criterion)
                found = int(sum((d['gt_detected'] & b).sum()
                                for d, b in zip(run_detections, in_bin)))
                estimates.append((Estimate(ap50), _proportion(
                    found, num_fractures, run.threshold, settings,
                    'no fractures')))
            rows = [
                ComparisonRow('box_AP50', 'Per-fracture AP50',
                              tuple(e[0] for e in estimates)),
                ComparisonRow('box_sensitivity', 'Per-fracture sensitivity',
                              tuple(e[1] for e in estimates))
            ]
            groups.append(
                GroupComparison(f'{kind} {name} ({num_fractures} fractures)',
                                0, 0, dict(fracture=rows)))
    return groups


def level_table(run: EvaluationRun, level: str) -> Table:
    """The run's per-image (``level='image'``) or per-case table."""
    return run.images if level == 'image' else run.cases


def binary_rows(level: str, runs: Sequence[EvaluationRun],
                selected: np.ndarray,
                settings: StatisticsSettings) -> List[ComparisonRow]:
    """Sensitivity and specificity at each model's definite operating
    point, with McNemar's test, the AUC of the localised score, with
    DeLong's tests, and the AUC of the highest box score, of images or
    cases."""
    tables = [{
        key: values[selected]
        for key, values in level_table(run, level).items()
    } for run in runs]
    labels = tables[0]['has_fracture'].astype(bool)
    thresholds = [run.threshold for run in runs]
    rows = [
        _proportion_row(f'{level}_sensitivity', f'Per-{level} sensitivity',
                        [t['tp_at_threshold'][labels] == 1 for t in tables],
                        thresholds, settings, f'no fractured {level}s'),
        _proportion_row(f'{level}_specificity', f'Per-{level} specificity',
                        [t['fp_at_threshold'][~labels] == 0 for t in tables],
                        thresholds, settings, f'no fracture-free {level}s')
    ]
    for key, column, label in AUC_ROWS:
        scores = [table[column] for table in tables]
        estimates = tuple(
            _auc(labels, s, level, settings.confidence_level) for s in scores)
        rows.append(
            ComparisonRow(f'{level}_{key}', f'Per-{level} {label}', estimates,
                          _delong(labels, scores, level)
                          if key == 'auc' else ()))
    return rows


def _proportion_row(key: str, label: str, correct: Sequence[np.ndarray],
                    thresholds: Sequence[float], settings: StatisticsSettings,
                    empty: str) -> ComparisonRow:
    """The share of correct calls of each model, with McNemar's test."""
    estimates = tuple(
        _proportion(int(c.sum()), len(c), threshold, settings, empty)
        for c, threshold in zip(correct, thresholds))
    return ComparisonRow(key, label, estimates,
                         (_mcnemar(correct, thresholds, empty), ))


def _proportion(successes: int, total: int, threshold: float,
                settings: StatisticsSettings, empty: str) -> Estimate:
    """``successes / total`` with its interval, nan when the threshold or
    the denominator is missing."""
    if np.isnan(threshold):
        return Estimate(NAN, reason='no operating threshold')
    if total == 0:
        return Estimate(NAN, reason=empty)
    low, high = proportion_confidence_interval(successes, total,
                                               settings.confidence_level,
                                               settings.ci_method)
    return Estimate(successes / total, low, high, successes, total)


def _class_counts(labels: np.ndarray, level: str) -> Tuple[int, int, str]:
    """Positives, negatives and why an AUC needs more of them ('' when
    DeLong's variance is defined: two of each)."""
    num_positive, num_negative = int(labels.sum()), int((~labels).sum())
    if min(num_positive, num_negative) >= 2:
        return num_positive, num_negative, ''
    return num_positive, num_negative, (
        f'needs 2 fractured and 2 fracture-free {level}s, got '
        f'{num_positive} and {num_negative}')


def _auc(labels: np.ndarray, scores: np.ndarray, level: str,
         confidence_level: float) -> Estimate:
    num_positive, num_negative, reason = _class_counts(labels, level)
    if not num_positive:
        return Estimate(NAN, reason=f'no fractured {level}s')
    if not num_negative:
        return Estimate(NAN, reason=f'no fracture-free {level}s')
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', UndefinedMetricWarning)
        auc, low, high = auc_confidence_interval(labels, scores,
                                                 confidence_level)
    return Estimate(auc, low, high, reason=reason and f'no interval: {reason}')


def _delong(labels: np.ndarray, scores: Sequence[np.ndarray],
            level: str) -> Tuple[PairedTest, PairedTest]:
    """DeLong's test, two-sided and against 'A is not better than B'."""
    reason = _class_counts(labels, level)[2]
    tests = []
    for name, alternative in ((DELONG_TWO_SIDED, 'two-sided'),
                              (DELONG_ONE_SIDED, 'greater')):
        if reason:
            tests.append(PairedTest(name, NAN, reason=reason))
            continue
        result = paired_delong_test(labels, *scores, alternative=alternative)
        tests.append(PairedTest(name, result.pvalue, result.z))
    return tuple(tests)


def _mcnemar(correct: Sequence[np.ndarray], thresholds: Sequence[float],
             empty: str) -> PairedTest:
    if any(np.isnan(threshold) for threshold in thresholds):
        return PairedTest(MCNEMAR, NAN, reason='no operating threshold')
    if len(correct[0]) == 0:
        return PairedTest(MCNEMAR, NAN, reason=empty)
    result = mcnemar_test(*correct)
    return PairedTest(MCNEMAR, result.pvalue, result.statistic, result.method,
                      result.only_a_correct, result.only_b_correct)


def headline_test(row: ComparisonRow) -> Optional[PairedTest]:
    """The row's first :data:`HEADLINE_TESTS` test; None without one."""
    tests = {test.name: test for test in row.tests}
    return next((tests[name] for name in HEADLINE_TESTS if name in tests),
                None)


def holm_across_groups(
        groups: Sequence[GroupComparison]) -> Dict[Tuple[str, str], float]:
    """Holm-adjusted p-values of each measure's headline test over
    ``groups`` (the body parts), keyed by (group name, measure key).

    A measure's family is its finite headline p-values, one per group; a
    group whose test has no p-value (nan) is left out of the family and of
    the result.
    """
    families: Dict[str, List[Tuple[str, float]]] = {}
    for group in groups:
        for rows in group.rows.values():
            for row in rows:
                test = headline_test(row)
                if test is not None and not np.isnan(test.pvalue):
                    families.setdefault(row.key, []).append(
                        (group.name, test.pvalue))
    adjusted = {}
    for key, family in families.items():
        corrected = multipletests([p for _, p in family], method='holm')[1]
        for (name, _), pvalue in zip(family, corrected):
            adjusted[name, key] = float(pvalue)
    return adjusted
