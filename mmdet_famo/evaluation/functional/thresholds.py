"""Choosing an operating score threshold on a validation set.

A threshold t means: positive when a box scores >= t. Scores here are the
highest score of the boxes that count (see :mod:`.fracture_levels`), -inf
for an image without one, so ``score >= t`` is exactly "has such a box
scoring >= t". Every rule picks its threshold among the real box scores
(the finite ones): an image without boxes is never called positive, at any
threshold chosen here.
"""
import warnings
from typing import Optional, Tuple

import numpy as np


def _positives_at(labels: np.ndarray, scores: np.ndarray,
                  candidates: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """True and false positives at each threshold of ``candidates``."""
    positive = np.sort(scores[labels])
    negative = np.sort(scores[~labels])
    return (len(positive) - np.searchsorted(positive, candidates, 'left'),
            len(negative) - np.searchsorted(negative, candidates, 'left'))


def _counts(labels: np.ndarray, scores: np.ndarray,
            what: str) -> Optional[Tuple[np.ndarray, ...]]:
    """The candidate thresholds (real scores, ascending) and the true and
    false positives at each, or None (with a warning) when a class or every
    real score is missing."""
    labels = np.asarray(labels).reshape(-1).astype(bool)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    if len(labels) != len(scores):
        raise ValueError(f'{len(labels)} labels but {len(scores)} scores')
    num_positive = int(labels.sum())
    candidates = np.unique(scores[np.isfinite(scores)])
    if num_positive == 0 or num_positive == len(labels):
        reason = f'positives and negatives, got {num_positive} positives ' \
            f'and {len(labels) - num_positive} negatives'
    elif len(candidates) == 0:
        reason = 'at least one box, got none'
    else:
        true_positives, false_positives = _positives_at(
            labels, scores, candidates)
        return candidates, true_positives, false_positives, \
            num_positive, len(labels) - num_positive
    # scikit-learn (and SciPy with it) only for the warning's category:
    # the runtime install imports this module and has neither
    from sklearn.exceptions import UndefinedMetricWarning
    warnings.warn(f'{what} needs {reason}; returning nan',
                  UndefinedMetricWarning)
    return None


def youden_threshold(labels: np.ndarray, scores: np.ndarray) -> float:
    """Real score maximising Youden's J = sensitivity + specificity - 1.

    Of equally good thresholds the highest (more specific) one.

    Args:
        labels (np.ndarray): (n, ) 0/1 truth.
        scores (np.ndarray): (n, ) scores, -inf without a box.

    Returns:
        float: The threshold; nan (with a warning) when a class or every
        box is missing.
    """
    counts = _counts(labels, scores, "Youden's threshold")
    if counts is None:
        return float('nan')
    candidates, tp, fp, num_positive, num_negative = counts
    # J * P * N in integers, so that equally good thresholds tie exactly
    youden = tp * num_negative - fp * num_positive
    return float(candidates[::-1][np.argmax(youden[::-1])])


def image_case_youden_threshold(image_labels: np.ndarray,
                                image_scores: np.ndarray,
                                case_labels: np.ndarray,
                                case_scores: np.ndarray) -> float:
    """Real score maximising the smaller of the per-image and the per-case
    Youden's J, the one threshold deciding both verdicts.

    A case is positive when any of its views is, so the threshold best for
    images alone can call most fracture-free studies of several views
    positive (on the phantom demo, one model's image-only Youden point gave
    a validation case specificity of 0.63 at an image specificity of 0.83;
    docs/evaluation.md). Where every case is one image this is
    :func:`youden_threshold`. Of equally good thresholds the highest.

    Args:
        image_labels, image_scores (np.ndarray): (n, ) per image, as for
            :func:`youden_threshold`.
        case_labels, case_scores (np.ndarray): (m, ) per case.

    Returns:
        float: The threshold; nan (with a warning) when a class or every
        box is missing at either level.
    """
    levels = [
        _counts(labels, scores, f"Youden's threshold of the {level}")
        for level, labels, scores in (('images', image_labels, image_scores),
                                      ('cases', case_labels, case_scores))
    ]
    if None in levels:
        return float('nan')
    (candidates, image_tp, image_fp, image_p, image_n), \
        (_, _, _, case_p, case_n) = levels
    case_tp, case_fp = _positives_at(
        np.asarray(case_labels).reshape(-1).astype(bool),
        np.asarray(case_scores, np.float64).reshape(-1), candidates)
    # J of each level over one common denominator, in integers, so that
    # equally good thresholds tie exactly
    image_youden = (image_tp.astype(np.int64) * image_n -
                    image_fp * image_p) * (case_p * case_n)
    case_youden = (case_tp.astype(np.int64) * case_n -
                   case_fp * case_p) * (image_p * image_n)
    worse = np.minimum(image_youden, case_youden)
    return float(candidates[::-1][np.argmax(worse[::-1])])


#: The rates a target threshold can aim at: for each, whether the rate
#: rises as the threshold falls (sensitivity) or as it rises (specificity).
TARGET_RATES = ('sensitivity', 'specificity')


def target_rate_threshold(labels: np.ndarray, scores: np.ndarray, rate: str,
                          target: float) -> float:
    """The real score closest to the other rate's side that still reaches
    ``target`` for ``rate``.

    Sensitivity falls as the threshold rises and specificity rises with it,
    so the two searches mirror each other: for 'sensitivity' the highest
    (most specific) real score whose sensitivity is at least ``target``,
    for 'specificity' the lowest (most sensitive) real score whose
    specificity is at least ``target``. When no real score reaches the
    target (positives without a box that counts; negatives sharing the
    highest score), the lowest or highest score, with a warning.

    Args:
        labels (np.ndarray): (n, ) 0/1 truth.
        scores (np.ndarray): (n, ) scores, -inf without a box.
        rate (str): One of :data:`TARGET_RATES`.
        target (float): In [0, 1].

    Returns:
        float: The threshold; nan (with a warning) when a class or every
        box is missing.
    """
    if rate not in TARGET_RATES:
        raise ValueError(f'rate must be one of {TARGET_RATES}, got {rate!r}')
    if not 0 <= target <= 1:
        raise ValueError(f'target_{rate} must be in [0, 1], got {target}')
    counts = _counts(labels, scores, f'A target-{rate} threshold')
    if counts is None:
        return float('nan')
    candidates, tp, fp, num_positive, num_negative = counts
    if rate == 'sensitivity':
        rates, fallback = tp / num_positive, ('lowest', 0)
    else:
        rates, fallback = (num_negative - fp) / num_negative, ('highest', -1)
    reaching = np.flatnonzero(rates >= target - 1e-12)
    if len(reaching) == 0:
        warnings.warn(f'no box score reaches {rate} {target}; using the '
                      f'{fallback[0]} score')
        return float(candidates[fallback[1]])
    # candidates ascend: sensitivity falls along them, specificity rises
    return float(candidates[reaching[-1 if rate == 'sensitivity' else 0]])


def specificity_threshold(labels: np.ndarray, scores: np.ndarray,
                          target_specificity: float) -> float:
    """Lowest real score (so the most sensitive threshold) whose
    specificity is at least ``target_specificity``; see
    :func:`target_rate_threshold`."""
    return target_rate_threshold(labels, scores, 'specificity',
                                 target_specificity)


def sensitivity_threshold(labels: np.ndarray, scores: np.ndarray,
                          target_sensitivity: float) -> float:
    """Highest real score (so the most specific threshold) whose
    sensitivity is at least ``target_sensitivity``; see
    :func:`target_rate_threshold`."""
    return target_rate_threshold(labels, scores, 'sensitivity',
                                 target_sensitivity)
