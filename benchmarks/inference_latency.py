"""Per-image latency of ``infer_radiographs`` against MMDetection's
``DetInferencer``, on the same model, pipeline and images.

What is compared: both run the same checkpoint of the same config on the
same phantom DICOM files, with the same test pipeline (the config's, without
``LoadAnnotations``: ``LoadRadiograph``, ``Resize``, ``PackDetInputs``).
``DetInferencer`` cannot take that pipeline as it is: its ``_init_pipeline``
requires ``LoadImageFromFile`` and swaps it for ``InferencerLoader``, which
cannot read DICOM, so the reference is ``DetInferencer`` with only
``_init_pipeline`` overridden to return ``build_inference_pipeline``'s
transforms; everything else (batching, collation, ``test_step``, turning
predictions into lists) is its own. It writes nothing (``out_dir=''``), so
``infer_radiographs`` is timed first with its report only (file discovery,
boxes, verdicts, cases, ``report.json``), the like-for-like figure (goal:
ratio <= 1.1), then with its overlay PNGs and with Secondary Captures too,
the cost of the extra outputs. Both get the same batch size; the boxes and
scores of the two are checked to be equal, so the same work is timed.

Each round runs every contender once over all images, in turn, so that all
see the same machine load; the first round warms up and is not timed.
Printed per contender: the median and the minimum over rounds of (round time
/ images), their ratios to ``DetInferencer``'s, and the median time per image
spent outside the model's ``test_step`` (the forward pass is the same in
both, so this is where the drivers differ; on a busy machine it is also the
steadier figure).

Run from the repository root (CPU, the main job's demo config)::

    python benchmarks/inference_latency.py [--images 12] [--repeats 5]

or on a GPU with the paper's model::

    python benchmarks/inference_latency.py --device cuda --config \\
        configs/famo/famo_faster-rcnn_x101-32x4d_fpn_4xb1-35e_fracture.py
"""
import argparse
import os.path as osp
import statistics
import sys
import tempfile
import time
from typing import Callable, Dict, List, Tuple

import numpy as np
import torch
from mmcv.transforms import Compose
from mmengine.config import Config
from mmengine.registry import init_default_scope

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from mmdet.apis import DetInferencer  # noqa: E402
from mmdet.registry import MODELS  # noqa: E402
from mmdet_famo.apis import (  # noqa: E402
    RadiographPredictor,
    build_inference_pipeline,
    find_radiographs,
    infer_radiographs)
from mmdet_famo.phantom import (  # noqa: E402
    PhantomConfig,
    generate_phantom_dataset)

COMMAND = 'python benchmarks/inference_latency.py'
DEMO_CONFIG = 'configs/demo/famo_faster-rcnn_r18_fpn_1xb4-5e_phantom.py'


class SamePipelineDetInferencer(DetInferencer):
    """``DetInferencer`` with the pipeline ``infer_radiographs`` uses."""

    def _init_pipeline(self, cfg: Config) -> Compose:
        return Compose(list(build_inference_pipeline(cfg)))


def save_random_checkpoint(config: str, path: str) -> None:
    """A checkpoint of the config's model with random weights (timing does
    not depend on them; nothing is downloaded)."""
    cfg = Config.fromfile(config)
    init_default_scope('mmdet')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    torch.save(
        dict(state_dict=model.state_dict(),
             meta=dict(dataset_meta=dict(classes=('fracture', )))), path)


def findings(scores: list, bboxes: list) -> np.ndarray:
    """(N, 5) rows of score and box, in a fixed order."""
    table = np.c_[np.reshape(scores, (-1, 1)), np.reshape(bboxes, (-1, 4))]
    return table[np.lexsort(table.T[::-1])]


class ForwardTimer:
    """Wraps ``model.test_step`` to add up the time spent in it."""

    def __init__(self, model: torch.nn.Module) -> None:
        self.test_step = model.test_step
        self.seconds = 0.
        model.test_step = self

    def __call__(self, data: dict) -> list:
        start = time.perf_counter()
        try:
            return self.test_step(data)
        finally:
            self.seconds += time.perf_counter() - start


