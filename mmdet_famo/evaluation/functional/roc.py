"""ROC AUC with DeLong's variance, confidence interval and paired test.

DeLong et al. (Biometrics 1988) estimate the variance of the empirical AUC
from its structural components: for each positive, the fraction of
negatives it outscores (ties count one half), and for each negative, the
fraction of positives that outscore it. They are computed here from
mid-ranks (Sun & Xu, IEEE SPL 2014) in O((m + n) log(m + n)) instead of the
O(m * n) pairwise comparison.
"""
import warnings
from typing import NamedTuple, Tuple

import numpy as np
from scipy.stats import norm, rankdata
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import roc_auc_score


def _binary_labels(labels: np.ndarray) -> np.ndarray:
    labels = np.asarray(labels).reshape(-1)
    if not np.isin(labels, (0, 1)).all():
        raise ValueError('labels must be 0/1 or bool, got values '
                         f'{np.unique(labels)[:5].tolist()}')
    return labels.astype(bool)


def _has_both_classes(labels: np.ndarray, what: str) -> bool:
    num_positive = int(labels.sum())
    num_negative = len(labels) - num_positive
    if num_positive and num_negative:
        return True
    warnings.warn(
        f'{what} is undefined with {num_positive} positives and '
        f'{num_negative} negatives; returning nan', UndefinedMetricWarning)
    return False


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve (scikit-learn), nan with a warning when one
    class is missing.

    Args:
        labels (np.ndarray): (n, ) 0/1 truth.
        scores (np.ndarray): (n, ) scores, higher meaning more likely 1.

    Returns:
        float: The AUC.
    """
    labels = _binary_labels(labels)
    if not _has_both_classes(labels, 'ROC AUC'):
        return float('nan')
    return float(roc_auc_score(labels, scores))


def _scores_matrix(labels: np.ndarray, *scores: np.ndarray) -> np.ndarray:
    """Stack score vectors into (K, n), checking their length."""
    matrix = np.vstack(
        [np.asarray(s, dtype=np.float64).reshape(-1) for s in scores])
    if matrix.shape[1] != len(labels):
        raise ValueError(f'{len(labels)} labels but scores of length '
                         f'{matrix.shape[1]}')
    return matrix


def _structural_components(
        labels: np.ndarray,
        scores: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """AUCs (K, ), positive components (K, m) and negative components
    (K, n) of K score vectors (K, m + n) on the same cases."""
    positive = scores[:, labels]
    negative = scores[:, ~labels]
    num_positive, num_negative = positive.shape[1], negative.shape[1]
    positive_ranks = rankdata(positive, axis=1)
    negative_ranks = rankdata(negative, axis=1)
    all_ranks = rankdata(np.hstack([positive, negative]), axis=1)
    positive_components = (all_ranks[:, :num_positive] -
                           positive_ranks) / num_negative
    negative_components = 1 - (all_ranks[:, num_positive:] -
                               negative_ranks) / num_positive
    return positive_components.mean(axis=1), positive_components, \
        negative_components


def delong_auc_variance(labels: np.ndarray,
                        scores: np.ndarray) -> Tuple[float, float]:
    """AUC and its DeLong variance.

    Args:
        labels (np.ndarray): (n, ) 0/1 truth.
        scores (np.ndarray): (n, ) scores.

    Returns:
        tuple[float, float]: The AUC and its variance; nan (with a warning)
        when a class is missing, the variance also when a class has a
        single case.
    """
    labels = _binary_labels(labels)
    if not _has_both_classes(labels, 'ROC AUC'):
        return float('nan'), float('nan')
    scores = _scores_matrix(labels, scores)
    aucs, positive_components, negative_components = _structural_components(
        labels, scores)
    num_positive, num_negative = positive_components.shape[1], \
        negative_components.shape[1]
    if min(num_positive, num_negative) < 2:
        warnings.warn(
            'DeLong variance needs at least two positives and two '
            f'negatives, got {num_positive} and {num_negative}; returning '
            'nan', UndefinedMetricWarning)
        return float(aucs[0]), float('nan')
    variance = (
        positive_components.var(ddof=1) / num_positive +
        negative_components.var(ddof=1) / num_negative)
    return float(aucs[0]), float(variance)


def auc_confidence_interval(
        labels: np.ndarray,
        scores: np.ndarray,
        confidence_level: float = 0.95) -> Tuple[float, float, float]:
    """AUC with a DeLong (normal) confidence interval, clipped to [0, 1].

    Args:
        labels (np.ndarray): (n, ) 0/1 truth.
        scores (np.ndarray): (n, ) scores.
        confidence_level (float): Two-sided level. Defaults to 0.95.

    Returns:
        tuple[float, float, float]: AUC, lower and upper bound.
    """
    auc, variance = delong_auc_variance(labels, scores)
    half_width = norm.ppf(0.5 + confidence_level / 2) * np.sqrt(variance)
    return auc, float(max(auc - half_width, 0.)), \
        float(min(auc + half_width, 1.))


class DelongTestResult(NamedTuple):
    """The paired DeLong test of two AUCs measured on the same cases."""
    auc_a: float
    auc_b: float
    z: float  #: (auc_a - auc_b) / its standard error
    pvalue: float


def paired_delong_test(labels: np.ndarray,
                       scores_a: np.ndarray,
                       scores_b: np.ndarray,
                       alternative: str = 'two-sided') -> DelongTestResult:
    """DeLong's test that two models' AUCs on the same cases are equal.

    Args:
        labels (np.ndarray): (n, ) 0/1 truth.
        scores_a (np.ndarray): (n, ) scores of model A.
        scores_b (np.ndarray): (n, ) scores of model B on the same cases.
        alternative (str): 'two-sided', 'greater' (A's AUC is larger, the
            paper's one-sided question of FAMO against the control) or
            'less'.

    Returns:
        DelongTestResult: Both AUCs, z and the p-value; z is 0 when the
        difference and its variance are both 0 (identical rankings); z and
        p are nan (with a warning) when a class has fewer than two cases.
    """
    if alternative not in ('two-sided', 'greater', 'less'):
        raise ValueError("alternative must be 'two-sided', 'greater' or "
                         f"'less', got {alternative!r}")
    labels = _binary_labels(labels)
    scores = _scores_matrix(labels, scores_a, scores_b)
    nan = float('nan')
    if not _has_both_classes(labels, 'DeLong test'):
        return DelongTestResult(nan, nan, nan, nan)
    aucs, positive_components, negative_components = _structural_components(
        labels, scores)
    num_positive, num_negative = positive_components.shape[1], \
        negative_components.shape[1]
    if min(num_positive, num_negative) < 2:
        warnings.warn(
            'DeLong test needs at least two positives and two negatives, '
            f'got {num_positive} and {num_negative}; returning nan',
            UndefinedMetricWarning)
        return DelongTestResult(float(aucs[0]), float(aucs[1]), nan, nan)
    covariance = (
        np.cov(positive_components) / num_positive +
        np.cov(negative_components) / num_negative)
    difference = aucs[0] - aucs[1]
    variance = covariance[0, 0] + covariance[1, 1] - 2 * covariance[0, 1]
    if variance <= 0:
        z = 0. if difference == 0 else np.sign(difference) * np.inf
    else:
        z = difference / np.sqrt(variance)
    if alternative == 'two-sided':
        pvalue = 2 * norm.sf(abs(z))
    elif alternative == 'greater':
        pvalue = norm.sf(z)
    else:
        pvalue = norm.cdf(z)
    return DelongTestResult(
        float(aucs[0]), float(aucs[1]), float(z), float(pvalue))
