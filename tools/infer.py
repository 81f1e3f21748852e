"""Find fractures on new radiographs: DICOM files, folders or studies in;
boxes with their levels (suspected, definite), per-image and per-case
verdicts, overlays, a JSON report and, on request, DICOM results out.

    python tools/infer.py CONFIG CHECKPOINT INPUT [INPUT ...] \\
        --out-dir OUT --threshold-file work_dirs/val \\
        [--sr] [--presentation-state] [--secondary-capture]

A thin command line over :func:`mmdet_famo.apis.infer_radiographs` (see
there and README, "Inference on new radiographs"). Exit status: 0 if every
input was read, 1 if any file or input failed or was refused (each is in
the report's ``failures`` with its reason; the others were processed), 2 on
a usage error (bad arguments, missing config, checkpoint or threshold).
"""
import argparse
import os.path as osp
import sys
from typing import List, Optional

import torch
from mmengine.config import DictAction

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from mmdet_famo.apis import (  # noqa: E402
    RadiographPredictor, format_summary, infer_radiographs)
from mmdet_famo.apis.report import REPORT_FILE  # noqa: E402
from mmdet_famo.datasets.modalities import PROJECTION_MODALITIES  # noqa: E402
from mmdet_famo.evaluation.operating_points import (  # noqa: E402
    given_operating_points, read_threshold_file)


def parse_args(argv: Optional[List[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Detect fractures on radiographs (DICOM, PNG, JPEG)')
    parser.add_argument('config', help='model config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        'inputs',
        nargs='+',
        help='radiograph files and folders (searched recursively); images '
        'are grouped into cases by StudyInstanceUID, else by folder')
    parser.add_argument('--out-dir',
                        required=True,
                        help='folder for the report and images')
    threshold = parser.add_mutually_exclusive_group(required=True)
    threshold.add_argument(
        '--threshold-file',
        help="operating_threshold.json written by FractureCaseMetric on the "
        'validation set (or its folder): both operating points')
    threshold.add_argument(
        '--threshold',
        type=float,
        help='the definite threshold, in [0, 1] (also the suspected one '
        'unless --suspected-threshold is given)')
    parser.add_argument(
        '--suspected-threshold',
        type=float,
        help='with --threshold: the suspected threshold, in [0, '
        '--threshold]')
    parser.add_argument(
        '--device',
        default='cuda:0' if torch.cuda.is_available() else 'cpu',
        help="'cpu' or 'cuda:N'; defaults to the first GPU if there is one")
    parser.add_argument('--batch-size',
                        type=int,
                        default=1,
                        help='images per forward pass')
    parser.add_argument('--no-overlays',
                        action='store_true',
                        help='do not write overlay PNGs')
    parser.add_argument(
        '--sr',
        action='store_true',
        help='write a DICOM Structured Report (TID 1500) per DICOM study, '
        'into that study; it copies the patient\'s identifiers (the PACS '
        'needs them)')
    parser.add_argument(
        '--presentation-state',
        action='store_true',
        help='write a Grayscale Softcopy Presentation State per DICOM study '
        '(the boxes over the original images, suspected and definite in '
        'separate layers); it copies the patient\'s identifiers')
    parser.add_argument(
        '--secondary-capture',
        action='store_true',
        help='also write each overlay as a DICOM Secondary Capture in its '
        "source study; it copies the patient's identifiers")
    parser.add_argument(
        '--allow-modality',
        action='append',
        default=[],
        metavar='MOD',
        help='also run DICOM files of this Modality (e.g. MG, IO, OT); only '
        f'projection radiographs ({", ".join(PROJECTION_MODALITIES)}) are run '
        'by default. Repeat for several')
    parser.add_argument(
        '--include-identifiers',
        action='store_true',
        help='put paths, UIDs and patient identifiers into the report '
        '(pseudonymous names otherwise); never logged')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, key=value pairs')
    args = parser.parse_args(argv)
    for name in ('config', 'checkpoint'):
        if not osp.isfile(getattr(args, name)):
            parser.error(f'{name} {getattr(args, name)} is not a file')
    if args.batch_size < 1:
        parser.error('--batch-size must be at least 1')
    args.points = operating_points(parser, args)
    return args


def operating_points(parser: argparse.ArgumentParser,
                     args: argparse.Namespace):
    """The operating points the arguments name; a usage error otherwise."""
    if args.threshold_file is not None:
        if args.suspected_threshold is not None:
            parser.error('--suspected-threshold goes with --threshold; the '
                         'threshold file holds both points')
        try:
            return read_threshold_file(args.threshold_file)[0]
        except (OSError, ValueError) as error:
            parser.error(str(error))
    if not 0 <= args.threshold <= 1:
        parser.error(f'--threshold must be in [0, 1], got {args.threshold}')
    if args.suspected_threshold is not None and \
            not 0 <= args.suspected_threshold <= args.threshold:
        parser.error('--suspected-threshold must be in [0, --threshold], '
                     f'got {args.suspected_threshold}')
    source = '--threshold' if args.suspected_threshold is None else \
        '--threshold and --suspected-threshold'
    return given_operating_points(args.threshold,
                                  args.suspected_threshold,
                                  source=source)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    predictor = RadiographPredictor(args.config,
                                    args.checkpoint,
                                    device=args.device,
                                    cfg_options=args.cfg_options,
                                    allowed_modalities=args.allow_modality)
    report = infer_radiographs(predictor,
                               args.inputs,
                               args.out_dir,
                               args.points,
                               batch_size=args.batch_size,
                               overlays=not args.no_overlays,
                               secondary_capture=args.secondary_capture,
                               structured_report=args.sr,
                               presentation_state=args.presentation_state,
                               include_identifiers=args.include_identifiers,
                               progress=any(
                                   osp.isdir(path) for path in args.inputs),
                               model=dict(config=args.config,
                                          checkpoint=args.checkpoint))
    print(format_summary(report['summary']))
    print(f'suspected >= {args.points.suspected.threshold:.4g}, definite >= '
          f'{args.points.definite.threshold:.4g}; report: '
          f'{osp.join(args.out_dir, REPORT_FILE)}')
    if report['dicom_files']:
        print(f"{len(report['dicom_files'])} DICOM results in "
              f'{args.out_dir}')
    return 1 if report['failures'] else 0


if __name__ == '__main__':
    sys.exit(main())
