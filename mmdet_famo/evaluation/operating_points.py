"""The two operating points of a fracture detector and the file that keeps
them.

Commercial fracture detectors report findings at two levels, each with its
own threshold on the box score: *suspected* (a high-sensitivity point, so
that little is missed) and *definite* (a high-specificity point). Both are
chosen on the validation set by :class:`FractureCaseMetric` and saved in
``operating_threshold.json``, whose ``"threshold"`` entry is the definite
point (the one a single-threshold reader uses)::

    {"threshold": 0.62,
     "operating_points": {
         "suspected": {"threshold": 0.21, "method": "sensitivity",
                       "target": 0.95, "source": "..."},
         "definite": {"threshold": 0.62, "method": "youden",
                      "target": null, "source": "..."}},
     "hit_criterion": "iosmall", "hit_thr": 0.5, ...}

:func:`load_operating_points` is the one reader of that file, for the
metric, inference and the analysis; it refuses anything else, naming the
file.
"""
import math
import os.path as osp
from dataclasses import asdict, dataclass
from typing import Optional, Tuple

import numpy as np
from mmengine.fileio import load

from .file_io import write_json
from .functional.thresholds import (image_case_youden_threshold,
                                    sensitivity_threshold,
                                    specificity_threshold, youden_threshold)

#: The two levels of a finding, from the more sensitive to the more specific.
LEVELS = ('suspected', 'definite')
#: How a threshold was chosen, and how the report says it.
THRESHOLD_METHODS = {
    'sensitivity': 'target sensitivity',
    'youden': "maximal Youden's J",
    'image_case_youden': "maximal Youden's J of the worse of images and "
    'cases',
    'specificity': 'target specificity',
    'given': 'given by the user',
}
#: Methods that may choose the definite point.
DEFINITE_METHODS = ('image_case_youden', 'youden', 'specificity')
#: Methods that aim at a target rate.
TARGETED_METHODS = ('sensitivity', 'specificity')
#: The file FractureCaseMetric writes into its ``output_dir``.
OPERATING_THRESHOLD_FILE = 'operating_threshold.json'


@dataclass(frozen=True)
class OperatingPoint:
    """One threshold on the box score: a box scoring at least it is a
    finding of this level.

    Args:
        level (str): 'suspected' or 'definite'.
        threshold (float): A real box score, finite.
        method (str): One of :data:`THRESHOLD_METHODS`.
        target (float, optional): The target sensitivity or specificity;
            None for 'youden' and 'given'.
        source (str): Where it came from, e.g. 'validation set, epoch 7
            (best by fracture/case_auc)'.
    """
    level: str
    threshold: float
    method: str
    target: Optional[float]
    source: str

    def __post_init__(self) -> None:
        if self.level not in LEVELS:
            raise ValueError(f'level must be one of {LEVELS}, got '
                             f'{self.level!r}')
        if self.method not in THRESHOLD_METHODS:
            raise ValueError(f'method must be one of '
                             f'{tuple(THRESHOLD_METHODS)}, got '
                             f'{self.method!r}')
        if not isinstance(self.threshold, (int, float)) or \
                isinstance(self.threshold, bool) or \
                not math.isfinite(self.threshold):
            raise ValueError(f'the {self.level} threshold must be a finite '
                             f'number, got {self.threshold!r}')
        if (self.method in TARGETED_METHODS) != (self.target is not None):
            raise ValueError(f'method {self.method!r} needs a target '
                             if self.target is None else
                             f'method {self.method!r} takes no target, got '
                             f'{self.target!r}')

    def describe(self) -> str:
        """E.g. '0.21 (target sensitivity 0.95; validation set, epoch 7)'."""
        how = THRESHOLD_METHODS[self.method]
        if self.target is not None:
            how += f' {self.target:g}'
        return f'{self.threshold:.4g} ({how}; {self.source})'


