"""The per-image and per-case rules, on hand-built boxes."""
import numpy as np
import pytest

from mmdet_famo.evaluation.functional import (case_scores, image_scores,
                                              is_case_positive,
                                              is_image_positive, outcomes,
                                              shown_scores, youden_threshold)

# the smallest case that tells the per-image rules apart: a fractured image
# whose only box (.3) misses, a fractured image without boxes, a
# fracture-free image with one box (.4), a fracture-free image without boxes
BOX_IMAGE = np.array([0, 2])
BOX_SCORES = np.array([.3, .4])
BOX_HITS = np.array([False, False])
NUM_FRACTURES = np.array([1, 1, 0, 0])


@pytest.mark.parametrize('threshold', [-1., 0., 1e-9, .1, .3, .4])
def test_minimal_case_at_any_threshold_up_to_the_box(threshold):
    scores = image_scores(BOX_IMAGE, BOX_SCORES, BOX_HITS, NUM_FRACTURES)
    result = outcomes(scores, threshold)
    labels = scores.labels
    assert result['true_positive'][labels].sum() == 0  # sensitivity 0/2
    # specificity 1/2: only the boxless fracture-free image is negative
    assert (~result['false_positive'][~labels]).sum() == 1
    np.testing.assert_array_equal(result['predicted_positive'],
                                  [threshold <= .3, False, True, False])


def test_minimal_case_above_every_box():
    scores = image_scores(BOX_IMAGE, BOX_SCORES, BOX_HITS, NUM_FRACTURES)
    result = outcomes(scores, .41)
    assert not result['predicted_positive'].any()


def test_scores_and_the_threshold_are_real_box_scores():
    scores = image_scores(BOX_IMAGE, BOX_SCORES, BOX_HITS, NUM_FRACTURES)
    np.testing.assert_array_equal(scores.max_box, [.3, -np.inf, .4, -np.inf])
    np.testing.assert_array_equal(scores.localised,
                                  [-np.inf, -np.inf, .4, -np.inf])
    np.testing.assert_array_equal(shown_scores(scores.localised),
                                  [0, 0, .4, 0])
    # the only real localised score is .4: never 0
    assert youden_threshold(scores.labels, scores.localised) == .4


def test_cases_need_a_fractured_view_for_a_true_positive():
    # case 0: fractured view missed (box .2 elsewhere), fracture-free view
    # with a box .9; case 1: fracture-free views, one box .5; case 2: a hit
    box_image = np.array([0, 1, 2, 4])
    box_scores = np.array([.2, .9, .5, .7])
    box_hits = np.array([False, False, False, True])
    num_fractures = np.array([1, 0, 0, 0, 2])
    images = image_scores(box_image, box_scores, box_hits, num_fractures)
    cases = case_scores(np.array([0, 0, 1, 1, 2]), 3, images)
    np.testing.assert_array_equal(cases.labels, [True, False, True])
    np.testing.assert_array_equal(cases.max_box, [.9, .5, .7])
    np.testing.assert_array_equal(cases.localised, [-np.inf, .5, .7])
    result = outcomes(cases, .5)
    np.testing.assert_array_equal(result['predicted_positive'],
                                  [True, True, True])
    np.testing.assert_array_equal(result['true_positive'],
                                  [False, False, True])
    np.testing.assert_array_equal(result['false_positive'],
                                  [False, True, False])


def test_inference_rules():
    assert not is_image_positive([], 0.)
    assert is_image_positive([.2, .5], .5)
    assert not is_image_positive([.2, .5], .51)
    assert is_case_positive([False, True]) and not is_case_positive([])
