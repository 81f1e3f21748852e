"""How reliable is the ground truth: agreement between readers who annotated
the same images (the paper's Table 6).

Reads two or more readers' files in the package's COCO format (the same
images; see data/README.md) and writes into ``--out-dir``:
``reader_agreement.md`` (Table 6 by body part and by view), ``agreement.csv``,
``per_image_ratings.csv``, ``matched_fractures.csv`` and
``kappa_by_body_part.png``. Inputs are checked first: nothing is written
when a file is broken, lists a file name twice, or the readers' images
differ.

Example::

    python tools/misc/make_phantoms.py data/phantom --readers 3
    python tools/analysis/reader_agreement.py \\
        data/phantom/annotations/reader_{1,2,3}.json \\
        --out-dir work_dirs/reader_agreement
"""
import argparse
import os.path as osp
import sys

sys.path.insert(0,
                osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
from mmdet_famo.analysis.reader_agreement import (  # noqa: E402
    AgreementSettings, compute_agreement, load_readers, summary_lines,
    write_agreement)
from mmdet_famo.evaluation.functional.agreement import \
    AGREEMENT_BANDS  # noqa: E402
from mmdet_famo.evaluation.functional.box_matching import \
    OVERLAP_CRITERIA  # noqa: E402
from mmdet_famo.evaluation.functional.proportions import \
    CI_METHODS  # noqa: E402
from mmdet_famo.quick_exit import skip_collection_at_exit  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    defaults = AgreementSettings()
    parser = argparse.ArgumentParser(
        description='Agreement between readers of the same images: percent '
        'agreement and kappa per image and per case, specific agreement, '
        'Dice and IoU per fracture, ICC of fracture counts, by body part '
        'and view (the paper\'s Table 6)')
    parser.add_argument('readers',
                        nargs='+',
                        help='one COCO file per reader (two or more)')
    parser.add_argument('--out-dir',
                        required=True,
                        help='where the outputs are written')
    parser.add_argument('--names',
                        nargs='+',
                        help='readers\' names (default: file names)')
    parser.add_argument(
        '--hit-criterion',
        choices=OVERLAP_CRITERIA,
        default=defaults.hit_criterion,
        help='box overlap that matches two readers\' outlines, as '
        'FractureCaseMetric(hit_criterion=)')
    parser.add_argument('--hit-thr', type=float, default=defaults.hit_thr)
    parser.add_argument('--confidence-level',
                        type=float,
                        default=defaults.confidence_level)
    parser.add_argument('--ci-method',
                        choices=CI_METHODS,
                        default=defaults.ci_method,
                        help='interval of percent agreement')
    parser.add_argument('--bands',
                        choices=sorted(AGREEMENT_BANDS),
                        default=defaults.band_scale,
                        help='interpretation bands of kappa and ICC')
    parser.add_argument(
        '--note',
        default='',
        help='a line shown at the top of the report, e.g. that the '
        'readers are simulated')
    args = parser.parse_args(argv)
    if len(args.readers) < 2:
        parser.error('need at least two readers\' files')
    if args.names is not None and len(args.names) != len(args.readers):
        parser.error(f'--names needs {len(args.readers)} names, got '
                     f'{len(args.names)}')
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    try:
        settings = AgreementSettings(args.hit_criterion, args.hit_thr,
                                     args.confidence_level, args.ci_method,
                                     args.bands)
        report = compute_agreement(load_readers(args.readers, args.names),
                                   settings)
        written = write_agreement(report, args.out_dir, args.note)
    except (OSError, ValueError) as error:  # bad inputs, named in the message
        raise SystemExit(f'reader_agreement.py: error: {error}') from error
    print('\n'.join(summary_lines(report)))
    print(f'report: {written["reader_agreement.md"]}')


if __name__ == '__main__':
    skip_collection_at_exit()
    main()
