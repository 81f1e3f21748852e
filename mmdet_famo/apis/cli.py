"""Command-line arguments shared by the tools that run a trained detector
(``tools/infer.py``, ``tools/dicom_node.py``): the model, the backend it
runs on, where, and its two operating points, parsed and checked one way
for both.

Two backends (docs/deployment.md): ``pytorch``, the MMDetection model
(``CONFIG CHECKPOINT``), and ``onnxruntime``, its ONNX export (``MODEL.onnx``,
chosen by ``--backend onnxruntime`` or by a ``.onnx`` argument), which runs
without torch, MMCV or MMDetection installed.
"""
import argparse
import os.path as osp
from typing import Optional, Sequence

from mmengine.config import DictAction

from ..evaluation.operating_points import (OperatingPoints,
                                           given_operating_points,
                                           load_operating_points)
from .predictor import (BACKENDS, BasePredictor, OnnxRadiographPredictor,
                        RadiographPredictor)


def model_backend(argv: Optional[Sequence[str]]) -> str:
    """The backend ``argv`` asks for: its ``--backend``, else
    ``'onnxruntime'`` if an argument names a ``.onnx`` file, else
    ``'pytorch'``. ``argv`` None means ``sys.argv[1:]``."""
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument('--backend', choices=BACKENDS)
    known, rest = pre.parse_known_args(argv)
    if known.backend is not None:
        return known.backend
    onnx = any(arg.lower().endswith('.onnx') for arg in rest
               if not arg.startswith('-'))
    return 'onnxruntime' if onnx else 'pytorch'


def _default_device() -> str:
    import torch
    return 'cuda:0' if torch.cuda.is_available() else 'cpu'


def add_model_arguments(parser: argparse.ArgumentParser,
                        backend: str = 'pytorch') -> None:
    """Add the model and its options to ``parser``: ``--backend``; for
    ``'pytorch'``, ``config`` and ``checkpoint`` (positional),
    ``--device`` and ``--cfg-options``; for ``'onnxruntime'``, ``model``
    (positional) and ``--threads``; and for both ``--threshold-file`` or
    ``--threshold`` (with ``--suspected-threshold``) and ``--batch-size``.
    Pass :func:`model_backend` of the command line as ``backend``."""
    if backend not in BACKENDS:
        raise ValueError(f'backend must be one of {BACKENDS}, got '
                         f'{backend!r}')
    parser.add_argument(
        '--backend',
        choices=BACKENDS,
        default=backend,
        help="'pytorch' (CONFIG CHECKPOINT) or 'onnxruntime' (MODEL.onnx, "
        'exported by tools/deployment/export_onnx.py; needs neither torch '
        'nor MMCV); a .onnx argument chooses onnxruntime')
    if backend == 'onnxruntime':
        parser.add_argument(
            'model',
            help='ONNX model exported by tools/deployment/export_onnx.py')
        parser.add_argument(
            '--threads',
            type=int,
            help="ONNX Runtime's threads (default: one per core)")
    else:
        parser.add_argument('config', help='model config file')
        parser.add_argument('checkpoint', help='checkpoint file')
    threshold = parser.add_mutually_exclusive_group(required=True)
    threshold.add_argument(
        '--threshold-file',
        help='operating_threshold.json written by FractureCaseMetric on the '
        'validation set (or its folder, or best_operating_threshold.json '
        'beside the best checkpoint): both operating points')
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
    parser.add_argument('--batch-size',
                        type=int,
                        default=1,
                        help='images per forward pass')
    if backend == 'pytorch':
        parser.add_argument(
            '--device',
            default=_default_device(),
            help="'cpu' or 'cuda:N'; defaults to the first GPU if there is "
            'one')
        parser.add_argument(
            '--cfg-options',
            nargs='+',
            action=DictAction,
            help='override settings of the config, key=value pairs')


def check_model_arguments(parser: argparse.ArgumentParser,
                          args: argparse.Namespace) -> None:
    """Check what :func:`add_model_arguments` added (a usage error,
    exit status 2, otherwise) and set ``args.points``, the
    :class:`OperatingPoints` they name."""
    names = ('model', ) if args.backend == 'onnxruntime' \
        else ('config', 'checkpoint')
    for name in names:
        if not osp.isfile(getattr(args, name)):
            parser.error(f'{name} {getattr(args, name)} is not a file')
    if args.backend == 'onnxruntime' and args.threads is not None and \
            args.threads < 1:
        parser.error('--threads must be at least 1')
    if args.batch_size < 1:
        parser.error('--batch-size must be at least 1')
    args.points = _operating_points(parser, args)


def build_predictor(args: argparse.Namespace,
                    allowed_modalities: Sequence[str] = ()) -> BasePredictor:
    """The predictor of the checked arguments: the PyTorch model or the
    exported one."""
    if args.backend == 'onnxruntime':
        return OnnxRadiographPredictor(args.model,
                                       num_threads=args.threads,
                                       allowed_modalities=allowed_modalities)
    return RadiographPredictor(args.config,
                               args.checkpoint,
                               device=args.device,
                               cfg_options=args.cfg_options,
                               allowed_modalities=allowed_modalities)


def model_files(args: argparse.Namespace) -> dict:
    """The model's files as given, for the report: ``config`` and
    ``checkpoint``, or ``onnx``."""
    if args.backend == 'onnxruntime':
        return dict(onnx=args.model)
    return dict(config=args.config, checkpoint=args.checkpoint)


def _operating_points(parser: argparse.ArgumentParser,
                      args: argparse.Namespace) -> OperatingPoints:
    if args.threshold_file is not None:
        if args.suspected_threshold is not None:
            parser.error('--suspected-threshold goes with --threshold; the '
                         'threshold file holds both points')
        try:
            return load_operating_points(args.threshold_file)
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
