import numpy as np
import pytest

from mmdet_famo.apis import draw_findings
from mmdet_famo.apis.finding_locations import finding_mask, merged_into
from mmdet_famo.evaluation.operating_points import given_operating_points


def test_a_box_mostly_inside_a_higher_finding_is_merged():
    bboxes = np.array([
        [0., 0., 100., 100.],  # the best box
        [10., 10., 30., 30.],  # wholly inside it
        [90., 0., 110., 20.],  # 10 x 20 of its 20 x 20 inside: exactly half
        [95., 50., 115., 70.],  # 5 x 20 of 20 x 20 inside: a quarter
        [-50., -50., 200., 200.],  # encloses the best box: all of it
    ])
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5])
    np.testing.assert_array_equal(merged_into(bboxes, scores, 0.1),
                                  [-1, 0, 0, -1, 0])


def test_only_findings_merge_boxes_and_the_threshold_applies():
    bboxes = np.array([
        [0., 0., 10., 10.],
        [4., 0., 14., 10.],  # 6 x 10 of 10 x 10 inside box 0: merged
        [9., 0., 19., 10.],  # inside merged box 1, not box 0: a finding
        [9., 0., 19., 10.],  # the same box below the threshold: not shown
    ])
    scores = np.array([0.9, 0.8, 0.7, 0.2])
    np.testing.assert_array_equal(merged_into(bboxes, scores, 0.5),
                                  [-1, 0, -1, -1])
    np.testing.assert_array_equal(finding_mask(bboxes, scores, 0.5),
                                  [True, False, True, False])


def test_order_is_by_score_not_by_position():
    bboxes = np.array([[10., 10., 30., 30.], [0., 0., 100., 100.]])
    np.testing.assert_array_equal(
        merged_into(bboxes, np.array([0.3, 0.9]), 0.), [1, -1])
    assert merged_into(np.zeros((0, 4)), np.zeros(0), 0.).shape == (0, )


@pytest.mark.parametrize('merged_score', [0.3, 0.95])
def test_the_overlay_leaves_out_merged_boxes(merged_score):
    image = np.zeros((120, 120), np.uint8)
    points = given_operating_points(0.8, suspected=0.2)
    bboxes = np.array([[20., 20., 100., 100.], [40., 50., 60., 70.]])
    overlay = draw_findings(image, bboxes, np.array([0.9, merged_score]),
                            points)
    nested_edge = overlay[52:68, 40]
    if merged_score < 0.9:  # merged into the 0.9 box: not drawn
        assert not nested_edge.any()
    else:  # the higher one: drawn, and the 0.9 box merged into it
        assert (nested_edge == (60, 20, 220)).all()
        assert not overlay[30:90, 20].any()
