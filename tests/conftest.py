"""Settings of the whole suite.

``make test`` runs one pytest-xdist worker per core, each module in one
worker (``--dist loadscope``), the modules handed out in collection order
(``--no-loadscope-reorder``). The modules marked ``heavy`` (10 s of CPU or
more: trainings, tool subprocesses, external validators) are collected
first, so that the light ones fill the end and the workers finish together:
left to pytest-xdist's default order (modules with the most tests first),
the documented commands' 40 s came last and one worker waited 30 s for the
other.

Each worker, and every tool it starts, computes on one thread, so that the
workers do not compete for the cores. With PyTorch's default of a thread per
core in each worker, a worker's OpenMP threads spin waiting for the cores
the other one holds: on 2 cores the suite took 501 s of CPU and 4 min 37 s,
against 462 s and 4 min 21 s with one thread each (docs/getting-started.md)."""
import gc
import os


def pytest_configure(config):
    if 'PYTEST_XDIST_WORKER' in os.environ:
        # inherited by the tools the tests start
        os.environ['OMP_NUM_THREADS'] = '1'
        # the subfolders' conftests, loaded before this hook, import torch
        import torch
        torch.set_num_threads(1)


def pytest_collection_modifyitems(config, items):
    items.sort(key=lambda item: item.get_closest_marker('heavy') is None)


def pytest_collection_finish(session):
    # the collected modules (torch, MMDetection, pydicom...: 540,000 objects
    # after collecting the suite) move to the collector's permanent
    # generation, so that the full collections the tests' allocations
    # trigger skip them:
    # `pytest tests/test_evaluation tests/test_datasets tests/test_analysis
    # -n 2` took 48-49 s of CPU instead of 54 s
    gc.freeze()


def pytest_unconfigure(config):
    # the session is over: pytest's processes, controller and workers, exit
    # without the interpreter's collections over every test module they
    # imported (mmdet_famo/quick_exit.py says why): `pytest
    # tests/test_evaluation -n 2` took 17-18 s of CPU instead of 21-24 s
    gc.freeze()
