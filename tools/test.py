"""Test a detector: MMDetection's tools/test.py with the plugin imported.

The flags are MMDetection's (``--out``, ``--show``, ``--show-dir``,
``--wait-time``, ``--tta``, ``--cfg-options``, ``--launcher``) plus two for
the :class:`FractureCaseMetric` of ``test_evaluator`` (a dict or a list):
``--out-dir``, where it writes the per-image and per-case score tables that
``tools/analysis/compare.py`` reads and its ROC curves, and
``--threshold-file``, the operating threshold chosen on validation.

Differences from MMDetection's, each because of radiographs: painted images
(``--show-dir``) are drawn by :class:`RadiographVisualizationHook`, which
reads DICOM; the default ``--tta`` pipeline keeps the config's own
``PackDetInputs`` (its case metadata) and puts the unflipped view first,
because ``DetTTAModel`` keeps the first view's data sample, whose ground
truth the metric reads.
"""
import argparse
import os
import os.path as osp
import sys
import warnings
from copy import deepcopy
from typing import List

from mmengine.config import Config, ConfigDict, DictAction
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from mmdet.engine.hooks.utils import trigger_visualization_hook
from mmdet.evaluation import DumpDetResults

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from mmdet_famo.quick_exit import skip_collection_at_exit  # noqa: E402
from mmdet_famo.utils import (configure_cpu_distributed,  # noqa: E402
                              plain_config_text)

#: MMDetection's default ``tta_model`` (its tools/test.py).
DEFAULT_TTA_MODEL = dict(
    type='DetTTAModel',
    tta_cfg=dict(nms=dict(type='nms', iou_threshold=0.5), max_per_img=100))


def parse_args():
    parser = argparse.ArgumentParser(description='Test a fracture detector')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save logs')
    parser.add_argument(
        '--out',
        help='dump predictions to a pickle file for offline evaluation')
    parser.add_argument(
        '--out-dir',
        help='where the metric writes its score tables and ROC curves')
    parser.add_argument(
        '--threshold-file',
        help='operating threshold chosen on the validation set '
        '(operating_threshold.json of a validation run)')
    parser.add_argument(
        '--show', action='store_true', help='show prediction results')
    parser.add_argument(
        '--show-dir',
        help='paint predictions into PNGs in work_dir/TIMESTAMP/SHOW_DIR')
    parser.add_argument(
        '--wait-time', type=float, default=2, help='the interval of show (s)')
    parser.add_argument(
        '--tta',
        action='store_true',
        help='test-time augmentation: the config\'s tta_model and '
        'tta_pipeline, or a horizontal flip')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, key=value pairs '
        '(test_evaluator.0.key=value for a list of evaluators)')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if args.out is not None and not args.out.endswith(('.pkl', '.pickle')):
        parser.error(f'--out {args.out}: the dump file must be a .pkl or '
                     '.pickle file')
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def fracture_metrics(cfg: Config, config_file: str) -> List[ConfigDict]:
    """The ``FractureCaseMetric`` entries of ``cfg.test_evaluator``, a dict
    or a list; an error naming ``config_file`` if there is none."""
    evaluator = cfg.test_evaluator
    metrics = evaluator if isinstance(evaluator, list) else [evaluator]
    found = [
        metric for metric in metrics
        if str(metric.get('type')).split('.')[-1] == 'FractureCaseMetric'
    ]
    if not found:
        raise ValueError(f'{config_file}: test_evaluator has no '
                         'FractureCaseMetric for --out-dir or '
                         '--threshold-file')
    return found


def flip_tta_pipeline(test_pipeline: list) -> list:
    """MMDetection's default flip TTA pipeline for ``test_pipeline``: its
    last step (``PackDetInputs``, meta keys kept) inside ``TestTimeAug``
    after an unflipped and a flipped view, the unflipped first."""
    pack = deepcopy(test_pipeline[-1])
    meta_keys = tuple(pack.get('meta_keys', ()))
    pack['meta_keys'] = meta_keys + tuple(
        key for key in ('flip', 'flip_direction') if key not in meta_keys)
    return deepcopy(test_pipeline[:-1]) + [
        dict(
            type='TestTimeAug',
            transforms=[[
                dict(type='RandomFlip', prob=0.),
                dict(type='RandomFlip', prob=1.)
            ], [pack]])
    ]


def use_tta(cfg: Config) -> None:
    """Wrap ``cfg.model`` for test-time augmentation, as MMDetection's
    tools/test.py does, with :func:`flip_tta_pipeline` by default."""
    if 'tta_model' not in cfg:
        warnings.warn('No tta_model in the config: using DetTTAModel '
                      '(NMS at IoU 0.5, 100 boxes per image)')
        cfg.tta_model = DEFAULT_TTA_MODEL
    if 'tta_pipeline' not in cfg:
        warnings.warn('No tta_pipeline in the config: using the test '
                      'pipeline with a horizontal flip')
        test_data_cfg = cfg.test_dataloader.dataset
        while 'dataset' in test_data_cfg:
            test_data_cfg = test_data_cfg['dataset']
        cfg.tta_pipeline = flip_tta_pipeline(test_data_cfg.pipeline)
    cfg.model = ConfigDict(**cfg.tta_model, module=cfg.model)
    cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline


def main():
    args = parse_args()
    cfg = plain_config_text(Config.fromfile(args.config))
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or osp.join(
        './work_dirs', osp.splitext(osp.basename(args.config))[0])
    cfg.load_from = args.checkpoint
    if args.out_dir or args.threshold_file:
        for metric in fracture_metrics(cfg, args.config):
            if args.out_dir:
                metric.output_dir = args.out_dir
            if args.threshold_file:
                metric.threshold_file = args.threshold_file
    if args.show or args.show_dir:
        cfg = trigger_visualization_hook(cfg, args)
        hook = cfg.default_hooks.visualization
        if str(hook.get('type')).split('.')[-1] == 'DetVisualizationHook':
            hook.type = 'RadiographVisualizationHook'  # reads DICOM
    if args.tta:
        use_tta(cfg)

    configure_cpu_distributed(cfg, args.launcher)
    runner = (Runner.from_cfg(cfg)
              if 'runner_type' not in cfg else RUNNERS.build(cfg))
    if args.out is not None:
        runner.test_evaluator.metrics.append(
            DumpDetResults(out_file_path=args.out))
    runner.test()


if __name__ == '__main__':
    skip_collection_at_exit()
    main()
