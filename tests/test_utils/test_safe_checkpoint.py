"""mmengine checkpoints load and resume under torch's weights_only default."""
import pickle

import pytest
import torch
import torch.nn as nn
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch.utils.data import Dataset

import mmdet_famo  # noqa: F401  (allow-lists mmengine's checkpoint contents)


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
