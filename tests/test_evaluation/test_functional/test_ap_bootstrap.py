"""paired_ap_bootstrap: intervals and the paired test of two models' AP50
on resampled images, against AP recomputed from the boxes of the same
draws, and against cases whose answers are known."""
import numpy as np
import pytest

from mmdet_famo.evaluation.functional import (box_average_precision,
                                              match_detections,
                                              paired_ap_bootstrap)


def random_images(rng, num_images):
    """Per image: fracture boxes (0-2) and two models' boxes, some of them
    jittered copies of the fractures."""
    gts, predictions = [], ([], [])
    for _ in range(num_images):
        corners = rng.uniform(0, 200, (rng.integers(0, 3), 2))
        gt = np.hstack([corners, corners + rng.uniform(10, 40, corners.shape)])
        gts.append(gt)
        for model in predictions:
            found = gt[rng.random(len(gt)) < 0.7] + rng.normal(0, 4, (1, 4))
            false = rng.uniform(0, 200, (rng.integers(0, 3), 2))
            false = np.hstack([false, false + 20])
            boxes = np.vstack([found.reshape(-1, 4), false])
            model.append((boxes, rng.random(len(boxes))))
    return gts, predictions


def bootstrap_inputs(gts, predictions):
    scores = [[s for _, s in model] for model in predictions]
    is_tp = [[match_detections(b, s, g, [0.5])[0]
              for (b, s), g in zip(model, gts)] for model in predictions]
    return scores, is_tp, [len(g) for g in gts]


def test_intervals_and_pvalue_are_those_of_the_same_draws_from_boxes():
    gts, predictions = random_images(np.random.default_rng(3), 40)
    result = paired_ap_bootstrap(*bootstrap_inputs(gts, predictions),
                                 num_resamples=200, seed=7)
    # the reference: the same draws (seed 7, redrawn without a fracture),
    # AP computed from boxes by the metric's own function
    rng, aps = np.random.default_rng(7), []
    while len(aps) < 200:
        images = rng.integers(40, size=40)
        if sum(len(gts[i]) for i in images) == 0:
            continue
        aps.append([
            box_average_precision([model[i][0] for i in images],
                                  [model[i][1] for i in images],
                                  [gts[i] for i in images], [0.5])[0]
            for model in predictions
        ])
    aps = np.array(aps)
    differences = aps[:, 0] - aps[:, 1]
    assert result.interval_a == pytest.approx(
        tuple(np.percentile(aps[:, 0], [2.5, 97.5])))
    assert result.interval_b == pytest.approx(
        tuple(np.percentile(aps[:, 1], [2.5, 97.5])))
    assert result.difference_interval == pytest.approx(
        tuple(np.percentile(differences, [2.5, 97.5])))
    assert result.pvalue == pytest.approx(
        2 * (min((differences <= 0).sum(),
                 (differences >= 0).sum()) + 1) / 201)
    assert result.num_resamples == 200


def test_identical_models_do_not_differ():
    gts, predictions = random_images(np.random.default_rng(0), 30)
    scores, is_tp, num_gts = bootstrap_inputs(gts, predictions)
    result = paired_ap_bootstrap([scores[0]] * 2, [is_tp[0]] * 2, num_gts,
                                 num_resamples=100)
    assert result.pvalue == 1.0
    assert result.difference_interval == (0.0, 0.0)
    assert result.interval_a == result.interval_b


def test_a_perfect_model_against_one_that_always_misses():
    num_gts = [1, 0, 2, 1]
    perfect = [np.ones(n, bool) for n in num_gts]
    misses = [np.zeros(2, bool) for _ in num_gts]
    result = paired_ap_bootstrap(
        [[np.full(n, 0.9) for n in num_gts], [np.full(2, 0.9)] * 4],
        [perfect, misses], num_gts, num_resamples=100)
    assert result.interval_a == pytest.approx((1.0, 1.0))
    assert result.interval_b == (0.0, 0.0)
    assert result.difference_interval == pytest.approx((1.0, 1.0))
    # no resample favours the other model: the smallest p-value 100
    # resamples can show, never 0
    assert result.pvalue == pytest.approx(2 / 101)


def test_images_without_fractures_have_no_ap():
    with pytest.raises(ValueError, match='at least one fracture'):
        paired_ap_bootstrap([[np.ones(1)]] * 2, [[np.zeros(1, bool)]] * 2,
                            [0])
