"""RandomRotate, RandomTranslate and RandomAspectRatio: images, masks and
boxes move together and boxes stay the tight boxes of their masks."""
import cv2
import mmcv
import numpy as np
import pytest
import torch

from mmdet.datasets.transforms import Rotate
from mmdet.structures.bbox import HorizontalBoxes
from mmdet.structures.mask import BitmapMasks, PolygonMasks
from mmdet_famo.datasets.transforms import (RandomAspectRatio, RandomRotate,
                                            RandomTranslate)


def make_results(masks, img=None, labels=None):
    """A results dict as LoadAnnotations leaves it, boxes from the masks."""
    height, width = masks.height, masks.width
    if img is None:
        img = np.random.default_rng(0).integers(
            0, 256, (height, width, 3), dtype=np.uint8)
    num = len(masks)
    return dict(
        img=img,
        img_shape=(height, width),
        gt_masks=masks,
        gt_bboxes=masks.get_bboxes('hbox'),
        gt_bboxes_labels=np.arange(num) if labels is None else labels,
        gt_ignore_flags=np.arange(num) % 2 == 1)


def rectangles(height, width, boxes):
    """Bitmap masks of the pixel rectangles ``(x1, y1, x2, y2)``."""
    masks = np.zeros((len(boxes), height, width), dtype=np.uint8)
    for mask, (x1, y1, x2, y2) in zip(masks, boxes):
        mask[y1:y2, x1:x2] = 1
    return BitmapMasks(masks, height, width)


def as_polygons(bitmaps):
    """The same rectangles as polygons (pixel edges, continuous)."""
    return PolygonMasks(
        [[np.array([x1, y1, x2, y1, x2, y2, x1, y2], dtype=np.float64)]
         for x1, y1, x2, y2 in bitmaps.get_bboxes('hbox').numpy()],
        bitmaps.height, bitmaps.width)


def project(homography, points):
    """Map ``points`` (N x 2, continuous) by a 3 x 3 ``homography``."""
    return points @ homography[:2, :2].T + homography[:2, 2]


def extent(points):
    return np.concatenate([points.min(0), points.max(0)])


# 40 x 60 image; a 15 x 5 and an 8 x 8 rectangle.
HEIGHT, WIDTH = 40, 60
BOXES = [(20, 5, 35, 10), (50, 30, 58, 38)]


@pytest.mark.parametrize('angle, turns', [(90, -1), (-90, 1), (180, 2)])
@pytest.mark.parametrize('polygons', [False, True])
def test_right_angles_move_image_masks_and_boxes_exactly(
        angle, turns, polygons):
    bitmaps = rectangles(HEIGHT, WIDTH, BOXES)
    img = np.arange(HEIGHT * WIDTH, dtype=np.uint16).reshape(HEIGHT, WIDTH)
    results = make_results(
        as_polygons(bitmaps) if polygons else bitmaps, img=img)
    results = RandomRotate(prob=1, angle_range=(angle, angle))(results)

    # np.rot90 turns counter-clockwise; the angle is clockwise.
    np.testing.assert_array_equal(results['img'], np.rot90(img, turns))
    expected_masks = np.rot90(bitmaps.masks, turns, axes=(1, 2))
    assert results['img_shape'] == expected_masks.shape[1:]
    np.testing.assert_array_equal(results['gt_masks'].to_ndarray(),
                                  expected_masks)
    expected_boxes = BitmapMasks(expected_masks, *expected_masks.shape[1:])
    np.testing.assert_allclose(
        results['gt_bboxes'].numpy(),
        expected_boxes.get_bboxes('hbox').numpy(),
        atol=1e-4)
    # Clockwise by hand: x' = H - y, y' = x (90); x' = y, y' = W - x (-90).
    x1, y1, x2, y2 = BOXES[0]
    by_hand = {
        90: [HEIGHT - y2, x1, HEIGHT - y1, x2],
        -90: [y1, WIDTH - x2, y2, WIDTH - x1],
        180: [WIDTH - x2, HEIGHT - y2, WIDTH - x1, HEIGHT - y1],
    }[angle]
    np.testing.assert_allclose(
        results['gt_bboxes'].numpy()[0], by_hand, atol=1e-4)
    # the recorded homography maps the old box onto the new one
    corners = np.array([[x1, y1], [x2, y2]], dtype=np.float64)
    np.testing.assert_allclose(
        np.sort(project(results['homography_matrix'], corners), axis=0),
        np.array(by_hand, dtype=np.float64).reshape(2, 2),
        atol=1e-4)
    np.testing.assert_array_equal(results['gt_bboxes_labels'], [0, 1])


