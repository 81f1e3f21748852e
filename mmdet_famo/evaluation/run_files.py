"""The files of an evaluation run: names, writer and reader.

:class:`FractureCaseMetric` writes them into its ``output_dir``; the
comparison of two runs (:mod:`mmdet_famo.analysis`) reads them back:

* ``per_image_scores.csv``, ``per_case_scores.csv``: one row per image or
  case, columns :data:`PER_IMAGE_COLUMNS` and :data:`PER_CASE_COLUMNS`;
  scores without a box are written as 0
  (:data:`~.functional.fracture_levels.SCORE_WITHOUT_BOX`), the outcome
  columns are at the definite operating point;
* ``detections.json``: per image its fracture boxes (with their
  orientation when annotated) and its predicted boxes and scores, from
  which every figure can be recomputed;
* ``operating_threshold.json``: see :mod:`.operating_points`;
* ``metrics.json``: every figure, breakdowns included;
* ``roc_image.png``, ``roc_case.png``: ROC curves.

Every file is written whole or not at all; a reader error names the file.
"""
import csv
import os
import os.path as osp
from typing import TYPE_CHECKING, Callable, Dict, List, Optional, Sequence

import numpy as np
from mmengine.fileio import load

from .file_io import write_atomically, write_json
from .functional import LevelScores, outcomes, shown_scores
from .operating_points import OPERATING_THRESHOLD_FILE, OperatingPoints
from .roc_plot import plot_roc

if TYPE_CHECKING:
    from .fracture_figures import ScoredImages

PER_IMAGE_SCORES_FILE = 'per_image_scores.csv'
PER_CASE_SCORES_FILE = 'per_case_scores.csv'
DETECTIONS_FILE = 'detections.json'
METRICS_FILE = 'metrics.json'
ROC_IMAGE_FILE = 'roc_image.png'
ROC_CASE_FILE = 'roc_case.png'
#: Columns of the two score tables. ``localised_score`` is the paper's
#: score (only boxes hitting a fracture count on a fractured image),
#: ``max_box_score`` the highest box score wherever the box lies.
PER_IMAGE_COLUMNS = ('img_id', 'img_path', 'case_id', 'patient_id',
                     'body_part', 'view', 'has_fracture', 'n_fractures',
                     'n_boxes', 'localised_score', 'max_box_score', 'level',
                     'predicted_positive', 'tp_at_threshold',
                     'fp_at_threshold', 'n_fractures_detected',
                     'n_false_boxes')
PER_CASE_COLUMNS = ('case_id', 'patient_id', 'body_part', 'n_images',
                    'has_fracture', 'n_fractures', 'localised_score',
                    'max_box_score', 'level', 'predicted_positive',
                    'tp_at_threshold', 'fp_at_threshold')
#: Columns read as text; columns named ``*score*`` are floats, the others
#: counts and 0/1 outcomes.
TEXT_COLUMNS = ('img_id', 'img_path', 'case_id', 'patient_id', 'body_part',
                'view', 'level')
#: How many offending records an error message lists.
NUM_EXAMPLES = 3

__all__ = [
    'PER_IMAGE_SCORES_FILE', 'PER_CASE_SCORES_FILE', 'DETECTIONS_FILE',
    'OPERATING_THRESHOLD_FILE', 'METRICS_FILE', 'ROC_IMAGE_FILE',
    'ROC_CASE_FILE', 'PER_IMAGE_COLUMNS', 'PER_CASE_COLUMNS',
    'write_run', 'write_score_table', 'write_detections', 'write_json',
    'write_atomically', 'read_score_table', 'read_detections', 'read_json'
]


def write_score_table(path: str, names: Sequence[str],
                      columns: Dict[str, Sequence]) -> None:
    """Write ``columns`` as a CSV table with the columns ``names``."""

    def write(partial: str) -> None:
        with open(partial, 'w', newline='') as file:
            writer = csv.writer(file)
            writer.writerow(names)
            writer.writerows(zip(*(columns[name] for name in names)))

    write_atomically(path, write)


def write_detections(path: str, records: List[dict]) -> None:
    """Write every image's fracture and predicted boxes (the metric's
    records, see ``FractureCaseMetric.process``)."""
    write_json(
        path,
        dict(
            bbox_format='xyxy, original image pixels',
            images=[
                dict(
                    img_id=r['img_id'],
                    img_path=r['img_path'],
                    case_id=r['case_id'],
                    patient_id=r['patient_id'],
                    body_part=r['body_part'],
                    view=r['view'],
                    gt_bboxes=r['gt_bboxes'].tolist(),
                    gt_orientations=r.get('gt_orientations'),
                    pred_bboxes=r['pred_bboxes'].tolist(),
                    pred_scores=r['pred_scores'].tolist()) for r in records
            ]))


