"""Matching predicted boxes to ground-truth fractures.

Three overlap criteria are offered because the tight box of a thin, oblique
fracture line makes IoU harsh (paper, Fig. 6): a prediction that covers the
whole fracture but is a little wider or shifted across the thin side drops
below IoU 0.5 while a reader would call it a hit.

* ``'iou'``: intersection over union, as COCO.
* ``'iosmall'``: intersection over the area of the smaller of the two boxes;
  1 when one box lies inside the other, whatever their sizes.
* ``'centre'``: 1 when the predicted box's centre lies inside the
  ground-truth box (edges included), else 0; any threshold in (0, 1] gives
  the same matches.

MMDetection's ``bbox_overlaps`` offers IoU and intersection over the first
box only, so the three are computed here from one intersection matrix.
"""
from typing import Optional, Sequence, Union

import numpy as np

OVERLAP_CRITERIA = ('iou', 'iosmall', 'centre')


def pairwise_overlaps(pred_bboxes: np.ndarray,
                      gt_bboxes: np.ndarray,
                      criterion: str = 'iou') -> np.ndarray:
    """Overlap of every predicted box with every ground-truth box.

    Args:
        pred_bboxes (np.ndarray): (N, 4) boxes, (x1, y1, x2, y2).
        gt_bboxes (np.ndarray): (M, 4) boxes, (x1, y1, x2, y2).
        criterion (str): One of :data:`OVERLAP_CRITERIA`.

    Returns:
        np.ndarray: (N, M) overlaps in [0, 1]; 0 where a denominator is 0.
    """
    if criterion not in OVERLAP_CRITERIA:
        raise ValueError(f'criterion must be one of {OVERLAP_CRITERIA}, '
                         f'got {criterion!r}')
    pred = np.asarray(pred_bboxes, dtype=np.float64).reshape(-1, 4)
    gt = np.asarray(gt_bboxes, dtype=np.float64).reshape(-1, 4)
    if criterion == 'centre':
        centres = (pred[:, None, :2] + pred[:, None, 2:]) / 2
        inside = (centres >= gt[None, :, :2]) & (centres <= gt[None, :, 2:])
        return inside.all(axis=-1).astype(np.float64)

    top_left = np.maximum(pred[:, None, :2], gt[None, :, :2])
    bottom_right = np.minimum(pred[:, None, 2:], gt[None, :, 2:])
    width_height = np.clip(bottom_right - top_left, 0, None)
    intersection = width_height[..., 0] * width_height[..., 1]
    pred_area = (pred[:, 2] - pred[:, 0]) * (pred[:, 3] - pred[:, 1])
    gt_area = (gt[:, 2] - gt[:, 0]) * (gt[:, 3] - gt[:, 1])
    pred_area, gt_area = pred_area[:, None], gt_area[None, :]
    if criterion == 'iou':
        denominator = pred_area + gt_area - intersection
    else:
        denominator = np.minimum(pred_area, gt_area)
    with np.errstate(divide='ignore', invalid='ignore'):
        return np.where(denominator > 0, intersection / denominator, 0.)


def match_to_fractures(pred_bboxes: np.ndarray,
                       pred_scores: np.ndarray,
                       gt_bboxes: np.ndarray,
                       thrs: Union[float, Sequence[float]],
                       criterion: str = 'iou',
                       gt_ignore: Optional[np.ndarray] = None) -> np.ndarray:
    """Greedy one-to-one matching of one image's predictions to its
    fractures, the COCO rule (pycocotools' ``COCOeval.evaluateImg``).

    Predictions are visited from the highest score down (ties in input
    order); each takes the still unmatched fracture it overlaps most, if
    that overlap is at least the threshold (of equal overlaps the last
    fracture, as pycocotools does). A fracture is matched at most once:
    further detections of it are false positives. With ``gt_ignore`` (COCO's
    area ranges, here any subset), a prediction takes an ignored fracture
    only when no fracture that is not ignored is left for it.

    Args:
        pred_bboxes (np.ndarray): (N, 4) predicted boxes, (x1, y1, x2, y2).
        pred_scores (np.ndarray): (N, ) scores.
        gt_bboxes (np.ndarray): (M, 4) fracture boxes, (x1, y1, x2, y2).
        thrs (float | Sequence[float]): T overlap thresholds, in (0, 1].
        criterion (str): One of :data:`OVERLAP_CRITERIA`.
        gt_ignore (np.ndarray, optional): (M, ) bool, fractures outside the
            evaluated subset.

    Returns:
        np.ndarray: (T, N) int, the index of the fracture each prediction
        (in input order) is matched to at each threshold, -1 if none.
    """
    thrs = np.atleast_1d(np.asarray(thrs, dtype=np.float64))
    scores = np.asarray(pred_scores, dtype=np.float64).reshape(-1)
    matched = np.full((len(thrs), len(scores)), -1, dtype=int)
    overlaps = pairwise_overlaps(pred_bboxes, gt_bboxes, criterion)
    if overlaps.size == 0:
        return matched
    num_gts = overlaps.shape[1]
    ignored = np.zeros(num_gts, bool) if gt_ignore is None else \
        np.asarray(gt_ignore, dtype=bool).reshape(-1)
    # pycocotools caps the threshold just below 1 so that IoU 1 matches
    min_overlaps = np.minimum(thrs, 1 - 1e-10)[:, None]
    gt_free = np.ones((len(thrs), num_gts), dtype=bool)
    thr_index = np.arange(len(thrs))
    lowest = min_overlaps.min()
    for pred_index in np.argsort(-scores, kind='stable'):
        row = overlaps[pred_index]
        if row.max() < lowest:
            continue
        reachable = gt_free & (row >= min_overlaps)
        # fractures in the subset first, as COCO sorts them first
        counted = reachable & ~ignored
        reachable = np.where(counted.any(axis=1, keepdims=True), counted,
                             reachable)
        candidates = np.where(reachable, row, -1.)
        best = num_gts - 1 - np.argmax(candidates[:, ::-1], axis=1)
        found = candidates[thr_index, best] >= 0
        matched[found, pred_index] = best[found]
        gt_free[found, best[found]] = False
        if not gt_free.any():
            break
    return matched


def match_detections(pred_bboxes: np.ndarray,
                     pred_scores: np.ndarray,
                     gt_bboxes: np.ndarray,
                     thrs: Union[float, Sequence[float]],
                     criterion: str = 'iou') -> np.ndarray:
    """Whether each prediction is a true positive under
    :func:`match_to_fractures`.

    Returns:
        np.ndarray: (T, N) bool, True where the prediction (in input
        order) is a true positive at that threshold.
    """
    return match_to_fractures(pred_bboxes, pred_scores, gt_bboxes, thrs,
                              criterion) >= 0
