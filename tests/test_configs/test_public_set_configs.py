"""The FracAtlas and GRAZPEDWRI-DX configs: the paper's configs with the
data set's location changed, and FAMO differing only where FAMO differs."""
import pytest
from mmengine.config import Config

from tests.test_configs.test_famo_configs import (FAMO_DIFFERENCE,
                                                  resolved_difference)

PAPER = 'configs/famo/faster-rcnn_x101-32x4d_fpn_4xb1-35e_fracture.py'
PUBLIC_SETS = {
    'fracatlas': 'data/FracAtlas/',
    'grazpedwri': 'data/GRAZPEDWRI-DX/',
}


def pair(name):
    return (f'configs/{name}/faster-rcnn_x101-32x4d_fpn_4xb1-35e_{name}.py',
            f'configs/{name}/famo_faster-rcnn_x101-32x4d_fpn_4xb1-35e_'
            f'{name}.py')


@pytest.mark.parametrize('name', sorted(PUBLIC_SETS))
def test_famo_differs_from_its_baseline_only_in_famo(name):
    assert resolved_difference(*pair(name)) == FAMO_DIFFERENCE


@pytest.mark.parametrize('name, data_root', sorted(PUBLIC_SETS.items()))
def test_baseline_is_the_papers_config_on_the_converted_set(name, data_root):
    difference = resolved_difference(PAPER, pair(name)[0])
    assert difference == {
        f'{loader}.dataset.data_root.': ('data/fracture/', data_root)
        for loader in ('train_dataloader', 'val_dataloader',
                       'test_dataloader')
    } | {'data_root.': ('data/fracture/', data_root)}
    cfg = Config.fromfile(pair(name)[0])
    # the converters write these files, images under images/
    assert [
        cfg[f'{split}_dataloader'].dataset.ann_file
        for split in ('train', 'val', 'test')
    ] == [f'annotations/{split}.json' for split in ('train', 'val', 'test')]
    assert cfg.train_dataloader.dataset.data_prefix == dict(img='images/')


def cpu_pair(encoder):
    return (f'configs/fracatlas/faster-rcnn_eff{encoder}_fpn_1xb4-12e_'
            'fracatlas.py',
            f'configs/fracatlas/famo_faster-rcnn_eff{encoder}_fpn_1xb4-12e_'
            'fracatlas.py')


CPU_FRACATLAS_PAIR = cpu_pair('l0')


@pytest.mark.parametrize('encoder', ['l0', 'l1'])
def test_cpu_fracatlas_famo_differs_only_in_famo(encoder):
    assert resolved_difference(*cpu_pair(encoder)) == FAMO_DIFFERENCE


def test_cpu_fracatlas_lite1_differs_only_in_its_encoder():
    assert resolved_difference(cpu_pair('l0')[0], cpu_pair('l1')[0]) == {
        'model.backbone.arch.': ('lite0', 'lite1'),
        'model.backbone.init_cfg.checkpoint.':
        ('efficientnet-lite://lite0', 'efficientnet-lite://lite1'),
    }


def test_cpu_fracatlas_config_keeps_the_papers_data_and_evaluation():
    """The CPU-sized FracAtlas config changes the model, the scale and the
    schedule, crops after the flip and drops the colour inversion; the data
    set, the evaluation and the checkpoint rule stay the paper's."""
    paper = Config.fromfile(pair('fracatlas')[0])
    cpu = Config.fromfile(CPU_FRACATLAS_PAIR[0])
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        for key in ('type', 'data_root', 'ann_file', 'data_prefix'):
            assert cpu[loader].dataset[key] == paper[loader].dataset[key]
    assert cpu.val_evaluator == paper.val_evaluator
    assert cpu.test_evaluator == paper.test_evaluator
    assert cpu.default_hooks.checkpoint == paper.default_hooks.checkpoint
    paper_steps = [step.type for step in paper.train_pipeline
                   if step.type != 'RandomInvert']
    paper_steps.insert(paper_steps.index('RandomFlip') + 1, 'RandomCrop')
    assert [step.type for step in cpu.train_pipeline] == paper_steps
    # evaluation never skips an unreadable image
    for pipeline in (cpu.test_pipeline, paper.test_pipeline):
        assert pipeline[0] == dict(type='LoadRadiograph')
    assert cpu.model.backbone.init_cfg.checkpoint == \
        'efficientnet-lite://lite0'
