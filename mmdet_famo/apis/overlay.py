"""Draw a detector's findings on a radiograph, each level its own way."""
import cv2
import numpy as np

from mmdet_famo.datasets.metainfo import FRACTURE_METAINFO
from mmdet_famo.evaluation.operating_points import OperatingPoints
from .finding_locations import finding_mask

#: The fracture class colour of the dataset's palette, as BGR: definite
#: findings.
FINDING_BGR = tuple(
    int(c) for c in FRACTURE_METAINFO['palette'][0][::-1])
#: Suspected findings: yellow (BGR), the colour of the presentation state's
#: SUSPECTED layer.
SUSPECTED_BGR = (0, 255, 255)
#: Dash and gap of a suspected box's outline, in line widths.
DASH, GAP = 4, 3


def draw_findings(image: np.ndarray, bboxes: np.ndarray, scores: np.ndarray,
                  points: OperatingPoints) -> np.ndarray:
    """The radiograph as an 8-bit BGR image with its findings drawn and
    labelled with their score.

    A definite finding (score at least the definite threshold) is a solid
    box in the palette's crimson, a suspected one (at least the suspected
    threshold) a dashed yellow box, each with its score in its colour;
    boxes below the suspected threshold are not drawn: the overlay shows
    what the verdicts rest on; nor are boxes merged into a higher-scoring
    finding at the same place (:func:`~.finding_locations.merged_into`).
    Definite findings are drawn last, over
    suspected ones. Line width and text grow with the image (about 1/400 of
    its longer side), so boxes read the same on any detector size.

    Args:
        image (np.ndarray): H x W or H x W x 3 image, uint8, uint16 or float
            (a ``LoadRadiograph`` output); other than uint8 it is stretched
            to its own range.
        bboxes (np.ndarray): (N, 4) x1, y1, x2, y2 in the image's pixels.
        scores (np.ndarray): (N, ) scores.
        points (OperatingPoints): The suspected and definite points.

    Returns:
        np.ndarray: H x W x 3 uint8 BGR.
    """
    if image.dtype != np.uint8:
        image = cv2.normalize(image.astype(np.float32), None, 0, 255,
                              cv2.NORM_MINMAX).astype(np.uint8)
    overlay = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR) if image.ndim == 2 \
        else image.copy()
    thickness = max(1, round(max(image.shape[:2]) / 400))
    font_scale = 0.4 * thickness
    shown = finding_mask(bboxes, scores, points.suspected.threshold)
    levels = [
        points.level_of(float(score)) if show else None
        for score, show in zip(scores, shown)
    ]
    for level in ('suspected', 'definite'):
        colour = FINDING_BGR if level == 'definite' else SUSPECTED_BGR
        for box, score, box_level in zip(bboxes, scores, levels):
            if box_level != level:
                continue
            x1, y1, x2, y2 = (int(round(v)) for v in box)
            if level == 'definite':
                cv2.rectangle(overlay, (x1, y1), (x2, y2), colour, thickness)
            else:
                _dashed_rectangle(overlay, (x1, y1, x2, y2), colour,
                                  thickness)
            cv2.putText(overlay, f'{score:.2f}',
                        (x1, max(y1 - 2 * thickness, 10 * thickness)),
                        cv2.FONT_HERSHEY_SIMPLEX, font_scale, colour,
                        thickness, cv2.LINE_AA)
    return overlay


def _dashed_rectangle(image: np.ndarray, box: tuple, colour: tuple,
                      thickness: int) -> None:
    """Draw the outline of ``box`` (x1, y1, x2, y2) in dashes of
    :data:`DASH` line widths, :data:`GAP` apart, starting at each corner."""
    x1, y1, x2, y2 = box
    dash, period = DASH * thickness, (DASH + GAP) * thickness
    for (xa, ya), (xb, yb) in (((x1, y1), (x2, y1)), ((x2, y1), (x2, y2)),
                               ((x2, y2), (x1, y2)), ((x1, y2), (x1, y1))):
        length = max(abs(xb - xa), abs(yb - ya))
        for start in range(0, length + 1, period):
            end = min(start + dash, length)
            cv2.line(image, _along((xa, ya), (xb, yb), start, length),
                     _along((xa, ya), (xb, yb), end, length), colour,
                     thickness)


def _along(a: tuple, b: tuple, distance: int, length: int) -> tuple:
    """The pixel ``distance`` from ``a`` towards ``b`` (an axis-parallel
    segment of ``length`` pixels)."""
    if length == 0:
        return a
    return (a[0] + (b[0] - a[0]) * distance // length,
            a[1] + (b[1] - a[1]) * distance // length)
