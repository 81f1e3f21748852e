import numpy as np
import pytest
from sklearn.exceptions import UndefinedMetricWarning

from mmdet_famo.evaluation.functional import froc_curve, froc_sensitivity


def brute_force_froc(scores, is_tp, num_gts, num_images, rate):
    """Best sensitivity over all thresholds (and 'keep nothing') whose
    false positives per image stay within ``rate``."""
    best = 0.
    for threshold in scores:
        kept = scores >= threshold
        if (kept & ~is_tp).sum() / num_images <= rate:
            best = max(best, (kept & is_tp).sum() / num_gts)
    return best


def test_froc_hand_computed():
    # 4 images, 3 fractures; ranked: TP .9, FP .8, FP .7 (tied with TP),
    # TP .7, FP .3
    scores = np.array([.9, .8, .7, .7, .3])
    is_tp = np.array([True, False, False, True, False])
    fps, sensitivity, thresholds = froc_curve(scores, is_tp, 3, 4)
    np.testing.assert_allclose(fps, [0, 0, .25, .5, .75])
    np.testing.assert_allclose(sensitivity, [0, 1 / 3, 1 / 3, 2 / 3, 2 / 3])
    np.testing.assert_allclose(thresholds, [np.inf, .9, .8, .7, .3])
    np.testing.assert_allclose(
        froc_sensitivity(scores, is_tp, 3, 4, [0.125, 0.25, 0.5, 8]),
        [1 / 3, 1 / 3, 2 / 3, 2 / 3])


def test_froc_equals_brute_force():
    rng = np.random.default_rng(3)
    rates = (1 / 8, 1 / 4, 1 / 2, 1, 2, 4, 8)
    for _ in range(50):
        size = int(rng.integers(0, 40))
        scores = rng.integers(0, 8, size) / 8
        is_tp = rng.random(size) < 0.4
        num_gts = int(is_tp.sum() + rng.integers(1, 4))
        num_images = int(rng.integers(1, 12))
        expected = [
            brute_force_froc(scores, is_tp, num_gts, num_images, rate)
            for rate in rates
        ]
        np.testing.assert_allclose(
            froc_sensitivity(scores, is_tp, num_gts, num_images, rates),
            expected)


def test_froc_without_fractures_is_nan():
    with pytest.warns(UndefinedMetricWarning):
        assert np.isnan(froc_sensitivity(np.r_[.5], np.r_[False], 0, 2)).all()
    assert froc_sensitivity(np.zeros(0), np.zeros(0, bool), 2,
                            3).tolist() == [0.] * 7
