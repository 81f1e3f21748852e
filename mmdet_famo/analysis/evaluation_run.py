"""Read the output folder of a :class:`FractureCaseMetric` test run and check
that two runs were evaluated on the same test set.

A paired comparison (DeLong, McNemar) is only valid when both models scored
the same images with the same ground truth, so every mismatch is an error
that names what differs instead of a silently smaller comparison.
"""
import dataclasses
import inspect
import os.path as osp
from dataclasses import dataclass
from typing import Dict, List, Optional

import numpy as np

from ..evaluation.functional import (LevelScores, case_scores, image_scores,
                                     match_to_fractures, outcomes)
from ..evaluation.metrics import FractureCaseMetric
from ..evaluation.operating_points import (OperatingPoints,
                                           read_threshold_file)
from ..evaluation.run_files import (DETECTIONS_FILE, NUM_EXAMPLES,
                                    OPERATING_THRESHOLD_FILE,
                                    PER_CASE_COLUMNS, PER_CASE_SCORES_FILE,
                                    PER_IMAGE_COLUMNS, PER_IMAGE_SCORES_FILE,
                                    read_detections, read_json,
                                    read_score_table)

#: Per-image or per-case arrays, by column name.
Table = Dict[str, np.ndarray]

#: Per-image columns that must agree between two runs of the same test set.
SAME_TEST_SET_COLUMNS = ('img_path', 'case_id', 'patient_id', 'body_part',
                         'view', 'n_fractures')


@dataclass(frozen=True)
class EvaluationRun:
    """The score tables one model's test run wrote.

    Attributes:
        name (str): The model's name in the report, e.g. 'FAMO'.
        directory (str): The metric's ``output_dir``.
        images (Table): ``per_image_scores.csv`` by column, in image-id
            order; the score and outcome columns recomputed from the
            detections by the rules of
            :mod:`mmdet_famo.evaluation.functional.fracture_levels` (scores
            -inf without a box that counts, outcomes at the definite point).
        cases (Table): ``per_case_scores.csv`` by column, likewise.
        detections (list[dict]): Per image, in the order of ``images``:
            ``gt_bboxes``, ``pred_bboxes`` (x1y1x2y2, original pixels),
            ``pred_scores``, ``gt_orientations`` (degrees, nan if unknown)
            and ``gt_detected`` (whether a box at the definite point hits
            each fracture) as arrays.
        threshold_info (dict): ``operating_threshold.json``: the points,
            how they were chosen and the hit rule.
        points (OperatingPoints, optional): The operating points; None when
            the run had none.
    """
    name: str
    directory: str
    images: Table
    cases: Table
    detections: List[Dict[str, np.ndarray]]
    threshold_info: dict
    points: Optional[OperatingPoints]

    @property
    def threshold(self) -> float:
        """The definite threshold the outcomes are at (nan without)."""
        return np.nan if self.points is None else \
            self.points.definite.threshold

    @property
    def hit_rule(self) -> tuple:
        """``(hit_criterion, hit_thr)`` that decided which box hits a
        fracture; the metric's defaults for a file that lacks them."""
        defaults = inspect.signature(FractureCaseMetric).parameters
        return tuple(
            self.threshold_info.get(key, defaults[key].default)
            for key in ('hit_criterion', 'hit_thr'))


def load_evaluation_run(directory: str, name: str) -> EvaluationRun:
    """Read the files FractureCaseMetric wrote into ``directory``.

    Args:
        directory (str): The metric's ``output_dir`` (``tools/test.py
            --out-dir``).
        name (str): The model's name in messages and the report.

    Returns:
        EvaluationRun: The run.
    """
    if not osp.isdir(directory):
        raise FileNotFoundError(
            f'{name}: {directory} is not a folder; pass the --out-dir of '
            'tools/test.py (the output_dir of FractureCaseMetric)')
    images = read_score_table(
        osp.join(directory, PER_IMAGE_SCORES_FILE), PER_IMAGE_COLUMNS)
    cases = read_score_table(
        osp.join(directory, PER_CASE_SCORES_FILE), PER_CASE_COLUMNS)
    if len(images['img_id']) == 0:
        raise ValueError(f'{osp.join(directory, PER_IMAGE_SCORES_FILE)}: no '
                         'images were evaluated')
    threshold_path = osp.join(directory, OPERATING_THRESHOLD_FILE)
    threshold_info = read_json(threshold_path)
    if not isinstance(threshold_info, dict) or 'threshold' not in \
            threshold_info:
        raise ValueError(f'{threshold_path}: no "threshold" entry')
    points = None if threshold_info['threshold'] is None else \
        read_threshold_file(threshold_path)[0]
    run = EvaluationRun(
        name=name,
        directory=directory,
        images=images,
        cases=cases,
        detections=read_detections(
            osp.join(directory, DETECTIONS_FILE), images['img_id']),
        threshold_info=threshold_info,
        points=points)
    return apply_rules(run)


