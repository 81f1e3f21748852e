"""Compare two models' test runs on the same test set: the paper's tables,
p-values, overlaid ROC curves and side-by-side panels in one report."""
import os
import os.path as osp
from typing import Optional, Sequence

import numpy as np

from ..evaluation.run_files import ROC_CASE_FILE, ROC_IMAGE_FILE
from .evaluation_run import align_to, load_evaluation_run
from .paired_statistics import (Comparison, StatisticsSettings,
                                body_part_groups, box_shape_groups,
                                compare_group, fractured_image_group)
from .panels import choose_disagreements, image_paths, write_panels
from .report import REPORT_FILE, render_report
from .roc_plots import plot_roc_comparison


def compare_runs(
    directories: Sequence[str],
    names: Sequence[str] = ('FAMO', 'Baseline'),
    settings: StatisticsSettings = StatisticsSettings()
) -> Comparison:
    """Read two FractureCaseMetric output folders and compare them.

    Args:
        directories (Sequence[str]): Output folders of model A (FAMO) and
            model B (the baseline).
        names (Sequence[str]): Their names in the report.
        settings (StatisticsSettings): Interval and AP settings.

    Returns:
        Comparison: Both models' figures and the paired tests.

    Raises:
        ValueError: If the runs were not evaluated on the same test set.
    """
    if len(directories) != 2 or len(names) != 2:
        raise ValueError('need two output folders and two names')
    if names[0] == names[1]:
        raise ValueError('the two models need different names, got '
                         f'{names[0]!r} twice')
    reference = load_evaluation_run(directories[0], names[0])
    runs = (reference,
            align_to(reference, load_evaluation_run(directories[1], names[1])))
    overall = compare_group('all', runs,
                            np.ones(len(reference.images['img_id']), bool),
                            np.ones(len(reference.cases['case_id']), bool),
                            settings)
    return Comparison(runs, settings, overall,
                      fractured_image_group(runs, settings),
                      body_part_groups(runs, settings),
                      box_shape_groups(runs, settings))


def write_comparison(comparison: Comparison,
                     out_dir: str,
                     images_dir: Optional[str] = None,
                     num_panels: int = 4,
                     note: str = '',
                     panel_height: int = 512) -> str:
    """Write ``report.md``, ``roc_image.png``, ``roc_case.png`` and
    ``panels/*.png`` into ``out_dir``.

    Args:
        comparison (Comparison): See :func:`compare_runs`.
        out_dir (str): Output folder, created if needed.
        images_dir (str, optional): Folder the stored image paths are
            relative to (where tools/test.py ran); None for the current one.
        num_panels (int): Side-by-side panels to draw. Defaults to 4.
        note (str): A line shown prominently at the top of the report.
        panel_height (int): Height of each image in a panel, in pixels.

    Returns:
        str: The report's path.
    """
    runs = comparison.runs
    indices = choose_disagreements(runs, num_panels)
    # a missing image fails here, before anything is written
    paths = image_paths(runs, indices, images_dir)
    os.makedirs(out_dir, exist_ok=True)
    for file, level in ((ROC_IMAGE_FILE, 'image'), (ROC_CASE_FILE, 'case')):
        plot_roc_comparison(
            osp.join(out_dir, file), level, runs,
            comparison.overall.rows[level])
    panels = write_panels(runs, indices, paths, out_dir, panel_height)
    report = render_report(comparison, panels, (ROC_IMAGE_FILE, ROC_CASE_FILE),
                           note)
    path = osp.join(out_dir, REPORT_FILE)
    with open(path, 'w', encoding='utf-8') as file:
        file.write(report)
    return path
