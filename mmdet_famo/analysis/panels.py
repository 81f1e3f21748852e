"""Side-by-side panels (paper, Figs. 3-4): ground truth | model A | model B
on the images where the two models disagree most.

Each model panel shows the boxes that score at least the model's operating
threshold, yellow where the box hits a fracture (the run's hit rule) and
red where it does not, with its score; the ground-truth panel shows the
fracture boxes in green. Images are read with :class:`LoadRadiograph`, so
they look as the detector saw them (CLAHE applied).
"""
import os
import os.path as osp
import re
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import cv2
import numpy as np

from ..datasets.transforms.loading import LoadRadiograph
from ..evaluation.functional import (match_detections, shown_score,
                                     shown_scores)
from .evaluation_run import EvaluationRun

#: Box colours (BGR, as the PNG is written by OpenCV).
GROUND_TRUTH_COLOUR = (0, 200, 0)  # green
HIT_COLOUR = (0, 220, 255)  # yellow
FALSE_COLOUR = (0, 0, 255)  # red
#: Height of the title strip above each image and width of the white gap
#: between images, in pixels.
HEADER_HEIGHT = 28
GAP = 8
BOX_THICKNESS = 2


@dataclass(frozen=True)
class Panel:
    """A written panel: the image's index in the runs' tables, the PNG's
    path relative to the output folder and what the models did there."""
    index: int
    file: str
    caption: str


def choose_disagreements(runs: Sequence[EvaluationRun],
                         num_panels: int) -> List[int]:
    """Indices of the images on which the two models disagree most.

    Ranked by: the image's outcome differs (one model finds a fracture the
    other misses, or has a false positive the other has not); then the
    difference in fractures found plus in false boxes at the thresholds;
    then the difference in localised scores; ties in image order. Images on
    which the models agree in all three are never chosen.
    """
    a, b = (run.images for run in runs)
    outcome_differs = ((a['tp_at_threshold'] != b['tp_at_threshold']) |
                       (a['fp_at_threshold'] != b['fp_at_threshold']))
    box_difference = (
        np.abs(a['n_fractures_detected'] - b['n_fractures_detected']) +
        np.abs(a['n_false_boxes'] - b['n_false_boxes']))
    score_gap = np.abs(
        shown_scores(a['localised_score']) -
        shown_scores(b['localised_score']))
    order = np.lexsort((-score_gap, -box_difference, ~outcome_differs))
    disagree = outcome_differs | (box_difference > 0) | (score_gap > 0)
    return [int(i) for i in order if disagree[i]][:num_panels]


def image_paths(runs: Sequence[EvaluationRun], indices: Sequence[int],
                images_dir: Optional[str]) -> List[str]:
    """The files of the chosen images: ``img_path`` as the run stored it,
    under ``images_dir`` when given (an absolute ``img_path`` stays as it
    is). Raises FileNotFoundError naming every missing file."""
    paths = [
        osp.join(images_dir or '', runs[0].images['img_path'][i])
        for i in indices
    ]
    missing = [path for path in paths if not osp.isfile(path)]
    if missing:
        raise FileNotFoundError(
            f'{len(missing)} images for the panels do not exist, e.g. '
            f'{missing[:3]}; pass --images-dir (the folder tools/test.py '
            'ran in, to which the stored img_path is relative) or --panels 0')
    return paths


def write_panels(runs: Sequence[EvaluationRun],
                 indices: Sequence[int],
                 paths: Sequence[str],
                 out_dir: str,
                 height: int = 512) -> List[Panel]:
    """Draw and write one panel per chosen image into ``out_dir/panels``.

    Args:
        runs (Sequence[EvaluationRun]): Model A and model B, aligned.
        indices (Sequence[int]): Images to show, see
            :func:`choose_disagreements`.
        paths (Sequence[str]): Their files, see :func:`image_paths`.
        out_dir (str): The comparison's output folder.
        height (int): Height of each image in the panel, in pixels.

    Returns:
        list[Panel]: The panels written.
    """
    if len(indices):
        os.makedirs(osp.join(out_dir, 'panels'), exist_ok=True)
    load = LoadRadiograph()
    panels = []
    for rank, (index, path) in enumerate(zip(indices, paths), start=1):
        image = load(dict(img_path=path))['img']
        gt_bboxes = runs[0].detections[index]['gt_bboxes']
        titles = [f'ground truth ({_count(len(gt_bboxes), "fracture")})']
        predictions = []
        for run in runs:
            titles.append(f'{run.name} (threshold {run.threshold:.2f})')
            predictions.append(kept_boxes(run, index))
        canvas = draw_panel(image, gt_bboxes, predictions, titles, height)
        img_id = re.sub(r'[^\w.-]', '_', runs[0].images['img_id'][index])
        file = osp.join('panels', f'{rank:02d}_image_{img_id}.png')
        if not cv2.imwrite(osp.join(out_dir, file), canvas):
            raise OSError(f'cannot write {osp.join(out_dir, file)}')
        panels.append(Panel(index, file, describe(runs, index)))
    return panels


