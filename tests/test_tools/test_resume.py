"""A training killed mid-way and resumed ends with the same weights."""
import os
import os.path as osp
import signal
import subprocess
import sys
import time

import pytest
import torch

from .conftest import ROOT

pytestmark = pytest.mark.heavy

TRAIN = osp.join(ROOT, 'tools/train.py')


def train(config, work_dir, *extra):
    """A training of 3 iterations per epoch (6 of the test phantoms), on
    one thread, so that two run side by side and round alike."""
    return subprocess.Popen(
        [
            sys.executable, TRAIN, config, '--work-dir',
            str(work_dir), '--cfg-options',
            'train_dataloader.dataset.indices=6', *extra
        ],
        cwd=ROOT,
        env=dict(os.environ, OMP_NUM_THREADS='1'),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True)


def test_killed_and_resumed_training_matches_uninterrupted(
        tiny_config, tmp_path):
    # the uninterrupted run and the one to be killed, side by side
    straight = train(tiny_config, tmp_path / 'straight')
    killed = train(tiny_config, tmp_path / 'resumed')
    # mmengine writes `last_checkpoint` once epoch_1.pth is complete.
    saved = tmp_path / 'resumed' / 'last_checkpoint'
    deadline = time.time() + 300
    while not saved.exists():
        assert killed.poll() is None and time.time() < deadline
        time.sleep(0.05)
    # in the middle of epoch 2; the whole process group, as a crash of the
    # machine would, so no dataloader worker outlives the test
    os.killpg(killed.pid, signal.SIGKILL)
    killed.wait()
    assert not (tmp_path / 'resumed' / 'epoch_2.pth').exists()
    assert straight.wait(timeout=300) == 0

    resumed = train(tiny_config, tmp_path / 'resumed', '--resume')
    assert resumed.wait(timeout=300) == 0

    expected = torch.load(tmp_path / 'straight' / 'epoch_2.pth')['state_dict']
    actual = torch.load(tmp_path / 'resumed' / 'epoch_2.pth')['state_dict']
    assert expected.keys() == actual.keys()
    for name, value in expected.items():
        assert torch.equal(value, actual[name]), name
