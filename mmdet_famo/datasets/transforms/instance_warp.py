"""Warp an image together with its instance masks and re-derive each box
from its warped mask: the geometry shared by :class:`RandomRotate` and
:class:`RandomTranslate`.

The paper's boxes are the tight boxes of instance segmentations (Methods,
"Data labeling"). A box cannot be rotated and stay tight: the box around a
rotated box's corners is up to 41% wider and higher than the object (at 45
degrees a thin diagonal fracture's box becomes a square), which would teach
the detector the loose boxes FAMO exists to avoid. So boxes are never warped
here: after a warp each box is the tight box of its warped mask, and an
instance whose mask left the image, or whose box is ``min_size`` px or less
wide or high, is dropped with its mask, label and ignore flag. An image left
without instances stays: a fracture-free image is a valid training sample.

Coordinates: boxes, polygons and ``homography_matrix`` are in MMDetection's
continuous coordinates, where pixel ``(row i, column j)`` covers
``[j, j + 1) x [i, i + 1)``; OpenCV's ``warpAffine`` samples pixel centres,
so it gets the matrix conjugated by a half-pixel shift.
"""
from typing import Tuple, Union

import cv2
import numpy as np
from mmcv.image.geometric import cv2_interp_codes

from mmdet.structures.mask import BitmapMasks, PolygonMasks

#: Keys holding one entry per instance, filtered together.
INSTANCE_KEYS = ('gt_bboxes', 'gt_bboxes_labels', 'gt_masks',
                 'gt_ignore_flags')


def to_pixel_centres(matrix: np.ndarray) -> np.ndarray:
    """The 2 x 3 matrix OpenCV needs for the affine ``matrix`` (3 x 3, in
    continuous coordinates): ``T(-0.5) @ matrix @ T(0.5)``."""
    half_pixel = np.array([[1, 0, 0.5], [0, 1, 0.5], [0, 0, 1]])
    return (np.linalg.inv(half_pixel) @ matrix @ half_pixel)[:2]


def warp_image(img: np.ndarray, matrix: np.ndarray,
               out_shape: Tuple[int, int], border_value: float,
               interpolation: str) -> np.ndarray:
    """Warp an H x W or H x W x C image of any dtype OpenCV takes onto an
    ``out_shape`` (h, w) canvas filled with ``border_value``."""
    return cv2.warpAffine(
        img,
        to_pixel_centres(matrix), (out_shape[1], out_shape[0]),
        flags=cv2_interp_codes[interpolation],
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(border_value, ) * 4)


def translation(dx: float, dy: float) -> np.ndarray:
    """The 3 x 3 matrix of a shift by (dx, dy)."""
    return np.array([[1, 0, dx], [0, 1, dy], [0, 0, 1]], dtype=np.float64)


def warp_bitmap(mask: np.ndarray, matrix: np.ndarray,
                out: np.ndarray) -> None:
    """Warp one 0/1 ``mask`` into the zeroed canvas ``out``, bilinearly.

    Only the window around the mask's pixels is warped, onto the window of
    the canvas it lands in: a fracture covers a sliver of a radiograph, so
    this is many times cheaper than warping the whole bitmap, and it gives
    the same pixels, since bilinear sampling sees zeros outside the window
    (one pixel wider than the mask) either way.
    """
    cols = np.flatnonzero(mask.any(axis=0))
    rows = np.flatnonzero(mask.any(axis=1))
    if cols.size == 0:
        return
    x1, y1 = max(cols[0] - 1, 0), max(rows[0] - 1, 0)
    x2 = min(cols[-1] + 2, mask.shape[1])
    y2 = min(rows[-1] + 2, mask.shape[0])
    corners = np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2]],
                       dtype=np.float64) @ matrix[:2, :2].T + matrix[:2, 2]
    canvas = out.shape[::-1]
    left, top = np.clip(np.floor(corners.min(axis=0)), 0, canvas).astype(int)
    right, bottom = np.clip(np.ceil(corners.max(axis=0)), 0,
                            canvas).astype(int)
    if right <= left or bottom <= top:  # warped off the canvas
        return
    local = translation(-left, -top) @ matrix @ translation(x1, y1)
    out[top:bottom, left:right] = warp_image(mask[y1:y2, x1:x2], local,
                                             (bottom - top, right - left), 0,
                                             'bilinear')


