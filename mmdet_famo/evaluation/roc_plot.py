"""The ROC figure of one evaluation run, per image or per case."""
import warnings
from typing import Optional

import numpy as np
from sklearn.metrics import roc_curve

from .fracture_figures import breakdown
from .functional import (LevelScores, auc_confidence_interval, outcomes,
                         shown_scores)
from .operating_points import OperatingPoints


def plot_roc(path: str, level: str, scores: LevelScores,
             body_parts: np.ndarray, points: Optional[OperatingPoints],
             confidence_level: float) -> None:
    """Write the ROC curves of the localised score (the paper's rule), of
    the highest box score and of each body part's localised score, with the
    two operating points, as a PNG.

    Args:
        path (str): The PNG file.
        level (str): 'image' or 'case'.
        scores (LevelScores): The images' or cases' scores.
        body_parts (np.ndarray): Their body parts.
        points (OperatingPoints, optional): Drawn when given.
        confidence_level (float): Of the AUC intervals in the legend.
    """
    from matplotlib.figure import Figure

    figure = Figure(figsize=(5.5, 5.5), dpi=100)
    axes = figure.subplots()
    labels = scores.labels
    curves = [('localised score', labels, scores.localised, '-', 2.),
              ('highest box score', labels, scores.max_box, '--', 1.5)]
    for body_part in breakdown(body_parts):
        in_part = body_parts == body_part
        curves.append((body_part, labels[in_part],
                       scores.localised[in_part], '-', 1.))
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        for name, curve_labels, values, style, width in curves:
            auc, low, high = auc_confidence_interval(curve_labels, values,
                                                     confidence_level)
            if np.isnan(auc):
                continue
            fpr, tpr, _ = roc_curve(curve_labels, shown_scores(values))
            axes.plot(fpr, tpr, style, linewidth=width,
                      label=f'{name}: AUC {auc:.3f} [{low:.3f}, {high:.3f}]')
    if labels.any() and (~labels).any() and points is not None:
        for point, marker in zip(points, ('s', 'o')):
            result = outcomes(scores, point.threshold)
            axes.plot(result['false_positive'].sum() / (~labels).sum(),
                      result['true_positive'].sum() / labels.sum(),
                      marker, color='black', fillstyle='none'
                      if point.level == 'suspected' else 'full',
                      label=f'{point.level} (threshold '
                      f'{point.threshold:.3g})')
    axes.plot((0, 1), (0, 1), ':', color='grey', linewidth=1)
    axes.set(xlim=(0, 1), ylim=(0, 1.01), xlabel='1 - specificity',
             ylabel='sensitivity',
             title=f'Per-{level} ROC ({labels.sum()} with fracture, '
             f'{(~labels).sum()} without)')
    if axes.get_legend_handles_labels()[0]:
        axes.legend(loc='lower right', fontsize='small')
    figure.savefig(path, format='png')
