"""Per-image latency of the exported detector in ONNX Runtime against the
PyTorch path, both on the same number of threads (2 by default).

What is timed, per image, from the loaded image (what ``LoadRadiograph``
gives) to boxes in original pixels:

- PyTorch: the config's test transforms (``Resize``, ``PackDetInputs``)
  and ``model.test_step`` (preprocessing, backbone, FPN, RPN, RoI head,
  rescale), under ``torch.no_grad``, ``torch.set_num_threads(threads)``;
- ONNX Runtime: :class:`~mmdet_famo.deploy.runtime.OnnxDetector` (the same
  resize in OpenCV, then the graph), ``intra_op_num_threads=threads``.

Two models: the demo's FAMO config on 320 x 256 phantom-sized images, and
the paper's FAMO X-101 32x4d config on 800 x 640 images (the long side of
its resize; random weights, as are the demo's here: the time does not
depend on them, every image gets the same number of proposals). The two
paths are run in turn for each repeat, so that both see the same machine
load; the first repeat warms up and is not timed. Printed: the median and
minimum per-image times and the ratio ONNX / PyTorch of the medians (goal
<= 0.7), and the largest box difference between the two (the same boxes
must come out).

Run from the repository root (about 2-3 minutes on 2 cores)::

    python benchmarks/onnx_latency.py [--threads 2] [--repeats 5]
"""
import argparse
import os.path as osp
import statistics
import sys
import tempfile
import time
import warnings
from typing import Callable, Dict, List

import numpy as np
import torch
from mmengine.config import Config

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from mmdet.apis import init_detector  # noqa: E402
from mmdet_famo.apis import build_inference_pipeline  # noqa: E402
from mmdet_famo.deploy.export import export_onnx  # noqa: E402
from mmdet_famo.deploy.runtime import OnnxDetector  # noqa: E402

COMMAND = 'python benchmarks/onnx_latency.py'
#: (name, config, image height and width, images per repeat or None for
#: --images).
MODELS = (
    ('demo FAMO r18',
     'configs/demo/famo_faster-rcnn_r18_fpn_1xb4-5e_phantom.py', (320, 256),
     None),
    ('paper FAMO X-101 32x4d',
     'configs/famo/famo_faster-rcnn_x101-32x4d_fpn_4xb1-35e_fracture.py',
     (800, 640), 1),
)


def random_checkpoint(config: str, path: str) -> None:
    """A checkpoint of the config's model with random weights (timing does
    not depend on them; nothing is downloaded)."""
    from mmengine.registry import init_default_scope

    from mmdet.registry import MODELS as DETECTORS
    init_default_scope('mmdet')
    torch.manual_seed(0)
    model = DETECTORS.build(Config.fromfile(config).model)
    torch.save(dict(state_dict=model.state_dict()), path)


def pytorch_path(config: str,
                 checkpoint: str) -> Callable[[np.ndarray], np.ndarray]:
    """The image -> boxes function of the PyTorch model."""
    from mmengine.dataset import pseudo_collate
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        model = init_detector(config, checkpoint, device='cpu')
    _, transforms = build_inference_pipeline(model.cfg)

    def run(image: np.ndarray) -> np.ndarray:
        height, width = image.shape[:2]
        data = transforms(
            dict(img=image, img_shape=(height, width),
                 ori_shape=(height, width), img_id=0, img_path=''))
        with torch.no_grad():
            sample, = model.test_step(pseudo_collate([data]))
        return sample.pred_instances.bboxes.numpy()

    return run


def time_paths(paths: Dict[str, Callable], images: List[np.ndarray],
               repeats: int) -> Dict[str, List[float]]:
    """Seconds per image of each path, per repeat, the first repeat
    dropped (warm-up)."""
    times: Dict[str, List[float]] = {name: [] for name in paths}
    for repeat in range(repeats + 1):
        for name, run in paths.items():
            start = time.perf_counter()
            for image in images:
                run(image)
            if repeat:
                times[name].append(
                    (time.perf_counter() - start) / len(images))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--images',
                        type=int,
                        default=4,
                        help='images per repeat for the demo model (1 '
                        'for the X-101 one)')
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rng = np.random.RandomState(0)
    print(f'{COMMAND} --threads {args.threads} --repeats {args.repeats} '
          f'--images {args.images}')
    print(f'torch {torch.__version__}, onnxruntime '
          f'{__import__("onnxruntime").__version__}, {args.threads} threads')
    with tempfile.TemporaryDirectory() as folder:
        for name, config, (height, width), count in MODELS:
            checkpoint = osp.join(folder, 'model.pth')
            onnx_file = osp.join(folder, 'model.onnx')
            random_checkpoint(config, checkpoint)
            export_onnx(config, checkpoint, onnx_file)
            detector = OnnxDetector(onnx_file, num_threads=args.threads)
            paths = dict(pytorch=pytorch_path(config, checkpoint),
                         onnxruntime=lambda image: detector(image)[0])
            count = count or args.images
            images = [
                rng.randint(0, 256, (height, width, 3), np.uint8)
                for _ in range(count)
            ]
            differences = [
                np.abs(paths['pytorch'](image) -
                       paths['onnxruntime'](image)).max(initial=0)
                for image in images
            ]
            times = time_paths(paths, images, args.repeats)
            medians = {key: statistics.median(value)
                       for key, value in times.items()}
            print(f'\n{name}, {height} x {width} px, {count} image(s) x '
                  f'{args.repeats} repeats; largest box difference '
                  f'{max(differences):.2g} px')
            for key, value in times.items():
                print(f'  {key:12s} median {medians[key] * 1000:8.1f} ms/image'
                      f'  min {min(value) * 1000:8.1f}')
            print(f'  ratio onnxruntime / pytorch (medians): '
                  f'{medians["onnxruntime"] / medians["pytorch"]:.2f}')


if __name__ == '__main__':
    main()
