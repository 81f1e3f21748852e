"""Throughput of ``LoadRadiograph`` on a 2048 x 2560 16-bit DICOM.

Compares, in one run and on the same files, the transform (default
settings: CLAHE, 3-channel uint8 output) with

(a) pydicom + ``skimage.exposure.equalize_adapthist``, the reference CLAHE;
(b) the bare cost: one pydicom pixel read plus one OpenCV CLAHE call on the
    stored values;
(c) (b) with the stored values stretched over 0..65535 first, as the
    transform does for CLAHE (``radiograph_pixels.equalize`` says why): the
    gap between (b) and (c) is the cost of CLAHE over the full 16-bit range,
    the gap between (c) and the transform is the transform's own overhead.

Goals: at least 5x faster than (a), within 1.3x of (b); the figures measured
are in docs/benchmarks.md.

Two files: 16 bits stored (the usual DX case) and 12 bits stored. On the
12-bit file, (b)'s CLAHE touches 16x fewer histogram bins and lookup-table
entries than (c)'s and runs faster, so the ratio to (b) is higher there.

Run from the repository root::

    python benchmarks/dicom_loading.py [--repeats 25] [--opencv-threads 1]
"""
import argparse
import os.path as osp
import statistics
import sys
import tempfile
import time
from typing import Callable, Dict

import cv2
import numpy as np
import pydicom
import skimage
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ComputedRadiographyImageStorage
from skimage.exposure import equalize_adapthist

from mmdet_famo.datasets.transforms import LoadRadiograph

COMMAND = 'python benchmarks/dicom_loading.py'


def write_radiograph(path: str,
                     bits_stored: int,
                     rows: int = 2560,
                     columns: int = 2048) -> None:
    """A CR-like MONOCHROME1 DICOM: soft tissue, two long bones and detector
    noise over most of the stored range."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:rows, 0:columns].astype(np.float32)
    tissue = np.exp(-((x - columns / 2) / (columns / 4))**2)
    bones = sum(
        np.exp(-((x - c) / (columns / 20))**2)
        for c in (0.42 * columns + 0.02 * y, 0.58 * columns - 0.01 * y))
    density = 0.5 * tissue + 0.8 * bones + rng.normal(0, 0.01, y.shape)
    # MONOCHROME1: dense matter has low values.
    stored = (2**bits_stored - 1) * (0.94 - 0.88 * np.clip(density, 0, 1))
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.SOPClassUID = ComputedRadiographyImageStorage
    ds.Modality = 'CR'
    ds.set_pixel_data(stored.astype(np.uint16), 'MONOCHROME1', bits_stored)
    ds.save_as(path, enforce_file_format=True)


def skimage_reference(path: str) -> np.ndarray:
    """(a): pydicom read + scikit-image CLAHE."""
    return equalize_adapthist(pydicom.dcmread(path).pixel_array)


def bare_cost(path: str) -> np.ndarray:
    """(b): one pydicom pixel read + one OpenCV CLAHE call."""
    stored = pydicom.dcmread(path).pixel_array
    return cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8)).apply(stored)


def stretched_bare_cost(path: str) -> np.ndarray:
    """(c): (b) on the stored values stretched over 0..65535."""
    stored = pydicom.dcmread(path).pixel_array
    stretched = cv2.normalize(stored, None, 0, 65535, cv2.NORM_MINMAX,
                              cv2.CV_16U)
    return cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8)).apply(stretched)


def median_seconds(loaders: Dict[str, Callable[[str], object]], path: str,
                   repeats: int) -> Dict[str, float]:
    """Median wall time per call of each loader, timed in interleaved
    rounds so that all see the same machine load."""
    times = {name: [] for name in loaders}
    for round_ in range(repeats + 1):  # round 0 warms caches, not timed
        for name, load in loaders.items():
            if name == 'skimage' and round_ % 5:
                continue  # slow: every fifth round
            start = time.perf_counter()
            load(path)
            if round_:
                times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--repeats',
                        type=int,
                        default=25,
                        help='timed rounds (skimage: every fifth)')
    parser.add_argument('--opencv-threads',
                        type=int,
                        default=1,
                        help='cv2.setNumThreads; 1 as in MMEngine\'s '
                        'dataloader workers (opencv_num_threads=0)')
    args = parser.parse_args()
    cv2.setNumThreads(args.opencv_threads)
    transform = LoadRadiograph()
    loaders = dict(ours=lambda p: transform(dict(img_path=p)),
                   bare=bare_cost,
                   stretched=stretched_bare_cost,
                   skimage=skimage_reference)
    print(f'command: {COMMAND} --repeats {args.repeats} '
          f'--opencv-threads {args.opencv_threads}')
    print(f'python {sys.version.split()[0]}, opencv {cv2.__version__} '
          f'({cv2.getNumThreads()} threads), pydicom {pydicom.__version__}, '
          f'scikit-image {skimage.__version__}')
    for bits_stored in (16, 12):
        with tempfile.TemporaryDirectory() as tmp:
            path = osp.join(tmp, 'radiograph.dcm')
            write_radiograph(path, bits_stored)
            seconds = median_seconds(loaders, path, args.repeats)
        ours = seconds['ours']
        print(f'2048 x 2560, {bits_stored} bits stored, MONOCHROME1, '
              'median seconds per image:')
        print(f'  LoadRadiograph           {ours:.4f}  '
              f'({1 / ours:.1f} images/s)')
        print(f"  (a) pydicom + skimage    {seconds['skimage']:.4f}  "
              f"speed-up {seconds['skimage'] / ours:.1f}x (goal >= 5x)")
        print(f"  (b) pydicom + cv2 CLAHE  {seconds['bare']:.4f}  "
              f"ratio {ours / seconds['bare']:.2f}x (goal <= 1.3x)")
        print(f"  (c) (b) on 0..65535      {seconds['stretched']:.4f}  "
              f"ratio {ours / seconds['stretched']:.2f}x")


if __name__ == '__main__':
    main()
