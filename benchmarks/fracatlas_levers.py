"""What the untried FracAtlas levers cost: training-iteration time of the
CPU-sized FracAtlas detector with a larger encoder, a wider FPN or a larger
input, as ratios to the config as trained (docs/real-radiographs.md).

Each variant is the FracAtlas baseline config
(``configs/fracatlas/faster-rcnn_effl0_fpn_1xb4-12e_fracatlas.py``) with one
change: EfficientNet-Lite1 or -Lite2 for Lite0, a 128-channel FPN for the
64-channel one, or the image scale and training crop enlarged 1.2x (544 px,
384 px crops) or 1.41x (640 px, the published anchors' input, 448 px
crops). Batches of 4 synthetic radiograph-sized crops, each with two
fracture-sized boxes, go through full training iterations (forward,
backward, AdamW step); the variants take turns on the same batches, so all
see the same machine load. Random initial weights: the time does not
depend on them.

    python benchmarks/fracatlas_levers.py [--iterations 8]

The 12-epoch experiment's iteration, both models side by side, took 1.75 s;
an experiment's training time scales with the ratio printed here.
"""
import argparse
import statistics
import time

import torch
from mmengine.config import Config
from mmengine.optim import OptimWrapper
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData

import mmdet_famo  # noqa: F401
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample

CONFIG = 'configs/fracatlas/faster-rcnn_effl0_fpn_1xb4-12e_fracatlas.py'
#: name: (encoder, FPN channels, training crop side)
VARIANTS = {
    'as trained (Lite0, FPN 64, 320 px crops)': ('lite0', 64, 320),
    'Lite1': ('lite1', 64, 320),
    'Lite2': ('lite2', 64, 320),
    'FPN 128': ('lite0', 128, 320),
    'input 1.2x (544 px, 384 px crops)': ('lite0', 64, 384),
    'input 1.41x (640 px, 448 px crops)': ('lite0', 64, 448),
}


def build(encoder: str, channels: int) -> torch.nn.Module:
    cfg = Config.fromfile(CONFIG)
    model = cfg.model
    model.backbone.arch = encoder
    model.backbone.init_cfg = None
    # the FPN's inputs: the encoder's channels at its output stages
    model.neck.in_channels = MODELS.build(model.backbone).out_channels
    model.neck.out_channels = channels
    model.rpn_head.in_channels = model.rpn_head.feat_channels = channels
    model.roi_head.bbox_roi_extractor.out_channels = channels
    model.roi_head.bbox_head.in_channels = channels
    model.data_preprocessor.batch_augments = None
    return MODELS.build(model)


def batch(crop: int, size: int, seed: int):
    """``size`` crops of ``crop`` px, each with two boxes of 20-60 px."""
    generator = torch.Generator().manual_seed(seed)
    inputs = torch.randint(0, 256, (size, 3, crop, crop), generator=generator)
    samples = []
    for _ in range(size):
        corner = torch.rand(2, 2, generator=generator) * (crop - 60)
        extent = 20 + torch.rand(2, 2, generator=generator) * 40
        sample = DetDataSample(metainfo=dict(
            img_shape=(crop, crop), pad_shape=(crop, crop),
            batch_input_shape=(crop, crop)))
        sample.gt_instances = InstanceData(
            bboxes=torch.cat([corner, corner + extent], 1),
            labels=torch.zeros(2, dtype=torch.long))
        samples.append(sample)
    return inputs.float(), samples


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--iterations', type=int, default=8)
    parser.add_argument('--batch-size', type=int, default=4)
    args = parser.parse_args()

    init_default_scope('mmdet')
    torch.manual_seed(0)
    models = {
        name: build(encoder, channels)
        for name, (encoder, channels, _) in VARIANTS.items()
    }
    optim_wrappers = {
        name: OptimWrapper(torch.optim.AdamW(model.parameters(), lr=1e-4))
        for name, model in models.items()
    }
    times = {name: [] for name in models}
    for index in range(args.iterations + 2):
        for name, model in models.items():
            inputs, samples = batch(VARIANTS[name][2], args.batch_size, index)
            model.train()
            start = time.perf_counter()
            # preprocessing, losses, backward and step, as the runner does
            model.train_step(dict(inputs=list(inputs), data_samples=samples),
                             optim_wrappers[name])
            if index >= 2:  # the first two are warm-up
                times[name].append(time.perf_counter() - start)

    reference = statistics.median(next(iter(times.values())))
    print(f'FracAtlas CPU config, batch {args.batch_size}, median of '
          f'{args.iterations} iterations, {torch.get_num_threads()} threads')
    for name, samples in times.items():
        median = statistics.median(samples)
        print(f'{name:42s} {median:6.2f} s/iter  '
              f'ratio {median / reference:4.2f}')


if __name__ == '__main__':
    main()
