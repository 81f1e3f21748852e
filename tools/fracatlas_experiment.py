"""FAMO against the baseline on real radiographs (FracAtlas), one command.

Converts a FracAtlas folder (``tools/dataset_converters/fracatlas_to_coco.py``,
the stratified split), draws the training set (every fractured training
image and ``--fracture-free`` fracture-free ones), trains the CPU-sized
baseline and FAMO detectors side by side
(``configs/fracatlas/*effl1*``: ImageNet-pretrained EfficientNet-Lite1 +
FPN; ``*effl0*`` with ``--encoder lite0``), validates them, picks each
model's operating points on the validation split, tests both on the test
split and compares them (``tools/analysis/compare.py``). Last, each model
is tested on its own fractured training images too (``train_fractured``):
an AP50 there barely above the test split's says the model has not fitted
its training set (a schedule or capacity limit), a much higher one that it
has (a data limit).

    python tools/fracatlas_experiment.py PATH/TO/FracAtlas \\
        [--work-dir work_dirs/fracatlas] [--encoder lite0|lite1] \\
        [--epochs N] [--seed S]

FracAtlas (Abedeen et al., 2023; CC BY 4.0) is read where it lies and never
written to: annotations go to ``WORK_DIR/annotations``. Each step's log is
kept in the work folder; an interrupted experiment goes on where it stopped
(a training resumes from its last checkpoint); ``--restart`` starts over.
The work folder records the experiment's settings (``experiment.json``)
and refuses to go on with others.
"""
import argparse
import glob
import json
import os
import os.path as osp
import shutil
import sys
import time
import warnings

warnings.filterwarnings('ignore', 'pkg_resources is deprecated')

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)
from mmdet_famo.utils.steps import (Step, run_comparison,  # noqa: E402
                                    run_steps)
from mmdet_famo.quick_exit import skip_collection_at_exit  # noqa: E402

#: Per encoder, the configs of the two models compared.
MODELS = {
    encoder: {
        'famo': f'configs/fracatlas/famo_faster-rcnn_eff{short}_fpn_'
        '1xb4-12e_fracatlas.py',
        'baseline': f'configs/fracatlas/faster-rcnn_eff{short}_fpn_'
        '1xb4-12e_fracatlas.py',
    }
    for encoder, short in (('lite0', 'l0'), ('lite1', 'l1'))
}
TRAINING_SET = 'train_enriched.json'
#: The fractured images of the training set: the fit check's test set.
FRACTURED_TRAINING_SET = 'train_fractured.json'
NOTE = ('Real radiographs from FracAtlas (Abedeen et al., Sci Data 2023, '
        'CC BY 4.0), the converter\'s stratified test split; CPU-sized '
        'models (EfficientNet-{} + FPN), not the paper\'s ResNeXt-101.')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('fracatlas', help='FracAtlas folder (holds '
                        'dataset.csv, images/ and Annotations/)')
    parser.add_argument('--work-dir', default='work_dirs/fracatlas')
    parser.add_argument(
        '--encoder',
        choices=sorted(MODELS),
        default='lite1',
        help='ImageNet-pretrained encoder of both models (default lite1: '
        'higher AP50 and AUC than lite0 on FracAtlas, '
        'docs/real-radiographs.md)')
    parser.add_argument(
        '--epochs', type=int, help='training epochs (default: the configs\')')
    parser.add_argument(
        '--fracture-free',
        type=int,
        default=500,
        help='fracture-free training images drawn beside every fractured '
        'one (default 500: about 1,000 training images, the paper\'s scale '
        'per body part)')
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the training draw and of training')
    parser.add_argument(
        '--restart', action='store_true', help='delete earlier results first')
    return parser.parse_args(argv)


def write_training_set(annotations: str, fracture_free: int,
                       seed: int) -> None:
    """``train_enriched.json``: the training split's fractured images and
    ``fracture_free`` of its fracture-free ones; ``train_fractured.json``:
    its fractured images alone."""
    from mmdet_famo.atomic_files import write_atomically
    from mmdet_famo.datasets.splits import fracture_enriched_subset
    with open(osp.join(annotations, 'train.json')) as file:
        coco = json.load(file)
    for name, number in ((TRAINING_SET, fracture_free),
                         (FRACTURED_TRAINING_SET, 0)):
        subset = fracture_enriched_subset(coco, number, seed)
        write_atomically(
            osp.join(annotations, name), json.dumps(subset).encode())


def check_settings(work_dir: str, settings: dict, models: dict) -> None:
    """Record the settings in a new work folder; in one that has them,
    stop unless they are the same (a resumed run must not mix models
    trained with another encoder, seed or training set). A model folder
    that holds another config (``tools/train.py`` dumps the one it
    trains; a folder from before the settings were recorded has no
    ``experiment.json``) stops it too."""
    from mmdet_famo.atomic_files import write_atomically
    for model, config in models.items():
        dumped = sorted(
            osp.basename(file)
            for file in glob.glob(osp.join(work_dir, model, '*.py')))
        if dumped and osp.basename(config) not in dumped:
            sys.exit(f'error: {osp.join(work_dir, model)} holds a training '
                     f'of {", ".join(dumped)}, not {osp.basename(config)}: '
                     'give another --work-dir, or --restart to delete it')
    path = osp.join(work_dir, 'experiment.json')
    if osp.isfile(path):
        with open(path) as file:
            recorded = json.load(file)
        if recorded != settings:
            sys.exit(f'error: {work_dir} holds an experiment with the '
                     f'settings {recorded}, not {settings}: give another '
                     '--work-dir, or --restart to delete it')
    else:
        write_atomically(path, json.dumps(settings).encode())


