"""Parity of an exported detector with its PyTorch model on a data set:
image by image, and in AP50 and per-image AUC.

Both run on every image of a COCO annotation file (the package's format,
e.g. the demo's ``data/phantom/annotations/test.json``): the PyTorch model
through :class:`~mmdet_famo.apis.RadiographPredictor`, the export through
:class:`~mmdet_famo.apis.OnnxRadiographPredictor` (exported here unless
``--onnx`` gives one). Per image, every PyTorch box at or above
``--threshold`` (the suspected operating point; by default every box) must
have its ONNX box at IoU >= 0.99 with a score within 1e-3, and the same
number of boxes must be kept. Over the set, AP50 (pycocotools' definition,
:func:`~mmdet_famo.evaluation.functional.box_average_precision`) and the
per-image AUC (an image is positive with a fracture box, scored by its
highest box) of the two must differ by at most 0.005. Exit status 1 if a
bar is missed.

Run from the repository root, e.g. on the demo's trained FAMO model
(``make demo`` first; 974 test images, a few minutes on 2 cores)::

    python benchmarks/onnx_parity.py \\
        configs/demo/famo_faster-rcnn_r18_fpn_1xb4-5e_phantom.py \\
        work_dirs/demo/famo/epoch_5.pth \\
        --ann-file data/phantom/annotations/test.json \\
        --img-dir data/phantom/images
"""
import argparse
import json
import os.path as osp
import sys
import tempfile
from typing import Dict, List, Tuple

import numpy as np

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from mmdet_famo.apis import (OnnxRadiographPredictor,  # noqa: E402
                             RadiographPredictor)
from mmdet_famo.deploy.export import export_onnx  # noqa: E402
from mmdet_famo.evaluation.functional import (  # noqa: E402
    box_average_precision, roc_auc, shown_scores)
from mmdet_famo.evaluation.functional.box_matching import \
    pairwise_overlaps  # noqa: E402

MIN_IOU, MAX_SCORE_DIFFERENCE, MAX_METRIC_DIFFERENCE = 0.99, 1e-3, 0.005


def ground_truth(ann_file: str,
                 img_dir: str) -> Tuple[List[str], List[np.ndarray]]:
    """Image files in image-id order and their fracture boxes (x1, y1,
    x2, y2), crowd boxes left out."""
    with open(ann_file) as file:
        coco = json.load(file)
    images = sorted(coco['images'], key=lambda image: image['id'])
    boxes: Dict[int, list] = {image['id']: [] for image in images}
    for annotation in coco['annotations']:
        if not annotation.get('iscrowd'):
            x, y, w, h = annotation['bbox']
            boxes[annotation['image_id']].append([x, y, x + w, y + h])
    return ([osp.join(img_dir, image['file_name']) for image in images],
            [np.array(boxes[image['id']], float).reshape(-1, 4)
             for image in images])


def predictions(predictor,
                files: List[str]) -> List[Tuple[np.ndarray, np.ndarray]]:
    """Boxes and scores of every file; exits on a file that fails."""
    results = []
    for result in predictor(files, progress=True):
        if not hasattr(result, 'bboxes'):
            raise SystemExit(f'{result.path}: {result.reason}')
        results.append((result.bboxes, result.scores))
    return results


def image_parity(torch_result, onnx_result, threshold: float) -> dict:
    """Whether the kept boxes match; the worst IoU and score difference of
    the boxes at or above ``threshold``."""
    (torch_boxes, torch_scores), (onnx_boxes, onnx_scores) = \
        torch_result, onnx_result
    shown = torch_scores >= threshold
    same_count = len(torch_boxes) == len(onnx_boxes)
    if not shown.any():
        return dict(same_count=same_count, iou=1., score=0.)
    if not len(onnx_boxes):
        return dict(same_count=False, iou=0., score=1.)
    ious = pairwise_overlaps(torch_boxes[shown], onnx_boxes, 'iou')
    best = ious.argmax(axis=1)
    return dict(
        same_count=same_count and len(set(best.tolist())) == len(best),
        iou=float(ious[np.arange(len(best)), best].min()),
        score=float(
            np.abs(torch_scores[shown] - onnx_scores[best]).max()))


def metrics(results, gt_boxes) -> Tuple[float, float]:
    """AP50 and per-image AUC."""
    ap50 = float(
        box_average_precision([boxes for boxes, _ in results],
                              [scores for _, scores in results], gt_boxes,
                              thrs=[0.5])[0])
    labels = np.array([len(boxes) > 0 for boxes in gt_boxes])
    scores = shown_scores(
        np.array([scores.max(initial=-np.inf) for _, scores in results]))
    return ap50, float(roc_auc(labels, scores))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--onnx', help='the export (made here if omitted)')
    parser.add_argument('--ann-file', required=True)
    parser.add_argument('--img-dir', required=True)
    parser.add_argument('--threshold',
                        type=float,
                        default=0.,
                        help='compare boxes at or above this score')
    args = parser.parse_args()
    files, gt_boxes = ground_truth(args.ann_file, args.img_dir)
    with tempfile.TemporaryDirectory() as folder:
        onnx_file = args.onnx or osp.join(folder, 'model.onnx')
        if not args.onnx:
            export_onnx(args.config, args.checkpoint, onnx_file)
        torch_results = predictions(
            RadiographPredictor(args.config, args.checkpoint), files)
        onnx_results = predictions(
            OnnxRadiographPredictor(onnx_file, num_threads=2), files)
    parity = [
        image_parity(t, o, args.threshold)
        for t, o in zip(torch_results, onnx_results)
    ]
    passed = [
        p['same_count'] and p['iou'] >= MIN_IOU
        and p['score'] <= MAX_SCORE_DIFFERENCE for p in parity
    ]
    torch_ap, torch_auc = metrics(torch_results, gt_boxes)
    onnx_ap, onnx_auc = metrics(onnx_results, gt_boxes)
    print(f'{len(files)} images, {sum(len(b) for b, _ in torch_results)} '
          f'PyTorch boxes (>= {args.threshold} compared)')
    print(f'images at parity: {sum(passed)} / {len(passed)}; worst IoU '
          f'{min(p["iou"] for p in parity):.5f}, worst score difference '
          f'{max(p["score"] for p in parity):.2g}')
    print(f'AP50      PyTorch {torch_ap:.4f}  ONNX {onnx_ap:.4f}  '
          f'difference {abs(torch_ap - onnx_ap):.2g}')
    print(f'image AUC PyTorch {torch_auc:.4f}  ONNX {onnx_auc:.4f}  '
          f'difference {abs(torch_auc - onnx_auc):.2g}')
    met = all(passed) and abs(torch_ap - onnx_ap) <= MAX_METRIC_DIFFERENCE \
        and abs(torch_auc - onnx_auc) <= MAX_METRIC_DIFFERENCE
    print('parity: ' + ('every bar met' if met else 'a bar is missed'))
    return 0 if met else 1


if __name__ == '__main__':
    sys.exit(main())
