"""tools/test.py takes MMDetection's --out, --show-dir and --tta, and its
--out-dir / --cfg-options work with a list of evaluators."""
import os
import os.path as osp
import pickle
import subprocess
import sys

import cv2
import pytest
import torch
from mmcv.ops import batched_nms
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope

from mmdet.registry import DATASETS, MODELS
from .conftest import ROOT, TINY_BASE, TINY_CONFIG

pytestmark = pytest.mark.heavy

TEST = osp.join(ROOT, 'tools/test.py')

LIST_EVALUATOR = """
_base_ = {base!r}
test_evaluator = [
    dict(type='FractureCaseMetric'),
    dict(type='DumpDetResults', out_file_path={dump!r}),
]
"""


@pytest.fixture(scope='module')
def tested(phantom_root, tmp_path_factory):
    """A randomly initialised tiny FAMO detector's checkpoint, the config
    (two evaluators) and the test set."""
    root = tmp_path_factory.mktemp('test_tool')
    tiny = root / 'tiny.py'
    tiny.write_text(
        TINY_CONFIG.format(base=TINY_BASE, data_root=phantom_root + '/'))
    config = root / 'list_evaluator.py'
    config.write_text(
        LIST_EVALUATOR.format(base=str(tiny), dump=str(root / 'unused.pkl')))
    cfg = Config.fromfile(str(config))
    init_default_scope('mmdet')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).eval()
    checkpoint = root / 'random.pth'
    torch.save({'state_dict': model.state_dict()}, checkpoint)
    return root, str(config), str(checkpoint), cfg, model


@pytest.fixture(scope='module')
def test_runs(tested):
    """The two runs of tools/test.py the tests below check, side by side
    (each is mostly the interpreter's start-up), one thread each: plain
    with --out, --out-dir, --show-dir and --cfg-options, and --tta."""
    root, config, checkpoint, _, _ = tested
    runs = {
        'plain': [
            '--out',
            str(root / 'out.pkl'), '--out-dir',
            str(root / 'metric'), '--show-dir', 'painted', '--cfg-options',
            f'test_evaluator.1.out_file_path={root / "options.pkl"}'
        ],
        'tta': ['--tta', '--out', str(root / 'tta.pkl')],
    }
    processes = {
        name: subprocess.Popen(
            [
                sys.executable, TEST, config, checkpoint, '--work-dir',
                str(root / name), *extra
            ],
            cwd=ROOT,
            env=dict(os.environ, OMP_NUM_THREADS='1'),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True)
        for name, extra in runs.items()
    }
    for name, process in processes.items():
        _, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, f'{name}: {stderr[-3000:]}'


def predict(model, cfg, flip=False):
    """The model's predictions on the test set (optionally on horizontally
    flipped images, in the flipped images' coordinates), by image id."""
    dataset_cfg = cfg.test_dataloader.dataset.copy()
    pipeline = list(dataset_cfg.pipeline)
    if flip:
        pipeline.insert(-1, dict(type='RandomFlip', prob=1.))
    dataset = DATASETS.build(dict(dataset_cfg, pipeline=pipeline))
    predictions = {}
    with torch.no_grad():
        for index in range(len(dataset)):
            (sample, ) = model.test_step(pseudo_collate([dataset[index]]))
            predictions[sample.img_id] = sample
    return predictions


def dumped(path):
    with open(path, 'rb') as file:
        return {sample['img_id']: sample for sample in pickle.load(file)}


def test_out_show_dir_and_options_on_a_list_of_evaluators(tested, test_runs):
    root, _, _, cfg, model = tested
    work_dir = root / 'plain'
    expected = predict(model, cfg)
    for path in ('out.pkl', 'options.pkl'):  # --out and --cfg-options
        results = dumped(root / path)
        assert results.keys() == expected.keys()
        for img_id, sample in expected.items():
            pred = results[img_id]['pred_instances']
            assert len(sample.pred_instances) > 0
            torch.testing.assert_close(pred['bboxes'],
                                       sample.pred_instances.bboxes)
            torch.testing.assert_close(pred['scores'],
                                       sample.pred_instances.scores)
            assert results[img_id]['case_id'] == sample.case_id
    assert os.listdir(root / 'metric')  # --out-dir reached the metric
    (timestamp, ) = [p for p in work_dir.iterdir() if p.is_dir()]
    painted = sorted(os.listdir(timestamp / 'painted'))
    assert len(painted) == len(expected)  # ap.dcm of every case: no clash
    for img_id, sample in expected.items():
        stem = osp.splitext(osp.basename(sample.img_path))[0]
        image = cv2.imread(str(timestamp / 'painted' / f'{img_id}_{stem}.png'))
        height, width = sample.ori_shape  # ground truth | predictions
        assert image.shape == (height, 2 * width, 3)


def test_tta_merges_the_flipped_view(tested, test_runs):
    """--tta: NMS (IoU 0.5, 100 boxes) over the predictions on the image and
    on its mirror image flipped back, by hand from the plain model."""
    root, _, _, cfg, model = tested
    results = dumped(root / 'tta.pkl')
    plain, flipped = predict(model, cfg), predict(model, cfg, flip=True)
    assert results.keys() == plain.keys()
    for img_id, sample in plain.items():
        width = sample.ori_shape[1]
        mirrored = flipped[img_id].pred_instances
        back = mirrored.bboxes.clone()
        back[:, 0], back[:, 2] = width - mirrored.bboxes[:, 2], \
            width - mirrored.bboxes[:, 0]
        bboxes = torch.cat([sample.pred_instances.bboxes, back])
        scores = torch.cat(
            [sample.pred_instances.scores, mirrored.scores])
        labels = torch.cat(
            [sample.pred_instances.labels, mirrored.labels])
        merged, _ = batched_nms(bboxes, scores, labels,
                                dict(type='nms', iou_threshold=0.5))
        merged = merged[:100]
        result = results[img_id]
        torch.testing.assert_close(result['pred_instances']['bboxes'],
                                   merged[:, :4])
        torch.testing.assert_close(result['pred_instances']['scores'],
                                   merged[:, 4])
        # the unflipped view's sample is kept, with the case metadata
        assert result['flip'] is False
        assert result['case_id'] == sample.case_id
