"""Export a trained detector to one ONNX file of standard operators.

    python tools/deployment/export_onnx.py CONFIG CHECKPOINT OUT.onnx
    python tools/deployment/export_onnx.py CONFIG --random-init OUT.onnx

The graph holds the whole detector (preprocessing, backbone, FPN, RPN with
its decoding and NMS, FAMO's squares and multi-level RoI-Align, box head,
decoding and final NMS) in the default ONNX domain only; its metadata
holds the config, the checkpoint's SHA-256, the class names and the
preprocessing. ``onnx.checker`` is run on the result. Run it with
``tools/infer.py OUT.onnx ...`` or ``tools/dicom_node.py OUT.onnx ...``
(docs/deployment.md). Exit status 2 on a usage error.
"""
import argparse
import os.path as osp
import sys
from typing import List, Optional

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))
from mmengine.config import DictAction  # noqa: E402

from mmdet_famo.deploy.export import describe, export_onnx  # noqa: E402
from mmdet_famo.deploy.onnx_ops import OPSET  # noqa: E402
from mmdet_famo.quick_exit import skip_collection_at_exit  # noqa: E402


def parse_args(argv: Optional[List[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Export a detector to ONNX (standard operators only)')
    parser.add_argument('config', help='model config file')
    parser.add_argument('checkpoint',
                        nargs='?',
                        help='checkpoint file (omit with --random-init)')
    parser.add_argument('out', help='the .onnx file to write')
    parser.add_argument(
        '--random-init',
        action='store_true',
        help='export the randomly initialised model (to check that a '
        'config exports; its boxes mean nothing)')
    parser.add_argument('--opset',
                        type=int,
                        default=OPSET,
                        help=f'ONNX opset, at least 16 (default {OPSET})')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, key=value pairs')
    args = parser.parse_args(argv)
    if not osp.isfile(args.config):
        parser.error(f'config {args.config} is not a file')
    if args.random_init == (args.checkpoint is not None):
        parser.error('give a checkpoint or --random-init, not both')
    if args.checkpoint is not None and not osp.isfile(args.checkpoint):
        parser.error(f'checkpoint {args.checkpoint} is not a file')
    if args.opset < 16:
        parser.error('--opset must be at least 16 (RoiAlign half_pixel)')
    return args


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    try:
        export_onnx(args.config, args.checkpoint, args.out,
                    cfg_options=args.cfg_options, opset=args.opset)
    except ValueError as error:
        print(f'error: {error}', file=sys.stderr)
        return 2
    print(describe(args.out))
    return 0


if __name__ == '__main__':
    skip_collection_at_exit()
    sys.exit(main())
