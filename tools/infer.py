"""Find fractures on new radiographs: DICOM files, folders or studies in;
boxes, per-image and per-case verdicts, overlays and a JSON report out.

    python tools/infer.py CONFIG CHECKPOINT INPUT [INPUT ...] \\
        --out-dir OUT --threshold-file work_dirs/val/operating_threshold.json

A thin command line over :func:`mmdet_famo.apis.infer_radiographs` (see
there and README, "Inference"). Exit status: 0 if every input was read, 1
if any file or input failed (each is in the report's ``failures`` with its
reason; the others were processed), 2 on a usage error (bad arguments,
missing config, checkpoint or threshold).
"""
import argparse
import os.path as osp
import sys
from typing import List, Optional

import torch
from mmengine.config import DictAction

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from mmdet_famo.apis import (
    RadiographPredictor,
    format_summary,  # noqa: E402
    infer_radiographs)
from mmdet_famo.apis.report import REPORT_FILE  # noqa: E402
from mmdet_famo.evaluation.operating_points import \
    read_threshold_file  # noqa: E402


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
        'validation set (or its folder)')
    threshold.add_argument('--threshold',
                           type=float,
                           help='operating threshold, in [0, 1]')
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
        '--secondary-capture',
        action='store_true',
        help='also write each overlay as a DICOM Secondary Capture in its '
        "source study; it copies the patient's identifiers (the PACS needs "
        'them)')
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
    if args.threshold_file is not None:
        try:
            points, record = read_threshold_file(args.threshold_file)
        except (OSError, ValueError) as error:
            parser.error(str(error))
        args.threshold = points.definite.threshold
        args.threshold_source = record['loaded_from']
    elif not 0 <= args.threshold <= 1:
        parser.error(f'--threshold must be in [0, 1], got {args.threshold}')
    else:
        args.threshold_source = '--threshold'
    return args


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    predictor = RadiographPredictor(args.config,
                                    args.checkpoint,
                                    device=args.device,
                                    cfg_options=args.cfg_options)
    report = infer_radiographs(predictor,
                               args.inputs,
                               args.out_dir,
                               args.threshold,
                               threshold_source=args.threshold_source,
                               batch_size=args.batch_size,
                               overlays=not args.no_overlays,
                               secondary_capture=args.secondary_capture,
                               include_identifiers=args.include_identifiers,
                               progress=any(
                                   osp.isdir(path) for path in args.inputs),
                               model=dict(config=args.config,
                                          checkpoint=args.checkpoint))
    print(format_summary(report['summary']))
    print(f'threshold {args.threshold:.4g}; report: '
          f'{osp.join(args.out_dir, REPORT_FILE)}')
    return 1 if report['failures'] else 0


if __name__ == '__main__':
    sys.exit(main())
