"""tools/demo.py: its phantom sets against the demo configs that read them,
and how it runs its steps."""
import importlib.util
import os.path as osp
import sys

import pytest
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
    demo.run_steps(demo.Step('default', command, str(log)))
    assert 'policy=PASSIVE' in log.read_text()

    monkeypatch.setenv('OMP_WAIT_POLICY', 'ACTIVE')
    log = tmp_path / 'user.log'
    demo.run_steps(demo.Step('user', command, str(log)))
    assert 'policy=ACTIVE' in log.read_text()


def test_steps_side_by_side_share_the_cores(tmp_path, monkeypatch):
    """Steps run at once (each sees the other's file appear), with the
    cores shared out as OpenMP threads, unless the user set their number."""
    demo = load_demo()
    monkeypatch.delenv('OMP_NUM_THREADS', raising=False)
    monkeypatch.setattr(demo.os, 'sched_getaffinity', lambda pid: {0, 1, 2})

    def step(name, other):
        # writes its flag, then waits (at most 60 s) for the other's
        code = (f'import os, time; open({str(tmp_path / name)!r}, "w").close()'
                f'\nfor _ in range(600):'
                f'\n    if os.path.exists({str(tmp_path / other)!r}): break'
                f'\n    time.sleep(0.1)'
                f'\nelse: raise SystemExit("not side by side")'
                f'\nprint("threads=" + os.environ["OMP_NUM_THREADS"])')
        return demo.Step(name, [sys.executable, '-c', code],
                         str(tmp_path / f'{name}.log'))

    demo.run_steps(step('a', 'b'), step('b', 'a'))
    for name in 'ab':  # 3 cores for 2 steps: one thread each
        assert 'threads=1' in (tmp_path / f'{name}.log').read_text()

    monkeypatch.setenv('OMP_NUM_THREADS', '2')
    (tmp_path / 'a').unlink()
    (tmp_path / 'b').unlink()
    demo.run_steps(step('a', 'b'), step('b', 'a'))
    assert 'threads=2' in (tmp_path / 'a.log').read_text()


def test_a_failed_step_is_named_and_the_others_finish(tmp_path):
    """A step that fails ends the demo with its log's name, after the steps
    beside it have finished and recorded their results."""
    demo = load_demo()
    done = []
    failing = demo.Step('fails', [sys.executable, '-c', 'raise SystemExit(3)'],
                        str(tmp_path / 'fails.log'))
    slow = demo.Step(
        'slow', [sys.executable, '-c', 'import time; time.sleep(1)'],
        str(tmp_path / 'slow.log'), on_success=lambda: done.append('slow'))
    with pytest.raises(SystemExit) as error:
        demo.run_steps(failing, slow)
    assert str(error.value) == (
        f'fails failed (exit 3); see {tmp_path / "fails.log"}')
    assert done == ['slow']
