"""Read the output folder of a :class:`FractureCaseMetric` test run and check
that two runs were evaluated on the same test set.

A paired comparison (DeLong, McNemar) is only valid when both models scored
the same images with the same ground truth, so every mismatch is an error
that names what differs instead of a silently smaller comparison.
"""
import csv
import dataclasses
import inspect
import os.path as osp
from dataclasses import dataclass
from typing import Dict, List, Sequence

import numpy as np
from mmengine.fileio import load

from ..evaluation.metrics.fracture_case_metric import (
    DETECTIONS_FILE, OPERATING_THRESHOLD_FILE, PER_CASE_COLUMNS,
    PER_CASE_SCORES_FILE, PER_IMAGE_COLUMNS, PER_IMAGE_SCORES_FILE,
    FractureCaseMetric)

#: Per-image or per-case arrays, by column name.
Table = Dict[str, np.ndarray]

#: Columns read as text; columns named ``*score*`` are floats, the others
#: counts and 0/1 outcomes.
TEXT_COLUMNS = ('img_id', 'img_path', 'case_id', 'patient_id', 'body_part',
                'view')
#: Per-image columns that must agree between two runs of the same test set.
SAME_TEST_SET_COLUMNS = ('img_path', 'case_id', 'patient_id', 'body_part',
                         'view', 'n_fractures')
#: How many differing records an error message lists.
NUM_EXAMPLES = 3


@dataclass(frozen=True)
class EvaluationRun:
    """The score tables one model's test run wrote.

    Attributes:
        name (str): The model's name in the report, e.g. 'FAMO'.
        directory (str): The metric's ``output_dir``.
        images (Table): ``per_image_scores.csv`` by column, in image-id
            order.
        cases (Table): ``per_case_scores.csv`` by column.
        detections (list[dict]): Per image, in the order of ``images``:
            ``gt_bboxes``, ``pred_bboxes`` (x1y1x2y2, original pixels) and
            ``pred_scores`` as arrays.
        threshold_info (dict): ``operating_threshold.json``: the threshold,
            how it was chosen and the hit rule.
    """
    name: str
    directory: str
    images: Table
    cases: Table
    detections: List[Dict[str, np.ndarray]]
    threshold_info: dict

    @property
    def threshold(self) -> float:
        """The operating threshold the outcome columns were computed at."""
        return float(self.threshold_info['threshold'])

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
    images = _read_table(
        osp.join(directory, PER_IMAGE_SCORES_FILE), PER_IMAGE_COLUMNS)
    cases = _read_table(
        osp.join(directory, PER_CASE_SCORES_FILE), PER_CASE_COLUMNS)
    if len(images['img_id']) == 0:
        raise ValueError(f'{osp.join(directory, PER_IMAGE_SCORES_FILE)}: no '
                         'images were evaluated')
    threshold_path = osp.join(directory, OPERATING_THRESHOLD_FILE)
    threshold_info = _read_json(threshold_path)
    if not isinstance(threshold_info, dict) or 'threshold' not in \
            threshold_info:
        raise ValueError(f'{threshold_path}: no "threshold" entry')
    return EvaluationRun(
        name=name,
        directory=directory,
        images=images,
        cases=cases,
        detections=_read_detections(
            osp.join(directory, DETECTIONS_FILE), images['img_id']),
        threshold_info=threshold_info)


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


def _read_table(path: str, columns: Sequence[str]) -> Dict[str, np.ndarray]:
    """A score table as typed arrays, checked against ``columns`` (the
    first of which identifies a row)."""
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'{path} does not exist: not an output folder of '
            'FractureCaseMetric (tools/test.py --out-dir)')
    with open(path, newline='') as file:
        rows = list(csv.reader(file))
    header = rows[0] if rows else []
    missing = [column for column in columns if column not in header]
    if missing:
        raise ValueError(f'{path}: missing columns {missing}; expected the '
                         f'columns {list(columns)}')
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise ValueError(f'{path}, line {line}: {len(row)} fields, the '
                             f'header has {len(header)}')
    table = {}
    for column in columns:
        values = [row[header.index(column)] for row in rows[1:]]
        kind = str if column in TEXT_COLUMNS else (
            float if 'score' in column else int)
        try:
            table[column] = np.array([_parse(value, kind) for value in values],
                                     dtype=kind)
        except ValueError as error:
            raise ValueError(f'{path}: column {column} holds a value that is '
                             f'not {kind.__name__} ({error})') from error
    key = columns[0]  # img_id or case_id
    if len(set(table[key])) < len(table[key]):
        raise ValueError(f'{path}: {key} has duplicates')
    return table


def _parse(value: str, kind: type):
    """A CSV field as ``kind``; counts may be written as '2.0'."""
    if kind is not int:
        return kind(value)
    number = float(value)
    if not number.is_integer():
        raise ValueError(f'{value!r} is not a whole number')
    return int(number)


def _read_json(path: str):
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'{path} does not exist: not an output folder of '
            'FractureCaseMetric (tools/test.py --out-dir)')
    try:
        return load(path, file_format='json')
    except ValueError as error:
        raise ValueError(f'{path}: not valid JSON ({error})') from error


def _read_detections(path: str,
                     img_ids: np.ndarray) -> List[Dict[str, np.ndarray]]:
    """The boxes of ``detections.json``, in the order of ``img_ids``."""
    content = _read_json(path)
    try:
        by_id = {
            str(image['img_id']): {
                key: np.array(image[key], dtype=np.float64).reshape(shape)
                for key, shape in (('gt_bboxes', (-1, 4)),
                                   ('pred_bboxes', (-1, 4)), ('pred_scores',
                                                              (-1, )))
            }
            for image in content['images']
        }
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f'{path}: not a detections file of '
                         f'FractureCaseMetric ({error!r})') from error
    missing = [img_id for img_id in img_ids if img_id not in by_id]
    if missing:
        raise ValueError(f'{path}: no detections for {len(missing)} images '
                         f'of the score table, e.g. {missing[:NUM_EXAMPLES]}')
    return [by_id[img_id] for img_id in img_ids]
