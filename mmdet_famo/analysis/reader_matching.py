"""Matching two readers' outlines of the same fractures one to one, for the
per-fracture agreement of the paper's Table 6.

Two outlines match when their boxes overlap by the package's hit rule
(intersection over the smaller box >= 0.5 by default, as
``FractureCaseMetric``); matched pairs carry their masks' Dice and IoU.
"""
from dataclasses import dataclass
from typing import List, Optional, Tuple

import numpy as np
from scipy.optimize import linear_sum_assignment

from ..evaluation.functional.agreement import mask_overlap
from ..evaluation.functional.box_matching import pairwise_overlaps
from .reader_files import ReaderSet

NAN = float('nan')


@dataclass
class MatchedPair:
    """Two readers' outlines of one fracture (or one side alone)."""
    image: int
    reader_a: int
    reader_b: int
    annotation_a: Optional[int]
    annotation_b: Optional[int]
    box_overlap: float = NAN
    dice: float = NAN
    iou: float = NAN


def match_instances(boxes_a: np.ndarray,
                    boxes_b: np.ndarray,
                    criterion: str = 'iosmall',
                    thr: float = 0.5) -> List[Tuple[int, int, float]]:
    """Match two readers' outlines of one image one to one by the hit rule.

    A pair can match when its boxes overlap by at least ``thr``
    (:func:`pairwise_overlaps`, ``criterion``). Of all one-to-one matchings
    the one with the most pairs is taken, of those the one with the largest
    total overlap: readers' outlines have no scores to order a greedy
    matching, and this one does not depend on which reader comes first.

    Returns:
        list[tuple[int, int, float]]: (index in A, index in B, overlap).
    """
    overlaps = pairwise_overlaps(boxes_a, boxes_b, criterion)
    eligible = overlaps >= min(thr, 1 - 1e-10)  # pycocotools' cap
    if not eligible.any():
        return []
    # each match outweighs any sum of overlaps: the most pairs win first
    weights = np.where(eligible, eligible.size + 1 + overlaps, 0.)
    rows, cols = linear_sum_assignment(weights, maximize=True)
    return [(int(r), int(c), float(overlaps[r, c]))
            for r, c in zip(rows, cols) if eligible[r, c]]


def match_readers(readers: ReaderSet,
                  criterion: str = 'iosmall',
                  thr: float = 0.5) -> List[MatchedPair]:
    """Matched and unmatched outlines of every pair of readers on every
    image, by :func:`match_instances`.

    Args:
        readers (ReaderSet): See :func:`~.reader_files.load_readers`.
        criterion (str): Box overlap, one of :data:`OVERLAP_CRITERIA`.
        thr (float): Least overlap of a match.

    Returns:
        list[MatchedPair]: Every matched pair, with its box overlap and mask
        Dice and IoU, and every outline left unmatched, one side None.
    """
    pairs = []
    num_readers = len(readers.names)
    for index in range(len(readers.images)):
        for a in range(num_readers):
            for b in range(a + 1, num_readers):
                first = readers.instances[a][index]
                second = readers.instances[b][index]
                matches = match_instances(
                    np.array([i['bbox'] for i in first]).reshape(-1, 4),
                    np.array([i['bbox'] for i in second]).reshape(-1, 4),
                    criterion, thr)
                for i, j, overlap in matches:
                    masks = mask_overlap(first[i]['rle'], second[j]['rle'])
                    pairs.append(
                        MatchedPair(index, a, b, first[i]['id'],
                                    second[j]['id'], overlap, masks.dice,
                                    masks.iou))
                matched_a = {i for i, _, _ in matches}
                matched_b = {j for _, j, _ in matches}
                pairs += [
                    MatchedPair(index, a, b, first[i]['id'], None)
                    for i in range(len(first)) if i not in matched_a
                ]
                pairs += [
                    MatchedPair(index, a, b, None, second[j]['id'])
                    for j in range(len(second)) if j not in matched_b
                ]
    return pairs
