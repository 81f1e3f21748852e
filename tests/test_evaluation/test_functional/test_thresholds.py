from fractions import Fraction

import numpy as np
import pytest
from sklearn.exceptions import UndefinedMetricWarning

from mmdet_famo.evaluation.functional import (image_case_youden_threshold,
                                              sensitivity_threshold,
                                              specificity_threshold,
                                              youden_threshold)
from mmdet_famo.evaluation.functional.thresholds import target_rate_threshold


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


def test_image_case_youden_hand_computed():
    """Three fractured one-view cases; fracture-free cases of 2, 2 and 4
    views, two of them with one view scoring just under the fractures'
    .4. Per image, t = .35 gives 1 + 6/8 - 1 = .75 against .667 at .4; but
    at .35 two of the three fracture-free cases are positive (case J
    1 + 1/3 - 1 = .33), at .4 none (2/3 + 1 - 1 = .67 at both levels)."""
    image_labels = np.array([1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0], bool)
    image_scores = np.array(
        [.9, .4, .35, .38, .05, .37, .05, .05, .05, .05, .05])
    case_labels = np.array([1, 1, 1, 0, 0, 0], bool)
    case_scores = np.array([.9, .4, .35, .38, .37, .05])
    assert youden_threshold(image_labels, image_scores) == .35
    assert image_case_youden_threshold(image_labels, image_scores,
                                       case_labels, case_scores) == .4


def test_image_case_youden_equals_brute_force():
    """The highest of the thresholds whose smaller J is largest; with one
    image per case, Youden's threshold itself."""
    rng = np.random.default_rng(7)
    for _ in range(40):
        labels = rng.random(30) < 0.4
        labels[:2] = [True, False]
        scores = rng.integers(0, 10, 30) / 10 + labels * 0.2
        case = rng.integers(0, 12, 30)
        case[:12] = np.arange(12)
        case_labels = np.array([labels[case == c].any() for c in range(12)])
        case_labels[:2] = [True, False]
        case_scores = np.array([scores[case == c].max() for c in range(12)])
        candidates = np.unique(scores)[::-1]
        worse = [
            min(sum(rates(labels, scores, t)),
                sum(rates(case_labels, case_scores, t))) for t in candidates
        ]
        assert image_case_youden_threshold(
            labels, scores, case_labels,
            case_scores) == candidates[worse.index(max(worse))]
        assert image_case_youden_threshold(labels, scores, labels,
                                           scores) == youden_threshold(
                                               labels, scores)


def test_image_case_youden_needs_both_classes_at_both_levels():
    labels = np.array([1, 0, 0], bool)
    scores = np.array([.9, .8, .1])
    with pytest.warns(UndefinedMetricWarning, match='of the cases'):
        assert np.isnan(
            image_case_youden_threshold(labels, scores, np.array([1], bool),
                                        np.array([.9])))


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


def test_target_sensitivity_unreachable_gives_the_lowest_box_score():
    # the second fractured image has no box: sensitivity 1 is out of reach
    labels = np.array([1, 1, 0], bool)
    scores = np.array([.6, -np.inf, .2])
    with pytest.warns(UserWarning, match='sensitivity 1.0; using the lowest'):
        assert sensitivity_threshold(labels, scores, 1.) == .2


def test_target_rate_threshold_refuses_unknown_rates_and_targets():
    labels = np.array([0, 1], bool)
    with pytest.raises(ValueError, match="rate must be one of"):
        target_rate_threshold(labels, [.1, .9], 'precision', .5)
    with pytest.raises(ValueError, match=r'target_sensitivity .* got 1.5'):
        sensitivity_threshold(labels, [.1, .9], 1.5)
    with pytest.raises(ValueError, match=r'target_specificity .* got -0.1'):
        specificity_threshold(labels, [.1, .9], -0.1)