def thin_diagonal(size=100, start=20, end=80, thickness=3):
    """A thin line from top left to bottom right, as a fracture outline."""
    mask = np.zeros((1, size, size), dtype=np.uint8)
    cv2.line(mask[0], (start, start), (end, end), 1, thickness)
    return BitmapMasks(mask, size, size)


def test_45_degrees_thin_diagonal_box_stays_tight():
    masks = thin_diagonal()
    results = make_results(masks)
    box_before = results['gt_bboxes'].numpy()[0]
    results = RandomRotate(prob=1, angle_range=(45, 45), expand=False)(results)
    homography = results['homography_matrix']
    box = results['gt_bboxes'].numpy()[0]

    # The rotated mask's extent: every foreground pixel square's corners.
    rows, cols = np.nonzero(masks.masks[0])
    squares = np.concatenate([
        np.stack([cols + dx, rows + dy], axis=1) for dx in (0, 1)
        for dy in (0, 1)
    ]).astype(np.float64)
    mask_extent = extent(project(homography, squares))
    # a bitmap box is whole pixels: within the extent rounded outwards
    assert (box[:2] >= np.floor(mask_extent[:2])).all()
    assert (box[2:] <= np.ceil(mask_extent[2:])).all()

    # The box around the rotated corners of the box: ~92 x 92 for the line.
    x1, y1, x2, y2 = box_before
    corner_box = extent(
        project(homography,
                np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]])))
    width, height = box[2:] - box[:2]
    corner_width, corner_height = corner_box[2:] - corner_box[:2]
    assert corner_width == pytest.approx((x2 - x1) * np.sqrt(2), abs=1e-3)
    assert height == pytest.approx(corner_height, abs=4)  # along the line
    assert width < 0.1 * corner_width  # across it: the line's thickness
    assert width * height < 0.12 * corner_width * corner_height

    # MMDetection's Rotate by the same angle keeps the corner box.
    stock = Rotate(prob=1., level=10, max_mag=45., reversal_prob=1.)(
        make_results(thin_diagonal()))
    stock_width = stock['gt_bboxes'].widths.item()
    assert stock_width == pytest.approx(corner_width, abs=1)


def test_45_degrees_polygon_box_is_the_rotated_outline_exactly():
    # A 60 x 4 rectangle along the diagonal, centred in a 100 x 100 image:
    # clockwise by 45 degrees it is upright, centred on the new canvas
    # (where mmcv.imrotate puts the image's centre).
    centre, half_length, half_width = 50., 30., 2.
    along = np.array([1., 1.]) / np.sqrt(2)
    across = np.array([-1., 1.]) / np.sqrt(2)
    outline = np.array([
        centre + s * half_length * along + t * half_width * across
        for s, t in ((-1, -1), (1, -1), (1, 1), (-1, 1))
    ])
    masks = PolygonMasks([[outline.reshape(-1)]], 100, 100)
    results = RandomRotate(prob=1, angle_range=(45, 45))(make_results(masks))
    side = 100 * np.sqrt(2)  # the canvas is this, rounded; the centre is not
    assert results['img_shape'] == (141, 141)
    np.testing.assert_allclose(
        results['gt_bboxes'].numpy()[0], [
            side / 2 - half_width, side / 2 - half_length,
            side / 2 + half_width, side / 2 + half_length
        ],
        atol=1e-4)


def test_rotation_matches_mmcv_imrotate():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (90, 70, 3), dtype=np.uint8)
    lines = np.zeros((3, 90, 70), dtype=np.uint8)
    for mask, (x1, y1, x2, y2) in zip(lines, [(5, 5, 60, 30), (10, 80, 65, 60),
                                              (35, 10, 36, 85)]):
        cv2.line(mask, (x1, y1), (x2, y2), 1, 2)
    results = RandomRotate(prob=1, angle_range=(33, 33))(
        make_results(BitmapMasks(lines, 90, 70), img=img))
    expected = mmcv.imrotate(img, 33, auto_bound=True)
    assert results['img'].shape == expected.shape
    assert np.abs(results['img'].astype(int) - expected).max() <= 1
    expected_masks = np.stack(
        [mmcv.imrotate(mask, 33, auto_bound=True) for mask in lines])
    # only the window around each mask is warped: the same pixels, but for
    # ties of OpenCV's fixed-point interpolation
    mismatch = results['gt_masks'].masks != expected_masks
    assert mismatch.sum() <= 0.01 * expected_masks.sum()


