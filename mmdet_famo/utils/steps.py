"""Run an experiment's steps as processes, side by side, with progress bars.

``tools/demo.py`` and ``tools/fracatlas_experiment.py`` run their steps
(data, training, testing, comparison) through :func:`run_steps`: each step
is its own process, its full log kept in a file, a progress bar following
the iterations it logs.
"""
import os
import re
import subprocess
import sys
import threading
from typing import Callable, NamedTuple, Optional

from tqdm import tqdm

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
ITERATION = re.compile(
    r'Epoch\((train|val|test)\)\s+(?:\[(\d+)\])?\[\s*(\d+)/(\d+)\]')


class Step(NamedTuple):
    """One process of an experiment: its name, command line and log file; a
    training step also says its number of epochs (one progress bar over
    them all); ``on_success`` is called once the process has exited 0."""
    name: str
    command: list
    log_file: str
    epochs: int = 1
    on_success: Optional[Callable[[], None]] = None


def step_env(threads: int) -> dict:
    """The environment of a step: the package importable, ``threads``
    OpenMP threads and OpenMP's passive waiting, unless the user set them.

    On 2 cores torch's OpenMP threads share them with the data worker;
    threads that spin while they wait slow each other when one is
    descheduled: passive waiting made a training iteration 8 % faster (0.95
    s against 1.03 s, docs/benchmarks.md).
    """
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        filter(None, [ROOT, os.environ.get('PYTHONPATH')])))
    env.setdefault('OMP_WAIT_POLICY', 'PASSIVE')
    env.setdefault('OMP_NUM_THREADS', str(threads))
    return env


def follow(step: Step, process: subprocess.Popen, bar: tqdm) -> None:
    """Copy ``process``'s output to the step's log; move ``bar`` along the
    iterations it logs."""
    with open(step.log_file, 'w') as log:
        for line in process.stdout:
            log.write(line)
            match = ITERATION.search(line)
            if match:
                mode, epoch, done, total = match.groups()
                done, total = int(done), int(total)
                if mode == 'train':  # one bar over every epoch
                    bar.total = total * step.epochs
                    bar.n = (int(epoch) - 1) * total + done
                    bar.set_postfix_str(mode)
                elif mode == 'val':  # the bar stays on the training's
                    bar.set_postfix_str(f'validating {done}/{total}')
                else:
                    bar.total, bar.n = total, done
                    bar.set_postfix_str(mode)
                bar.refresh()
    process.wait()


def run_steps(*steps: Step) -> None:
    """Run ``steps`` side by side, the cores shared out among them, with a
    progress bar each; exit naming the log of any step that failed (the
    others still finish, so their results are kept).

    Side by side because much of a CPU detector's iteration is
    single-threaded (mmcv's RoI-Align and NMS): on 2 cores the two models
    trained at once, one thread each, took 0.57x the time of one after the
    other with both threads each (``benchmarks/side_by_side_training.py``,
    docs/benchmarks.md).
    """
    threads = max(1, len(os.sched_getaffinity(0)) // len(steps))
    tqdm.write('\n==> ' + ', '.join(step.name for step in steps))
    followers = []
    for position, step in enumerate(steps):
        process = subprocess.Popen(
            step.command, cwd=ROOT, env=step_env(threads),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        bar = tqdm(desc=step.name, unit='it', dynamic_ncols=True,
                   position=position)
        follower = threading.Thread(
            target=follow, args=(step, process, bar), daemon=True)
        follower.start()
        followers.append((step, process, bar, follower))
    failed = []
    for step, process, bar, follower in followers:
        follower.join()
        bar.close()
        if not process.returncode and step.on_success:
            step.on_success()
        elif process.returncode:
            failed.append(f'{step.name} failed (exit {process.returncode}); '
                          f'see {step.log_file}')
    if failed:
        sys.exit('\n'.join(failed))


def run_comparison(work_dir: str, note: str) -> str:
    """Compare the test runs of ``work_dir/famo`` and ``work_dir/baseline``
    (``tools/analysis/compare.py``, with both learning curves), print its
    summary and return the report's path."""
    report_dir = os.path.join(work_dir, 'report')
    log_file = os.path.join(work_dir, 'compare.log')
    models = [os.path.join(work_dir, model) for model in ('famo', 'baseline')]
    run_steps(Step('compare FAMO with the baseline', [
        sys.executable, 'tools/analysis/compare.py',
        *[os.path.join(model, 'test') for model in models],
        '--out-dir', report_dir, '--names', 'FAMO', 'Baseline',
        '--note', note, '--work-dirs', *models
    ], log_file))
    with open(log_file) as log:
        print(log.read())
    return os.path.join(report_dir, 'report.md')
