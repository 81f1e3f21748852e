import math

import numpy as np
import pytest
from scipy.stats import binomtest
from sklearn.exceptions import UndefinedMetricWarning

from mmdet_famo.evaluation.functional import (mcnemar_test,
                                              proportion_confidence_interval)


@pytest.mark.parametrize('method', ['exact', 'wilson'])
@pytest.mark.parametrize('level', [0.9, 0.95, 0.99])
def test_intervals_equal_scipy(method, level):
    for total in (1, 2, 7, 30, 123):
        for successes in sorted({0, 1, total // 3, total - 1, total}):
            expected = binomtest(successes, total).proportion_ci(
                confidence_level=level, method=method)
            np.testing.assert_allclose(
                proportion_confidence_interval(successes, total, level,
                                               method),
                [expected.low, expected.high],
                rtol=0,
                atol=1e-9)


def test_interval_without_cases():
    with pytest.warns(UndefinedMetricWarning):
        assert np.isnan(proportion_confidence_interval(0, 0)).all()
    with pytest.raises(ValueError, match='successes'):
        proportion_confidence_interval(5, 4)
    with pytest.raises(ValueError, match='method'):
        proportion_confidence_interval(1, 4, method='wald')


def paired(only_a, only_b, both=3, neither=2):
    correct_a = [True] * only_a + [False] * only_b + [True] * both + \
        [False] * neither
    correct_b = [False] * only_a + [True] * only_b + [True] * both + \
        [False] * neither
    return np.array(correct_a), np.array(correct_b)


def test_mcnemar_exact():
    # b = 2, c = 9: p = 2 * P(X <= 2), X ~ Bin(11, 1/2)
    result = mcnemar_test(*paired(2, 9))
    expected = 2 * sum(math.comb(11, i) for i in range(3)) / 2**11
    assert result.method == 'exact'
    assert (result.only_a_correct, result.only_b_correct) == (2, 9)
    assert result.statistic == 2
    assert result.pvalue == pytest.approx(expected, rel=1e-12)
    assert mcnemar_test(*paired(0, 0)).pvalue == 1.
    assert mcnemar_test(*paired(4, 4)).pvalue == pytest.approx(1.)


def test_mcnemar_chi_square_with_continuity_correction():
    result = mcnemar_test(*paired(30, 12))
    statistic = (abs(30 - 12) - 1)**2 / 42
    assert result.method == 'chi2'
    assert result.statistic == pytest.approx(statistic)
    # chi-square with 1 degree of freedom: P(X > s) = erfc(sqrt(s / 2))
    assert result.pvalue == pytest.approx(
        math.erfc(math.sqrt(statistic / 2)), rel=1e-9)
    assert mcnemar_test(*paired(30, 12), exact_below=100).method == 'exact'
    with pytest.raises(ValueError, match='lengths'):
        mcnemar_test([True, False], [True])