@pytest.mark.parametrize('polygons', [False, True])
def test_rotation_drops_what_leaves_the_image_consistently(polygons):
    # 3 instances: centre, corner, centre; labels 7, 8, 9.
    bitmaps = rectangles(60, 60, [(25, 25, 35, 32), (0, 0, 6, 6),
                                  (28, 20, 31, 40)])
    masks = as_polygons(bitmaps) if polygons else bitmaps
    labels = np.array([7, 8, 9])
    cropped = RandomRotate(prob=1, angle_range=(45, 45), expand=False)(
        make_results(masks, labels=labels))
    # the corner leaves a same-size canvas; its mask, label and flag go
    np.testing.assert_array_equal(cropped['gt_bboxes_labels'], [7, 9])
    np.testing.assert_array_equal(cropped['gt_ignore_flags'], [False, False])
    assert len(cropped['gt_masks']) == len(cropped['gt_bboxes']) == 2
    np.testing.assert_allclose(cropped['gt_bboxes'].numpy(),
                               cropped['gt_masks'].get_bboxes('hbox').numpy())
    # the vertical bar (label 9) lies along the diagonal: about as wide as
    # high
    width, height = np.diff(cropped['gt_bboxes'].numpy()[1].reshape(2, 2),
                            axis=0)[0]
    assert width == pytest.approx(height, abs=1.5)

    expanded = RandomRotate(prob=1, angle_range=(45, 45))(
        make_results(masks, labels=labels))
    np.testing.assert_array_equal(expanded['gt_bboxes_labels'], [7, 8, 9])
    boxes = expanded['gt_bboxes'].numpy()
    height, width = expanded['img_shape']
    assert (boxes >= 0).all()
    assert (boxes[:, 2] <= width).all() and (boxes[:, 3] <= height).all()


def test_rotation_without_instances_or_annotations():
    empty = make_results(BitmapMasks(np.zeros((0, 30, 50), np.uint8), 30, 50))
    results = RandomRotate(prob=1, angle_range=(90, 90))(empty)
    assert results['img'].shape == (50, 30, 3)
    assert len(results['gt_bboxes']) == len(results['gt_masks']) == 0
    assert results['gt_masks'].masks.shape == (0, 50, 30)
    image_only = RandomRotate(prob=1)(dict(img=np.zeros((30, 50), np.uint8)))
    assert image_only['img'].ndim == 2


def test_rotation_needs_masks_for_boxes():
    results = dict(
        img=np.zeros((30, 50, 3), np.uint8),
        gt_bboxes=HorizontalBoxes(torch.tensor([[1., 1., 10., 10.]])))
    with pytest.raises(ValueError, match='with_mask=True'):
        RandomRotate(prob=1)(results)


def test_rotation_probability_and_angles():
    transform = RandomRotate(prob=0.3, angle_range=(-180, 180))
    np.random.seed(0)
    angles = [transform._random_angle() for _ in range(2000)]
    rotated = [a for a in angles if a is not None]
    assert len(rotated) / len(angles) == pytest.approx(0.3, abs=0.03)
    assert min(rotated) >= -180 and max(rotated) <= 180
    # uniform over the circle: each quadrant a quarter
    quadrants = np.histogram(rotated, bins=4, range=(-180, 180))[0]
    assert quadrants / len(rotated) == pytest.approx([0.25] * 4, abs=0.04)
    results = make_results(rectangles(HEIGHT, WIDTH, BOXES))
    unchanged = RandomRotate(prob=0)(dict(results))
    assert unchanged['img'] is results['img']


@pytest.mark.parametrize('polygons', [False, True])
def test_translation_shifts_by_whole_pixels_and_drops_what_leaves(polygons):
    # instance 0 in the middle, instance 1 touching the right border
    bitmaps = rectangles(50, 80, [(30, 20, 45, 30), (70, 5, 80, 15)])
    masks = as_polygons(bitmaps) if polygons else bitmaps
    transform = RandomTranslate(prob=1, max_shift_ratio=0.25)
    seen_dropped = False
    for seed in range(30):
        np.random.seed(seed)
        before = make_results(masks)
        results = transform(make_results(masks))
        dx, dy = results['homography_matrix'][:2, 2]
        assert dx == int(dx) and dy == int(dy)
        assert abs(dx) <= 20 and abs(dy) <= 12
        dx, dy = int(dx), int(dy)
        shifted = np.zeros_like(before['img'])
        shifted[max(dy, 0):50 + min(dy, 0), max(dx, 0):80 + min(dx, 0)] = \
            before['img'][max(-dy, 0):50 - max(dy, 0),
                          max(-dx, 0):80 - max(dx, 0)]
        np.testing.assert_array_equal(results['img'], shifted)
        # each kept box is its rectangle shifted and clipped, exactly
        expected = np.array(shifted_boxes(bitmaps, dx, dy, 80, 50))
        visible = (expected[:, 2] - expected[:, 0] > 1) & (
            expected[:, 3] - expected[:, 1] > 1)
        np.testing.assert_allclose(results['gt_bboxes'].numpy(),
                                   expected[visible])
        np.testing.assert_array_equal(results['gt_bboxes_labels'],
                                      np.nonzero(visible)[0])
        assert len(results['gt_masks']) == visible.sum()
        seen_dropped |= not visible.all()
    assert seen_dropped


