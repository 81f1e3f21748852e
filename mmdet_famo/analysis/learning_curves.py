"""Learning curves of trained models, read from their mmengine work dirs.

A reader of a comparison must see whether the two models converged before
judging their difference: a model still improving at its last epoch is
compared early, and its figures say more about the schedule than about the
model. mmengine's ``LocalVisBackend`` writes every logged scalar to
``WORK_DIR/<timestamp>/vis_data/scalars.json``, one JSON object a line:
training lines (``loss``, ``epoch``, ``iter``, ``step`` = the iteration) at
each logging interval, and validation lines (the metrics, ``step`` = the
epoch) after each validation. A resumed training adds a timestamp folder;
the folders are read in order and a later line replaces an earlier one of
the same step.
"""
import glob
import json
import os.path as osp
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from mmdet_famo.evaluation.file_io import write_atomically

#: The validation metrics plotted by default: (scalar name, label).
DEFAULT_METRICS: Tuple[Tuple[str, str], ...] = (
    ('fracture/box_AP50', 'per-fracture AP50'),
    ('fracture/image_auc', 'per-image AUC'),
    ('fracture/case_auc', 'per-case AUC'),
)
LEARNING_CURVES_FILE = 'learning_curves.png'


@dataclass
class LearningCurves:
    """One training run's curves.

    Args:
        name (str): The model's name in figures and tables.
        iterations (np.ndarray): Training iterations at which the loss was
            logged.
        losses (np.ndarray): The total training loss at those iterations
            (mmengine's average over the logging interval).
        epoch_ends (np.ndarray): The last logged iteration of each epoch.
        val_epochs (np.ndarray): Epochs after which validation ran.
        val_metrics (dict[str, np.ndarray]): Metric name to its value after
            each of ``val_epochs`` (nan where it was not logged).
    """
    name: str
    iterations: np.ndarray
    losses: np.ndarray
    epoch_ends: np.ndarray
    val_epochs: np.ndarray
    val_metrics: Dict[str, np.ndarray] = field(default_factory=dict)


def scalars_files(work_dir: str) -> List[str]:
    """The ``scalars.json`` files of ``work_dir``, oldest run first."""
    files = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data',
                                      'scalars.json')))
    if not files:
        raise FileNotFoundError(
            f'{work_dir}: no */vis_data/scalars.json; is it the work dir of '
            'an mmengine training (tools/train.py --work-dir)?')
    return files


