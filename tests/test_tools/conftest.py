"""Phantom data and a tiny demo config for the tools' tests."""
import os.path as osp

import pytest

from mmdet_famo.phantom import PhantomConfig, generate_phantom_dataset

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TINY_BASE = osp.join(
    ROOT, 'configs/demo/famo_faster-rcnn_r18_fpn_1xb4-5e_phantom.py')
TINY_CONFIG = """
_base_ = {base!r}
custom_imports = dict(
    imports=['mmdet_famo', 'tests.test_tools.rank_hook'],
    allow_failed_imports=False)
data_root = {data_root!r}
channels = 16
model = dict(
    backbone=dict(base_channels=8),
    neck=dict(in_channels=[8, 16, 32, 64], out_channels=channels),
    rpn_head=dict(in_channels=channels, feat_channels=channels),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=channels),
        bbox_head=dict(in_channels=channels, fc_out_channels=32)))
train_dataloader = dict(
    batch_size=2,
    num_workers=1,
    persistent_workers=False,
    dataset=dict(data_root=data_root))
val_dataloader = dict(
    num_workers=0, persistent_workers=False, dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
train_cfg = dict(max_epochs=2, val_interval=100)
default_hooks = dict(
    checkpoint=dict(save_best=None, max_keep_ckpts=-1),
    logger=dict(interval=1))
custom_hooks = [dict(type='RandomStateHook'), dict(type='RankIterationsHook')]
randomness = dict(seed=0, deterministic=True)
"""


@pytest.fixture(scope='session')
def phantom_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('phantom')
    generate_phantom_dataset(
        root, PhantomConfig(num_patients=6, height=128, width=96, seed=1))
    return str(root)


@pytest.fixture
def tiny_config(phantom_root, tmp_path):
    """A config file: the demo FAMO config, tiny, on the test phantoms."""
    path = tmp_path / 'tiny_famo.py'
    path.write_text(
        TINY_CONFIG.format(
            base=TINY_BASE,
            data_root=phantom_root + '/'))
    return str(path)
