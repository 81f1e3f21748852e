"""Test a detector: MMDetection's tools/test.py with the plugin imported.

``--out-dir`` sets the FractureCaseMetric's output directory, where it writes
the per-image and per-case score tables that ``tools/analysis/compare.py``
reads, and its ROC curves.
"""
import argparse
import os
import os.path as osp
import sys

from mmengine.config import Config, DictAction
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from mmdet_famo.utils import configure_cpu_distributed  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description='Test a fracture detector')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save logs')
    parser.add_argument(
        '--out-dir',
        help='where the metric writes its score tables and ROC curves')
    parser.add_argument(
        '--threshold-file',
        help='operating threshold chosen on the validation set '
        '(operating_threshold.json of a validation run)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, key=value pairs')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def main():
    args = parse_args()
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or osp.join(
        './work_dirs', osp.splitext(osp.basename(args.config))[0])
    cfg.load_from = args.checkpoint
    if args.out_dir:
        cfg.test_evaluator.output_dir = args.out_dir
    if args.threshold_file:
        cfg.test_evaluator.threshold_file = args.threshold_file

    configure_cpu_distributed(cfg, args.launcher)
    runner = (Runner.from_cfg(cfg)
              if 'runner_type' not in cfg else RUNNERS.build(cfg))
    runner.test()


if __name__ == '__main__':
    main()
