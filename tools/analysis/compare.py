"""Compare FAMO with the baseline from their test runs' score tables.

Reads the output folders FractureCaseMetric wrote (``tools/test.py
--out-dir``) for two models on the same test set and writes ``report.md``
(the paper's Tables 1-4 with confidence intervals and paired p-values),
``roc_image.png``, ``roc_case.png`` and ``panels/*.png``.

Example::

    python tools/analysis/compare.py work_dirs/famo/test \\
        work_dirs/baseline/test --out-dir work_dirs/comparison \\
        --note 'The data are synthetic phantoms, not radiographs.'
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0,
                osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
from mmdet_famo.analysis import (  # noqa: E402
    StatisticsSettings,
    compare_runs,
    summary_lines,
    write_comparison)
from mmdet_famo.analysis.learning_curves import (  # noqa: E402
    add_learning_curves)
from mmdet_famo.evaluation.functional import (  # noqa: E402
    CI_METHODS,
    OVERLAP_CRITERIA)
from mmdet_famo.quick_exit import skip_collection_at_exit  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    defaults = StatisticsSettings()
    parser = argparse.ArgumentParser(
        description='Compare two test runs (FAMO and the baseline) on the '
        'same test set: tables, p-values, ROC curves and panels')
    parser.add_argument('famo_dir', help='output folder of the FAMO test run')
    parser.add_argument(
        'baseline_dir', help='output folder of the baseline test run')
    parser.add_argument(
        '--out-dir', required=True, help='where the report is written')
    parser.add_argument(
        '--names',
        nargs=2,
        default=('FAMO', 'Baseline'),
        metavar=('FAMO', 'BASELINE'),
        help='the two models\' names in the report')
    parser.add_argument(
        '--images-dir',
        help='folder the stored image paths are relative to (where '
        'tools/test.py ran); defaults to the current folder')
    parser.add_argument(
        '--panels',
        type=int,
        default=4,
        help='number of side-by-side panels (0 for none)')
    parser.add_argument(
        '--note',
        default='',
        help='a line shown prominently at the top of the report, e.g. that '
        'the data are synthetic phantoms')
    parser.add_argument(
        '--work-dirs',
        nargs=2,
        metavar=('FAMO_WORK_DIR', 'BASELINE_WORK_DIR'),
        help='the two models\' training work dirs: adds their learning '
        'curves (training loss, validation metrics per epoch) to the report')
    parser.add_argument(
        '--confidence-level', type=float, default=defaults.confidence_level)
    parser.add_argument(
        '--ci-method',
        choices=CI_METHODS,
        default=defaults.ci_method,
        help='interval of proportions, as FractureCaseMetric(ci_method=)')
    parser.add_argument(
        '--ap-criterion',
        choices=OVERLAP_CRITERIA,
        default=defaults.ap_criterion,
        help='overlap criterion of AP, as FractureCaseMetric(ap_criterion=)')
    args = parser.parse_args(argv)
    if args.panels < 0:
        parser.error(f'--panels must be >= 0, got {args.panels}')
    if not 0 < args.confidence_level < 1:
        parser.error('--confidence-level must be in (0, 1)')
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    try:
        comparison = compare_runs(
            (args.famo_dir, args.baseline_dir), args.names,
            StatisticsSettings(args.confidence_level, args.ci_method,
                               args.ap_criterion))
        report = write_comparison(comparison, args.out_dir, args.images_dir,
                                  args.panels, args.note)
        if args.work_dirs:
            add_learning_curves(args.out_dir, args.work_dirs, args.names)
    except (OSError, ValueError) as error:  # bad inputs, named in the message
        raise SystemExit(f'compare.py: error: {error}') from error
    print('\n'.join(summary_lines(comparison, args.note)))
    print(f'report: {report}')


if __name__ == '__main__':
    skip_collection_at_exit()
    main()
