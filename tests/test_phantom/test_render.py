"""Phantom rendering: bones, visible fractures in every orientation, masks."""
import numpy as np
import pytest

from mmdet_famo.phantom.render import (ANATOMIES, Bone, Fracture, render_bone,
                                       render_radiograph)

HEIGHT, WIDTH = 320, 256


def box_of(mask):
    ys, xs = np.nonzero(mask)
    return xs.min(), ys.min(), xs.max() + 1, ys.max() + 1


def upright_bone(fractures=()):
    """A vertical tube at x = 50 from y = 10 to 110, radius 10, marrow 6."""
    return Bone(
        start=np.array([50.0, 10.0]),
        axis=np.array([0.0, 1.0]),
        length=100.0,
        radius=10.0,
        inner=6.0,
        fractures=list(fractures))


def test_cortex_is_brighter_than_marrow_and_soft_tissue_dark():
    ys, xs = np.mgrid[0:120, 0:100].astype(np.float32)
    density, masks = render_bone(
        np.random.default_rng(0), xs, ys, upright_bone())
    assert masks == []
    row = density[60]
    # projected through a hollow tube: peak at the inner wall (x = 50 +- 6),
    # lower through the marrow (x = 50), zero outside (|x - 50| > 10)
    assert row[44] > row[50] * 1.3 and row[56] > row[50] * 1.3
    assert row[50] > 0 and row[39] == 0 and row[61] == 0


def test_transverse_fracture_is_a_dark_gap_with_a_narrow_dilated_mask():
    fracture = Fracture(
        centre=np.array([50.0, 60.0]),
        normal=np.array([0.0, 1.0]),  # the line y = 60: horizontal
        width=2.0,
        shift=np.array([1.5, 0.0]),
        dilation=3)
    ys, xs = np.mgrid[0:120, 0:100].astype(np.float32)
    density, (mask, ) = render_bone(
        np.random.default_rng(0), xs, ys, upright_bone([fracture]))
    column = density[:, 50]
    assert column[60] == 0  # bone missing in the gap
    assert column[50] > 0 and column[70] > 0
    # gap rows 59..61 (|y - 60| <= 1.5) within the bone, dilated by 3 px
    x1, y1, x2, y2 = box_of(mask)
    assert (y1, y2) == (59 - 3, 61 + 3 + 1)
    assert x2 - x1 >= 2 * 10 + 2 * 3 - 1  # the whole bone width, dilated
    assert (y2 - y1) / (x2 - x1) < 0.5  # a thin horizontal box
    # the fragment beyond the line is shifted right by 1.5 px
    assert density[80, 61] > 0 and density[40, 61] == 0


def test_same_seed_same_radiograph():
    first = render_radiograph(
        np.random.default_rng(7), HEIGHT, WIDTH, ANATOMIES['ankle'], 2)
    second = render_radiograph(
        np.random.default_rng(7), HEIGHT, WIDTH, ANATOMIES['ankle'], 2)
    np.testing.assert_array_equal(first.image, second.image)
    assert len(first.fracture_masks) == 2
    for a, b in zip(first.fracture_masks, second.fracture_masks):
        np.testing.assert_array_equal(a, b)
    assert first.image.dtype == np.float32
    assert first.image.shape == (HEIGHT, WIDTH)
    assert 0 <= first.image.min() and first.image.max() <= 1


@pytest.mark.parametrize('body_part', sorted(ANATOMIES))
def test_fractures_are_clearly_visible(body_part):
    """The same generator state with and without a fracture renders the same
    limb and noise, so the difference is the fracture alone: inside its mask
    the image is darker by at least 0.15 (noise is ~0.02)."""
    for seed in range(4):
        fractured = render_radiograph(
            np.random.default_rng(seed), HEIGHT, WIDTH, ANATOMIES[body_part],
            1)
        intact = render_radiograph(
            np.random.default_rng(seed), HEIGHT, WIDTH, ANATOMIES[body_part],
            0)
        (mask, ) = fractured.fracture_masks
        difference = fractured.image - intact.image
        assert difference[mask].min() < -0.15
        assert intact.fracture_masks == []


def test_fracture_boxes_come_in_every_orientation():
    """Thin horizontal boxes (transverse fractures of upright bones), thin
    vertical ones (of lying bones) and squarish ones (oblique fractures)."""
    ratios = []
    for seed in range(120):
        radiograph = render_radiograph(
            np.random.default_rng(seed), HEIGHT, WIDTH, ANATOMIES['wrist'], 1)
        x1, y1, x2, y2 = box_of(radiograph.fracture_masks[0])
        assert 0 <= x1 < x2 <= WIDTH and 0 <= y1 < y2 <= HEIGHT
        assert min(x2 - x1, y2 - y1) >= 5  # dilated: never a sliver
        ratios.append((y2 - y1) / (x2 - x1))
    ratios = np.array(ratios)
    assert (ratios < 0.5).mean() > 0.2
    assert (ratios > 2).mean() > 0.03
    assert ((ratios > 2 / 3) & (ratios < 1.5)).mean() > 0.15


def principal_axis_angle(mask):
    """Angle (degrees in [0, 180), counter-clockwise as seen) of the mask's
    principal axis, and its elongation (ratio of the axes' variances)."""
    ys, xs = np.nonzero(mask)
    variances, axes = np.linalg.eigh(np.cov(np.stack([xs, ys]).astype(float)))
    axis_x, axis_y = axes[:, -1]
    angle = np.degrees(np.arctan2(-axis_y, axis_x)) % 180
    return angle, variances[-1] / variances[0]


def angle_gap(a, b):
    """Difference of two line directions in degrees, in [0, 90]."""
    gap = abs(a - b) % 180
    return min(gap, 180 - gap)


@pytest.mark.parametrize('normal, orientation', [
    ((0.0, 1.0), 0.0),  # the line y = const: horizontal
    ((0.0, -1.0), 0.0),
    ((1.0, 0.0), 90.0),  # the line x = const: vertical
    ((np.sqrt(0.5), np.sqrt(0.5)), 45.0),  # up to the right as seen
    ((-np.sqrt(0.5), np.sqrt(0.5)), 135.0),  # up to the left as seen
])
def test_fracture_orientation_by_hand(normal, orientation):
    fracture = Fracture(
        centre=np.zeros(2),
        normal=np.array(normal),
        width=1.0,
        shift=np.zeros(2),
        dilation=2)
    assert fracture.orientation == pytest.approx(orientation)
    assert 0 <= fracture.orientation < 180


def test_recorded_orientation_is_the_drawn_lines_direction():
    """Each fracture's mask (its dilated gap across the bone) is elongated
    along the fracture line; its principal axis points the recorded way, and
    the recorded directions cover every orientation."""
    orientations, gaps = [], []
    for index, body_part in enumerate(sorted(ANATOMIES)):
        for seed in range(6):
            radiograph = render_radiograph(
                np.random.default_rng((index, seed)), HEIGHT, WIDTH,
                ANATOMIES[body_part], 2)
            assert len(radiograph.fracture_orientations) == 2
            for mask, orientation in zip(radiograph.fracture_masks,
                                         radiograph.fracture_orientations):
                angle, elongation = principal_axis_angle(mask)
                assert elongation > 3
                gaps.append(angle_gap(angle, orientation))
                orientations.append(orientation)
    # a mask cut short by the bone's outline tilts a little, never much
    assert np.median(gaps) < 2 and max(gaps) < 10
    counts, _ = np.histogram(orientations, bins=[0, 45, 90, 135, 180])
    assert (counts > 0.05 * len(orientations)).all(), counts
