"""The figures of :class:`FractureCaseMetric`, computed from the evaluated
images' boxes: per fracture, per image and per case, at the two operating
points, overall and per group (body part, view, box shape).

Figure names (after the metric's prefix): ``box_mAP``, ``box_AP50``...;
``froc@0.125`` ... ``froc@8``, ``froc_mean``; at the definite point
``threshold``, ``box_precision``, ``box_sensitivity``,
``{image,case}_sensitivity``, ``_specificity``, and the same with the prefix
``suspected_`` at the suspected point; ``{image,case}_num_positive``,
``_num_negative``, ``_auc`` (of the localised score, the paper's rule) and
``_max_score_auc`` (of the highest box score, wherever the box lies).
Proportions and AUCs also have ``_ci_low`` and ``_ci_high``. Groups repeat
them under ``{body_part}/``, ``view_{view}/``, and, for ``box_AP50`` and
``box_sensitivity``, ``aspect_{bin}/`` and ``orientation_{bin}/``.
"""
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Dict, Iterator, List, Optional, Sequence

import numpy as np
from sklearn.exceptions import UndefinedMetricWarning
from terminaltables import AsciiTable

from .functional import (COCO_IOU_THRS, LevelScores, auc_confidence_interval,
                         average_precision, case_scores, froc_sensitivity,
                         image_scores, match_to_fractures, outcomes,
                         proportion_confidence_interval)
from .functional.box_shapes import (aspect_ratio_bins, box_orientation_bins,
                                    orientation_bins,
                                    subset_average_precision)
from .operating_points import OperatingPoints

Figures = Dict[str, float]
NAN = float('nan')


@dataclass
class ScoredImages:
    """The evaluated images, their boxes matched once.

    Attributes:
        records (list[dict]): ``FractureCaseMetric.process``'s records, in
            image-id order.
        box_image (np.ndarray): (N, ) the image of each box.
        box_scores (np.ndarray): (N, ) box scores, image by image.
        box_ap_match (np.ndarray): (T, N) the fracture index (within its
            image) each box is matched to, -1 if none, at COCO's IoU
            thresholds and then at ``ap_thrs``, under the AP criterion.
        box_hit (np.ndarray): (N, ) the fracture index (within its image)
            each box hits, -1 if none, under the hit rule.
        images (LevelScores): Per image.
        image_case (np.ndarray): (num_images, ) the case of each image.
        cases (LevelScores): Per case.
        case_ids (list): The cases, in order of first image.
    """
    records: List[dict]
    box_image: np.ndarray
    box_scores: np.ndarray
    box_ap_match: np.ndarray
    box_hit: np.ndarray
    images: LevelScores
    image_case: np.ndarray
    cases: LevelScores
    case_ids: list

    @property
    def box_ap_is_tp(self) -> np.ndarray:
        """(T, N) bool, true positives for AP."""
        return self.box_ap_match >= 0

    def split_by_image(self, values: np.ndarray) -> List[np.ndarray]:
        """Box values (last axis) split into one array per image."""
        ends = np.cumsum(np.bincount(self.box_image,
                                     minlength=len(self.records)))
        return np.split(values, ends[:-1], axis=-1)

    @property
    def num_fractures(self) -> np.ndarray:
        return np.array([len(r['gt_bboxes']) for r in self.records], int)

    def column(self, key: str) -> np.ndarray:
        """A metadata column of the images, e.g. 'body_part'."""
        return np.array([r[key] for r in self.records], dtype=str)

    def case_body_parts(self) -> np.ndarray:
        """Each case's body parts, joined by '+' (e.g. 'hand+wrist')."""
        parts: List[set] = [set() for _ in self.case_ids]
        for record, case in zip(self.records, self.image_case):
            parts[case].add(record['body_part'])
        return np.array(['+'.join(sorted(p)) for p in parts], dtype=str)


