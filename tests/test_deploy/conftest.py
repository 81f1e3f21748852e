"""Briefly trained tiny detectors (baseline and FAMO), their ONNX exports,
and phantoms to compare them on."""
import os
import pickle
from types import SimpleNamespace
from typing import Callable

import numpy as np
import pytest
import torch
from filelock import FileLock
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope

from mmdet.registry import DATASETS, MODELS
from mmdet_famo.phantom import PhantomConfig, generate_phantom_dataset

BASELINE_CONFIG = 'configs/demo/faster-rcnn_r18_fpn_1xb4-5e_phantom.py'
FAMO_CONFIG = 'configs/demo/famo_faster-rcnn_r18_fpn_1xb4-5e_phantom.py'
#: Training iterations of the tiny models: enough to move their scores
#: off the random model's near-constant 0.5 (boxes then differ in score,
#: and NMS and the score threshold have decisions to make).
TRAIN_ITERATIONS = 12
#: The demo's test scale, halved: 160 px long side.
TEST_SCALE = (160, 160)

onnxruntime = pytest.importorskip(
    'onnxruntime', reason='onnxruntime is not installed '
    "(pip install 'mmdet-famo[deploy]')")
pytest.importorskip('onnx', reason='onnx is not installed '
                    "(pip install 'mmdet-famo[deploy]')")


@pytest.fixture(scope='session')
def phantom_root(tmp_path_factory):
    """Phantoms of 6 patients, 320 x 256 px, split as the demo's."""
    root = tmp_path_factory.mktemp('deploy_phantoms')
    generate_phantom_dataset(root, PhantomConfig(num_patients=6, seed=3))
    return root


def train_tiny(config_file: str, data_root, folder) -> SimpleNamespace:
    """The demo config at ``TEST_SCALE``, 20 test boxes, trained for
    ``TRAIN_ITERATIONS`` on the phantoms' training split (batches of 4);
    saved as config + checkpoint."""
    cfg = Config.fromfile(config_file)
    cfg.train_dataloader.dataset.data_root = str(data_root) + '/'
    for pipeline in (cfg.test_dataloader.dataset.pipeline,
                     cfg.val_dataloader.dataset.pipeline):
        for transform in pipeline:
            if transform.type == 'Resize':
                transform.scale = TEST_SCALE
    init_default_scope('mmdet')
    torch.manual_seed(0)
    np.random.seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    model.train()
    order = np.random.RandomState(0).permutation(
        TRAIN_ITERATIONS * 4) % len(dataset)
    for batch in order.reshape(-1, 4):
        model.train_step(
            pseudo_collate([dataset[int(i)] for i in batch]), optim_wrapper)
    model.eval()
    checkpoint = folder / f'{cfg.filename.split("/")[-1][:-3]}.pth'
    torch.save(
        dict(state_dict=model.state_dict(),
             meta=dict(dataset_meta=dict(classes=('fracture', )))),
        checkpoint)
    config = folder / checkpoint.name.replace('.pth', '.py')
    cfg.dump(config)
    return SimpleNamespace(config=str(config), checkpoint=str(checkpoint))


def export_trained(config_file: str, phantom_root, folder) -> SimpleNamespace:
    """A tiny trained model, its ONNX export and ``ModelInfo``."""
    from mmdet_famo.deploy.export import export_onnx
    files = train_tiny(config_file, phantom_root, folder)
    files.onnx = str(folder / 'model.onnx')
    files.info = export_onnx(files.config, files.checkpoint, files.onnx)
    return files


def built_once(tmp_path_factory, name: str, build: Callable):
    """``build(folder)``, run once per test run rather than once per
    pytest-xdist worker (the tests of several modules, spread over the
    workers, share these models): the first worker to ask builds in a folder
    of the run's base folder, which the workers share; the others wait on
    its lock and load the pickled result (pytest-xdist's documented way of
    running a session fixture once)."""
    if 'PYTEST_XDIST_WORKER' not in os.environ:
        return build(tmp_path_factory.mktemp(name))
    folder = tmp_path_factory.getbasetemp().parent / name
    result_file = folder / 'result.pkl'
    with FileLock(f'{folder}.lock'):
        if result_file.exists():
            return pickle.loads(result_file.read_bytes())
        folder.mkdir(exist_ok=True)  # a failed build is retried
        result = build(folder)
        result_file.write_bytes(pickle.dumps(result))
    return result


@pytest.fixture(scope='session')
def baseline_model(phantom_root, tmp_path_factory):
    return built_once(
        tmp_path_factory, 'baseline_model',
        lambda folder: export_trained(BASELINE_CONFIG, phantom_root, folder))


@pytest.fixture(scope='session')
def famo_model(phantom_root, tmp_path_factory):
    return built_once(
        tmp_path_factory, 'famo_model',
        lambda folder: export_trained(FAMO_CONFIG, phantom_root, folder))


@pytest.fixture(scope='session', params=['baseline', 'famo'])
def trained(request):
    """Each tiny trained model in turn, with ``name``."""
    model = request.getfixturevalue(f'{request.param}_model')
    model.name = request.param
    return model
