"""One finding per location: which boxes a reader is shown.

The detector's NMS (IoU 0.5, MMDetection's ``test_cfg``) keeps boxes
nested in one another, since a small box inside a large one has a small
IoU. At a high-sensitivity suspected threshold a real fracture then carries
a stack of low-scoring boxes around its best one (a FracAtlas-trained model
drew nine over one distal tibia of pydicom-data's RG3_UNCR), whose outlines
and labels hide the bone. A box at least half of which (of the smaller of
the two) lies inside a higher-scoring finding is the same place seen again:
it is merged into that finding, which keeps its own box, score and level.
Verdicts are unchanged (an image's score is its highest box, always a
finding); the JSON report keeps every box and names the finding each merged
one belongs to.
"""
import numpy as np

from mmdet_famo.evaluation.functional.box_matching import pairwise_overlaps

#: Share of the smaller box inside a higher-scoring finding that merges it.
MERGED_SHARE = 0.5


def merged_into(bboxes: np.ndarray, scores: np.ndarray,
                threshold: float) -> np.ndarray:
    """For each box, the index of the finding it is merged into; -1 for a
    finding of its own and for a box below ``threshold``.

    Boxes at or above ``threshold`` are visited from the highest score
    (ties by index); each becomes a finding unless :data:`MERGED_SHARE` of
    the smaller of it and an earlier finding lies in their intersection
    (the metric's ``'iosmall'`` overlap, :func:`pairwise_overlaps`), in
    which case it is merged into the highest such finding.

    Args:
        bboxes (np.ndarray): (N, 4) x1, y1, x2, y2.
        scores (np.ndarray): (N, ) scores.
        threshold (float): The lowest score shown (the suspected one).

    Returns:
        np.ndarray: (N, ) int64.
    """
    scores = np.asarray(scores, dtype=np.float64)
    shares = pairwise_overlaps(bboxes, bboxes, 'iosmall')
    merged = np.full(len(scores), -1, dtype=np.int64)
    findings = []
    for i in np.argsort(-scores, kind='stable'):
        if scores[i] < threshold:
            break
        covering = [j for j in findings if shares[i, j] >= MERGED_SHARE]
        if covering:
            merged[i] = covering[0]
        else:
            findings.append(i)
    return merged


def finding_mask(bboxes: np.ndarray, scores: np.ndarray,
                 threshold: float) -> np.ndarray:
    """(N, ) bool: the boxes shown as findings (at or above ``threshold``
    and not merged, :func:`merged_into`)."""
    return (np.asarray(scores) >= threshold) & (merged_into(
        bboxes, scores, threshold) < 0)
