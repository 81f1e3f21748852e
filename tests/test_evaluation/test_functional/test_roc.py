import numpy as np
import pytest
from scipy.stats import norm
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import roc_auc_score

from mmdet_famo.evaluation.functional import (auc_confidence_interval,
                                              delong_auc_variance,
                                              paired_delong_test, roc_auc)


def brute_force_delong(labels, *scores):
    """AUCs and their DeLong covariance from the O(m * n) pairwise
    comparisons (DeLong et al. 1988, eqs. for V10, V01, S10, S01)."""
    labels = np.asarray(labels, dtype=bool)
    v10, v01, aucs = [], [], []
    for model_scores in scores:
        positive = model_scores[labels]
        negative = model_scores[~labels]
        psi = np.zeros((len(positive), len(negative)))
        for i, x in enumerate(positive):
            for j, y in enumerate(negative):
                psi[i, j] = 1. if x > y else 0.5 if x == y else 0.
        v10.append(psi.mean(axis=1))
        v01.append(psi.mean(axis=0))
        aucs.append(psi.mean())
    m, n = labels.sum(), (~labels).sum()
    s10 = np.atleast_2d(np.cov(np.array(v10)))
    s01 = np.atleast_2d(np.cov(np.array(v01)))
    return np.array(aucs), s10 / m + s01 / n


def random_scores(rng, size, tied):
    return rng.integers(0, 6, size) / 5 if tied else rng.random(size)


@pytest.mark.parametrize('tied', [False, True])
def test_auc_and_variance_equal_references(tied):
    rng = np.random.default_rng(7)
    for _ in range(30):
        size = int(rng.integers(4, 60))
        labels = rng.random(size) < rng.uniform(0.2, 0.8)
        labels[:2], labels[2:4] = True, False
        scores = random_scores(rng, size, tied) + labels * rng.uniform(0, .5)
        auc, variance = delong_auc_variance(labels, scores)
        aucs, covariance = brute_force_delong(labels, scores)
        assert auc == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
        assert roc_auc(labels, scores) == pytest.approx(auc, abs=1e-12)
        assert auc == pytest.approx(aucs[0], abs=1e-12)
        assert variance == pytest.approx(covariance[0, 0], abs=1e-12)
        low_high = auc_confidence_interval(labels, scores, 0.9)[1:]
        half = norm.ppf(0.95) * np.sqrt(covariance[0, 0])
        np.testing.assert_allclose(
            low_high, [max(aucs[0] - half, 0),
                       min(aucs[0] + half, 1)],
            atol=1e-12)


@pytest.mark.parametrize('tied', [False, True])
def test_paired_test_equals_brute_force(tied):
    rng = np.random.default_rng(11)
    for _ in range(30):
        size = int(rng.integers(6, 60))
        labels = rng.random(size) < 0.5
        labels[:2], labels[2:4] = True, False
        scores_a = random_scores(rng, size, tied) + labels * 0.3
        scores_b = 0.5 * scores_a + 0.5 * random_scores(rng, size, tied)
        aucs, covariance = brute_force_delong(labels, scores_a, scores_b)
        z = (aucs[0] - aucs[1]) / np.sqrt(covariance[0, 0] + covariance[1, 1] -
                                          2 * covariance[0, 1])
        result = paired_delong_test(labels, scores_a, scores_b)
        np.testing.assert_allclose([result.auc_a, result.auc_b],
                                   aucs,
                                   atol=1e-12)
        assert result.z == pytest.approx(z, rel=1e-9)
        assert result.pvalue == pytest.approx(2 * norm.sf(abs(z)), rel=1e-9)
        assert paired_delong_test(labels, scores_a, scores_b,
                                  'greater').pvalue == pytest.approx(
                                      norm.sf(z), rel=1e-9)
        assert paired_delong_test(labels, scores_a, scores_b,
                                  'less').pvalue == pytest.approx(
                                      norm.cdf(z), rel=1e-9)


def test_identical_models_are_not_different():
    labels = np.array([0, 0, 1, 1, 0, 1])
    scores = np.array([.1, .4, .35, .8, .2, .9])
    result = paired_delong_test(labels, scores, scores * 2)
    assert (result.z, result.pvalue) == (0., 1.)


def test_one_class_gives_nan_with_warning():
    labels = np.ones(5, bool)
    with pytest.warns(UndefinedMetricWarning, match='5 positives and 0'):
        assert np.isnan(roc_auc(labels, np.arange(5.)))
    with pytest.warns(UndefinedMetricWarning):
        assert np.isnan(auc_confidence_interval(labels, np.arange(5.))).all()
    with pytest.warns(UndefinedMetricWarning):
        assert np.isnan(
            paired_delong_test(labels, np.arange(5.), np.arange(5.)).pvalue)
    # one positive: the AUC exists, its variance does not
    with pytest.warns(UndefinedMetricWarning, match='at least two'):
        auc, variance = delong_auc_variance([1, 0, 0], [.9, .1, .95])
    assert auc == pytest.approx(0.5) and np.isnan(variance)


def test_bad_inputs():
    with pytest.raises(ValueError, match='0/1'):
        roc_auc([0, 2, 1], [.1, .2, .3])
    with pytest.raises(ValueError, match='3 labels'):
        delong_auc_variance([0, 1, 1], [.1, .2])