def time_rounds(runs: Dict[str, Tuple[Callable[[], object],
                                      ForwardTimer]], num_images: int,
                repeats: int) -> Dict[str, Dict[str, List[float]]]:
    """Per run, its total and outside-the-forward seconds per image in each
    of ``repeats`` interleaved rounds."""
    times = {name: dict(total=[], outside=[]) for name in runs}
    for round_ in range(repeats + 1):  # round 0 warms up, not timed
        for name, (run, forward) in runs.items():
            forward.seconds = 0.
            start = time.perf_counter()
            run()
            total = time.perf_counter() - start
            if round_:
                times[name]['total'].append(total / num_images)
                times[name]['outside'].append(
                    (total - forward.seconds) / num_images)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--config', default=DEMO_CONFIG)
    parser.add_argument('--images',
                        type=int,
                        default=12,
                        help='about this many phantom DICOMs')
    parser.add_argument('--height', type=int, default=640)
    parser.add_argument('--width', type=int, default=512)
    parser.add_argument('--batch-size', type=int, default=1)
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--threads',
                        type=int,
                        default=2,
                        help='torch.set_num_threads (CPU)')
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = osp.join(tmp, 'model.pth')
        save_random_checkpoint(args.config, checkpoint)
        # studies have 2-3 views: about images / 2.4 patients
        generate_phantom_dataset(
            tmp,
            PhantomConfig(num_patients=max(1, round(args.images / 2.4)),
                          height=args.height,
                          width=args.width))
        files, _ = find_radiographs([osp.join(tmp, 'images')])

        reference = SamePipelineDetInferencer(args.config,
                                              checkpoint,
                                              device=args.device,
                                              show_progress=False)
        predictor = RadiographPredictor(args.config,
                                        checkpoint,
                                        device=args.device)

        def det_inferencer() -> dict:
            return reference([dict(img_path=path) for path in files],
                             batch_size=args.batch_size,
                             out_dir='',
                             no_save_vis=True)

        def ours(**outputs) -> Callable[[], dict]:
            return lambda: infer_radiographs(predictor,
                                             files,
                                             osp.join(tmp, 'out'),
                                             points=0.5,
                                             batch_size=args.batch_size,
                                             **outputs)

        theirs = det_inferencer()['predictions']
        mine = [
            image for case in ours(overlays=False)()['cases']
            for image in case['images']
        ]
        mine.sort(key=lambda image: image['image'])
        same = len(theirs) == len(mine) == len(files) and all(
            np.allclose(findings(t['scores'], t['bboxes']),
                        findings([box['score'] for box in m['boxes']],
                                 [box['bbox'] for box in m['boxes']]),
                        atol=0.01)  # the report rounds boxes to 0.01 px
            for t, m in zip(theirs, mine))

        theirs_forward = ForwardTimer(reference.model)
        ours_forward = ForwardTimer(predictor.model)
        times = time_rounds(
            dict(reference=(det_inferencer, theirs_forward),
                 report=(ours(overlays=False), ours_forward),
                 overlays=(ours(overlays=True), ours_forward),
                 dicom=(ours(overlays=True,
                             secondary_capture=True), ours_forward)),
            len(files), args.repeats)

    print(f'command: {COMMAND} --config {args.config} --images '
          f'{args.images} --height {args.height} --width {args.width} '
          f'--batch-size {args.batch_size} --repeats {args.repeats} '
          f'--device {args.device} --threads {args.threads}')
    print(f'{len(files)} phantom DICOMs of {args.height} x {args.width}, '
          f'{args.device}, torch {torch.__version__} '
          f'({torch.get_num_threads()} threads); same boxes and scores as '
          f'DetInferencer: {same}')
    print('seconds per image over rounds (median, min) and, outside the '
          "model's test_step, median:")
    base = {
        statistic: function(times['reference']['total'])
        for statistic, function in (('median', statistics.median), ('min',
                                                                    min))
    }
    for name, label in (
        ('reference', 'DetInferencer, same model/pipeline/images'),
        ('report', 'infer_radiographs, report only'),
        ('overlays', '  + overlay PNGs'),
        ('dicom', '  + overlays + Secondary Captures'),
    ):
        total = times[name]['total']
        median, fastest = statistics.median(total), min(total)
        ratios = '' if name == 'reference' else (
            f"  ratio {median / base['median']:.2f} (min "
            f"{fastest / base['min']:.2f})")
        goal = '  goal <= 1.1' if name == 'report' else ''
        print(f'  {label:<42} {median:.4f} {fastest:.4f}  outside '
              f"{statistics.median(times[name]['outside']):.4f}{ratios}"
              f'{goal}')


if __name__ == '__main__':
    main()