@dataclass(frozen=True)
class OperatingPoints:
    """The suspected and the definite operating point.

    Args:
        suspected (OperatingPoint): The high-sensitivity point.
        definite (OperatingPoint): The high-specificity point, at least the
            suspected threshold.
    """
    suspected: OperatingPoint
    definite: OperatingPoint

    def __post_init__(self) -> None:
        for level in LEVELS:
            if getattr(self, level).level != level:
                raise ValueError(f'the {level} point has level '
                                 f'{getattr(self, level).level!r}')
        if self.suspected.threshold > self.definite.threshold:
            raise ValueError(
                f'the suspected threshold {self.suspected.threshold} is '
                f'above the definite one {self.definite.threshold}')

    def __iter__(self):
        """The points, suspected first."""
        return iter((self.suspected, self.definite))

    def level_of(self, score: float) -> Optional[str]:
        """'definite' if ``score`` reaches the definite threshold,
        'suspected' if it reaches the suspected one, else None."""
        if score >= self.definite.threshold:
            return 'definite'
        if score >= self.suspected.threshold:
            return 'suspected'
        return None

    def to_record(self) -> dict:
        """The file's threshold entries: ``threshold`` (definite) and
        ``operating_points``."""
        return dict(
            threshold=self.definite.threshold,
            operating_points={point.level: asdict(point)
                              for point in self})


def given_operating_points(threshold: float,
                           suspected: Optional[float] = None,
                           source: str = 'given') -> OperatingPoints:
    """Points from thresholds the user typed (method 'given').

    Args:
        threshold (float): The definite threshold.
        suspected (float, optional): The suspected threshold; defaults to
            ``threshold`` (one level only).
        source (str): Where they came from, e.g. '--threshold'.

    Returns:
        OperatingPoints: The points.
    """
    suspected = threshold if suspected is None else suspected
    return OperatingPoints(
        OperatingPoint('suspected', float(suspected), 'given', None, source),
        OperatingPoint('definite', float(threshold), 'given', None, source))


def choose_operating_points(labels: np.ndarray,
                            scores: np.ndarray,
                            definite_method: str = 'youden',
                            target_sensitivity: float = 0.95,
                            target_specificity: float = 0.9,
                            source: str = 'the evaluated images',
                            case_labels: Optional[np.ndarray] = None,
                            case_scores: Optional[np.ndarray] = None
                            ) -> Optional[OperatingPoints]:
    """Choose both points on labelled scores (see
    :mod:`.functional.thresholds`: real box scores only).

    The suspected point is the most specific threshold reaching
    ``target_sensitivity``; when the definite point already reaches it, the
    suspected point is the definite one (the invariant suspected <=
    definite).

    Args:
        labels (np.ndarray): (n, ) 0/1 truth.
        scores (np.ndarray): (n, ) localised scores, -inf without a box.
        definite_method (str): One of :data:`DEFINITE_METHODS`.
        target_sensitivity (float): Of the suspected point.
        target_specificity (float): Of the definite point, if
            ``definite_method`` is 'specificity'.
        source (str): Where the scores come from, for the record.
        case_labels, case_scores (np.ndarray, optional): (m, ) per case,
            for 'image_case_youden'.

    Returns:
        OperatingPoints | None: None (with a warning) when no threshold can
        be chosen (a class or every box missing).
    """
    if definite_method not in DEFINITE_METHODS:
        raise ValueError(f'the definite method must be one of '
                         f'{DEFINITE_METHODS}, got {definite_method!r}')
    if definite_method == 'image_case_youden':
        if case_labels is None or case_scores is None:
            raise ValueError("'image_case_youden' needs case_labels and "
                             'case_scores')
        definite = image_case_youden_threshold(labels, scores, case_labels,
                                               case_scores)
        target = None
    elif definite_method == 'youden':
        definite, target = youden_threshold(labels, scores), None
    else:
        definite = specificity_threshold(labels, scores, target_specificity)
        target = target_specificity
    if math.isnan(definite):
        return None
    suspected = min(
        sensitivity_threshold(labels, scores, target_sensitivity), definite)
    return OperatingPoints(
        OperatingPoint('suspected', suspected, 'sensitivity',
                       target_sensitivity, source),
        OperatingPoint('definite', definite, definite_method, target,
                       source))


