"""Find fractures on new radiographs: DICOM files, folders or studies in;
boxes with their levels (suspected, definite), per-image and per-case
verdicts, overlays, a JSON report and, on request, DICOM results out.

    python tools/infer.py CONFIG CHECKPOINT INPUT [INPUT ...] \\
        --out-dir OUT --threshold-file work_dirs/val \\
        [--sr] [--presentation-state] [--secondary-capture]
    python tools/infer.py MODEL.onnx INPUT [INPUT ...] --out-dir OUT ...

The second form runs the model exported by
``tools/deployment/export_onnx.py`` in ONNX Runtime (``--backend
onnxruntime``), without torch, MMCV or MMDetection (docs/deployment.md),
and writes the same outputs.

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

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from mmdet_famo.apis import format_summary, infer_radiographs  # noqa: E402
from mmdet_famo.apis.cli import (  # noqa: E402
    add_model_arguments, build_predictor, check_model_arguments,
    model_backend, model_files)
from mmdet_famo.apis.report import REPORT_FILE  # noqa: E402
from mmdet_famo.datasets.modalities import PROJECTION_MODALITIES  # noqa: E402
from mmdet_famo.quick_exit import skip_collection_at_exit  # noqa: E402


def parse_args(argv: Optional[List[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Detect fractures on radiographs (DICOM, PNG, JPEG)')
    add_model_arguments(parser, model_backend(argv))
    parser.add_argument(
        'inputs',
        nargs='+',
        help='radiograph files and folders (searched recursively); images '
        'are grouped into cases by StudyInstanceUID, else by folder')
    parser.add_argument('--out-dir',
                        required=True,
                        help='folder for the report and images')
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
    args = parser.parse_args(argv)
    check_model_arguments(parser, args)
    return args


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    try:
        predictor = build_predictor(args, args.allow_modality)
    except ValueError as error:  # e.g. an ONNX file that is not an export
        print(f'error: {error}', file=sys.stderr)
        return 2
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
                               model=model_files(args))
    print(format_summary(report['summary']))
    print(f'suspected >= {args.points.suspected.threshold:.4g}, definite >= '
          f'{args.points.definite.threshold:.4g}; report: '
          f'{osp.join(args.out_dir, REPORT_FILE)}')
    if report['dicom_files']:
        print(f"{len(report['dicom_files'])} DICOM results in "
              f'{args.out_dir}')
    return 1 if report['failures'] else 0


if __name__ == '__main__':
    skip_collection_at_exit()
    sys.exit(main())
