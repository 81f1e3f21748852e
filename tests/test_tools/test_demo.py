"""tools/demo.py's phantom sets against the demo configs that read them."""
import importlib.util
import os.path as osp
import sys

from mmengine.config import Config

from .conftest import ROOT


def load_demo():
    spec = importlib.util.spec_from_file_location(
        'demo', osp.join(ROOT, 'tools', 'demo.py'))
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    return demo


def option(args: list, name: str, default=None):
    return args[args.index(name) + 1] if name in args else default


def test_training_phantoms_are_other_patients_than_evaluation_ones():
    demo = load_demo()
    (evaluation_root, evaluation), (train_root, train) = \
        demo.PHANTOM_SETS.items()
    # patients 0..419 evaluate, 420..699 train: no patient in both
    assert int(option(evaluation, '--first-patient', 0)) == 0
    assert int(option(train, '--first-patient')) == int(
        option(evaluation, '--patients'))
    assert option(evaluation, '--seed') == option(train, '--seed')
    # evaluation keeps the clinic's mix, training is enriched
    assert float(option(evaluation, '--fracture-free', 0.5)) == 0.5
    assert float(option(train, '--fracture-free')) < 0.5
    ratios = evaluation[evaluation.index('--ratios') + 1:]
    assert sorted(r.split('=')[0] for r in ratios) == ['test', 'val']
    assert train[train.index('--ratios') + 1:] == ['train=1']

    for config in demo.MODELS.values():
        cfg = Config.fromfile(osp.join(ROOT, config))
        assert osp.normpath(
            cfg.train_dataloader.dataset.data_root) == train_root
        for loader in (cfg.val_dataloader, cfg.test_dataloader):
            assert osp.normpath(loader.dataset.data_root) == evaluation_root


def test_steps_wait_passively_unless_told_otherwise(tmp_path, monkeypatch):
    """Each demo step runs with OpenMP's passive waiting (faster on 2 shared
    cores), unless the user set OMP_WAIT_POLICY."""
    demo = load_demo()
    command = [
        sys.executable, '-c',
        'import os; print("policy=" + os.environ["OMP_WAIT_POLICY"])'
    ]
    monkeypatch.delenv('OMP_WAIT_POLICY', raising=False)
    log = tmp_path / 'default.log'
    demo.run_step('default', command, str(log))
    assert 'policy=PASSIVE' in log.read_text()

    monkeypatch.setenv('OMP_WAIT_POLICY', 'ACTIVE')
    log = tmp_path / 'user.log'
    demo.run_step('user', command, str(log))
    assert 'policy=ACTIVE' in log.read_text()