def threshold_file_path(path: str) -> str:
    """``path`` itself, or its ``operating_threshold.json`` if a folder."""
    return osp.join(path, OPERATING_THRESHOLD_FILE) if osp.isdir(path) \
        else path


def read_threshold_file(path: str) -> Tuple[OperatingPoints, dict]:
    """Read an operating-threshold file strictly.

    A file of an older version, with a single ``threshold`` and no
    ``operating_points``, gives that threshold at both levels.

    Args:
        path (str): ``operating_threshold.json`` or the folder holding it.

    Returns:
        tuple[OperatingPoints, dict]: The points, and the whole record
        with ``loaded_from`` (the file's absolute path) added.

    Raises:
        FileNotFoundError: If there is no such file.
        ValueError: Naming the file, if it holds no valid operating points.
    """
    path = threshold_file_path(path)
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'threshold file {path} does not exist; evaluate the validation '
            'set first (FractureCaseMetric(choose_operating_points=True, '
            'output_dir=...)) or give a threshold')
    try:
        record = load(path, file_format='json')
    except ValueError as error:
        raise ValueError(f'{path}: not valid JSON ({error})') from error
    if not isinstance(record, dict) or 'threshold' not in record:
        raise ValueError(f'{path}: not an operating threshold file (no '
                         '"threshold" entry)')
    threshold = record['threshold']
    if threshold is None or (isinstance(threshold, float)
                             and not math.isfinite(threshold)):
        reason = record.get('reason') or 'the validation set lacked ' \
            'fractured or fracture-free images, or boxes'
        raise ValueError(f'{path}: no operating threshold could be chosen '
                         f'({reason}); give one instead (--threshold)')
    try:
        points = _points_of(record, path)
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f'{path}: invalid operating points: '
                         f'{error}') from error
    if points.definite.threshold != threshold:
        raise ValueError(f'{path}: "threshold" {threshold} differs from the '
                         f'definite point {points.definite.threshold}')
    return points, dict(record, loaded_from=osp.abspath(path))


def load_operating_points(path: str) -> OperatingPoints:
    """The operating points saved in ``operating_threshold.json`` (or the
    folder holding it); see :func:`read_threshold_file`."""
    return read_threshold_file(path)[0]


def save_operating_points(path: str, points: Optional[OperatingPoints],
                          **details) -> dict:
    """Write a threshold file atomically.

    Args:
        path (str): The file.
        points (OperatingPoints, optional): None when none could be
            chosen (give ``reason=`` in ``details``); ``threshold`` is then
            null and the reader refuses the file, saying why.
        **details: More entries (hit rule, counts, checkpoint...).

    Returns:
        dict: The record written.
    """
    record = points.to_record() if points is not None else dict(
        threshold=None, operating_points=None)
    record.update(details)
    write_json(path, record, indent=2)
    return record


def _points_of(record: dict, path: str) -> OperatingPoints:
    saved = record.get('operating_points')
    if saved is None:  # a single-threshold file of an earlier version
        method = record.get('method')
        target = record.get('target_specificity')
        if method not in ('youden', 'specificity'):
            method, target = 'given', None
        point = dict(
            threshold=float(record['threshold']),
            method=method,
            target=target if method == 'specificity' else None,
            source=f'single threshold of {path}')
        return OperatingPoints(
            OperatingPoint('suspected', **point),
            OperatingPoint('definite', **point))
    if not isinstance(saved, dict) or set(saved) != set(LEVELS):
        raise ValueError(f'"operating_points" must hold exactly {LEVELS}')
    return OperatingPoints(**{
        level: OperatingPoint(**dict(saved[level], level=level))
        for level in LEVELS
    })
