"""Fractures binned by the shape of their box and by their orientation, and
AP over a bin.

The paper argues that RoI-Align distorts elongated boxes most, so FAMO
should help most there; these bins make that visible.

* **Aspect ratio** of a ground-truth box, long side over short side:
  ``elongated`` (>= 3:1), ``intermediate`` (1.5:1 to 3:1) and ``squarish``
  (< 1.5:1).
* **Orientation** of a fracture line, in degrees in [0, 180) from the
  image's horizontal axis (the annotation key ``fracture_orientation``),
  folded to its angle to the horizontal, 0-90 degrees:
  ``near-horizontal`` (< 22.5), ``near-vertical`` (>= 67.5) and ``oblique``
  (in between). A detection has no orientation of its own; it is given the
  angle of its box's diagonal, atan(height / width), the orientation of a
  thin line that fills it.

AP over a bin is defined as COCO defines it for area ranges: fractures
outside the bin are ignored, detections matched to them are ignored, and
an unmatched detection counts in the bin of its own box.
"""
from typing import Dict, Optional, Sequence

import numpy as np

from .average_precision import average_precision
from .box_matching import match_to_fractures

#: Aspect-ratio bins: name -> [low, high) of long side / short side.
ASPECT_RATIO_BINS: Dict[str, tuple] = {
    'elongated': (3., np.inf),
    'intermediate': (1.5, 3.),
    'squarish': (1., 1.5),
}
#: Orientation bins: name -> [low, high) of the angle to the horizontal.
ORIENTATION_BINS: Dict[str, tuple] = {
    'near-horizontal': (0., 22.5),
    'oblique': (22.5, 67.5),
    'near-vertical': (67.5, 90.0001),
}


def _bin_of(values: np.ndarray, bins: Dict[str, tuple]) -> np.ndarray:
    names = np.full(len(values), '', dtype=object)
    for name, (low, high) in bins.items():
        names[(values >= low) & ((values < high) | (high == np.inf))] = name
    return names


def aspect_ratio_bins(bboxes: np.ndarray) -> np.ndarray:
    """The aspect-ratio bin of each (x1, y1, x2, y2) box (a degenerate box,
    without width or height, is elongated)."""
    bboxes = np.asarray(bboxes, dtype=np.float64).reshape(-1, 4)
    sides = np.sort(bboxes[:, 2:] - bboxes[:, :2], axis=1)
    with np.errstate(divide='ignore', invalid='ignore'):
        ratio = np.where(sides[:, 0] > 0, sides[:, 1] / sides[:, 0], np.inf)
    return _bin_of(ratio, ASPECT_RATIO_BINS)


def orientation_bins(degrees: Sequence) -> np.ndarray:
    """The orientation bin of each angle in [0, 180) degrees from the
    horizontal; '' where the angle is unknown (None or nan)."""
    angles = np.array([np.nan if d is None else d for d in degrees],
                      dtype=np.float64)
    folded = np.abs(((angles + 90) % 180) - 90)  # angle to the horizontal
    names = _bin_of(np.nan_to_num(folded, nan=-1.), ORIENTATION_BINS)
    names[np.isnan(angles)] = ''
    return names


def box_orientation_bins(bboxes: np.ndarray) -> np.ndarray:
    """The orientation bin of each box's diagonal (for detections)."""
    bboxes = np.asarray(bboxes, dtype=np.float64).reshape(-1, 4)
    sizes = bboxes[:, 2:] - bboxes[:, :2]
    return orientation_bins(np.degrees(np.arctan2(sizes[:, 1], sizes[:, 0])))


def subset_average_precision(pred_bboxes: Sequence[np.ndarray],
                             pred_scores: Sequence[np.ndarray],
                             gt_bboxes: Sequence[np.ndarray],
                             gt_in_subset: Sequence[np.ndarray],
                             pred_in_subset: Sequence[np.ndarray],
                             thr: float = 0.5,
                             criterion: str = 'iou',
                             matched: Optional[Sequence[np.ndarray]] = None
                             ) -> float:
    """COCO AP of the fractures of a subset (as COCO's area ranges).

    Args:
        pred_bboxes (Sequence[np.ndarray]): Per image, (N_i, 4) boxes.
        pred_scores (Sequence[np.ndarray]): Per image, (N_i, ) scores.
        gt_bboxes (Sequence[np.ndarray]): Per image, (M_i, 4) fractures.
        gt_in_subset (Sequence[np.ndarray]): Per image, (M_i, ) bool.
        pred_in_subset (Sequence[np.ndarray]): Per image, (N_i, ) bool,
            whether a detection's own box falls in the subset.
        thr (float): Overlap threshold. Defaults to 0.5.
        criterion (str): Overlap criterion. Defaults to 'iou'.
        matched (Sequence[np.ndarray], optional): Per image, the matching
            of :func:`match_to_fractures` at ``thr`` without ignored
            fractures, if at hand: an image whose fractures are all in or
            all out of the subset is then not matched again (ignoring all
            or none changes no match).

    Returns:
        float: The AP; nan (with a warning) without fractures in the subset.
    """
    scores, is_tp = [np.zeros(0)], [np.zeros(0, bool)]
    num_gts = 0
    if matched is None:
        matched = [None] * len(pred_scores)
    for bboxes, box_scores, gts, gt_kept, pred_kept, image_matched in zip(
            pred_bboxes, pred_scores, gt_bboxes, gt_in_subset,
            pred_in_subset, matched):
        gt_kept = np.asarray(gt_kept, dtype=bool).reshape(-1)
        box_scores = np.asarray(box_scores, dtype=np.float64).reshape(-1)
        if image_matched is None or 0 < gt_kept.sum() < len(gt_kept):
            image_matched = match_to_fractures(bboxes, box_scores, gts, thr,
                                               criterion, ~gt_kept)[0]
        matched_gt = np.asarray(image_matched, dtype=int)
        # index -1 (unmatched) reads the appended False, unused by where
        counted = np.where(matched_gt >= 0,
                           np.append(gt_kept, False)[matched_gt],
                           np.asarray(pred_kept, dtype=bool).reshape(-1))
        scores.append(box_scores[counted])
        is_tp.append(matched_gt[counted] >= 0)
        num_gts += int(gt_kept.sum())
    return float(
        average_precision(np.concatenate(scores), np.concatenate(is_tp),
                          num_gts)[0])
