"""Draw a detector's findings on a radiograph."""
import cv2
import numpy as np

from mmdet_famo.datasets.fracture_dataset import FractureDataset

#: The fracture class colour of the dataset's palette, as BGR.
FINDING_BGR = tuple(
    int(c) for c in FractureDataset.METAINFO['palette'][0][::-1])


def draw_findings(image: np.ndarray, bboxes: np.ndarray, scores: np.ndarray,
                  threshold: float) -> np.ndarray:
    """The radiograph as an 8-bit BGR image with each box scoring at least
    ``threshold`` drawn and labelled with its score.

    Boxes below the threshold are not drawn: the overlay shows what the
    verdict rests on. Line width and text grow with the image (about 1/400
    of its longer side), so boxes read the same on any detector size.

    Args:
        image (np.ndarray): H x W or H x W x 3 image, uint8, uint16 or float
            (a ``LoadRadiograph`` output); other than uint8 it is stretched
            to its own range.
        bboxes (np.ndarray): (N, 4) x1, y1, x2, y2 in the image's pixels.
        scores (np.ndarray): (N, ) scores.
        threshold (float): The operating threshold.

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
    for box, score in zip(bboxes, scores):
        if score < threshold:
            continue
        x1, y1, x2, y2 = (int(round(v)) for v in box)
        cv2.rectangle(overlay, (x1, y1), (x2, y2), FINDING_BGR, thickness)
        cv2.putText(overlay, f'{score:.2f}',
                    (x1, max(y1 - 2 * thickness, 10 * thickness)),
                    cv2.FONT_HERSHEY_SIMPLEX, font_scale, FINDING_BGR,
                    thickness, cv2.LINE_AA)
    return overlay
