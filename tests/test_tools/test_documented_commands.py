"""The documented commands, run as written (train -> test with the best
epoch's operating points -> compare -> infer; docs/comparison.md and
docs/inference.md) on a tiny model and phantoms.

Only the config paths, the work folder, the input folder and the device are
substituted, so a command the docs get wrong (a file mmengine never
writes, an option a tool lacks) fails here. The two models' commands run
side by side, one thread each, as tools/demo.py runs them."""
import glob
import json
import os
import os.path as osp
import re
import shutil
import subprocess
import sys

import pytest

from mmdet_famo.engine.hooks.best_operating_points_hook import \
    BEST_OPERATING_THRESHOLD_FILE
from mmdet_famo.evaluation.operating_points import load_operating_points
from mmdet_famo.phantom import PhantomConfig, generate_phantom_dataset
from .conftest import ROOT

pytestmark = pytest.mark.heavy

# each paper config of the docs, and the demo config that inherits it
PAPER_CONFIGS = {
    'configs/famo/famo_faster-rcnn_x101-32x4d_fpn_4xb1-35e_fracture.py':
    'configs/demo/famo_faster-rcnn_r18_*.py',
    'configs/famo/faster-rcnn_x101-32x4d_fpn_4xb1-35e_fracture.py':
    'configs/demo/faster-rcnn_r18_*.py',
}
# the demo configs inherit the paper's evaluators, checkpoint and hooks;
# shrunk further, two epochs validated each, every box kept
TINY = """
_base_ = {base!r}
data_root = {data_root!r}
channels = 16
model = dict(
    backbone=dict(base_channels=8),
    neck=dict(in_channels=[8, 16, 32, 64], out_channels=channels),
    rpn_head=dict(in_channels=channels, feat_channels=channels),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=channels),
        bbox_head=dict(in_channels=channels, fc_out_channels=32)),
    test_cfg=dict(rcnn=dict(score_thr=0., max_per_img=20)))
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root))
val_dataloader = dict(
    num_workers=0, persistent_workers=False, dataset=dict(data_root=data_root))
test_dataloader = dict(
    num_workers=0, persistent_workers=False, dataset=dict(data_root=data_root))
train_cfg = dict(max_epochs=2, val_interval=1)
default_hooks = dict(logger=dict(interval=50))
"""


def documented_commands(page: str, first_only: bool = False):
    """The shell commands of the ```bash blocks of a page of docs/."""
    with open(osp.join(ROOT, 'docs', page), encoding='utf-8') as file:
        text = file.read()
    blocks = re.findall(r'```bash\n(.*?)```', text, re.S)
    if first_only:
        blocks = blocks[:1]
    commands = []
    for block in blocks:
        joined = block.replace('\\\n', ' ')
        commands += [
            line.split(' #')[0].strip() for line in joined.splitlines()
            if line.strip() and not line.lstrip().startswith('#')
        ]
    return commands


def run(commands, substitutions: dict) -> None:
    """Run ``commands`` side by side, each on one thread; all must pass."""
    env = dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS='1')
    processes = []
    for command in commands:
        for old, new in substitutions.items():
            command = command.replace(old, new)
        command = re.sub(r'^python ', f'{sys.executable} ', command)
        processes.append((command,
                          subprocess.Popen(['bash', '-c', command],
                                           cwd=ROOT,
                                           env=env,
                                           stdout=subprocess.PIPE,
                                           stderr=subprocess.PIPE,
                                           text=True)))
    for command, process in processes:
        stdout, stderr = process.communicate()
        assert process.returncode == 0, \
            f'{command}\n{stdout[-3000:]}\n{stderr[-3000:]}'


@pytest.fixture(scope='module')
def phantom_root(tmp_path_factory):
    """Phantoms whose validation and test sets hold fractured and
    fracture-free images and cases (5 and 8 images)."""
    root = tmp_path_factory.mktemp('readme_phantoms')
    generate_phantom_dataset(
        root, PhantomConfig(num_patients=14, height=128, width=96, seed=1))
    return str(root)


def test_documented_train_test_compare_infer(phantom_root, tmp_path):
    substitutions = {}
    for paper, demo in PAPER_CONFIGS.items():
        tiny = tmp_path / osp.basename(paper)
        tiny.write_text(
            TINY.format(base=glob.glob(osp.join(ROOT, demo))[0],
                        data_root=phantom_root + '/'))
        substitutions[paper] = str(tiny)
    # two patients' studies (8 images) for the new studies to infer on
    new_studies = tmp_path / 'new_studies'
    for patient in ('PH0001', 'PH0004'):
        shutil.copytree(osp.join(phantom_root, 'images', patient),
                        new_studies / patient)
    substitutions.update({
        'work_dirs/': f'{tmp_path}/work_dirs/',
        '/data/new_studies/': f'{new_studies}/',
        '--device cuda:0': '--device cpu',
        '--batch-size 4': '--batch-size 2',
        '--out-dir infer_out': f'--out-dir {tmp_path}/infer_out',
    })
    commands = documented_commands('comparison.md')
    assert [c.split()[1] for c in commands] == [
        'tools/train.py', 'tools/train.py', 'tools/test.py', 'tools/test.py',
        'tools/analysis/compare.py'
    ]
    infer = documented_commands('inference.md', first_only=True)
    assert infer[0].split()[1] == 'tools/infer.py'
    run(commands[:2], substitutions)  # the two trainings
    run(commands[2:4], substitutions)  # the two tests
    run(commands[4:] + infer, substitutions)  # compare, infer

    work_dirs = tmp_path / 'work_dirs'
    for model in ('famo', 'baseline'):
        best, = (work_dirs / model).glob('best_*.pth')
        assert re.fullmatch(r'best_fracture_case_auc_epoch_[12]\.pth',
                            best.name)
        saved = json.loads(
            (work_dirs / model / BEST_OPERATING_THRESHOLD_FILE).read_text())
        # the points belong to the kept checkpoint's epoch
        assert saved['checkpoint'] == best.name
        assert best.name.endswith(f"epoch_{saved['epoch']}.pth")
        points = load_operating_points(
            str(work_dirs / model / BEST_OPERATING_THRESHOLD_FILE))
        assert points.definite.source.startswith(
            f"validation set, epoch {saved['epoch']}")
        test = json.loads(
            (work_dirs / model / 'test' / 'operating_threshold.json'
             ).read_text())
        assert test['loaded_from'] == str(work_dirs / model /
                                          BEST_OPERATING_THRESHOLD_FILE)
        metrics = json.loads(
            (work_dirs / model / 'test' / 'metrics.json').read_text())
        assert metrics['threshold'] == points.definite.threshold
    report = (work_dirs / 'comparison' / 'report.md').read_text()
    assert '## Table 5. By box shape and orientation' in report
    assert 'chosen on this test set' not in report
    inferred = json.loads((tmp_path / 'infer_out' / 'report.json'
                           ).read_text())
    assert inferred['summary']['images'] == len(
        list(new_studies.rglob('*.dcm')))
