"""Speed of the phantom generator on one CPU core.

Measures, in one run, ``generate_phantom_dataset`` (rendering, DICOM
writing, masks to RLE, COCO files and the split) against two references on
the same images:

(a) the generator's goal, "hundreds of images a minute" on one core, taken
    as 300 images a minute (docs/benchmarks.md);
(b) writing the already-rendered images as DICOM alone (the I/O floor):
    the generator's time over (b) is what rendering and bookkeeping cost.

Run from the repository root::

    python benchmarks/phantom_generation.py [--patients 80] [--repeats 3]
"""
import argparse
import statistics
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from mmdet_famo.phantom import (ANATOMIES, PhantomConfig, PixelEncoding,
                                RadiographTags, generate_phantom_dataset,
                                render_radiograph, write_radiograph_dicom)

GOAL_IMAGES_PER_MINUTE = 300


def time_generator(config: PhantomConfig) -> tuple:
    """Seconds to generate the data set, and its image count."""
    with tempfile.TemporaryDirectory() as out_dir:
        start = time.perf_counter()
        coco, _ = generate_phantom_dataset(out_dir, config)
        return time.perf_counter() - start, len(coco['images'])


def time_dicom_writing(config: PhantomConfig, count: int) -> float:
    """Seconds to write ``count`` pre-rendered images as DICOM files."""
    rng = np.random.default_rng(0)
    images = [
        render_radiograph(rng, config.height, config.width, ANATOMIES['wrist'],
                          1).image for _ in range(8)
    ]
    tags = RadiographTags('PH0001', '1.2.3', '1.2.3.4', '1.2.3.4.5', 'WRIST',
                          'AP', 'L', 0.4)
    with tempfile.TemporaryDirectory() as out_dir:
        start = time.perf_counter()
        for index in range(count):
            write_radiograph_dicom(
                Path(out_dir) / f'{index}.dcm', images[index % len(images)],
                tags, PixelEncoding())
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--patients', type=int, default=80)
    parser.add_argument('--repeats', type=int, default=3)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    config = PhantomConfig(num_patients=args.patients)
    runs = [time_generator(config) for _ in range(args.repeats)]
    seconds = statistics.median(run[0] for run in runs)
    count = runs[0][1]
    floor = statistics.median(
        time_dicom_writing(config, count) for _ in range(args.repeats))
    per_minute = count / seconds * 60
    print(f'{count} images of {config.width}x{config.height} px, '
          f'{args.patients} patients, median of {args.repeats} runs')
    print(f'generator: {seconds:.2f} s, {per_minute:.0f} images/min '
          f'= {per_minute / GOAL_IMAGES_PER_MINUTE:.1f}x the goal (a) of '
          f'{GOAL_IMAGES_PER_MINUTE}/min')
    print(f'DICOM writing alone (b): {floor:.2f} s; generator / (b) = '
          f'{seconds / floor:.1f}x')
    print('reproduce: python benchmarks/phantom_generation.py '
          f'--patients {args.patients} --repeats {args.repeats}')


if __name__ == '__main__':
    main()
