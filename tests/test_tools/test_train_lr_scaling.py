"""tools/train.py says which learning rate auto_scale_lr trains with."""
import json
import os
import os.path as osp
import subprocess
import sys
from types import SimpleNamespace
from unittest import mock

import pytest
from mmengine.config import Config

from mmdet_famo.utils import learning_rate_scale, log_learning_rate_scaling
from .conftest import ROOT

TRAIN = osp.join(ROOT, 'tools/train.py')


def test_scaled_rate_is_logged_once_and_trained_with(tiny_config, tmp_path):
    """auto_scale_lr on (the paper configs'), lr 0.02 for base_batch_size 4,
    the tiny config's 1 process x 2 images: 0.02 x 2/4."""
    work_dir = tmp_path / 'work'
    subprocess.run([
        sys.executable, TRAIN, tiny_config, '--work-dir',
        str(work_dir), '--cfg-options', 'train_cfg.max_epochs=1',
        'train_dataloader.dataset.indices=4',  # 2 iterations are enough
        'param_scheduler=[]', 'auto_scale_lr.base_batch_size=4',
        'optim_wrapper.optimizer.lr=0.02'
    ], check=True, cwd=ROOT, env=dict(os.environ, OMP_NUM_THREADS='1'),
                   capture_output=True, timeout=300)
    (log_dir, ) = [path for path in work_dir.iterdir() if path.is_dir()]
    log = (log_dir / f'{log_dir.name}.log').read_text()
    lines = [line for line in log.splitlines() if 'auto_scale_lr: ' in line]
    assert len(lines) == 1
    assert lines[0].endswith(
        'auto_scale_lr: batch size 2 (1 process x 2 images) against '
        'base_batch_size 4, so the learning rate is 0.01 (0.02 x 0.5)')
    scalars = (log_dir / 'vis_data/scalars.json').read_text().splitlines()
    rates = {json.loads(line).get('lr') for line in scalars} - {None}
    assert len(rates) == 1 and rates.pop() == pytest.approx(0.01)


def fake_runner(world_size=1, batch_size=2, lr=0.02, **auto_scale_lr):
    cfg = Config(
        dict(
            train_dataloader=dict(batch_size=batch_size),
            optim_wrapper=dict(optimizer=dict(type='SGD', lr=lr))))
    return SimpleNamespace(
        cfg=cfg,
        world_size=world_size,
        auto_scale_lr=auto_scale_lr or None,
        logger=mock.Mock())


@pytest.mark.parametrize('runner, scale', [
    (fake_runner(4, 1, enable=True, base_batch_size=4), 1.0),
    (fake_runner(enable=False, base_batch_size=4), None),
    (fake_runner(), None),
])
def test_nothing_is_logged_where_the_rate_is_unchanged(runner, scale):
    assert learning_rate_scale(runner) == scale
    log_learning_rate_scaling(runner)
    runner.logger.info.assert_not_called()


def test_eight_processes_double_the_rate():
    runner = fake_runner(8, 1, 0.005, enable=True, base_batch_size=4)
    log_learning_rate_scaling(runner)
    runner.logger.info.assert_called_once_with(
        'auto_scale_lr: batch size 8 (8 processes x 1 images) against '
        'base_batch_size 4, so the learning rate is 0.01 (0.005 x 2)')
