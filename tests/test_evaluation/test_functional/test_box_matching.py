import numpy as np
import pytest

from mmdet_famo.evaluation.functional import (match_detections,
                                              pairwise_overlaps)

# a thin horizontal fracture and a prediction 3x as tall, centred on it
THIN_FRACTURE = np.array([[100., 100., 200., 110.]])
TALLER_PREDICTION = np.array([[100., 95., 200., 125.]])


def test_overlaps_of_thin_fracture():
    # intersection 100x10 = 1000; areas 1000 and 3000
    assert pairwise_overlaps(TALLER_PREDICTION, THIN_FRACTURE,
                             'iou')[0, 0] == pytest.approx(1000 / 3000)
    assert pairwise_overlaps(TALLER_PREDICTION, THIN_FRACTURE,
                             'iosmall')[0, 0] == pytest.approx(1.)
    # the prediction's centre (150, 110) is on the fracture box's edge
    assert pairwise_overlaps(TALLER_PREDICTION, THIN_FRACTURE,
                             'centre')[0, 0] == 1.


def test_overlaps_hand_computed():
    pred = np.array([[0., 0., 10., 10.], [5., 5., 25., 15.],
                     [30., 30., 40., 40.]])
    gt = np.array([[0., 0., 10., 10.], [10., 0., 30., 20.]])
    # pred 1 vs gt 0: intersection 5x5 = 25, areas 200 and 100
    # pred 1 vs gt 1: intersection 15x10 = 150, areas 200 and 400
    np.testing.assert_allclose(
        pairwise_overlaps(pred, gt, 'iou'),
        [[1., 0.], [25 / 275, 150 / 450], [0., 0.]])
    np.testing.assert_allclose(
        pairwise_overlaps(pred, gt, 'iosmall'),
        [[1., 0.], [25 / 100, 150 / 200], [0., 0.]])
    # centres (5, 5), (15, 10), (35, 35); (5, 5) lies inside gt 0 only
    np.testing.assert_array_equal(
        pairwise_overlaps(pred, gt, 'centre'), [[1., 0.], [0., 1.], [0., 0.]])
    assert pairwise_overlaps(np.zeros((0, 4)), gt).shape == (0, 2)
    with pytest.raises(ValueError, match='criterion'):
        pairwise_overlaps(pred, gt, 'giou')


def test_duplicate_detections_one_true_positive():
    fracture = np.array([[0., 0., 10., 10.]])
    same = [0., 0., 10., 10.]
    shorter = [0., 0., 10., 9.]
    narrower = [1., 0., 10., 10.]
    pred = np.array([same, shorter, narrower])
    # visited by score: the 0.9 box takes the fracture, the others are FP
    is_tp = match_detections(pred, np.array([0.5, 0.9, 0.7]), fracture, 0.5)
    assert is_tp.tolist() == [[False, True, False]]


def test_greedy_takes_best_overlap_per_threshold():
    gts = np.array([[0., 0., 10., 10.], [0., 0., 10., 20.]])
    # IoU 0.5 with gt 0, 1.0 with gt 1
    pred = np.array([[0., 0., 10., 20.], [0., 0., 10., 10.]])
    is_tp = match_detections(pred, np.array([0.9, 0.8]), gts, [0.5, 0.9])
    # at 0.5: box 0 takes gt 1 (best), box 1 takes gt 0;
    # at 0.9: box 0 takes gt 1, box 1 takes gt 0 (IoU 1)
    assert is_tp.tolist() == [[True, True], [True, True]]
    only_one = match_detections(pred[:1], np.array([0.9]), gts[:1], [0.5, 0.6])
    assert only_one.tolist() == [[True], [False]]


def test_no_boxes():
    assert match_detections(
        np.zeros((0, 4)), np.zeros(0), np.ones((1, 4)), [0.5]).shape == (1, 0)
    assert not match_detections(
        np.array([[0., 0., 1., 1.]]), np.array([1.]), np.zeros(
            (0, 4)), [0.5, 0.7]).any()


def test_equal_overlaps_go_to_the_last_fracture_as_in_cocoeval():
    gts = np.array([[0., 0., 10., 10.], [10., 0., 20., 10.]])
    # box 0 straddles both fractures (IoU 1/3 each); box 1 is fracture 1
    pred = np.array([[5., 0., 15., 10.], [10., 0., 20., 10.]])
    # pycocotools keeps the last of equal overlaps: box 0 takes fracture
    # 1, leaving box 1 nothing
    is_tp = match_detections(pred, np.array([0.9, 0.8]), gts, 0.3)
    assert is_tp.tolist() == [[True, False]]
