"""A DICOM node on the hospital network: receive radiographs, detect
fractures study by study, send the results back.

    python tools/dicom_node.py CONFIG CHECKPOINT --spool /var/spool/famo \\
        --threshold-file work_dirs/val/operating_threshold.json \\
        --port 11112 --ae-title FAMO --allow-caller CR1@10.0.0.7 \\
        --destination PACS@pacs.hospital.local:104

or, with the model exported by ``tools/deployment/export_onnx.py``, in
ONNX Runtime without torch, MMCV or MMDetection (docs/deployment.md)::

    python tools/dicom_node.py MODEL.onnx --spool /var/spool/famo ...

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
from dataclasses import replace
from typing import List, Optional

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from mmdet_famo.apis.cli import (  # noqa: E402
    add_model_arguments, build_predictor, check_model_arguments, model_backend)
from mmdet_famo.apis.inference import algorithm_of  # noqa: E402
from mmdet_famo.node import (  # noqa: E402
    DicomDestination, DicomNode, FolderDestination, FreeSpaceFloor,
    NodeSettings, StowRsDestination, TlsSettings)
from mmdet_famo.node.node import is_loopback  # noqa: E402
from mmdet_famo.quick_exit import skip_collection_at_exit  # noqa: E402


def parse_destination(value: str) -> DicomDestination:
    """``AE@HOST:PORT`` -> a :class:`DicomDestination`."""
    try:
        ae_title, address = value.split('@', 1)
        host, port = address.rsplit(':', 1)
        return DicomDestination(ae_title, host, int(port))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f'expected AE@HOST:PORT, e.g. PACS@10.0.0.5:104, got {value!r}')


def parse_floor(value: str) -> FreeSpaceFloor:
    """``5G`` or ``10%`` -> a :class:`FreeSpaceFloor`."""
    try:
        return FreeSpaceFloor.parse(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error))


def parse_args(argv: Optional[List[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='A DICOM node that detects fractures on the CR and DX '
        'radiographs it receives and sends its findings back')
    add_model_arguments(parser, model_backend(argv))
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
                        help="the node's AE title, called when receiving "
                        'and calling when sending (default FAMO)')
    parser.add_argument('--bind',
                        default='0.0.0.0',
                        help='address to listen on (default all; any but a '
                        'loopback address needs --allow-caller or '
                        '--allow-any-caller)')
    parser.add_argument(
        '--allow-caller',
        action='append',
        metavar='AE[@HOST]',
        help='a calling AE title allowed to send, optionally only from '
        'HOST; repeat for each modality or PACS (others are rejected)')
    parser.add_argument(
        '--allow-any-caller',
        action='store_true',
        help='without --allow-caller, accept associations from any AE on '
        'any host (needed to listen on a non-loopback address)')
    tls = parser.add_argument_group(
        'DICOM TLS', 'receive (and with --destination-tls, send) over TLS '
        '1.2 or later')
    tls.add_argument('--tls-cert',
                     help="the node's certificate (PEM, with its chain)")
    tls.add_argument('--tls-key', help='its private key (PEM, unencrypted)')
    tls.add_argument('--tls-ca',
                     help="CA certificates (PEM) trusted to sign the callers' "
                     "certificates (mutual TLS) and the destination's")
    tls.add_argument('--tls-require-client-cert',
                     action='store_true',
                     help='accept only callers with a certificate signed '
                     'by --tls-ca (mutual TLS)')
    tls.add_argument('--destination-tls',
                     action='store_true',
                     help='send to --destination over TLS too, verifying '
                     'its certificate against --tls-ca and offering '
                     "the node's")
    parser.add_argument(
        '--min-free-space',
        type=parse_floor,
        default=FreeSpaceFloor(size=5 * 2**30),
        metavar='SIZE|PERCENT',
        help='refuse images (status 0xA700) and start no study while the '
        "spool's disk has less free space, e.g. 5G or 10%% (default 5G; 0: "
        'none)')
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument('--destination',
                        type=parse_destination,
                        help='where results go by C-STORE: AE@HOST:PORT')
    target.add_argument(
        '--stow-url',
        help='where results go by DICOMweb STOW-RS: the service URL, e.g. '
        'https://pacs.hospital.local/dicom-web (needs dicomweb-client)')
    target.add_argument('--out-dir',
                        help='where results go as files, one folder per '
                        'study')
    parser.add_argument('--stow-user',
                        help='HTTP Basic user for --stow-url')
    parser.add_argument(
        '--stow-password-file',
        help="a file holding --stow-user's password (not on the command "
        'line, where other users see it)')
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
        default=60.,
        help='process a study once no image of it has come for this long '
        '(default 60, as Orthanc\'s StableAge)')
    parser.add_argument('--retry-max-seconds',
                        type=float,
                        default=60.,
                        help='longest wait between sending attempts while '
                        'the destination is down (default 60)')
    parser.add_argument(
        '--retention-hours',
        type=float,
        default=24.,
        help='delete a study (images, results, state) this long after all '
        'its results were delivered; 0: at once, inf: never (default 24)')
    parser.add_argument(
        '--metrics-port',
        type=int,
        help='serve Prometheus metrics (/metrics) and a health check '
        '(/health) on this port of --bind (needs prometheus_client)')
    parser.add_argument('--log-level',
                        default='INFO',
                        choices=('DEBUG', 'INFO', 'WARNING', 'ERROR'))
    args = parser.parse_args(argv)
    check_model_arguments(parser, args)
    if args.idle_seconds < 0:
        parser.error('--idle-seconds must be >= 0')
    if not args.retention_hours >= 0:
        parser.error('--retention-hours must be >= 0 (or inf)')
    if args.allow_caller and args.allow_any_caller:
        parser.error('--allow-caller and --allow-any-caller exclude each '
                     'other')
    args.tls = None
    if args.tls_cert or args.tls_key:
        try:
            args.tls = TlsSettings(args.tls_cert or '', args.tls_key or '',
                                   args.tls_ca, args.tls_require_client_cert)
        except ValueError as error:
            parser.error(str(error))
    elif args.tls_ca or args.tls_require_client_cert or args.destination_tls:
        parser.error('TLS needs --tls-cert and --tls-key')
    if (args.stow_user or args.stow_password_file) and not args.stow_url:
        parser.error('--stow-user and --stow-password-file need --stow-url')
    if args.stow_url:
        password = None
        if args.stow_password_file:
            try:
                with open(args.stow_password_file) as file:
                    password = file.read().strip()
            except OSError as error:
                parser.error(f'--stow-password-file '
                             f'{args.stow_password_file}: {error.strerror}')
        args.destination = StowRsDestination(args.stow_url, args.stow_user,
                                             password)
    if args.destination_tls:
        if not args.destination:
            parser.error('--destination-tls needs --destination')
        args.destination = replace(args.destination, tls=args.tls)
    if not (args.watch or args.allow_caller or args.allow_any_caller
            or is_loopback(args.bind)):
        parser.error(f'listening on {args.bind} lets any machine that '
                     'reaches it send images: give --allow-caller AE[@HOST] '
                     '(or --allow-any-caller, or --bind 127.0.0.1)')
    return args


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=args.log_level,
        format='%(asctime)s %(levelname)s %(name)s: %(message)s')
    try:
        predictor = build_predictor(args, args.allow_modality)
    except ValueError as error:  # e.g. an ONNX file that is not an export
        print(f'error: {error}', file=sys.stderr)
        return 2
    settings = NodeSettings(spool=args.spool,
                            destination=args.destination
                            or FolderDestination(args.out_dir),
                            ae_title=args.ae_title,
                            host=args.bind,
                            port=args.port,
                            watch=args.watch,
                            idle_seconds=args.idle_seconds,
                            max_delay=args.retry_max_seconds,
                            allowed_callers=args.allow_caller,
                            allow_any_caller=args.allow_any_caller,
                            min_free_space=args.min_free_space,
                            tls=args.tls,
                            retention_seconds=3600 * args.retention_hours,
                            metrics_port=args.metrics_port)
    infer_options = dict(points=args.points,
                         batch_size=args.batch_size,
                         structured_report=True,
                         presentation_state=True,
                         secondary_capture=args.secondary_capture,
                         algorithm=algorithm_of(predictor))
    try:  # an allowed caller's host that does not resolve, no metrics
        node = DicomNode(settings, predictor, infer_options)
    except (ValueError, ImportError) as error:
        print(f'dicom_node.py: error: {error}', file=sys.stderr)
        return 2
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    node.start()
    stopping.wait()
    node.stop()
    return 0


if __name__ == '__main__':
    skip_collection_at_exit()
    sys.exit(main())
