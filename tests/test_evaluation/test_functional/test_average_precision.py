import numpy as np
import pytest
from sklearn.exceptions import UndefinedMetricWarning

from mmdet_famo.evaluation.functional import (COCO_IOU_THRS, average_precision,
                                              box_average_precision)

NUM_CASES = 150


def test_ap_equals_cocoeval_on_random_cases(coco_reference):
    rng = np.random.default_rng(2024)
    seen = dict(
        empty_image=0,
        image_without_detections=0,
        no_detection_at_all=0,
        tied_scores=0)
    compared = 0
    for _ in range(NUM_CASES):
        gts, preds, scores = coco_reference.random_case(rng)
        all_scores = np.concatenate(scores)
        seen['empty_image'] += any(len(gt) == 0 for gt in gts)
        seen['image_without_detections'] += any(len(p) == 0 for p in preds)
        seen['no_detection_at_all'] += len(all_scores) == 0
        seen['tied_scores'] += len(np.unique(all_scores)) < len(all_scores)
        if sum(len(gt) for gt in gts) == 0:
            with pytest.warns(UndefinedMetricWarning):
                aps = box_average_precision(
                    [coco_reference.xywh_to_xyxy(p) for p in preds], scores,
                    [coco_reference.xywh_to_xyxy(g) for g in gts])
            assert np.isnan(aps).all()
            continue
        aps = box_average_precision(
            [coco_reference.xywh_to_xyxy(p) for p in preds], scores,
            [coco_reference.xywh_to_xyxy(g) for g in gts], COCO_IOU_THRS)
        expected = coco_reference.cocoeval_precision(gts, preds,
                                                     scores).mean(axis=1)
        np.testing.assert_allclose(aps, expected, rtol=0, atol=1e-6)
        compared += 1
    assert compared >= 100
    assert all(count >= 5 for count in seen.values()), seen


def test_ap_hand_computed():
    # ranked: TP, FP, TP with 2 fractures -> precision 1, 1/2, 2/3;
    # made monotone: 1 up to recall 1/2, 2/3 up to recall 1
    aps = average_precision(
        np.array([0.9, 0.8, 0.7]), np.array([True, False, True]), 2)
    expected = (51 * 1 + 50 * 2 / 3) / 101
    np.testing.assert_allclose(aps, [expected], atol=1e-12)


def test_ap_without_detections_is_zero():
    aps = box_average_precision([np.zeros((0, 4))], [np.zeros(0)],
                                [np.array([[0., 0., 10., 10.]])], [0.5])
    assert aps.tolist() == [0.]


def test_ap_ties_follow_image_order():
    # the same two scores in two images: COCO ranks the first image first
    one_fracture = np.array([[0., 0., 10., 10.]])
    miss = np.array([[50., 50., 60., 60.]])
    hit_first = box_average_precision(
        [one_fracture, miss], [np.r_[.5], np.r_[.5]],
        [one_fracture, np.zeros((0, 4))], [.5])
    miss_first = box_average_precision([miss, one_fracture],
                                       [np.r_[.5], np.r_[.5]],
                                       [np.zeros((0, 4)), one_fracture], [.5])
    assert hit_first[0] == pytest.approx(1.)
    assert miss_first[0] == pytest.approx(0.5)
