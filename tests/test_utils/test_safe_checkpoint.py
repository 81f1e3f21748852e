"""mmengine checkpoints load and resume under torch's weights_only default."""
import os.path as osp
import pickle
import subprocess
import sys

import pytest
import torch
import torch.nn as nn
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch.utils.data import Dataset

import mmdet_famo  # noqa: F401  (allow-lists mmengine's checkpoint contents)
from mmdet_famo.utils.safe_checkpoint import (allow_mmengine_checkpoints,
                                              history_buffer_statistic)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


class Regressor(BaseModel):

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 1)

    def forward(self, inputs, mode='tensor'):
        loss = self.linear(inputs).pow(2).mean()
        return dict(loss=loss) if mode == 'loss' else loss


class Points(Dataset):

    def __len__(self):
        return 8

    def __getitem__(self, index):
        return dict(inputs=torch.full((2, ), float(index)))


def make_runner(work_dir, max_epochs, resume=False):
    torch.manual_seed(0)
    return Runner(
        model=Regressor(),
        work_dir=str(work_dir),
        # one name per runner: mmengine's logger, visualizer and scope are
        # named after the experiment, a timestamp by default, and two
        # runners of one second would share (and warn about) them
        experiment_name=f'{osp.basename(work_dir)}-{max_epochs}-{resume}',
        train_dataloader=dict(
            dataset=Points(),
            batch_size=4,
            sampler=dict(type='DefaultSampler', shuffle=False),
            collate_fn=dict(type='default_collate')),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.001, momentum=0.9)),
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1)),
        resume=resume)


def test_save_and_resume(tmp_path):
    straight = make_runner(tmp_path / 'straight', max_epochs=2)
    straight.train()

    first = make_runner(tmp_path / 'resumed', max_epochs=1)
    first.train()
    checkpoint = torch.load(tmp_path / 'resumed' / 'epoch_1.pth')  # default
    assert isinstance(checkpoint['message_hub']['log_scalars']['train/loss'],
                      HistoryBuffer)
    resumed = make_runner(tmp_path / 'resumed', max_epochs=2, resume=True)
    resumed.train()
    assert resumed.epoch == 2
    assert resumed.iter == 4
    for a, b in zip(straight.model.parameters(), resumed.model.parameters()):
        assert torch.equal(a, b)


class Gadget:
    """Pickles as getattr(HistoryBuffer, '__init__'): not a statistic."""

    def __reduce__(self):
        return getattr, (HistoryBuffer, '__init__')


def test_getattr_beyond_history_buffer_statistics_is_refused(tmp_path):
    path = tmp_path / 'crafted.pth'
    torch.save({'x': Gadget()}, path)
    with pytest.raises(pickle.UnpicklingError, match='__init__'):
        torch.load(path)


#: torch < 2.4, simulated in a fresh interpreter: no allow-list API at all,
#: so importing the package must not touch it.
TORCH_2_1 = """
import torch
import torch._weights_only_unpickler as unpickler
import torch.distributed.tensor  # torch's own modules that allow-list
import torch.nested._internal.nested_tensor  # noqa: F401  (their types)
torch.__version__ = '2.1.2'
for name in ('add_safe_globals', 'get_safe_globals', 'safe_globals'):
    delattr(torch.serialization, name)
before = set(unpickler._get_safe_globals())
import mmdet_famo
from mmdet_famo.utils import allow_mmengine_checkpoints
assert allow_mmengine_checkpoints() is False
print(len(set(unpickler._get_safe_globals()) - before))
"""


def test_torch_2_1_imports_and_registers_nothing():
    result = subprocess.run([sys.executable, '-c', TORCH_2_1],
                            cwd=ROOT,
                            capture_output=True,
                            text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-1] == '0'


def test_torch_2_5_registers_nothing(monkeypatch):
    """torch 2.4-2.5 has the allow-list API but loads with
    weights_only=False by default: it needs no allow-list and gets none."""
    monkeypatch.setattr(torch, '__version__', '2.5.1')
    monkeypatch.setattr(torch.serialization, 'add_safe_globals',
                        lambda *args: pytest.fail('allow-listed on 2.5'))
    assert allow_mmengine_checkpoints() is False


def test_torch_2_6_and_later_allow_list_mmengine_contents():
    safe = torch.serialization.get_safe_globals()
    assert HistoryBuffer in safe
    assert (history_buffer_statistic, 'builtins.getattr') in safe
