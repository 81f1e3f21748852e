"""Overlaid ROC curves of two models on the same images or cases."""
from typing import Sequence

import numpy as np
from sklearn.metrics import roc_curve

from .evaluation_run import EvaluationRun
from ..evaluation.functional import shown_scores
from .paired_statistics import AUC_ROWS, ComparisonRow, level_table


def plot_roc_comparison(path: str, level: str, runs: Sequence[EvaluationRun],
                        rows: Sequence[ComparisonRow]) -> None:
    """Write a PNG with both models' ROC curves at ``level`` ('image' or
    'case'): of the localised score (solid, the paper's rule) and of the
    highest box score (dashed), their AUCs with intervals in the legend,
    and each model's definite operating point (its sensitivity and
    specificity, a point of the localised curve).

    Args:
        path (str): The PNG to write.
        level (str): 'image' or 'case'.
        runs (Sequence[EvaluationRun]): Model A and model B, aligned.
        rows (Sequence[ComparisonRow]): The level's rows of
            :func:`~.paired_statistics.binary_rows`, for the figures in the
            legend and the title.
    """
    from matplotlib.figure import Figure

    by_key = {row.key: row for row in rows}
    labels = level_table(runs[0], level)['has_fracture'].astype(bool)
    figure = Figure(figsize=(6, 6), dpi=100)
    axes = figure.subplots()
    auc_row = by_key[f'{level}_auc']
    curves = [(by_key[f'{level}_{key}'], column, style, width, name)
              for (key, column, _), style, width, name in zip(
                  AUC_ROWS, ('-', '--'), (2., 1.), ('', ' highest box'))]
    for index, (run, colour) in enumerate(zip(runs, ('tab:red', 'tab:blue'))):
        table = level_table(run, level)
        for row, column, style, width, name in curves:
            auc = row.estimates[index]
            if np.isnan(auc.value):
                continue
            fpr, tpr, _ = roc_curve(labels, shown_scores(table[column]))
            axes.plot(
                fpr,
                tpr,
                style,
                color=colour,
                linewidth=width,
                label=f'{run.name}{name}: AUC {auc.value:.3f} '
                f'[{auc.ci_low:.3f}, {auc.ci_high:.3f}]')
        sensitivity = by_key[f'{level}_sensitivity'].estimates[index].value
        specificity = by_key[f'{level}_specificity'].estimates[index].value
        if not np.isnan(sensitivity) and not np.isnan(specificity):
            axes.plot(
                1 - specificity,
                sensitivity,
                'o',
                color=colour,
                label=f'{run.name} at threshold {run.threshold:.3g}')
    axes.plot((0, 1), (0, 1), ':', color='grey', linewidth=1)
    delong = auc_row.tests[0]
    title = f'Per-{level} ROC ({labels.sum()} with fracture, ' \
        f'{(~labels).sum()} without)'
    if not np.isnan(delong.pvalue):
        title += f'\nDeLong p = {delong.pvalue:.3g} (two-sided)'
    axes.set(
        xlim=(0, 1),
        ylim=(0, 1.01),
        xlabel='1 - specificity',
        ylabel='sensitivity',
        title=title)
    if axes.get_legend_handles_labels()[0]:
        axes.legend(loc='lower right', fontsize='small')
    else:
        axes.text(
            0.5,
            0.5,
            f'ROC undefined: {auc_row.estimates[0].reason}',
            ha='center')
    figure.tight_layout()
    figure.savefig(path, format='png')