def warp_masks(masks: Union[BitmapMasks, PolygonMasks], matrix: np.ndarray,
               out_shape: Tuple[int, int]) -> Union[BitmapMasks, PolygonMasks]:
    """Warp instance masks onto an ``out_shape`` (h, w) canvas.

    Bitmaps are interpolated bilinearly and rounded to 0/1, as
    MMDetection's ``BitmapMasks.rotate`` does (see :func:`warp_bitmap`);
    polygon vertices are mapped exactly and the polygons clipped to the
    canvas (``PolygonMasks.crop``, with shapely), so that their boxes are
    the boxes of what is still visible.
    """
    height, width = out_shape
    if isinstance(masks, PolygonMasks):
        linear, offset = matrix[:2, :2], matrix[:2, 2]
        warped = [[(p.reshape(-1, 2) @ linear.T + offset).reshape(-1)
                   for p in polygons] for polygons in masks.masks]
        return PolygonMasks(warped, height, width).crop(
            np.array([0, 0, width, height]))
    warped = np.zeros((len(masks), height, width), dtype=np.uint8)
    for mask, out in zip(masks.masks, warped):
        warp_bitmap(mask, matrix, out)
    return BitmapMasks(warped, height, width)


def fit_boxes_to_masks(results: dict, min_size: float) -> None:
    """Set ``gt_bboxes`` to the tight boxes of ``gt_masks``, and drop the
    instances whose box is no more than ``min_size`` px wide or high (the
    rule of MMDetection's ``FilterAnnotations``), from every key of
    :data:`INSTANCE_KEYS` present. Never drops the image."""
    boxes = results['gt_masks'].get_bboxes(dst_type='hbox')
    keep = ((boxes.widths > min_size) & (boxes.heights > min_size)).numpy()
    results['gt_bboxes'] = boxes
    for key in INSTANCE_KEYS:
        if key in results:
            results[key] = results[key][keep]


def warp_instances(results: dict, matrix: np.ndarray,
                   out_shape: Tuple[int, int], border_value: float,
                   interpolation: str, min_size: float) -> None:
    """Warp ``results`` in place by the affine ``matrix`` (3 x 3, continuous
    coordinates) onto an ``out_shape`` (h, w) canvas.

    Sets ``img``, ``img_shape`` and ``homography_matrix`` (composed with any
    earlier one, as MMDetection's geometric transforms do); warps
    ``gt_masks`` and re-derives the boxes with :func:`fit_boxes_to_masks`.

    Raises:
        ValueError: If there are boxes but no masks to derive them from.
        NotImplementedError: If there is a ``gt_seg_map``.
    """
    if results.get('gt_seg_map') is not None:
        raise NotImplementedError(
            'warping a gt_seg_map is not supported; the fracture pipeline '
            'has none')
    results['img'] = warp_image(results['img'], matrix, out_shape,
                                border_value, interpolation)
    results['img_shape'] = tuple(out_shape)
    if results.get('gt_masks') is not None:
        results['gt_masks'] = warp_masks(results['gt_masks'], matrix,
                                         out_shape)
        fit_boxes_to_masks(results, min_size)
    elif results.get('gt_bboxes') is not None:
        raise ValueError(
            f"{results.get('img_path', 'an image')}: boxes cannot be warped "
            'and stay tight; load the instance masks they are derived from '
            'with LoadAnnotations(with_bbox=True, with_mask=True)')
    previous = results.get('homography_matrix')
    matrix = matrix.astype(np.float32)
    results['homography_matrix'] = (
        matrix if previous is None else matrix @ previous)