def shifted_boxes(bitmaps, dx, dy, width, height):
    boxes = bitmaps.get_bboxes('hbox').numpy() + [dx, dy, dx, dy]
    return np.clip(boxes, 0, [width, height, width, height])


def test_translation_moves_fracture_free_images():
    # MMDetection's RandomShift never shifts an image without boxes
    img = np.full((40, 40), 255, np.uint8)
    transform = RandomTranslate(prob=1, max_shift_ratio=0.2)
    np.random.seed(1)
    moved = 0
    for _ in range(10):
        results = transform(
            make_results(
                BitmapMasks(np.zeros((0, 40, 40), np.uint8), 40, 40),
                img=img))
        assert len(results['gt_bboxes']) == 0
        moved += int((results['img'] == 0).any())
    assert moved >= 9


def test_aspect_ratio_keeps_area_and_scales_boxes_exactly():
    bitmaps = rectangles(200, 300, [(40, 50, 100, 90)])
    transform = RandomAspectRatio(max_ratio=1.2)
    np.random.seed(0)
    log_ratios = []
    for _ in range(300):
        results = make_results(bitmaps)
        results['scale_factor'] = (0.5, 0.5)
        results = transform(results)
        height, width = results['img_shape']
        ratio = (width / height) / (300 / 200)
        assert 1 / 1.2 - 0.01 <= ratio <= 1.2 + 0.01
        assert width * height == pytest.approx(300 * 200, rel=0.01)
        w_scale, h_scale = width / 300, height / 200
        np.testing.assert_allclose(
            results['gt_bboxes'].numpy()[0],
            [40 * w_scale, 50 * h_scale, 100 * w_scale, 90 * h_scale],
            rtol=1e-5)
        assert results['gt_masks'].masks.shape == (1, height, width)
        assert results['scale_factor'] == pytest.approx(
            (0.5 * w_scale, 0.5 * h_scale))
        log_ratios.append(np.log(ratio))
    # log-uniform on [-log 1.2, log 1.2]: mean 0, sd log(1.2) / sqrt(3)
    assert np.mean(log_ratios) == pytest.approx(0, abs=0.02)
    assert np.std(log_ratios) == pytest.approx(
        np.log(1.2) / np.sqrt(3), rel=0.15)


def test_box_only_images_turn_by_right_angles_and_boxes_stay_exact():
    """An image holding a box-only instance turns by the multiple of 90
    degrees nearest the angle drawn, so its box stays exactly a box."""
    bitmaps = rectangles(HEIGHT, WIDTH, BOXES)
    transform = RandomRotate(prob=1)
    np.random.seed(3)
    shapes = set()
    for _ in range(40):
        results = make_results(as_polygons(bitmaps))
        results['box_only'] = True
        results = transform(results)
        shapes.add(results['img_shape'])
        homography = results['homography_matrix'].astype(np.float64)
        # a quarter turn: the linear part is a signed permutation
        np.testing.assert_allclose(
            np.abs(homography[:2, :2]), np.eye(2)[[0, 1]]
            if abs(homography[0, 0]) > 0.5 else np.eye(2)[[1, 0]],
            atol=1e-6)
        x1, y1, x2, y2 = BOXES[0]
        corners = np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]], float)
        np.testing.assert_allclose(
            results['gt_bboxes'].numpy()[0],
            extent(project(homography, corners)),
            atol=1e-4)
    assert shapes == {(HEIGHT, WIDTH), (WIDTH, HEIGHT)}
    # without the flag the same draws rotate freely: loose, larger boxes
    np.random.seed(3)
    free = transform(make_results(as_polygons(bitmaps)))
    assert free['img_shape'] not in shapes
