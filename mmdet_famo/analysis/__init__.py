"""Comparing two models' test runs (FAMO against the baseline): the paper's
tables, paired tests, ROC curves and side-by-side panels."""
from .comparison import Comparison, compare_runs, write_comparison
from .evaluation_run import EvaluationRun, align_to, load_evaluation_run
from .paired_statistics import (ComparisonRow, Estimate, GroupComparison,
                                PairedTest, StatisticsSettings)
from .report import render_report, summary_lines

__all__ = [
    'Comparison', 'compare_runs', 'write_comparison', 'EvaluationRun',
    'align_to', 'load_evaluation_run', 'ComparisonRow', 'Estimate',
    'GroupComparison', 'PairedTest', 'StatisticsSettings', 'render_report',
    'summary_lines'
]