def write_run(output_dir: str, scored: 'ScoredImages',
              points: Optional[OperatingPoints], figures: dict,
              threshold_record: dict, confidence_level: float) -> None:
    """Write every file of a run into ``output_dir`` (created).

    Args:
        output_dir (str): The folder.
        scored (ScoredImages): The evaluated images.
        points (OperatingPoints, optional): The operating points.
        figures (dict): Every figure, for ``metrics.json``.
        threshold_record (dict): For ``operating_threshold.json``.
        confidence_level (float): Of the AUC intervals of the plots.
    """
    os.makedirs(output_dir, exist_ok=True)
    records = scored.records
    threshold = np.nan if points is None else points.definite.threshold
    kept = scored.box_scores >= threshold
    hit = scored.box_hit >= 0
    num_images = len(records)
    image_columns = dict(
        {key: [r[key] for r in records]
         for key in ('img_id', 'img_path', 'case_id', 'patient_id',
                     'body_part', 'view')},
        n_fractures=scored.num_fractures,
        n_boxes=np.bincount(scored.box_image, minlength=num_images),
        n_fractures_detected=np.bincount(
            scored.box_image[kept & hit], minlength=num_images),
        n_false_boxes=np.bincount(
            scored.box_image[kept & ~hit], minlength=num_images),
        **_level_columns(scored.images, points))
    case_columns = dict(
        case_id=scored.case_ids,
        patient_id=[''] * len(scored.case_ids),
        body_part=scored.case_body_parts(),
        n_images=np.bincount(scored.image_case,
                             minlength=len(scored.case_ids)),
        n_fractures=np.bincount(scored.image_case, scored.num_fractures,
                                minlength=len(scored.case_ids)),
        **_level_columns(scored.cases, points))
    for record, case in zip(records, scored.image_case):
        case_columns['patient_id'][case] = \
            case_columns['patient_id'][case] or record['patient_id']

    def output(name: str) -> str:
        return osp.join(output_dir, name)

    write_score_table(
        output(PER_IMAGE_SCORES_FILE), PER_IMAGE_COLUMNS, image_columns)
    write_score_table(
        output(PER_CASE_SCORES_FILE), PER_CASE_COLUMNS, case_columns)
    write_detections(output(DETECTIONS_FILE), records)
    write_json(output(OPERATING_THRESHOLD_FILE), threshold_record, indent=2)
    write_json(output(METRICS_FILE), figures, indent=2)
    rocs = ((ROC_IMAGE_FILE, 'image', scored.images,
             scored.column('body_part')),
            (ROC_CASE_FILE, 'case', scored.cases, scored.case_body_parts()))
    for name, level, level_scores, parts in rocs:
        write_atomically(
            output(name), lambda path: plot_roc(
                path, level, level_scores, parts, points, confidence_level))


def _level_columns(scores: LevelScores,
                   points: Optional[OperatingPoints]) -> dict:
    """Score and outcome columns of images or cases (outcomes at the
    definite point; 0 and no level without points)."""
    threshold = np.nan if points is None else points.definite.threshold
    result = outcomes(scores, threshold)
    level = [''] * len(scores.labels) if points is None else [
        points.level_of(score) or '' for score in scores.max_box
    ]
    return dict(
        has_fracture=scores.labels.astype(int),
        localised_score=shown_scores(scores.localised),
        max_box_score=shown_scores(scores.max_box),
        level=level,
        predicted_positive=result['predicted_positive'].astype(int),
        tp_at_threshold=result['true_positive'].astype(int),
        fp_at_threshold=result['false_positive'].astype(int))


def read_json(path: str):
    """A JSON file of a run, with errors naming it."""
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'{path} does not exist: not an output folder of '
            'FractureCaseMetric (tools/test.py --out-dir)')
    try:
        return load(path, file_format='json')
    except ValueError as error:
        raise ValueError(f'{path}: not valid JSON ({error})') from error


def read_score_table(path: str,
                     columns: Sequence[str]) -> Dict[str, np.ndarray]:
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


def read_detections(path: str,
                    img_ids: Sequence[str]) -> List[Dict[str, np.ndarray]]:
    """The boxes of ``detections.json``, in the order of ``img_ids``:
    ``gt_bboxes``, ``pred_bboxes`` (N, 4), ``pred_scores`` (N, ) and
    ``gt_orientations`` (degrees, nan where not annotated)."""
    content = read_json(path)
    shapes: Dict[str, tuple] = dict(
        gt_bboxes=(-1, 4), pred_bboxes=(-1, 4), pred_scores=(-1, ))
    try:
        by_id = {}
        for image in content['images']:
            arrays = {
                key: np.array(image[key], dtype=np.float64).reshape(shape)
                for key, shape in shapes.items()
            }
            orientations = image.get('gt_orientations') or \
                [None] * len(arrays['gt_bboxes'])
            arrays['gt_orientations'] = np.array(
                [np.nan if o is None else o for o in orientations],
                dtype=np.float64).reshape(len(arrays['gt_bboxes']))
            by_id[str(image['img_id'])] = arrays
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f'{path}: not a detections file of '
                         f'FractureCaseMetric ({error!r})') from error
    missing = [img_id for img_id in img_ids if img_id not in by_id]
    if missing:
        raise ValueError(f'{path}: no detections for {len(missing)} images '
                         f'of the score table, e.g. {missing[:NUM_EXAMPLES]}')
    return [by_id[img_id] for img_id in img_ids]


def _parse(value: str, kind: Callable):
    """A CSV field as ``kind``; counts may be written as '2.0'."""
    if kind is not int:
        return kind(value)
    number = float(value)
    if not number.is_integer():
        raise ValueError(f'{value!r} is not a whole number')
    return int(number)
