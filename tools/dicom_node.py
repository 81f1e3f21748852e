"""A DICOM node on the hospital network: receive radiographs, detect
fractures study by study, send the results back.

    python tools/dicom_node.py CONFIG CHECKPOINT --spool /var/spool/famo \\
        --threshold-file work_dirs/val/operating_threshold.json \\
        --port 11112 --ae-title FAMO \\
        --destination PACS@pacs.hospital.local:104

Each study is sent back as a TID 1500 structured report and a grayscale
softcopy presentation state (and, with --secondary-capture, an overlay
image per view), in the source study.

A thin command line over :class:`mmdet_famo.node.DicomNode` (see there and
README, "A DICOM node on the hospital network"). It serves until SIGINT or
SIGTERM; whatever is unfinished then stays in the spool and is resumed at
the next start. Exit status 2 on a usage error.
"""
import argparse
import logging
import os.path as osp
import signal
import sys
import threading
from typing import List, Optional

import torch
from mmengine.config import DictAction

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from mmdet_famo.apis import RadiographPredictor  # noqa: E402
from mmdet_famo.apis.dicom_objects import AlgorithmInfo  # noqa: E402
from mmdet_famo.evaluation.operating_points import (  # noqa: E402
    given_operating_points, load_operating_points)
from mmdet_famo.node import (
    DicomDestination,
    DicomNode,  # noqa: E402
    FolderDestination,
    NodeSettings)


def parse_destination(value: str) -> DicomDestination:
    """``AE@HOST:PORT`` -> a :class:`DicomDestination`."""
    try:
        ae_title, address = value.split('@', 1)
        host, port = address.rsplit(':', 1)
        return DicomDestination(ae_title, host, int(port))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f'expected AE@HOST:PORT, e.g. PACS@10.0.0.5:104, got {value!r}')


def parse_args(argv: Optional[List[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='A DICOM node that detects fractures on the CR and DX '
        'radiographs it receives and sends its findings back')
    parser.add_argument('config', help='model config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--spool',
        required=True,
        help='folder for received images, study states and results to '
        'send; keep it across restarts (it holds patient data)')
    source = parser.add_mutually_exclusive_group()
    source.add_argument('--port',
                        type=int,
                        default=11112,
                        help='port to listen on (default 11112)')
    source.add_argument(
        '--watch',
        help='take DICOM files from this folder instead of listening')
    parser.add_argument('--ae-title',
                        default='FAMO',
                        help="the node's AE title (default FAMO)")
    parser.add_argument('--bind',
                        default='0.0.0.0',
                        help='address to listen on (default all)')
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument('--destination',
                        type=parse_destination,
                        help='where results go by C-STORE: AE@HOST:PORT')
    target.add_argument('--out-dir',
                        help='where results go as files, one folder per '
                        'study')
    threshold = parser.add_mutually_exclusive_group(required=True)
    threshold.add_argument(
        '--threshold-file',
        help='operating_threshold.json written by FractureCaseMetric on the '
        'validation set (or its folder)')
    threshold.add_argument(
        '--threshold',
        type=float,
        help='operating threshold (the definite level), in [0, 1]')
    parser.add_argument(
        '--suspected-threshold',
        type=float,
        help='with --threshold: the suspected level (defaults to '
        '--threshold: one level only)')
    parser.add_argument(
        '--secondary-capture',
        action='store_true',
        help='also send each image with its findings drawn, as a Secondary '
        'Capture (pixels; the SR and presentation state are always sent)')
    parser.add_argument(
        '--allow-modality',
        action='append',
        default=[],
        metavar='MODALITY',
        help='also take images of this Modality (e.g. DX for DX For '
        'Processing); by default CR and DX For Presentation only')
    parser.add_argument(
        '--idle-seconds',
        type=float,
        default=30.,
        help='process a study once no image of it has come for this long '
        '(default 30)')
    parser.add_argument('--retry-max-seconds',
                        type=float,
                        default=60.,
                        help='longest wait between sending attempts while '
                        'the destination is down (default 60)')
    parser.add_argument(
        '--device',
        default='cuda:0' if torch.cuda.is_available() else 'cpu',
        help="'cpu' or 'cuda:N'; defaults to the first GPU if there is one")
    parser.add_argument('--batch-size',
                        type=int,
                        default=1,
                        help='images per forward pass')
    parser.add_argument('--log-level',
                        default='INFO',
                        choices=('DEBUG', 'INFO', 'WARNING', 'ERROR'))
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, key=value pairs')
    args = parser.parse_args(argv)
    for name in ('config', 'checkpoint'):
        if not osp.isfile(getattr(args, name)):
            parser.error(f'{name} {getattr(args, name)} is not a file')
    if args.idle_seconds < 0 or args.batch_size < 1:
        parser.error('--idle-seconds must be >= 0, --batch-size >= 1')
    try:
        args.points = (load_operating_points(args.threshold_file)
                       if args.threshold_file is not None else
                       given_operating_points(args.threshold,
                                              args.suspected_threshold,
                                              source='--threshold'))
    except (OSError, ValueError) as error:
        parser.error(str(error))
    return args


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=args.log_level,
        format='%(asctime)s %(levelname)s %(name)s: %(message)s')
    predictor = RadiographPredictor(args.config,
                                    args.checkpoint,
                                    device=args.device,
                                    cfg_options=args.cfg_options,
                                    allowed_modalities=args.allow_modality)
    settings = NodeSettings(spool=args.spool,
                            destination=args.destination
                            or FolderDestination(args.out_dir),
                            ae_title=args.ae_title,
                            host=args.bind,
                            port=args.port,
                            watch=args.watch,
                            idle_seconds=args.idle_seconds,
                            max_delay=args.retry_max_seconds)
    infer_options = dict(points=args.points,
                         batch_size=args.batch_size,
                         structured_report=True,
                         presentation_state=True,
                         secondary_capture=args.secondary_capture,
                         algorithm=AlgorithmInfo.from_files(
                             args.config, args.checkpoint))
    node = DicomNode(settings, predictor, infer_options)
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    node.start()
    stopping.wait()
    node.stop()
    return 0


if __name__ == '__main__':
    sys.exit(main())
