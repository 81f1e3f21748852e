"""Intervals of two models' per-fracture AP on the same images, and a
paired test of their difference, by resampling the images.

AP pools every box of a test set, so it has no closed-form variance; the
images are the independent units (a fracture's boxes and its neighbours'
false boxes share an image). Each resample draws the test set's images
with replacement, the same draw for both models, and recomputes both APs
from their already matched boxes (:func:`.average_precision`); the
percentile interval of each AP and of their difference follows (Efron and
Tibshirani, *An Introduction to the Bootstrap*, 1993, ch. 13 and 16). The
two-sided p-value is twice the smaller share of resampled differences on
either side of 0, each count taken plus one over the resamples plus one
(Davison and Hinkley, *Bootstrap Methods and their Application*, 1997,
eq. 4.11): ``B`` resamples cannot show a p-value below about ``2 / B``,
and one that none of them contradicts reads ``2 / (B + 1)``, not 0.
Resamples without a fracture, where AP is undefined, are drawn again.
"""
from typing import NamedTuple, Sequence, Tuple

import numpy as np

from .average_precision import average_precision

#: Resamples of the images; 2,000 put a 95 % percentile interval's ends
#: within about 0.005 of their limit for APs near 0.3.
NUM_RESAMPLES = 2000


class ApBootstrapResult(NamedTuple):
    """Percentile intervals of model A's AP, model B's AP and A − B, and
    the two-sided p-value of "A and B have the same AP"."""
    interval_a: Tuple[float, float]
    interval_b: Tuple[float, float]
    difference_interval: Tuple[float, float]
    pvalue: float
    num_resamples: int


def paired_ap_bootstrap(scores: Sequence[Sequence[np.ndarray]],
                        is_tp: Sequence[Sequence[np.ndarray]],
                        num_gts: Sequence[int],
                        confidence_level: float = 0.95,
                        num_resamples: int = NUM_RESAMPLES,
                        seed: int = 0) -> ApBootstrapResult:
    """Bootstrap two models' AP at one overlap threshold over images.

    Args:
        scores (Sequence[Sequence[np.ndarray]]): Per model (A, then B), per
            image, (N_i, ) box scores.
        is_tp (Sequence[Sequence[np.ndarray]]): Per model, per image,
            (N_i, ) bool, whether each box is a true positive at the
            threshold (:func:`.match_detections`).
        num_gts (Sequence[int]): Per image, its number of fractures.
        confidence_level (float): Of the intervals.
        num_resamples (int): Resamples with at least one fracture.
        seed (int): Seed of the draws, so that a report is reproducible.

    Returns:
        ApBootstrapResult: The intervals and the p-value.
    """
    num_gts = np.asarray(num_gts, dtype=np.int64)
    if num_gts.sum() == 0:
        raise ValueError('AP needs at least one fracture among the images')
    rng = np.random.default_rng(seed)
    aps = np.empty((num_resamples, 2))
    drawn = 0
    while drawn < num_resamples:
        images = rng.integers(len(num_gts), size=len(num_gts))
        total = int(num_gts[images].sum())
        if total == 0:
            continue
        for model in range(2):
            aps[drawn, model] = average_precision(
                np.concatenate([np.zeros(0)] +
                               [scores[model][i] for i in images]),
                np.concatenate([np.zeros(0, bool)] +
                               [is_tp[model][i] for i in images]),
                total)[0]
        drawn += 1
    tail = (1 - confidence_level) / 2 * 100
    differences = aps[:, 0] - aps[:, 1]

    def interval(values):
        low, high = np.percentile(values, [tail, 100 - tail])
        return float(low), float(high)

    against = min(np.sum(differences <= 0), np.sum(differences >= 0))
    pvalue = min(1.0, 2 * (against + 1) / (num_resamples + 1))
    return ApBootstrapResult(
        interval(aps[:, 0]), interval(aps[:, 1]), interval(differences),
        float(pvalue), num_resamples)
