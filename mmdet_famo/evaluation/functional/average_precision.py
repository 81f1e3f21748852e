"""Per-fracture average precision, computed as pycocotools' COCOeval does.

The detections of all images are ranked by score (ties: image order, then
the order within the image, as COCOeval's merge sort over images sorted by
id); precision is made monotone from the right and read at the 101 recall
points 0, 0.01, ..., 1. A recall point beyond the highest reached recall
counts as precision 0.
"""
import warnings
from typing import Sequence

import numpy as np

from .box_matching import match_detections

#: The 101 recall points of COCO's interpolated AP (same expression as
#: pycocotools, so the floats are identical).
RECALL_THRS = np.linspace(.0, 1.00, int(np.round((1.00 - .0) / .01)) + 1)
#: COCO's IoU thresholds 0.50:0.05:0.95, the range of ``bbox_mAP``.
COCO_IOU_THRS = np.linspace(.5, 0.95, int(np.round((0.95 - .5) / .05)) + 1)


def average_precision(scores: np.ndarray, is_tp: np.ndarray,
                      num_gts: int) -> np.ndarray:
    """COCO-style 101-point interpolated AP of ranked detections.

    Args:
        scores (np.ndarray): (N, ) scores of all detections, concatenated
            image by image in image order.
        is_tp (np.ndarray): (T, N) or (N, ) bool, whether each detection is
            a true positive at each of T overlap thresholds (see
            :func:`match_detections`).
        num_gts (int): Number of ground-truth fractures.

    Returns:
        np.ndarray: (T, ) AP per threshold; nan (with a warning) when there
        is no ground truth.
    """
    is_tp = np.atleast_2d(np.asarray(is_tp, dtype=bool))
    if num_gts == 0:
        # scikit-learn (and SciPy with it) only for the warning's category:
        # the runtime install imports this module and has neither
        from sklearn.exceptions import UndefinedMetricWarning
        warnings.warn(
            'AP is undefined without ground-truth fractures; '
            'returning nan', UndefinedMetricWarning)
        return np.full(len(is_tp), np.nan)
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind='stable')
    tp_sum = np.cumsum(is_tp[:, order], axis=1, dtype=np.float64)
    fp_sum = np.cumsum(~is_tp[:, order], axis=1, dtype=np.float64)
    recall = tp_sum / num_gts
    precision = tp_sum / (tp_sum + fp_sum + np.spacing(1))
    precision = np.maximum.accumulate(precision[:, ::-1], axis=1)[:, ::-1]
    aps = np.zeros(len(is_tp))
    for thr_index, (thr_recall,
                    thr_precision) in enumerate(zip(recall, precision)):
        indices = np.searchsorted(thr_recall, RECALL_THRS, side='left')
        reached = indices < len(thr_recall)
        aps[thr_index] = thr_precision[indices[reached]].sum() / len(
            RECALL_THRS)
    return aps


def box_average_precision(pred_bboxes: Sequence[np.ndarray],
                          pred_scores: Sequence[np.ndarray],
                          gt_bboxes: Sequence[np.ndarray],
                          thrs: Sequence[float] = COCO_IOU_THRS,
                          criterion: str = 'iou') -> np.ndarray:
    """AP of a set of images' detections, from boxes.

    Equals pycocotools' ``COCOeval.eval['precision']`` averaged over recall
    for one category, area 'all' and no cap on detections per image, when
    the images are given in increasing image-id order.

    Args:
        pred_bboxes (Sequence[np.ndarray]): Per image, (N_i, 4) predicted
            boxes (x1, y1, x2, y2).
        pred_scores (Sequence[np.ndarray]): Per image, (N_i, ) scores.
        gt_bboxes (Sequence[np.ndarray]): Per image, (M_i, 4) fracture
            boxes (x1, y1, x2, y2).
        thrs (Sequence[float]): Overlap thresholds. Defaults to COCO's
            0.50:0.05:0.95.
        criterion (str): Overlap criterion, see :func:`match_detections`.

    Returns:
        np.ndarray: (T, ) AP per threshold.
    """
    thrs = np.atleast_1d(thrs)
    # the empty leading blocks keep the concatenations valid for no image
    is_tp = [np.zeros((len(thrs), 0), dtype=bool)] + [
        match_detections(bboxes, scores, gts, thrs, criterion)
        for bboxes, scores, gts in zip(pred_bboxes, pred_scores, gt_bboxes)
    ]
    scores = [np.zeros(0)] + [np.reshape(s, -1) for s in pred_scores]
    num_gts = sum(len(np.reshape(gts, (-1, 4))) for gts in gt_bboxes)
    return average_precision(
        np.concatenate(scores), np.concatenate(is_tp, axis=1), num_gts)
