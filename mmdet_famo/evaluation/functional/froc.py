"""Free-response ROC: fracture sensitivity against false positives per
image.

Sweeping the score threshold down, every kept detection is either a true
positive (it is matched to a fracture, see :func:`match_detections`) or a
false positive, duplicates of a matched fracture included. The curve has one
point per distinct score (tied detections enter together) and starts at
(0, 0), the threshold above every score.
"""
import warnings
from typing import Sequence, Tuple

import numpy as np
from sklearn.exceptions import UndefinedMetricWarning

#: The false-positive rates per image of the FROC table, the usual eight
#: octaves from 1/8 to 8 (docs/evaluation.md).
FROC_FPS_PER_IMAGE = (1 / 8, 1 / 4, 1 / 2, 1, 2, 4, 8)


def froc_curve(scores: np.ndarray, is_tp: np.ndarray, num_gts: int,
               num_images: int) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """FROC curve of ranked detections.

    Args:
        scores (np.ndarray): (N, ) scores of all detections.
        is_tp (np.ndarray): (N, ) bool, whether each detection is matched to
            a fracture.
        num_gts (int): Number of fractures.
        num_images (int): Number of images, fracture-free ones included.

    Returns:
        tuple[np.ndarray]: False positives per image, sensitivity and the
        threshold (keep scores >= it; inf for the first point) of each point;
        sensitivity is nan (with a warning) without fractures, both rates
        are nan without images.
    """
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    order = np.argsort(-scores, kind='stable')
    sorted_scores = scores[order]
    tp_sum = np.cumsum(np.asarray(is_tp, dtype=bool)[order])
    fp_sum = np.arange(1, len(scores) + 1) - tp_sum
    # the last detection of each run of tied scores closes a point
    last_of_ties = np.r_[sorted_scores[1:] != sorted_scores[:-1],
                         True][:len(scores)]
    thresholds = np.r_[np.inf, sorted_scores[last_of_ties]]
    tp_sum = np.r_[0, tp_sum[last_of_ties]]
    fp_sum = np.r_[0, fp_sum[last_of_ties]]
    if num_gts == 0:
        warnings.warn(
            'FROC sensitivity is undefined without fractures; '
            'returning nan', UndefinedMetricWarning)
    with np.errstate(divide='ignore', invalid='ignore'):
        sensitivity = tp_sum / num_gts if num_gts else np.full(
            len(tp_sum), np.nan)
        fps_per_image = fp_sum / num_images if num_images else np.full(
            len(fp_sum), np.nan)
    return fps_per_image, sensitivity, thresholds


def froc_sensitivity(
        scores: np.ndarray,
        is_tp: np.ndarray,
        num_gts: int,
        num_images: int,
        fps_per_image: Sequence[float] = FROC_FPS_PER_IMAGE) -> np.ndarray:
    """Sensitivity at given numbers of false positives per image.

    At each rate, the sensitivity of the lowest threshold whose false
    positives per image do not exceed it (a reachable operating point, no
    interpolation between points).

    Args:
        scores, is_tp, num_gts, num_images: As :func:`froc_curve`.
        fps_per_image (Sequence[float]): The rates. Defaults to 1/8, 1/4,
            1/2, 1, 2, 4 and 8.

    Returns:
        np.ndarray: Sensitivity at each rate.
    """
    curve_fps, curve_sensitivity, _ = froc_curve(scores, is_tp, num_gts,
                                                 num_images)
    if num_images == 0:
        return np.full(len(fps_per_image), np.nan)
    last_within = np.searchsorted(curve_fps, fps_per_image, side='right') - 1
    return curve_sensitivity[last_within]