def score_images(records: List[dict], ap_thrs: Sequence[float],
                 ap_criterion: str, hit_criterion: str,
                 hit_thr: float) -> ScoredImages:
    """Match every image's boxes once (for AP and for hits) and score the
    images and cases by :mod:`.functional.fracture_levels`."""
    num_boxes = np.array([len(r['pred_scores']) for r in records], int)
    box_image = np.repeat(np.arange(len(records)), num_boxes)
    scores = np.concatenate([np.zeros(0)] +
                            [r['pred_scores'] for r in records])
    thrs = np.r_[COCO_IOU_THRS, ap_thrs]
    ap_match = np.concatenate([np.zeros((len(thrs), 0), int)] + [
        match_to_fractures(r['pred_bboxes'], r['pred_scores'], r['gt_bboxes'],
                           thrs, ap_criterion) for r in records
    ], axis=1)
    box_hit = np.concatenate([np.zeros(0, int)] + [
        match_to_fractures(r['pred_bboxes'], r['pred_scores'], r['gt_bboxes'],
                           hit_thr, hit_criterion)[0] for r in records
    ])
    num_fractures = np.array([len(r['gt_bboxes']) for r in records], int)
    images = image_scores(box_image, scores, box_hit >= 0, num_fractures)
    case_index: Dict[object, int] = {}
    image_case = np.array(
        [case_index.setdefault(r['case_id'], len(case_index))
         for r in records], int)
    return ScoredImages(records, box_image, scores, ap_match, box_hit,
                        images, image_case,
                        case_scores(image_case, len(case_index), images),
                        list(case_index))


