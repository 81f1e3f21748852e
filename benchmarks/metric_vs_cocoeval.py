"""FractureCaseMetric.compute_metrics against pycocotools' COCOeval on the
same boxes.

5,000 images (2 views per case, 5 body parts, 60% with 1-3 fractures) and
20,000 predicted boxes, half near fractures. The reference is
COCOeval.evaluate + accumulate + summarize on ready COCO objects (the part
of mmdet's CocoMetric that evaluates boxes); the metric computes the same
AP and everything else (image and case levels, breakdowns, DeLong, FROC).
Both run in this process, best of --repeat runs; ratio < 1 means the metric
is faster.

Reproduce::

    python benchmarks/metric_vs_cocoeval.py [--images 5000] [--boxes 20000]
"""
import argparse
import contextlib
import io
import tempfile
import time
import warnings

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from mmdet_famo.evaluation.metrics import FractureCaseMetric

BODY_PARTS = ('wrist', 'hand', 'ankle', 'elbow', 'foot')


def make_records(num_images: int, num_boxes: int, seed: int = 0) -> list:
    """Records as FractureCaseMetric.process stores them."""
    rng = np.random.default_rng(seed)
    num_fractures = np.where(
        rng.random(num_images) < 0.6, rng.integers(1, 4, num_images), 0)
    boxes_per_image = rng.multinomial(num_boxes,
                                      np.full(num_images, 1 / num_images))
    records = []
    for i in range(num_images):
        xy = rng.uniform(0, 800, (num_fractures[i], 2))
        gt = np.hstack([xy, xy + rng.uniform(8, 150, (num_fractures[i], 2))])
        num_near = rng.binomial(boxes_per_image[i], 0.5) if len(gt) else 0
        near = gt[rng.integers(0, max(len(gt), 1), num_near)] + rng.normal(
            0, 8, (num_near, 4))
        xy = rng.uniform(0, 800, (boxes_per_image[i] - num_near, 2))
        far = np.hstack([xy, xy + rng.uniform(8, 150, (len(xy), 2))])
        pred = np.vstack([near, far])
        pred[:, 2:] = np.maximum(pred[:, 2:], pred[:, :2] + 1)
        scores = np.clip(
            rng.normal(0.3, 0.2, len(pred)) + 0.4 *
            (np.arange(len(pred)) < num_near), 0.001, 1)
        records.append(
            dict(
                img_id=i + 1,
                img_path=f'{i + 1}.dcm',
                case_id=f'case{i // 2}',
                patient_id=f'patient{i // 4}',
                body_part=BODY_PARTS[(i // 2) % len(BODY_PARTS)],
                view=('ap', 'lateral')[i % 2],
                gt_bboxes=gt,
                pred_bboxes=pred,
                pred_scores=scores))
    return records


def coco_objects(records: list):
    """Ground truth and detections as COCO objects, xywh."""
    images = [dict(id=r['img_id'], width=1000, height=1000) for r in records]
    gts, dets = [], []
    for r in records:
        for box in r['gt_bboxes']:
            w, h = box[2] - box[0], box[3] - box[1]
            gts.append(
                dict(
                    id=len(gts) + 1,
                    image_id=r['img_id'],
                    category_id=1,
                    bbox=[box[0], box[1], w, h],
                    area=w * h,
                    iscrowd=0))
        for box, score in zip(r['pred_bboxes'], r['pred_scores']):
            w, h = box[2] - box[0], box[3] - box[1]
            dets.append(
                dict(
                    id=len(dets) + 1,
                    image_id=r['img_id'],
                    category_id=1,
                    bbox=[box[0], box[1], w, h],
                    area=w * h,
                    score=score,
                    iscrowd=0))
    objects = []
    for annotations in (gts, dets):
        coco = COCO()
        coco.dataset = dict(
            images=images,
            annotations=annotations,
            categories=[dict(id=1, name='fracture')])
        with contextlib.redirect_stdout(io.StringIO()):
            coco.createIndex()
        objects.append(coco)
    return objects


def time_cocoeval(gt: COCO, dt: COCO):
    evaluator = COCOeval(gt, dt, 'bbox')
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return time.perf_counter() - start, evaluator.stats


def time_metric(records: list, output_dir=None):
    metric = FractureCaseMetric(score_thr=0.5, output_dir=output_dir)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        metrics = metric.compute_metrics(records)
    return time.perf_counter() - start, metrics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--images', type=int, default=5000)
    parser.add_argument('--boxes', type=int, default=20000)
    parser.add_argument('--repeat', type=int, default=3)
    args = parser.parse_args()

    records = make_records(args.images, args.boxes)
    num_gts = sum(len(r['gt_bboxes']) for r in records)
    print(f'{args.images} images, {num_gts} fractures, '
          f'{sum(len(r["pred_scores"]) for r in records)} predicted boxes')
    gt, dt = coco_objects(records)

    coco_seconds, stats = min(
        (time_cocoeval(gt, dt) for _ in range(args.repeat)),
        key=lambda run: run[0])
    metric_seconds, metrics = min(
        (time_metric(records) for _ in range(args.repeat)),
        key=lambda run: run[0])
    with tempfile.TemporaryDirectory() as output_dir:
        written_seconds, _ = time_metric(records, output_dir)

    print(f'AP 0.50:0.95  COCOeval {stats[0]:.6f}  metric '
          f'{metrics["box_mAP"]:.6f}')
    print(f'AP 0.50       COCOeval {stats[1]:.6f}  metric '
          f'{metrics["box_AP50"]:.6f}')
    print(f'COCOeval evaluate+accumulate+summarize: {coco_seconds:.3f} s')
    print(f'FractureCaseMetric.compute_metrics:      {metric_seconds:.3f} s '
          f'(ratio to COCOeval {metric_seconds / coco_seconds:.2f})')
    print(f'  ... with output_dir (CSV, JSON, 2 PNG): {written_seconds:.3f} s '
          f'(ratio {written_seconds / coco_seconds:.2f})')


if __name__ == '__main__':
    main()
