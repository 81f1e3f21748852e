"""Command-line arguments shared by the tools that run a trained detector
(``tools/infer.py``, ``tools/dicom_node.py``): the model, where it runs and
its two operating points, parsed and checked one way for both."""
import argparse
import os.path as osp

import torch
from mmengine.config import DictAction

from ..evaluation.operating_points import (OperatingPoints,
                                           given_operating_points,
                                           load_operating_points)


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``config`` and ``checkpoint`` (positional), ``--threshold-file``
    or ``--threshold`` (with ``--suspected-threshold``), ``--device``,
    ``--batch-size`` and ``--cfg-options`` to ``parser``."""
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
    parser.add_argument(
        '--device',
        default='cuda:0' if torch.cuda.is_available() else 'cpu',
        help="'cpu' or 'cuda:N'; defaults to the first GPU if there is one")
    parser.add_argument('--batch-size',
                        type=int,
                        default=1,
                        help='images per forward pass')
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
    for name in ('config', 'checkpoint'):
        if not osp.isfile(getattr(args, name)):
            parser.error(f'{name} {getattr(args, name)} is not a file')
    if args.batch_size < 1:
        parser.error('--batch-size must be at least 1')
    args.points = _operating_points(parser, args)


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