class FigureMaker:
    """Computes figures with the metric's interval settings.

    Args:
        ap_thrs (Sequence[float]): Overlap thresholds with an AP each.
        ap_criterion (str): Overlap criterion of AP.
        froc_fps (Sequence[float]): FROC rates.
        confidence_level (float): Of every interval.
        ci_method (str): 'exact' or 'wilson'.
    """

    def __init__(self, ap_thrs: Sequence[float], ap_criterion: str,
                 froc_fps: Sequence[float], confidence_level: float,
                 ci_method: str) -> None:
        self.ap_thrs = tuple(ap_thrs)
        self.ap_criterion = ap_criterion
        self.froc_fps = tuple(froc_fps)
        self.confidence_level = confidence_level
        self.ci_method = ci_method
        self.caught: List[tuple] = []

    @contextmanager
    def warnings_about(self, subject: str) -> Iterator[None]:
        """Collect the warnings raised inside, naming ``subject``, for
        :meth:`warn_once`."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            yield
        self.caught.extend((subject, str(w.message)) for w in caught)

    def warn_once(self) -> None:
        """One warning for all that were collected: each message with the
        groups it arose in."""
        by_message: Dict[str, List[str]] = {}
        for subject, message in self.caught:
            subjects = by_message.setdefault(message, [])
            if subject not in subjects:
                subjects.append(subject)
        self.caught = []
        if by_message:
            warnings.warn(
                'undefined figures: ' + '; '.join(
                    f'{message} ({", ".join(subjects)})'
                    for message, subjects in by_message.items()),
                UndefinedMetricWarning, stacklevel=3)

    def all_figures(self, scored: ScoredImages,
                    points: Optional[OperatingPoints]) -> Figures:
        """Every figure, groups included; operating-point figures only
        with ``points``."""
        figures: Figures = {}
        if points is not None:
            figures['threshold'] = points.definite.threshold
            figures['suspected_threshold'] = points.suspected.threshold
        everything = np.ones(len(scored.records), bool)
        with self.warnings_about('fractures'):
            figures.update(self.box_figures(scored, points, everything))
        with self.warnings_about('images'):
            figures.update(
                self.binary_figures('image', scored.images, points))
        with self.warnings_about('cases'):
            figures.update(self.binary_figures('case', scored.cases, points))
        groups = [(f'{part}/', f'{part} ', scored.column('body_part') == part)
                  for part in breakdown(scored.column('body_part'))]
        groups += [(f'view_{view}/', f'{view} view ',
                    scored.column('view') == view)
                   for view in breakdown(scored.column('view'))]
        for key_prefix, subject, selected in groups:
            with self.warnings_about(f'{subject}fractures'):
                group = self.box_figures(scored, points, selected)
            with self.warnings_about(f'{subject}images'):
                group.update(
                    self.binary_figures('image', scored.images, points,
                                        selected))
            figures.update({key_prefix + k: v for k, v in group.items()})
        case_parts = scored.case_body_parts()
        for part in breakdown(case_parts):
            with self.warnings_about(f'{part} cases'):
                group = self.binary_figures('case', scored.cases, points,
                                            case_parts == part)
            figures.update({f'{part}/{k}': v for k, v in group.items()})
        with self.warnings_about('box shapes'):
            figures.update(self.shape_figures(scored, points))
        return figures

    def box_figures(self, scored: ScoredImages,
                    points: Optional[OperatingPoints],
                    selected: np.ndarray) -> Figures:
        """Per-fracture figures of the selected images."""
        in_selection = selected[scored.box_image]
        scores = scored.box_scores[in_selection]
        num_fractures = int(scored.num_fractures[selected].sum())
        aps = average_precision(scores,
                                scored.box_ap_is_tp[:, in_selection],
                                num_fractures)
        figures = {'box_mAP': float(aps[:len(COCO_IOU_THRS)].mean())}
        for thr, ap in zip(self.ap_thrs, aps[len(COCO_IOU_THRS):]):
            figures[f'box_AP{round(thr * 100)}'] = float(ap)
        hits = scored.box_hit[in_selection] >= 0
        for prefix, point in _levels(points):
            kept = scores >= point.threshold
            num_tp = int(hits[kept].sum())
            figures.update(
                self.proportion(f'{prefix}box_precision', num_tp,
                                int(kept.sum())))
            figures.update(
                self.proportion(f'{prefix}box_sensitivity', num_tp,
                                num_fractures))
        sensitivities = froc_sensitivity(scores, hits, num_fractures,
                                         int(selected.sum()), self.froc_fps)
        for fps, sensitivity in zip(self.froc_fps, sensitivities):
            figures[f'froc@{fps:g}'] = float(sensitivity)
        figures['froc_mean'] = float(np.mean(sensitivities))
        return figures

    def binary_figures(self,
                       level: str,
                       scores: LevelScores,
                       points: Optional[OperatingPoints],
                       selected: Optional[np.ndarray] = None) -> Figures:
        """Sensitivity and specificity at each point and AUCs of images or
        cases."""
        if selected is not None:
            scores = LevelScores(*(values[selected] for values in scores))
        labels = scores.labels
        figures = {
            f'{level}_num_positive': int(labels.sum()),
            f'{level}_num_negative': int((~labels).sum())
        }
        for prefix, point in _levels(points):
            result = outcomes(scores, point.threshold)
            figures.update(
                self.proportion(f'{prefix}{level}_sensitivity',
                                int(result['true_positive'].sum()),
                                int(labels.sum())))
            figures.update(
                self.proportion(f'{prefix}{level}_specificity',
                                int((~labels).sum() -
                                    result['false_positive'].sum()),
                                int((~labels).sum())))
        for name, values in (('auc', scores.localised),
                             ('max_score_auc', scores.max_box)):
            auc, low, high = auc_confidence_interval(labels, values,
                                                     self.confidence_level)
            figures.update({
                f'{level}_{name}': auc,
                f'{level}_{name}_ci_low': low,
                f'{level}_{name}_ci_high': high
            })
        return figures

    def shape_figures(self, scored: ScoredImages,
                      points: Optional[OperatingPoints]) -> Figures:
        """AP50 and sensitivity (definite point) of the fractures of each
        aspect-ratio and orientation bin (see :mod:`.functional.box_shapes`);
        orientation only when every fracture is annotated with one."""
        records = scored.records
        gt_counts = np.cumsum(scored.num_fractures)[:-1]
        all_gts = np.concatenate([np.zeros((0, 4))] +
                                 [r['gt_bboxes'] for r in records])
        all_preds = np.concatenate([np.zeros((0, 4))] +
                                   [r['pred_bboxes'] for r in records])
        gt_bins = {'aspect': np.split(aspect_ratio_bins(all_gts), gt_counts)}
        pred_bins = {
            'aspect': scored.split_by_image(aspect_ratio_bins(all_preds))
        }
        orientations = [
            r.get('gt_orientations') or [None] * len(r['gt_bboxes'])
            for r in records
        ]
        if all(o is not None for per_image in orientations
               for o in per_image) and any(orientations):
            gt_bins['orientation'] = np.split(
                orientation_bins(np.concatenate(orientations)), gt_counts)
            pred_bins['orientation'] = scored.split_by_image(
                box_orientation_bins(all_preds))
        # COCO's 0.5 is the first AP threshold
        matched = scored.split_by_image(scored.box_ap_match[0])
        # the fracture each kept box hits, per image
        detected = [np.zeros(len(r['gt_bboxes']), bool) for r in records]
        if points is not None:
            kept = (scored.box_scores >= points.definite.threshold) & \
                (scored.box_hit >= 0)
            for image, fracture in zip(scored.box_image[kept],
                                       scored.box_hit[kept]):
                detected[image][fracture] = True
        figures: Figures = {}
        for kind, bins in gt_bins.items():
            for name in sorted(set(np.concatenate(bins + [[]]).tolist())):
                in_bin = [b == name for b in bins]
                key = f'{kind}_{name}/'
                figures[key + 'box_AP50'] = subset_average_precision(
                    [r['pred_bboxes'] for r in records],
                    [r['pred_scores'] for r in records],
                    [r['gt_bboxes'] for r in records], in_bin,
                    [b == name for b in pred_bins[kind]], 0.5,
                    self.ap_criterion, matched)
                figures[key + 'num_fractures'] = int(sum(map(np.sum,
                                                             in_bin)))
                if points is not None:
                    figures.update(
                        self.proportion(
                            key + 'box_sensitivity',
                            int(sum((d & b).sum()
                                    for d, b in zip(detected, in_bin))),
                            figures[key + 'num_fractures']))
        return figures

    def proportion(self, name: str, successes: int, total: int) -> Figures:
        """A proportion with its interval; nan (with a warning) without a
        denominator."""
        if total == 0:
            warnings.warn(f'{name} is undefined, its denominator is 0; '
                          'returning nan', UndefinedMetricWarning)
            return {name: NAN, f'{name}_ci_low': NAN, f'{name}_ci_high': NAN}
        low, high = proportion_confidence_interval(successes, total,
                                                   self.confidence_level,
                                                   self.ci_method)
        return {
            name: successes / total,
            f'{name}_ci_low': low,
            f'{name}_ci_high': high
        }


def summary_table(figures: Figures,
                  points: Optional[OperatingPoints]) -> str:
    """The summary as a table: AP, then sensitivity, specificity and
    AUC per level with their intervals."""

    def cell(key: str) -> str:
        if key not in figures:
            return '-'
        low, high = figures.get(f'{key}_ci_low'), \
            figures.get(f'{key}_ci_high')
        text = f'{figures[key]:.3f}'
        return text if low is None else f'{text} [{low:.3f}, {high:.3f}]'

    rows = [['level', 'sensitivity', 'specificity', 'AUC (localised score)']]
    rows.append(['fracture', cell('box_sensitivity'),
                 'precision ' + cell('box_precision'),
                 f"AP50 {figures['box_AP50']:.3f}, "
                 f"mAP {figures['box_mAP']:.3f}"])
    for level in ('image', 'case'):
        rows.append([level, cell(f'{level}_sensitivity'),
                     cell(f'{level}_specificity'), cell(f'{level}_auc')])
    table = AsciiTable(rows, title='FractureCaseMetric').table
    if points is None:
        return table
    return f'{table}\nsuspected {points.suspected.describe()}\n' \
        f'definite {points.definite.describe()}'


def _levels(points: Optional[OperatingPoints]):
    """(key prefix, point) of each operating point: '' for the definite
    one (the headline), 'suspected_' for the other."""
    if points is None:
        return []
    return [('', points.definite), ('suspected_', points.suspected)]


def breakdown(groups: np.ndarray) -> List[str]:
    """The groups to report separately: none when there is only one."""
    names = np.unique(groups).tolist()
    return names if len(names) > 1 else []
