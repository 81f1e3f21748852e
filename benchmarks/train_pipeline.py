"""The paper's training pipeline against MMDetection's stock one: images/s
and where the time goes.

Both pipelines read the same phantom radiographs (DICOM, written into a
temporary folder by ``mmdet_famo.phantom`` at a clinical size,
2048 x 1664 px by default): the full pipeline is the ``train_pipeline`` of
the baseline config; the reference is the stock MMDetection one -- load,
resize to the 800 px training scale, flip, pack -- with ``LoadRadiograph``
in place of ``LoadImageFromFile``, which cannot read DICOM. The pipelines
run alternately over all images, in one process on one core, seeded; the
ratio of their throughputs and each transform's mean time per image are
printed.

    python benchmarks/train_pipeline.py [--patients 8] [--repeats 3] \\
        [--height 2048] [--width 1664]
"""
import argparse
import copy
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmdet.registry import TRANSFORMS
from mmdet_famo.datasets import FractureDataset
from mmdet_famo.phantom import PhantomConfig, generate_phantom_dataset

CONFIG = Path(__file__).parents[1] / \
    'configs/famo/faster-rcnn_x101-32x4d_fpn_4xb1-35e_fracture.py'


def stock_pipeline(cfg: Config) -> list:
    """MMDetection's stock training pipeline with the config's loader."""
    return [
        dict(type='LoadRadiograph'),
        dict(type='LoadAnnotations', with_bbox=True),
        dict(type='Resize', scale=cfg.image_scale, keep_ratio=True),
        dict(type='RandomFlip', prob=0.5),
        dict(type='PackDetInputs', meta_keys=cfg.meta_keys),
    ]


def run_timed(transforms: list, data_info: dict, times: dict) -> None:
    """Run ``transforms`` on a copy of ``data_info``, adding each one's
    time (s) to ``times[index]``."""
    results = copy.deepcopy(data_info)
    for index, transform in enumerate(transforms):
        start = time.perf_counter()
        results = transform(results)
        times[index] += time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--patients', type=int, default=8)
    parser.add_argument('--height', type=int, default=2048)
    parser.add_argument('--width', type=int, default=1664)
    parser.add_argument(
        '--repeats', type=int, default=3, help='passes over the images')
    args = parser.parse_args()
    cv2.setNumThreads(0)  # sequential, as mmengine sets it for training

    init_default_scope('mmdet')
    cfg = Config.fromfile(CONFIG)
    pipelines = {
        'stock (load, resize, flip, pack)': stock_pipeline(cfg),
        'full (the paper\'s augmentation)': cfg.train_pipeline,
    }
    transforms = {
        name: [TRANSFORMS.build(step) for step in steps]
        for name, steps in pipelines.items()
    }
    with tempfile.TemporaryDirectory() as data_root:
        generate_phantom_dataset(
            data_root,
            PhantomConfig(
                num_patients=args.patients,
                height=args.height,
                width=args.width))
        dataset = FractureDataset(
            data_root=data_root,
            ann_file='annotations/all.json',
            data_prefix=dict(img='images/'),
            pipeline=[])
        infos = [dataset.get_data_info(i) for i in range(len(dataset))]
        times = {name: defaultdict(float) for name in pipelines}
        np.random.seed(0)
        for info in infos[:2]:  # warm-up (imports, caches)
            for name in pipelines:
                run_timed(transforms[name], info, defaultdict(float))
        for _ in range(args.repeats):
            for info in infos:
                for name in pipelines:
                    run_timed(transforms[name], info, times[name])

    num = len(infos) * args.repeats
    num_fractures = sum(len(info['instances']) for info in infos)
    print(f'{len(infos)} phantom radiographs of {args.width} x '
          f'{args.height} px ({num_fractures} fractures), {args.repeats} '
          'passes, one core')
    throughput = {
        name: num / sum(spent.values())
        for name, spent in times.items()
    }
    reference = next(iter(throughput.values()))
    for name, images_per_s in throughput.items():
        print(f'{name:36s} {images_per_s:6.2f} images/s  '
              f'ratio {images_per_s / reference:5.3f}')
    for name, spent in times.items():
        total = sum(spent.values())
        print(f'\n{name}: ms per image')
        for index, step in enumerate(pipelines[name]):
            print(f'  {step["type"]:20s} {spent[index] / num * 1e3:8.1f}  '
                  f'{spent[index] / total:6.1%}')
    print('\npython benchmarks/train_pipeline.py '
          f'--patients {args.patients} --height {args.height} '
          f'--width {args.width} --repeats {args.repeats}')


if __name__ == '__main__':
    main()
