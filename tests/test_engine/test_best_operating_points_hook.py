"""BestOperatingPointsHook writes the best epoch's points, and only when the
checkpoint hook kept a new best checkpoint."""
import json
from types import SimpleNamespace

import numpy as np
from mmengine.hooks import CheckpointHook
from mmengine.logging import MessageHub, MMLogger

from mmdet_famo.engine.hooks import BestOperatingPointsHook
from mmdet_famo.engine.hooks.best_operating_points_hook import \
    BEST_OPERATING_THRESHOLD_FILE
from mmdet_famo.evaluation.metrics import FractureCaseMetric
from mmdet_famo.evaluation.operating_points import (choose_operating_points,
                                                    load_operating_points)


def fake_runner(tmp_path, metric, save_best='fracture/case_auc'):
    checkpoint_hook = CheckpointHook(save_best=save_best)
    checkpoint_hook.key_indicators = [save_best]
    return SimpleNamespace(
        hooks=[checkpoint_hook],
        message_hub=MessageHub.get_instance('test_best_points'),
        val_evaluator=SimpleNamespace(metrics=[metric]),
        epoch=0,
        logger=MMLogger.get_instance('test_best_points'),
        work_dir=str(tmp_path))


def chosen_record(threshold_of_positive):
    points = choose_operating_points(
        np.array([1, 0, 1, 0], bool),
        np.array([threshold_of_positive, .2, .9, .1]))
    return dict(points.to_record(), hit_thr=.5)


def test_writes_the_points_of_the_epoch_that_made_the_best(tmp_path):
    metric = FractureCaseMetric(choose_operating_points=True)
    runner = fake_runner(tmp_path, metric)
    hook = BestOperatingPointsHook()
    runner.message_hub.update_info('best_ckpt', None)
    hook.before_train(runner)
    path = tmp_path / BEST_OPERATING_THRESHOLD_FILE
    for epoch, best, positive_score, written in (
        (1, 'best_fracture_case_auc_epoch_1.pth', .6, True),
        (2, 'best_fracture_case_auc_epoch_1.pth', .7, False),  # no new best
            (3, 'best_fracture_case_auc_epoch_3.pth', .8, True)):
        runner.epoch = epoch
        metric.threshold_record = chosen_record(positive_score)
        runner.message_hub.update_info('best_ckpt', str(tmp_path / best))
        before = path.read_text() if path.exists() else None
        hook.after_val_epoch(runner, {})
        saved = json.loads(path.read_text())
        assert (path.read_text() != before) == written
    assert saved['checkpoint'] == 'best_fracture_case_auc_epoch_3.pth'
    assert saved['epoch'] == 3
    points = load_operating_points(str(path))
    # Youden on positives .8, .9 and negatives .2, .1: the positive .8
    assert points.definite.threshold == .8
    assert points.definite.source == \
        'validation set, epoch 3 (best by fracture/case_auc)'


def test_nothing_without_save_best_or_chosen_points(tmp_path):
    metric = FractureCaseMetric(score_thr=.5)
    metric.threshold_record = chosen_record(.6)
    runner = fake_runner(tmp_path, metric)
    runner.message_hub.update_info('best_ckpt', str(tmp_path / 'best_x.pth'))
    BestOperatingPointsHook().after_val_epoch(runner, {})
    runner = fake_runner(tmp_path, FractureCaseMetric(), save_best=None)
    BestOperatingPointsHook().after_val_epoch(runner, {})
    assert not (tmp_path / BEST_OPERATING_THRESHOLD_FILE).exists()