def kept_boxes(run: EvaluationRun,
               index: int) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boxes, scores and hit flags of the boxes that score at least the
    run's threshold on one image; hits by the run's hit rule, matched
    among all its boxes as the metric matched them."""
    detections = run.detections[index]
    scores = detections['pred_scores']
    criterion, thr = run.hit_rule
    hits = match_detections(detections['pred_bboxes'], scores,
                            detections['gt_bboxes'], thr, criterion)[0]
    kept = scores >= run.threshold
    return detections['pred_bboxes'][kept], scores[kept], hits[kept]


def draw_panel(image: np.ndarray, gt_bboxes: np.ndarray,
               predictions: Sequence[Tuple[np.ndarray, np.ndarray,
                                           np.ndarray]], titles: Sequence[str],
               height: int) -> np.ndarray:
    """Ground truth and each model's boxes side by side.

    Args:
        image (np.ndarray): H x W x 3 uint8 image; boxes are in its pixels.
        gt_bboxes (np.ndarray): (M, 4) fracture boxes, x1y1x2y2.
        predictions (Sequence[tuple]): Per model, boxes (N, 4), scores (N, )
            and hit flags (N, ).
        titles (Sequence[str]): One per tile, ground truth first.
        height (int): Height of each image tile; the image is scaled to it.

    Returns:
        np.ndarray: (HEADER_HEIGHT + height) x (tiles x width + gaps) x 3
        uint8 BGR panel.
    """
    scale = height / image.shape[0]
    width = max(round(image.shape[1] * scale), 1)
    resized = cv2.resize(
        image, (width, height),
        interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    tiles = [
        _tile(resized, titles[0], scale, gt_bboxes,
              [GROUND_TRUTH_COLOUR] * len(gt_bboxes))
    ]
    for title, (boxes, scores, hits) in zip(titles[1:], predictions):
        colours = [HIT_COLOUR if hit else FALSE_COLOUR for hit in hits]
        tiles.append(_tile(resized, title, scale, boxes, colours, scores))
    gap = np.full((HEADER_HEIGHT + height, GAP, 3), 255, np.uint8)
    row = [tiles[0]]
    for tile in tiles[1:]:
        row += [gap, tile]
    return np.hstack(row)


def _tile(image: np.ndarray,
          title: str,
          scale: float,
          boxes: np.ndarray,
          colours: Sequence[Tuple[int, int, int]],
          scores: Optional[np.ndarray] = None) -> np.ndarray:
    """The image with the boxes drawn, under a white strip with the title."""
    tile = np.ascontiguousarray(image.copy())
    for index, (box, colour) in enumerate(zip(boxes, colours)):
        x1, y1, x2, y2 = (int(round(v * scale)) for v in box)
        cv2.rectangle(tile, (x1, y1), (x2, y2), colour, BOX_THICKNESS)
        if scores is not None:
            cv2.putText(tile, f'{scores[index]:.2f}', (x1, max(y1 - 4, 10)),
                        cv2.FONT_HERSHEY_SIMPLEX, 0.5, colour, 1, cv2.LINE_AA)
    header = np.full((HEADER_HEIGHT, tile.shape[1], 3), 255, np.uint8)
    font_scale = 0.5
    while font_scale > 0.25 and cv2.getTextSize(
            title, cv2.FONT_HERSHEY_SIMPLEX, font_scale,
            1)[0][0] > tile.shape[1] - 8:
        font_scale -= 0.05
    cv2.putText(header, title, (4, HEADER_HEIGHT - 9),
                cv2.FONT_HERSHEY_SIMPLEX, font_scale, (0, 0, 0), 1,
                cv2.LINE_AA)
    return np.vstack([header, tile])


def describe(runs: Sequence[EvaluationRun], index: int) -> str:
    """What each model did on one image, e.g. '1 fracture. FAMO: found 1
    of 1, 0 false boxes (true positive). Baseline: ...'."""
    images = runs[0].images
    num_fractures = int(images['n_fractures'][index])
    parts = [_count(num_fractures, 'fracture')]
    for run in runs:
        row = {key: values[index] for key, values in run.images.items()}
        if num_fractures:
            outcome = 'true positive' if row['tp_at_threshold'] else \
                'false negative'
            found = f"found {row['n_fractures_detected']} of {num_fractures}"
        else:
            outcome = 'false positive' if row['fp_at_threshold'] else \
                'true negative'
            found = 'nothing to find'
        parts.append(f"{run.name}: {found}, "
                     f"{_count(row['n_false_boxes'], 'false box')}, "
                     'localised score '
                     f"{shown_score(row['localised_score']):.3f} ({outcome})")
    return '. '.join(parts) + '.'


def _count(number: int, noun: str) -> str:
    """'1 fracture', '2 fractures', '0 false boxes'."""
    plural = noun + ('es' if noun.endswith('x') else 's')
    return f'{number} {noun if number == 1 else plural}'
