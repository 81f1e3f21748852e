"""Confidence intervals of proportions and McNemar's paired test.

Sensitivity, specificity and precision are binomial proportions. The exact
Clopper-Pearson interval is the default because the per-body-part counts of
the paper are small (tens of cases), where the normal approximation fails;
Wilson's score interval is the less conservative option.
"""
import warnings
from typing import NamedTuple, Tuple

import numpy as np
from scipy.stats import beta, binomtest, chi2, norm
from sklearn.exceptions import UndefinedMetricWarning

CI_METHODS = ('exact', 'wilson')


def proportion_confidence_interval(
        successes: int,
        total: int,
        confidence_level: float = 0.95,
        method: str = 'exact') -> Tuple[float, float]:
    """Two-sided confidence interval of ``successes / total``.

    Args:
        successes (int): Number of successes k.
        total (int): Number of trials n.
        confidence_level (float): Defaults to 0.95.
        method (str): 'exact' (Clopper-Pearson, from the beta quantiles) or
            'wilson' (score interval without continuity correction).

    Returns:
        tuple[float, float]: Lower and upper bound; nan (with a warning)
        when ``total`` is 0.
    """
    if method not in CI_METHODS:
        raise ValueError(f'method must be one of {CI_METHODS}, got '
                         f'{method!r}')
    if not 0 <= successes <= total:
        raise ValueError(f'need 0 <= successes <= total, got {successes} '
                         f'of {total}')
    if total == 0:
        warnings.warn(
            'a proportion of 0 cases has no confidence interval; '
            'returning nan', UndefinedMetricWarning)
        return float('nan'), float('nan')
    alpha = 1 - confidence_level
    if method == 'exact':
        low = beta.ppf(alpha / 2, successes, total - successes +
                       1) if successes > 0 else 0.
        high = beta.ppf(1 - alpha / 2, successes + 1, total -
                        successes) if successes < total else 1.
        return float(low), float(high)
    z = norm.ppf(1 - alpha / 2)
    proportion = successes / total
    centre = (successes + z**2 / 2) / (total + z**2)
    half_width = z / (total + z**2) * np.sqrt(total * proportion *
                                              (1 - proportion) + z**2 / 4)
    return float(max(centre - half_width, 0.)), \
        float(min(centre + half_width, 1.))


class McNemarResult(NamedTuple):
    """McNemar's test of two classifiers on the same cases."""
    statistic: float  #: min(b, c) (exact) or the chi-square statistic
    pvalue: float
    only_a_correct: int  #: b, cases A gets right and B wrong
    only_b_correct: int  #: c, cases B gets right and A wrong
    method: str  #: 'exact' or 'chi2'


def mcnemar_test(correct_a: np.ndarray,
                 correct_b: np.ndarray,
                 exact_below: int = 25) -> McNemarResult:
    """Two-sided McNemar test that two models err equally often on paired
    cases.

    Only discordant cases count: b (A right, B wrong) and c (the reverse).
    With fewer than ``exact_below`` of them the exact binomial test of b out
    of b + c against 1/2 is used, else the chi-square statistic with
    Edwards' continuity correction, (|b - c| - 1)^2 / (b + c).

    Args:
        correct_a (np.ndarray): (n, ) bool, whether model A classified each
            case correctly.
        correct_b (np.ndarray): (n, ) bool, the same for model B.
        exact_below (int): Discordant count below which the exact test is
            used. Defaults to 25.

    Returns:
        McNemarResult: The statistic, p-value, b, c and the method; p is 1
        when there is no discordant case.
    """
    correct_a = np.asarray(correct_a, dtype=bool).reshape(-1)
    correct_b = np.asarray(correct_b, dtype=bool).reshape(-1)
    if len(correct_a) != len(correct_b):
        raise ValueError(f'paired inputs of different lengths '
                         f'{len(correct_a)} and {len(correct_b)}')
    only_a = int(np.sum(correct_a & ~correct_b))
    only_b = int(np.sum(~correct_a & correct_b))
    discordant = only_a + only_b
    if discordant < exact_below:
        pvalue = binomtest(only_a, discordant).pvalue if discordant else 1.
        return McNemarResult(
            float(min(only_a, only_b)), float(pvalue), only_a, only_b, 'exact')
    statistic = (abs(only_a - only_b) - 1)**2 / discordant
    return McNemarResult(
        float(statistic), float(chi2.sf(statistic, 1)), only_a, only_b, 'chi2')
