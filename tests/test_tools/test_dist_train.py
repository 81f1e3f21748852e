"""tools/dist_train.sh: two CPU processes (gloo) train and save together."""
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

from .conftest import ROOT

pytestmark = pytest.mark.heavy


def test_dist_train_two_cpu_processes(tiny_config, tmp_path):
    work_dir = tmp_path / 'work'
    env = dict(
        os.environ, PORT='29517', OMP_NUM_THREADS='1', PYTHON=sys.executable)
    subprocess.run([
        'bash', osp.join(ROOT, 'tools/dist_train.sh'), tiny_config, '2',
        '--work-dir', str(work_dir), '--cfg-options', 'train_cfg.max_epochs=1'
    ], check=True, env=env, cwd=ROOT, timeout=180)

    iterations = [(work_dir / f'rank{rank}_iterations.txt').read_text().split()
                  for rank in (0, 1)]
    assert iterations[0] and iterations[0] == iterations[1]  # in lockstep
    checkpoint = torch.load(work_dir / 'epoch_1.pth')
    assert checkpoint['meta']['epoch'] == 1
    assert checkpoint['meta']['iter'] == len(iterations[0])
    assert not any(key.startswith('module.')
                   for key in checkpoint['state_dict'])  # DDP unwrapped
    # RandomStateHook gathered both processes' generator states.
    assert len(checkpoint['random_states']) == 2