def read_learning_curves(
        work_dir: str,
        name: Optional[str] = None,
        metrics: Sequence[str] = tuple(key for key, _ in DEFAULT_METRICS)
) -> LearningCurves:
    """Read a training run's loss and validation metrics.

    Args:
        work_dir (str): The run's work dir.
        name (str, optional): The model's name; defaults to the folder's.
        metrics (Sequence[str]): Validation scalars to keep.

    Returns:
        LearningCurves: The curves, sorted by iteration and epoch.
    """
    train: Dict[int, dict] = {}
    val: Dict[int, dict] = {}
    for path in scalars_files(work_dir):
        with open(path) as file:
            for number, line in enumerate(file, 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                    step = int(record['step'])
                except (ValueError, KeyError, TypeError) as error:
                    raise ValueError(f'{path}, line {number}: not an '
                                     f'mmengine scalars line ({error!r})')
                if 'loss' in record and 'epoch' in record:
                    train[step] = record
                elif any(key in record for key in metrics):
                    val[step] = record
    iterations = np.array(sorted(train), dtype=int)
    epochs = np.array([train[i]['epoch'] for i in iterations], dtype=int)
    epoch_ends = np.array(
        [iterations[epochs == epoch].max() for epoch in np.unique(epochs)],
        dtype=int)
    val_epochs = np.array(sorted(val), dtype=int)
    return LearningCurves(
        name=name or osp.basename(osp.normpath(work_dir)),
        iterations=iterations,
        losses=np.array([train[i]['loss'] for i in iterations], float),
        epoch_ends=epoch_ends,
        val_epochs=val_epochs,
        val_metrics={
            key: np.array([val[e].get(key, np.nan) for e in val_epochs],
                          dtype=float)
            for key in metrics
        })


def plot_learning_curves(
        path: str,
        runs: Sequence[LearningCurves],
        metrics: Sequence[Tuple[str, str]] = DEFAULT_METRICS) -> None:
    """Draw the training loss and each validation metric, one panel each,
    every run in its colour; written whole to the PNG ``path``.

    Args:
        path (str): The PNG to write.
        runs (Sequence[LearningCurves]): The runs, e.g. FAMO and the
            baseline.
        metrics (Sequence[tuple[str, str]]): (scalar name, label) of the
            validation metrics to draw.
    """
    from matplotlib.figure import Figure

    figure = Figure(figsize=(4 * (1 + len(metrics)), 3.6), dpi=100)
    loss_axes, *metric_axes = figure.subplots(1, 1 + len(metrics))
    colours = ('tab:red', 'tab:blue', 'tab:green', 'tab:orange')
    for run, colour in zip(runs, colours * len(runs)):
        loss_axes.plot(run.iterations, run.losses, color=colour,
                       label=run.name)
        for end in run.epoch_ends[:-1]:
            loss_axes.axvline(end, color=colour, alpha=0.2, linewidth=0.8)
        for axes, (key, _) in zip(metric_axes, metrics):
            values = run.val_metrics.get(key, np.full(len(run.val_epochs),
                                                      np.nan))
            axes.plot(run.val_epochs, values, 'o-', color=colour,
                      label=run.name)
    loss_axes.set(
        xlabel='training iteration (faint lines: epoch ends)',
        ylabel='loss',
        yscale='log',
        title='Training loss')
    loss_axes.legend(fontsize='small')
    for axes, (_, label) in zip(metric_axes, metrics):
        axes.set(
            xlabel='epoch', ylim=(0, 1.01), title=f'Validation {label}')
        axes.xaxis.get_major_locator().set_params(integer=True)
        axes.grid(alpha=0.3)
    figure.tight_layout()
    write_atomically(path, lambda partial: figure.savefig(partial,
                                                          format='png'))


def learning_curve_lines(
        runs: Sequence[LearningCurves],
        metrics: Sequence[Tuple[str, str]] = DEFAULT_METRICS,
        figure: str = LEARNING_CURVES_FILE) -> List[str]:
    """A Markdown section: the figure and a table of each validation metric
    by epoch for every run, and the last logged loss."""
    lines = [
        '## Learning curves', '',
        'Training loss and validation metrics per epoch, to judge whether '
        'the models converged: a curve still rising at the last epoch means '
        'the comparison is of models stopped early.', '',
        f'![learning curves]({figure})', ''
    ]
    header = ['epoch'] + [
        f'{run.name} {label}' for _, label in metrics for run in runs
    ]
    lines += ['| ' + ' | '.join(header) + ' |',
              '|' + '---|' * len(header)]
    epochs = sorted({int(e) for run in runs for e in run.val_epochs})
    for epoch in epochs:
        cells = [str(epoch)]
        for key, _ in metrics:
            for run in runs:
                where = np.flatnonzero(run.val_epochs == epoch)
                value = (run.val_metrics[key][where[0]]
                         if len(where) and key in run.val_metrics else np.nan)
                cells.append('' if np.isnan(value) else f'{value:.3f}')
        lines.append('| ' + ' | '.join(cells) + ' |')
    lines += [''] + [
        f'- {run.name}: last logged training loss {run.losses[-1]:.4f} '
        f'(iteration {run.iterations[-1]})' for run in runs if len(run.losses)
    ] + ['']
    return lines


def add_learning_curves(out_dir: str, work_dirs: Sequence[str],
                        names: Sequence[str],
                        report_file: str = 'report.md') -> str:
    """Draw ``learning_curves.png`` in ``out_dir`` from the runs' work dirs
    and append its section to ``out_dir/report_file`` (rewritten whole).

    Args:
        out_dir (str): The comparison's folder.
        work_dirs (Sequence[str]): The training work dirs, one per model.
        names (Sequence[str]): The models' names, in the same order.
        report_file (str): The report, in ``out_dir``.

    Returns:
        str: The figure's path.
    """
    if len(work_dirs) != len(names):
        raise ValueError(f'{len(work_dirs)} work dirs for {len(names)} names')
    runs = [read_learning_curves(d, n) for d, n in zip(work_dirs, names)]
    figure = osp.join(out_dir, LEARNING_CURVES_FILE)
    plot_learning_curves(figure, runs)
    report = osp.join(out_dir, report_file)
    with open(report) as file:
        text = file.read()
    section = '\n'.join(learning_curve_lines(runs))

    def write(partial: str) -> None:
        with open(partial, 'w') as file:
            file.write(text.rstrip('\n') + '\n\n' + section)

    write_atomically(report, write)
    return figure
