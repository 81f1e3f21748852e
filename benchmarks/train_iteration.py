"""Training-iteration time of FAMO against the baseline, same CPU config.

Builds the main job's two detectors (``configs/demo``: ResNet-18 FPN, 320 px)
with identical initial weights, takes the same batches of phantom radiographs
through the demo's training pipeline, and times full training iterations
(forward, backward, SGD step) alternately, so both see the same machine load.
Prints the median times and their ratio.

    python tools/misc/make_phantoms.py data/phantom   # once
    python benchmarks/train_iteration.py [--iterations 20] [--batch-size 4]
"""
import argparse
import copy
import statistics
import time

import torch
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.optim import OptimWrapper
from mmengine.registry import init_default_scope

import mmdet_famo  # noqa: F401
from mmdet.registry import DATASETS, MODELS

CONFIGS = {
    'baseline': 'configs/demo/faster-rcnn_r18_fpn_1xb4-5e_phantom.py',
    'FAMO': 'configs/demo/famo_faster-rcnn_r18_fpn_1xb4-5e_phantom.py',
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--iterations', type=int, default=20)
    parser.add_argument('--batch-size', type=int, default=4)
    args = parser.parse_args()

    init_default_scope('mmdet')
    torch.manual_seed(0)
    models = {}
    for name, config in CONFIGS.items():
        cfg = Config.fromfile(config)
        models[name] = MODELS.build(cfg.model)
    state = copy.deepcopy(models['baseline'].state_dict())
    models['FAMO'].load_state_dict(state)  # same weights
    optim_wrappers = {
        name: OptimWrapper(
            torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.9))
        for name, model in models.items()
    }
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    batches = [
        pseudo_collate([
            dataset[(i * args.batch_size + j) % len(dataset)]
            for j in range(args.batch_size)
        ]) for i in range(args.iterations + 2)
    ]

    times = {name: [] for name in models}
    for index, batch in enumerate(batches):
        for name, model in models.items():
            model.train()
            start = time.perf_counter()
            # preprocessing, losses, backward and step, as the runner does
            model.train_step(batch, optim_wrappers[name])
            if index >= 2:  # the first two are warm-up
                times[name].append(time.perf_counter() - start)

    reference = statistics.median(times['baseline'])
    print(f'demo config, batch {args.batch_size}, median of '
          f'{args.iterations} iterations, {torch.get_num_threads()} threads')
    for name, samples in times.items():
        median = statistics.median(samples)
        print(f'{name:10s} {median:7.3f} s/iter  '
              f'ratio {median / reference:5.3f}')


if __name__ == '__main__':
    main()
