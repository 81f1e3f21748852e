"""Choosing the operating score threshold on a validation set.

A threshold t means: positive when score >= t. Both rules pick among the
observed scores, so the threshold is a value some case actually reaches.
"""
import warnings

import numpy as np
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import roc_curve

THRESHOLD_METHODS = ('youden', 'specificity')


def _finite_roc(labels: np.ndarray, scores: np.ndarray, what: str):
    """False and true positive rates at each finite threshold, or None
    (with a warning) when a class is missing."""
    num_positive = int(labels.sum())
    if num_positive == 0 or num_positive == len(labels):
        warnings.warn(
            f'{what} needs positives and negatives, got {num_positive} '
            f'positives and {len(labels) - num_positive} negatives; '
            'returning nan', UndefinedMetricWarning)
        return None
    fpr, tpr, thresholds = roc_curve(
        labels, np.asarray(scores, dtype=np.float64), drop_intermediate=False)
    finite = np.isfinite(thresholds)
    return fpr[finite], tpr[finite], thresholds[finite]


def youden_threshold(labels: np.ndarray, scores: np.ndarray) -> float:
    """Threshold maximising Youden's J = sensitivity + specificity - 1.

    Of equally good thresholds the highest (more specific) one.

    Args:
        labels (np.ndarray): (n, ) 0/1 truth.
        scores (np.ndarray): (n, ) scores.

    Returns:
        float: The threshold; nan (with a warning) when a class is missing.
    """
    labels = np.asarray(labels).reshape(-1).astype(bool)
    roc = _finite_roc(labels, scores, "Youden's threshold")
    if roc is None:
        return float('nan')
    fpr, tpr, thresholds = roc
    num_positive = int(np.sum(labels))
    num_negative = len(labels) - num_positive
    # J * P * N in integers, so that equally good thresholds tie exactly
    youden = (
        np.rint(tpr * num_positive) * num_negative -
        np.rint(fpr * num_negative) * num_positive)
    return float(thresholds[np.argmax(youden)])


def specificity_threshold(labels: np.ndarray, scores: np.ndarray,
                          target_specificity: float) -> float:
    """Lowest threshold (so the most sensitive one) whose specificity is at
    least ``target_specificity``.

    When even the highest score gives a lower specificity (negatives share
    it), the threshold is just above the highest score: nothing positive.

    Args:
        labels (np.ndarray): (n, ) 0/1 truth.
        scores (np.ndarray): (n, ) scores.
        target_specificity (float): In [0, 1].

    Returns:
        float: The threshold; nan (with a warning) when a class is missing.
    """
    if not 0 <= target_specificity <= 1:
        raise ValueError('target_specificity must be in [0, 1], got '
                         f'{target_specificity}')
    labels = np.asarray(labels).reshape(-1).astype(bool)
    roc = _finite_roc(labels, scores, 'A target-specificity threshold')
    if roc is None:
        return float('nan')
    fpr, _, thresholds = roc
    reaching = np.flatnonzero(1 - fpr >= target_specificity - 1e-12)
    if len(reaching) == 0:
        return float(np.nextafter(thresholds[0], np.inf))
    return float(thresholds[reaching[-1]])
