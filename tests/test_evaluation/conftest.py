"""Shared by the evaluation tests: pycocotools' COCOeval as the reference AP
and seeded random detection cases."""
import contextlib
import io
from types import SimpleNamespace

import numpy as np
import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval


def _coco(images, annotations):
    coco = COCO()
    coco.dataset = dict(
        images=images,
        annotations=annotations,
        categories=[dict(id=1, name='fracture')])
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
    return coco


def _annotations(boxes_per_image, scores_per_image=None):
    annotations = []
    for image_index, boxes in enumerate(boxes_per_image):
        scores = (
            scores_per_image[image_index]
            if scores_per_image is not None else [None] * len(boxes))
        for box, score in zip(boxes, scores):
            annotation = dict(
                id=len(annotations) + 1,  # id 0 reads as 'unmatched'
                image_id=image_index + 1,
                category_id=1,
                bbox=[float(v) for v in box],
                area=float(box[2] * box[3]),
                iscrowd=0)
            if score is not None:
                annotation['score'] = float(score)
            annotations.append(annotation)
    return annotations


def cocoeval_precision(gt_xywh, pred_xywh, pred_scores):
    """COCOeval's precision (T, 101) at its IoU thresholds 0.50:0.95, for
    one category, area 'all' and no practical cap on detections per image.

    Args:
        gt_xywh, pred_xywh: per image, (M_i, 4) / (N_i, 4) xywh boxes;
            image i gets id i + 1.
        pred_scores: per image, (N_i, ) scores.
    """
    images = [
        dict(id=i + 1, width=1000, height=1000) for i in range(len(gt_xywh))
    ]
    evaluator = COCOeval(
        _coco(images, _annotations(gt_xywh)),
        _coco(images, _annotations(pred_xywh, pred_scores)), 'bbox')
    evaluator.params.maxDets = [10**6]
    with contextlib.redirect_stdout(io.StringIO()):
        evaluator.evaluate()
        evaluator.accumulate()
    return evaluator.eval['precision'][:, :, 0, 0, -1]


def _random_boxes(rng, count):
    return np.hstack(
        [rng.uniform(0, 400, (count, 2)),
         rng.uniform(5, 120, (count, 2))])


def random_case(rng: np.random.Generator):
    """A few images, some fracture-free, with detections near fractures
    (duplicates included) and random ones; some images without detections,
    some cases without any detection, and in 40% of cases scores tied within
    and across images. Boxes are xywh."""
    num_images = int(rng.integers(1, 7))
    tied_scores = rng.random() < 0.4
    no_detections = rng.random() < 0.08
    gts, preds, scores = [], [], []
    for _ in range(num_images):
        gt = _random_boxes(rng, int(rng.choice([0, 1, 1, 2, 3, 4])))
        near = gt[rng.integers(0, len(gt), int(rng.integers(0, 5)))] \
            if len(gt) else np.zeros((0, 4))
        near = near + rng.normal(0, 1, near.shape) * np.r_[6, 6, 10, 10]
        near[:, 2:] = np.abs(near[:, 2:]) + 1
        pred = np.vstack([near, _random_boxes(rng, int(rng.integers(0, 3)))])
        if no_detections or rng.random() < 0.15:
            pred = np.zeros((0, 4))
        gts.append(gt)
        preds.append(pred)
        scores.append(
            rng.integers(1, 5, len(pred)) /
            5 if tied_scores else rng.random(len(pred)))
    return gts, preds, scores


def xywh_to_xyxy(boxes):
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    return np.hstack([boxes[:, :2], boxes[:, :2] + boxes[:, 2:]])


@pytest.fixture
def coco_reference():
    """``cocoeval_precision``, ``random_case`` and ``xywh_to_xyxy``."""
    return SimpleNamespace(
        cocoeval_precision=cocoeval_precision,
        random_case=random_case,
        xywh_to_xyxy=xywh_to_xyxy)
