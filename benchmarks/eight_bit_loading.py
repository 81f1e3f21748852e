"""Time of ``LoadRadiograph`` on 8-bit JPEGs (FracAtlas), as a ratio to
``cv2.imread`` + OpenCV's 8-bit CLAHE measured in the same run.

Compared, on the same files and in interleaved rounds:

- ``LoadRadiograph()`` with its defaults (CLAHE 2.0 on 8 x 8 tiles,
  3-channel uint8 output): reading as displayed (EXIF orientation, end
  marker checked, channels checked equal), the stretch, 8-bit CLAHE;
- the reference: ``cv2.imread(path, cv2.IMREAD_GRAYSCALE)`` and one
  ``createCLAHE(2.0, (8, 8)).apply``;
- for context, the path 8-bit sources took before: the stretch onto
  0..65535 and the 16-bit CLAHE.

Goal: at most 2x the reference (docs/benchmarks.md gives the figures).

Images: the FracAtlas sample JPEGs in ``../shared/fixtures/fracatlas-sample``
if present (most are 373 x 454, some 2304 x 2880, grey or three equal
channels), else generated ones of both sizes and kinds. Run from the
repository root::

    python benchmarks/eight_bit_loading.py [--repeats 20] [--opencv-threads 1]
"""
import argparse
import glob
import os.path as osp
import statistics
import sys
import tempfile
import time
from typing import Callable, Dict, List

import cv2
import numpy as np

from mmdet_famo.datasets.transforms import LoadRadiograph
from mmdet_famo.datasets.transforms.loading import read_image
from mmdet_famo.datasets.transforms.radiograph_pixels import (encode_output,
                                                              equalize,
                                                              to_uint16)

COMMAND = 'python benchmarks/eight_bit_loading.py'
SAMPLE = osp.join(osp.dirname(__file__), '..', '..', 'shared', 'fixtures',
                  'fracatlas-sample', 'images')


def write_jpegs(folder: str) -> List[str]:
    """Two FracAtlas-like JPEGs: 2304 x 2880 grey and 373 x 454 with three
    equal channels."""
    paths = []
    for (rows, columns), channels in (((2880, 2304), 1), ((454, 373), 3)):
        y, x = np.mgrid[0:rows, 0:columns].astype(np.float32)
        tissue = np.exp(-((x - columns / 2) / (columns / 4))**2)
        bones = sum(
            np.exp(-((x - c) / (columns / 20))**2)
            for c in (0.42 * columns + 0.02 * y, 0.58 * columns - 0.01 * y))
        noise = np.random.default_rng(0).normal(0, 0.02, y.shape)
        image = np.rint(
            8 +
            230 * np.clip(0.5 * tissue + 0.8 * bones + noise, 0, 1)).astype(
                np.uint8)
        path = osp.join(folder, f'{columns}x{rows}.jpg')
        cv2.imwrite(path, cv2.merge([image] * channels))
        paths.append(path)
    return paths


def reference(path: str) -> np.ndarray:
    """``cv2.imread`` + one 8-bit CLAHE."""
    image = cv2.imread(path, cv2.IMREAD_GRAYSCALE)
    return cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8)).apply(image)


def sixteen_bit_path(path: str) -> np.ndarray:
    """What ``LoadRadiograph`` did with 8-bit sources before it took
    OpenCV's 8-bit CLAHE: the stretch onto 0..65535, the 16-bit CLAHE."""
    radiograph = read_image(path)
    stretched = to_uint16(radiograph.stored, radiograph.levels, 0, True)
    return encode_output(equalize(stretched, 2.0, (8, 8)), 'rgb_uint8')


def mean_times(loaders: Dict[str, Callable[[str], object]], paths: List[str],
               repeats: int) -> Dict[str, Dict[str, float]]:
    """Per loader, the mean over ``paths`` of the median and of the minimum
    time per call (the minimum is the least disturbed on a shared machine,
    as ``timeit`` advises), timed in interleaved rounds whose order of
    loaders rotates, so that each follows each (round 0 warms caches and is
    not timed)."""
    times = {name: {path: [] for path in paths} for name in loaders}
    names = list(loaders)
    for round_ in range(repeats + 1):
        order = names[round_ % len(names):] + names[:round_ % len(names)]
        for path in paths:
            for name in order:
                load = loaders[name]
                start = time.perf_counter()
                load(path)
                if round_:
                    times[name][path].append(time.perf_counter() - start)
    return {
        statistic.__name__: {
            name: statistics.mean(statistic(t) for t in by_path.values())
            for name, by_path in times.items()
        }
        for statistic in (statistics.median, min)
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--repeats', type=int, default=20)
    parser.add_argument('--images',
                        default=SAMPLE,
                        help='folder of JPEGs (searched one level down); '
                        'JPEGs are generated if it has none')
    parser.add_argument('--opencv-threads',
                        type=int,
                        default=1,
                        help="cv2.setNumThreads; 1 as in MMEngine's "
                        'dataloader workers')
    args = parser.parse_args()
    cv2.setNumThreads(args.opencv_threads)
    transform = LoadRadiograph()
    loaders = dict(ours=lambda p: transform(dict(img_path=p)),
                   reference=reference,
                   before=sixteen_bit_path)
    print(f'command: {COMMAND} --repeats {args.repeats} '
          f'--opencv-threads {args.opencv_threads}')
    print(f'python {sys.version.split()[0]}, opencv {cv2.__version__} '
          f'({cv2.getNumThreads()} threads)')
    with tempfile.TemporaryDirectory() as tmp:
        paths = sorted(glob.glob(osp.join(args.images, '*', '*.jpg')))
        source = f'{len(paths)} JPEGs of {osp.normpath(args.images)}'
        if not paths:
            paths, source = write_jpegs(tmp), '2 generated JPEGs'
        groups = {}
        for path in paths:
            image = cv2.imread(path, cv2.IMREAD_UNCHANGED)
            size = f'{image.shape[1]} x {image.shape[0]}'
            groups.setdefault(size, []).append(path)
        print(
            f'{source}, mean over images of the per-image median and minimum '
            'milliseconds:')
        for size, group in sorted(groups.items()):
            print(f'  {size} ({len(group)} images):')
            for statistic, seconds in mean_times(loaders, group,
                                                 args.repeats).items():
                ours, ref = seconds['ours'], seconds['reference']
                print(f'    {statistic:6s} LoadRadiograph {1000 * ours:.2f}, '
                      f'cv2.imread + 8-bit CLAHE {1000 * ref:.2f}: ratio '
                      f'{ours / ref:.2f}x (goal <= 2x); 16-bit path '
                      f"{1000 * seconds['before']:.2f} "
                      f"({seconds['before'] / ref:.2f}x)")


if __name__ == '__main__':
    main()
