import numpy as np
import pytest

from mmdet_famo.analysis import EvaluationRun
from mmdet_famo.analysis.panels import (FALSE_COLOUR, GAP, GROUND_TRUTH_COLOUR,
                                        HEADER_HEIGHT, HIT_COLOUR,
                                        choose_disagreements, draw_panel)
from mmdet_famo.evaluation.operating_points import given_operating_points


def test_draw_panel_geometry_and_colours():
    image = np.full((50, 100, 3), 128, np.uint8)
    gt = np.array([[10., 10., 30., 20.]])
    hit = (np.array([[12., 10., 32., 22.]]), np.array([.9]), np.array([True]))
    false = (np.array([[60., 30., 80.,
                        45.]]), np.array([.7]), np.array([False]))
    panel = draw_panel(image, gt, [hit, false],
                       ['ground truth', 'model A', 'model B'], 100)
    # scaled by 2: three 200 x 100 tiles under their titles, two gaps
    assert panel.shape == (HEADER_HEIGHT + 100, 3 * 200 + 2 * GAP, 3)
    assert panel.dtype == np.uint8

    def pixel(tile, x, y):
        return tuple(panel[HEADER_HEIGHT + y, tile * (200 + GAP) + x])

    # bottom edges (x centre, y2), away from the score text above the box
    assert pixel(0, 40, 40) == GROUND_TRUTH_COLOUR
    assert pixel(1, 44, 44) == HIT_COLOUR
    assert pixel(2, 140, 90) == FALSE_COLOUR
    # boxes are outlines, the image shows through; each tile has its own
    assert pixel(0, 40, 30) == (128, 128, 128)
    assert pixel(0, 140, 90) == (128, 128, 128)
    assert pixel(2, 44, 44) == (128, 128, 128)
    assert tuple(panel[HEADER_HEIGHT + 50, 200 + GAP // 2]) == (255, ) * 3
    # the titles are written in black on white
    header = panel[:HEADER_HEIGHT, :200]
    assert (header == 0).any() and (header == 255).any()


def run_with(name, **columns):
    images = dict(
        tp_at_threshold=np.zeros(5, int),
        fp_at_threshold=np.zeros(5, int),
        n_fractures_detected=np.zeros(5, int),
        n_false_boxes=np.zeros(5, int),
        localised_score=np.zeros(5))
    images.update({key: np.array(value) for key, value in columns.items()})
    return EvaluationRun(name, '', images, {}, [], dict(threshold=.5),
                         given_operating_points(.5))


def test_choose_disagreements_ranks_outcomes_then_boxes_then_scores():
    a = run_with(
        'A',
        tp_at_threshold=[0, 0, 1, 0, 0],
        n_fractures_detected=[0, 0, 1, 0, 0],
        n_false_boxes=[0, 2, 0, 0, 0],
        localised_score=[.3, .2, .9, .2, .1])
    b = run_with(
        'B',
        fp_at_threshold=[0, 0, 0, 0, 1],
        n_false_boxes=[0, 0, 0, 0, 1],
        localised_score=[.3, .2, .1, .6, .6])
    # images 2 and 4 change the outcome (2 also finds a fracture: 1 box),
    # 1 differs in false boxes only, 3 in score only, 0 not at all
    assert choose_disagreements((a, b), 10) == [2, 4, 1, 3]
    assert choose_disagreements((a, b), 2) == [2, 4]
    assert choose_disagreements((a, a), 3) == []


@pytest.mark.parametrize('height', [25, 200])
def test_draw_panel_scales_down_and_up(height):
    image = np.zeros((50, 60, 3), np.uint8)
    panel = draw_panel(image, np.zeros((0, 4)), [], ['ground truth'], height)
    assert panel.shape == (HEADER_HEIGHT + height, 60 * height // 50, 3)
