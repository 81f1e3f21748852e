from fractions import Fraction

import numpy as np
import pytest
from sklearn.exceptions import UndefinedMetricWarning

from mmdet_famo.evaluation.functional import (sensitivity_threshold,
                                              specificity_threshold,
                                              youden_threshold)


def rates(labels, scores, threshold):
    """Exact sensitivity and specificity."""
    positive = scores >= threshold
    return Fraction(int((positive & labels).sum()), int(labels.sum())), \
        Fraction(int((~positive & ~labels).sum()), int((~labels).sum()))


def test_youden_hand_computed():
    labels = np.array([0, 0, 1, 1, 0, 1, 1], bool)
    scores = np.array([.1, .2, .3, .4, .6, .7, .8])
    # t = .3: sensitivity 1, specificity 2/3; t = .7: 1/2 and 1
    assert youden_threshold(labels, scores) == .3
    # t = .4 (1 and 3/4) ties with t = .7 (3/4 and 1): the higher one
    labels = np.array([0, 0, 0, 1, 0, 1, 1, 1], bool)
    scores = np.array([.1, .2, .3, .4, .6, .7, .8, .9])
    assert youden_threshold(labels, scores) == .7


def test_youden_equals_brute_force_and_prefers_higher():
    rng = np.random.default_rng(5)
    for _ in range(40):
        labels = rng.random(30) < 0.4
        labels[:2] = [True, False]
        scores = rng.integers(0, 10, 30) / 10 + labels * 0.2
        candidates = np.unique(scores)[::-1]
        youden = [sum(rates(labels, scores, t)) for t in candidates]
        # the first (highest) of equally good thresholds
        assert youden_threshold(labels, scores) == candidates[youden.index(
            max(youden))]


def test_target_specificity():
    labels = np.array([0, 0, 0, 0, 0, 1, 1, 1, 1, 1], bool)
    scores = np.array([.1, .2, .3, .4, .8, .35, .5, .6, .7, .9])
    # >= .5: specificity 4/5; >= .4 would drop it to 3/5
    assert specificity_threshold(labels, scores, 0.8) == .5
    assert specificity_threshold(labels, scores, 0.6) == .35
    # specificity 1 needs t above .8: .9 gives sensitivity 1/5
    assert specificity_threshold(labels, scores, 1.) == .9


def test_target_specificity_unreachable_gives_the_highest_box_score():
    labels = np.array([0, 1, 0], bool)
    scores = np.array([.9, .5, .1])
    with pytest.warns(UserWarning, match='no box score reaches'):
        assert specificity_threshold(labels, scores, 1.) == .9


def test_target_sensitivity_equals_brute_force():
    rng = np.random.default_rng(3)
    for _ in range(40):
        labels = rng.random(25) < 0.5
        labels[:2] = [True, False]
        scores = rng.integers(0, 10, 25) / 10 + labels * 0.2
        target = rng.uniform(0.3, 0.95)
        reaching = [
            t for t in np.unique(scores)
            if rates(labels, scores, t)[0] >= target
        ]
        assert sensitivity_threshold(labels, scores, target) == max(reaching)


def test_images_without_boxes_never_give_the_threshold():
    labels = np.array([1, 1, 0, 0], bool)
    scores = np.array([-np.inf, .3, .4, -np.inf])
    assert youden_threshold(labels, scores) in (.3, .4)
    assert sensitivity_threshold(labels, scores, .5) == .3
    with pytest.warns(UndefinedMetricWarning, match='at least one box'):
        assert np.isnan(youden_threshold(labels, np.full(4, -np.inf)))


def test_target_specificity_equals_brute_force():
    rng = np.random.default_rng(9)
    for _ in range(40):
        labels = rng.random(25) < 0.5
        labels[:2] = [True, False]
        scores = rng.integers(0, 10, 25) / 10 + labels * 0.2
        target = rng.uniform(0.3, 0.95)
        reaching = [
            t for t in np.unique(scores)
            if rates(labels, scores, t)[1] >= target
        ]
        assert specificity_threshold(labels, scores, target) == min(reaching)


def test_one_class_gives_nan():
    with pytest.warns(UndefinedMetricWarning):
        assert np.isnan(youden_threshold(np.zeros(3), [.1, .2, .3]))
    with pytest.warns(UndefinedMetricWarning):
        assert np.isnan(specificity_threshold(np.ones(3), [.1, .2, .3], .9))
