"""FAMOBBoxRoIExtractor against SingleRoIExtractor: forward + backward time.

512 RoIs of random position, size and aspect ratio (1:8 .. 8:1) on a 4-level
FPN of an 800 x 800 input with 256 channels, RoI-Align 7x7 with
``sampling_ratio=0`` as in the stock Faster R-CNN config (``--sampling-ratio``
fixes it instead). The extractors run alternately in the same process, and
the ratio of the medians to SingleRoIExtractor's is printed.

    python benchmarks/famo_roi_extractor.py [--repeats 30] [--device cpu]
"""
import argparse
import statistics
import time

import torch

from mmdet.models.roi_heads.roi_extractors import SingleRoIExtractor
from mmdet_famo.models.roi_extractors import FAMOBBoxRoIExtractor

STRIDES = [4, 8, 16, 32]


def random_rois(num, image_size, generator):
    centres = torch.rand(num, 2, generator=generator) * image_size
    long_side = 16 + torch.rand(num, generator=generator) * 300
    aspect = 2**(torch.rand(num, generator=generator) * 6 - 3)  # 1:8..8:1
    w = long_side * aspect.clamp(max=1)
    h = long_side / aspect.clamp(min=1)
    boxes = torch.stack([centres[:, 0] - w / 2, centres[:, 1] - h / 2,
                         centres[:, 0] + w / 2, centres[:, 1] + h / 2], 1)
    return torch.cat([torch.zeros(num, 1), boxes.clamp(0, image_size)], 1)


def time_step(extractor, feats, rois, device):
    for feat in feats:
        feat.grad = None
    if device == 'cuda':
        torch.cuda.synchronize()
    start = time.perf_counter()
    extractor(feats, rois).sum().backward()
    if device == 'cuda':
        torch.cuda.synchronize()
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--repeats', type=int, default=30)
    parser.add_argument('--num-rois', type=int, default=512)
    parser.add_argument('--device', default='cpu')
    parser.add_argument(
        '--sampling-ratio',
        type=int,
        default=0,
        help='RoI-Align samples per bin; 0 (stock) adapts to the RoI size')
    args = parser.parse_args()

    generator = torch.Generator().manual_seed(0)
    feats = tuple(
        torch.rand(1, 256, 800 // s, 800 // s, generator=generator).to(
            args.device).requires_grad_() for s in STRIDES)
    rois = random_rois(args.num_rois, 800, generator).to(args.device)
    cfg = dict(
        roi_layer=dict(
            type='RoIAlign', output_size=7,
            sampling_ratio=args.sampling_ratio),
        out_channels=256,
        featmap_strides=STRIDES)
    extractors = {
        'SingleRoIExtractor': SingleRoIExtractor(**cfg),
        'FAMOBBoxRoIExtractor': FAMOBBoxRoIExtractor(**cfg),
        "FAMOBBoxRoIExtractor(level_by='original')":
        FAMOBBoxRoIExtractor(level_by='original', **cfg),
    }
    times = {name: [] for name in extractors}
    for _ in range(3):  # warm-up
        for extractor in extractors.values():
            time_step(extractor.to(args.device), feats, rois, args.device)
    for _ in range(args.repeats):
        for name, extractor in extractors.items():
            times[name].append(time_step(extractor, feats, rois, args.device))

    reference = statistics.median(times['SingleRoIExtractor'])
    print(f'{args.num_rois} RoIs, 4 FPN levels, forward+backward, '
          f'sampling_ratio={args.sampling_ratio}, '
          f'median of {args.repeats} on {args.device}')
    for name, samples in times.items():
        median = statistics.median(samples)
        print(f'{name:45s} {median * 1e3:8.2f} ms  '
              f'ratio {median / reference:5.3f}')


if __name__ == '__main__':
    main()
