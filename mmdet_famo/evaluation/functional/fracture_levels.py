"""The per-image and per-case rules: the one home of the verdicts used by
:class:`FractureCaseMetric`, by inference (:mod:`mmdet_famo.apis`) and by
the comparison of two runs (:mod:`mmdet_famo.analysis`).

The paper ("Model evaluation", after Thian et al. 2019):

* an image is predicted positive iff it has a box scoring >= t;
* a fractured image is a true positive iff a box scoring >= t hits one of
  its fractures; a fracture-free image is a false positive iff it is
  predicted positive;
* a case (the views of one study) is positive iff any of its views is; a
  fractured case is a true positive iff one of its *fractured* views is.

Each verdict is decided from the boxes themselves: an image's *score* at a
level is the highest score of the boxes that count there (every box, or the
boxes hitting a fracture), and -inf when there is none, so ``score >= t``
holds exactly when such a box scores >= t, at any finite t, 0 included.
The -inf of "no box" is never compared with a placeholder; it is shown as
:data:`SCORE_WITHOUT_BOX` in files and reports, below every box.
"""
from typing import Dict, NamedTuple, Sequence

import numpy as np

#: How a missing score (no box, no hit) is written and plotted.
SCORE_WITHOUT_BOX = 0.0


class LevelScores(NamedTuple):
    """Scores of images or cases.

    Attributes:
        labels (np.ndarray): (n, ) bool, has a fracture.
        max_box (np.ndarray): (n, ) highest box score, -inf without boxes.
        localised (np.ndarray): (n, ) highest score of a box that counts
            for a true positive (one hitting a fracture, on a fractured
            image or view) or a false positive (any box, without a
            fracture); -inf without one. The paper's rule, the default.
    """
    labels: np.ndarray
    max_box: np.ndarray
    localised: np.ndarray


def highest_scores(owner: np.ndarray, scores: np.ndarray,
                   num_owners: int) -> np.ndarray:
    """The highest of each owner's scores, -inf for an owner without any.

    Args:
        owner (np.ndarray): (N, ) int, the owner (image or case) of each
            score.
        scores (np.ndarray): (N, ) scores.
        num_owners (int): Number of owners.

    Returns:
        np.ndarray: (num_owners, ) float64.
    """
    highest = np.full(num_owners, -np.inf)
    np.maximum.at(highest, np.asarray(owner, dtype=int),
                  np.asarray(scores, dtype=np.float64))
    return highest


def image_scores(box_image: np.ndarray, box_scores: np.ndarray,
                 box_hits: np.ndarray, num_fractures: np.ndarray) -> \
        LevelScores:
    """Per-image scores from the boxes.

    Args:
        box_image (np.ndarray): (N, ) int, the image of each box.
        box_scores (np.ndarray): (N, ) box scores.
        box_hits (np.ndarray): (N, ) bool, whether the box hits a fracture.
        num_fractures (np.ndarray): (num_images, ) fractures per image.

    Returns:
        LevelScores: The images' labels and scores.
    """
    num_images = len(num_fractures)
    box_hits = np.asarray(box_hits, dtype=bool)
    box_scores = np.asarray(box_scores, dtype=np.float64)
    labels = np.asarray(num_fractures) > 0
    max_box = highest_scores(box_image, box_scores, num_images)
    hitting = highest_scores(
        np.asarray(box_image)[box_hits], box_scores[box_hits], num_images)
    return LevelScores(labels, max_box, np.where(labels, hitting, max_box))


def case_scores(image_case: np.ndarray, num_cases: int,
                images: LevelScores) -> LevelScores:
    """Per-case scores from the views': a case has a fracture if a view
    has; its scores are the highest of its views', where only fractured
    views give a fractured case its localised score.

    Args:
        image_case (np.ndarray): (num_images, ) int, the case of each image.
        num_cases (int): Number of cases.
        images (LevelScores): The images' scores.

    Returns:
        LevelScores: The cases' labels and scores.
    """
    image_case = np.asarray(image_case, dtype=int)
    labels = np.zeros(num_cases, bool)
    np.logical_or.at(labels, image_case, images.labels)
    # a fracture-free view cannot make its fractured case a true positive
    counts = images.labels | ~labels[image_case]
    return LevelScores(
        labels, highest_scores(image_case, images.max_box, num_cases),
        highest_scores(image_case[counts], images.localised[counts],
                       num_cases))


def outcomes(scores: LevelScores, threshold: float) -> Dict[str, np.ndarray]:
    """Verdicts of images or cases at ``threshold``.

    Args:
        scores (LevelScores): Their scores.
        threshold (float): The operating threshold (nan: no verdict, all
            False).

    Returns:
        dict[str, np.ndarray]: bool arrays ``predicted_positive`` (a box
        scores >= t), ``true_positive`` (fractured, and a hitting box
        scores >= t) and ``false_positive`` (fracture-free and predicted
        positive).
    """
    positive = scores.max_box >= threshold
    return dict(
        predicted_positive=positive,
        true_positive=scores.labels & (scores.localised >= threshold),
        false_positive=~scores.labels & positive)


def is_image_positive(box_scores: Sequence[float], threshold: float) -> bool:
    """Whether an image with these box scores is positive at
    ``threshold`` (never without boxes)."""
    return bool((np.asarray(box_scores, dtype=np.float64) >= threshold).any())


def is_case_positive(view_verdicts: Sequence[bool]) -> bool:
    """A case is positive iff any of its views is."""
    return any(view_verdicts)


def shown_score(score: float) -> float:
    """A score as written and plotted: :data:`SCORE_WITHOUT_BOX` for -inf
    (no box)."""
    return float(score) if np.isfinite(score) else SCORE_WITHOUT_BOX


def shown_scores(scores: np.ndarray) -> np.ndarray:
    """:func:`shown_score` of each score."""
    scores = np.asarray(scores, dtype=np.float64)
    return np.where(np.isfinite(scores), scores, SCORE_WITHOUT_BOX)
