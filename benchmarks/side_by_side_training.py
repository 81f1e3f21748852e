"""The demo's two trainings side by side against one after the other.

``tools/demo.py`` trains the baseline and FAMO at once, the cores shared
out (one OpenMP thread each on 2 cores), because much of a CPU detector's
iteration is single-threaded (mmcv's RoI-Align and NMS) and leaves a core
idle. This benchmark times both ways on the same machine, in the same run:
the two demo configs (``configs/demo``) trained for the same iterations on
the demo's training phantoms, first one after the other with every core
each, then side by side through the demo's own ``run_steps``. Each time is
wall-clock, from the processes' start to their end (start-up included, as
in the demo). Prints both and their ratio.

    python tools/misc/make_phantoms.py data/phantom_train ...   # or make demo
    python benchmarks/side_by_side_training.py [--iterations 60]
"""
import argparse
import os.path as osp
import sys
import tempfile
import time

from mmengine.config import Config

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, osp.join(ROOT, 'tools'))
import demo  # noqa: E402


def training_steps(iterations: int, work_dir: str) -> list:
    """One demo step per model, training ``iterations`` batches, no
    validation."""
    steps = []
    for model, config in demo.MODELS.items():
        batch_size = Config.fromfile(
            osp.join(ROOT, config)).train_dataloader.batch_size
        steps.append(demo.Step(model, [
            sys.executable, 'tools/train.py', config, '--work-dir',
            osp.join(work_dir, model), '--cfg-options',
            'train_cfg.max_epochs=1', 'train_cfg.val_begin=2',
            f'train_dataloader.dataset.indices={iterations * batch_size}'
        ], osp.join(work_dir, f'{model}.log')))
    return steps


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--iterations', type=int, default=60)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work_dir:
        steps = training_steps(args.iterations, work_dir)
        start = time.time()
        for step in steps:
            demo.run_steps(step)
        one_after_the_other = time.time() - start
        start = time.time()
        demo.run_steps(*steps)
        side_by_side = time.time() - start
    print(f'\n{args.iterations} iterations of each demo model: one after the '
          f'other {one_after_the_other:.0f} s, side by side '
          f'{side_by_side:.0f} s: {side_by_side / one_after_the_other:.2f}x')


if __name__ == '__main__':
    main()