def data_options(fracatlas: str, annotations: str) -> list:
    """``--cfg-options`` that point a config's three loaders at the
    FracAtlas images and the converted annotations."""
    options = []
    for loader, file in (('train', TRAINING_SET), ('val', 'val.json'),
                         ('test', 'test.json')):
        options += [
            f'{loader}_dataloader.dataset.data_root={fracatlas}',
            f'{loader}_dataloader.dataset.ann_file='
            f'{osp.join(annotations, file)}',
        ]
    return options


def print_fit_check(work_dir: str) -> None:
    """Each model's AP50 on its fractured training images beside its
    AP50 on the fractured test images (the comparison report's)."""
    from mmdet_famo.analysis import compare_runs
    comparison = compare_runs(
        [osp.join(work_dir, model, 'test') for model in ('famo', 'baseline')],
        ('famo', 'baseline'))
    fractured = comparison.fractured_images.rows['fracture']
    test_ap50 = next(row for row in fractured if row.key == 'box_AP50')
    print('Fit check, per-fracture AP50 on fractured images:')
    for model, estimate in zip(('famo', 'baseline'), test_ap50.estimates):
        with open(osp.join(work_dir, model, 'train_fractured',
                           'metrics.json')) as file:
            train = json.load(file)['box_AP50']
        print(f'  {model}: training {train:.3f}, test {estimate.value:.3f}')


def main(argv=None):
    args = parse_args(argv)
    fracatlas = osp.abspath(args.fracatlas)
    if not osp.isfile(osp.join(fracatlas, 'dataset.csv')):
        sys.exit(f'error: {fracatlas} is not a FracAtlas folder (no '
                 'dataset.csv)')
    work_dir = osp.abspath(args.work_dir)
    if args.restart:
        shutil.rmtree(work_dir, ignore_errors=True)
    os.makedirs(work_dir, exist_ok=True)
    check_settings(
        work_dir,
        dict(encoder=args.encoder, epochs=args.epochs,
             fracture_free=args.fracture_free, seed=args.seed),
        MODELS[args.encoder])
    python = sys.executable
    start = time.time()

    annotations = osp.join(work_dir, 'annotations')
    if not osp.isfile(osp.join(annotations, 'test.json')):
        run_steps(Step('convert FracAtlas', [
            python, 'tools/dataset_converters/fracatlas_to_coco.py',
            fracatlas, '--out-dir', annotations
        ], osp.join(work_dir, 'convert.log')))
    write_training_set(annotations, args.fracture_free, args.seed)

    from mmengine.config import Config
    train_steps, test_steps = [], []
    for model, config in MODELS[args.encoder].items():
        model_dir = osp.join(work_dir, model)
        epochs = args.epochs or Config.fromfile(
            osp.join(ROOT, config)).train_cfg.max_epochs
        checkpoint = osp.join(model_dir, f'epoch_{epochs}.pth')
        val_dir = osp.join(model_dir, 'val')
        options = data_options(fracatlas, annotations)
        if not osp.isfile(checkpoint):
            resume = (['--resume'] if osp.isfile(
                osp.join(model_dir, 'last_checkpoint')) else [])
            train_steps.append(Step(f'train {model}', [
                python, 'tools/train.py', config, '--work-dir', model_dir,
                *resume, '--cfg-options', *options,
                f'train_cfg.max_epochs={epochs}',
                f'param_scheduler.1.end={epochs}',
                f'val_evaluator.output_dir={val_dir}',
                f'randomness.seed={args.seed}'
            ], osp.join(work_dir, f'train_{model}.log'), epochs))
        for name, test_options in (('test', []), ('train_fractured', [
                'test_dataloader.dataset.ann_file='
                f'{osp.join(annotations, FRACTURED_TRAINING_SET)}'
        ])):
            test_steps.append(Step(f'{name} {model}', [
                python, 'tools/test.py', config, checkpoint, '--work-dir',
                model_dir, '--out-dir', osp.join(model_dir, name),
                '--threshold-file',
                osp.join(val_dir, 'operating_threshold.json'),
                '--cfg-options', *options, *test_options
            ], osp.join(work_dir, f'{name}_{model}.log')))
    if train_steps:
        run_steps(*train_steps)
    run_steps(*test_steps)

    report = run_comparison(
        work_dir, NOTE.format(args.encoder.replace('lite', 'Lite')))
    print_fit_check(work_dir)
    print(f'Experiment finished in {(time.time() - start) / 60:.1f} min. '
          f'Report: {report}')


if __name__ == '__main__':
    skip_collection_at_exit()
    main()