def apply_rules(run: EvaluationRun) -> EvaluationRun:
    """``run`` with its score and outcome columns and ``gt_detected``
    recomputed from its detections, under its hit rule and its definite
    point, by the metric's own rules."""
    criterion, hit_thr = run.hit_rule
    images, cases = dict(run.images), dict(run.cases)
    hits = [
        match_to_fractures(d['pred_bboxes'], d['pred_scores'], d['gt_bboxes'],
                           hit_thr, criterion)[0] for d in run.detections
    ]
    num_boxes = [len(d['pred_scores']) for d in run.detections]
    box_image = np.repeat(np.arange(len(num_boxes)), num_boxes)
    box_scores = np.concatenate([np.zeros(0)] +
                                [d['pred_scores'] for d in run.detections])
    box_hit = np.concatenate([np.zeros(0, int)] + hits)
    image_levels = image_scores(box_image, box_scores, box_hit >= 0,
                                images['n_fractures'])
    case_index = {case: i for i, case in enumerate(cases['case_id'])}
    # a case missing from the case table (align_to names it) scores apart
    image_case = np.array([
        case_index.setdefault(case, len(case_index))
        for case in images['case_id']
    ], int)
    num_cases = len(cases['case_id'])
    case_levels = LevelScores(*(
        values[:num_cases]
        for values in case_scores(image_case, len(case_index), image_levels)))
    kept = box_scores >= run.threshold
    images.update(
        n_fractures_detected=np.bincount(
            box_image[kept & (box_hit >= 0)], minlength=len(num_boxes)),
        n_false_boxes=np.bincount(
            box_image[kept & (box_hit < 0)], minlength=len(num_boxes)),
        **_level_columns(image_levels, run.threshold))
    cases.update(_level_columns(case_levels, run.threshold))
    detections = []
    for detection, image_hits in zip(run.detections, hits):
        detected = np.zeros(len(detection['gt_bboxes']), bool)
        is_kept = detection['pred_scores'] >= run.threshold
        detected[image_hits[is_kept & (image_hits >= 0)]] = True
        detections.append(dict(detection, gt_detected=detected))
    return dataclasses.replace(
        run, images=images, cases=cases, detections=detections)


def _level_columns(levels: LevelScores, threshold: float) -> Table:
    result = outcomes(levels, threshold)
    return dict(
        localised_score=levels.localised,
        max_box_score=levels.max_box,
        predicted_positive=result['predicted_positive'].astype(int),
        tp_at_threshold=result['true_positive'].astype(int),
        fp_at_threshold=result['false_positive'].astype(int))


def align_to(reference: EvaluationRun, run: EvaluationRun) -> EvaluationRun:
    """``run`` with its images and cases in ``reference``'s order, after
    checking that both runs evaluated the same test set: the same image
    ids, with the same paths, cases, patients, body parts, views and
    fracture boxes.

    Raises:
        ValueError: Naming what differs, with examples.
    """
    names = f'{reference.name} ({reference.directory}) and {run.name} ' \
        f'({run.directory})'
    _check_same_keys(reference.images['img_id'], run.images['img_id'],
                     'image ids', reference.name, run.name, names)
    image_order = _positions(run.images['img_id'], reference.images['img_id'])
    images = {key: values[image_order] for key, values in run.images.items()}
    for column in SAME_TEST_SET_COLUMNS:
        differs = np.flatnonzero(reference.images[column] != images[column])
        if len(differs):
            ours = reference.images[column].tolist()
            theirs = images[column].tolist()
            examples = '; '.join(f"image {reference.images['img_id'][i]}: "
                                 f'{ours[i]!r} vs {theirs[i]!r}'
                                 for i in differs[:NUM_EXAMPLES])
            raise ValueError(
                f'{names} were not evaluated on the same test set: '
                f'{column} differs for {len(differs)} of '
                f'{len(images[column])} images, e.g. {examples}')
    detections = [run.detections[i] for i in image_order]
    moved = [
        img_id
        for img_id, ours, theirs in zip(reference.images['img_id'].tolist(),
                                        reference.detections, detections)
        if ours['gt_bboxes'].shape != theirs['gt_bboxes'].shape
        or not np.allclose(ours['gt_bboxes'], theirs['gt_bboxes'], atol=1e-3)
    ]
    if moved:
        raise ValueError(
            f'{names} were not evaluated on the same test set: the fracture '
            f'boxes differ on {len(moved)} of {len(detections)} images '
            '(different annotations or test pipelines), e.g. images '
            f'{moved[:NUM_EXAMPLES]}')
    _check_same_keys(reference.cases['case_id'], run.cases['case_id'],
                     'case ids', reference.name, run.name, names)
    case_order = _positions(run.cases['case_id'], reference.cases['case_id'])
    return dataclasses.replace(
        run,
        images=images,
        cases={
            key: values[case_order]
            for key, values in run.cases.items()
        },
        detections=detections)


def _check_same_keys(ours: np.ndarray, theirs: np.ndarray, what: str,
                     our_name: str, their_name: str, names: str) -> None:
    only_ours = sorted(set(ours.tolist()) - set(theirs.tolist()))
    only_theirs = sorted(set(theirs.tolist()) - set(ours.tolist()))
    if only_ours or only_theirs:
        raise ValueError(
            f'{names} were not evaluated on the same test set: '
            f'{len(only_ours)} {what} only in {our_name} '
            f'{only_ours[:NUM_EXAMPLES]}, {len(only_theirs)} only in '
            f'{their_name} {only_theirs[:NUM_EXAMPLES]}')


def _positions(keys: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Indices into ``keys`` that put them in ``order`` (same key sets)."""
    index = {key: position for position, key in enumerate(keys)}
    return np.array([index[key] for key in order], dtype=int)
