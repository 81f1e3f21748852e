import math
from typing import Optional, Tuple

import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness

from mmdet.registry import TRANSFORMS
from mmdet.structures.bbox import autocast_box_type
from .instance_warp import translation, warp_instances


def rotation_matrix(angle: float, img_shape: Tuple[int, int],
                    expand: bool) -> Tuple[np.ndarray, Tuple[int, int]]:
    """The affine matrix (3 x 3, continuous coordinates) that rotates an
    ``img_shape`` (h, w) image by ``angle`` degrees clockwise as displayed
    about its centre, and the (h, w) of the canvas it lands on: the same
    canvas, or with ``expand`` the smallest holding the whole rotated image.
    Either way it is the rotation of ``mmcv.imrotate`` (with
    ``auto_bound=expand``), in MMDetection's box coordinates."""
    height, width = img_shape
    cos, sin = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    if expand:
        height, width = (width * abs(sin) + height * abs(cos),
                         width * abs(cos) + height * abs(sin))
    rotate = np.array([[cos, -sin, 0], [sin, cos, 0], [0, 0, 1]])
    matrix = translation(width / 2, height / 2) @ rotate @ translation(
        -img_shape[1] / 2, -img_shape[0] / 2)
    return matrix, (int(np.round(height)), int(np.round(width)))


@TRANSFORMS.register_module()
class RandomRotate(BaseTransform):
    """Rotate the image and its instance masks by a random angle, over the
    whole circle by default, and re-derive each box from its rotated mask.

    The paper trains with "360-degree random rotation" (Methods, "Data
    pre-processing") on boxes derived from instance segmentations ("Data
    labeling"). MMDetection's ``Rotate`` takes the box around each box's
    rotated corners, which at 45 degrees is up to 41% wider and higher than
    the object (a thin diagonal fracture's box turns into a square: the loose
    box FAMO exists to avoid); it also crops the image's corners. Here each
    box is the tight box of its rotated mask and instances rotated out of the
    image are dropped (see :mod:`.instance_warp`); with ``expand`` the canvas
    grows to hold the whole rotated radiograph, so no fracture near a corner
    is cut off, and the resize that follows in the pipeline brings the long
    side back to the training scale.

    Box-only instances: where an outline is only its box (GRAZPEDWRI-DX's
    YOLO boxes, converted with ``box_only: true``; ``FractureDataset`` sets
    ``results['box_only']`` when any instance of the image is one), the
    tight box of the rotated rectangle is the loose box this transform
    exists to avoid: the fracture inside may be a thin line in any
    direction. Such an image is therefore turned by the multiple of 90
    degrees nearest the angle drawn (over the whole circle: 0, 90, 180 or
    270 degrees, a quarter each), under which a box maps exactly onto a box;
    with the horizontal ``RandomFlip`` that still gives all eight
    orientations of the radiograph.

    Required Keys:

    - img (any dtype and channels OpenCV warps)
    - gt_bboxes (BaseBoxes[torch.float32]) (optional, needs gt_masks)
    - gt_masks (BitmapMasks | PolygonMasks) (optional)
    - gt_bboxes_labels (np.int64) (optional)
    - gt_ignore_flags (bool) (optional)
    - box_only (bool) (optional): rotate by multiples of 90 degrees only

    Modified Keys:

    - img, img_shape, gt_bboxes, gt_masks, gt_bboxes_labels, gt_ignore_flags

    Added Keys:

    - homography_matrix

    Args:
        prob (float): Probability of rotating an image. Defaults to 0.5:
            radiographs are taken in a few standard orientations, which half
            of the samples keep, while the other half cover the full circle
            (patients positioned off-axis, fractures of every orientation).
        angle_range (tuple[float, float]): Range of the angle in degrees,
            clockwise as displayed (``mmcv.imrotate``'s sense), drawn
            uniformly. Defaults to (-180, 180), the whole circle; with a
            horizontal ``RandomFlip`` this covers every orientation, so a
            vertical flip adds nothing.
        expand (bool): Enlarge the canvas to hold the whole rotated image
            (``mmcv.imrotate``'s ``auto_bound``). Defaults to True; the
            resize to the training scale then shrinks the anatomy by up to
            1/sqrt(2) (a square image at 45 degrees), within the scale
            jitter. False keeps the size and crops the corners, as
            ``Rotate`` does, losing fractures near them.
        border_value (float): Image value outside the rotated image.
            Defaults to 0: black, the air of a radiograph read with bone
            bright (as :class:`LoadRadiograph` outputs it).
        interpolation (str): Image interpolation, a key of
            ``mmcv.image.geometric.cv2_interp_codes``. Defaults to
            'bilinear'. Bitmap masks are always interpolated bilinearly and
            rounded to 0/1.
        min_size (float): An instance whose rotated box is no more than
            ``min_size`` px wide or high is dropped. Defaults to 1: a box of
            a pixel or less is a sliver the rotation left at the border.
    """

    def __init__(self,
                 prob: float = 0.5,
                 angle_range: Tuple[float, float] = (-180., 180.),
                 expand: bool = True,
                 border_value: float = 0,
                 interpolation: str = 'bilinear',
                 min_size: float = 1.) -> None:
        if not 0 <= prob <= 1:
            raise ValueError(f'prob must be in [0, 1], got {prob}')
        if angle_range[0] > angle_range[1]:
            raise ValueError(f'angle_range must be (low, high), got '
                             f'{angle_range}')
        self.prob = prob
        self.angle_range = tuple(angle_range)
        self.expand = expand
        self.border_value = border_value
        self.interpolation = interpolation
        self.min_size = min_size

    @cache_randomness
    def _random_angle(self) -> Optional[float]:
        """The angle to rotate by, or None to leave the image."""
        if np.random.rand() >= self.prob:
            return None
        return np.random.uniform(*self.angle_range)

    @autocast_box_type()
    def transform(self, results: dict) -> dict:
        """Rotate ``results`` by a random angle, or leave it unchanged with
        probability ``1 - prob``."""
        angle = self._random_angle()
        if angle is None:
            return results
        if results.get('box_only', False):
            angle = 90. * round(angle / 90.)
        matrix, out_shape = rotation_matrix(angle, results['img'].shape[:2],
                                            self.expand)
        warp_instances(results, matrix, out_shape, self.border_value,
                       self.interpolation, self.min_size)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(prob={self.prob}, '
                f'angle_range={self.angle_range}, expand={self.expand}, '
                f'border_value={self.border_value}, '
                f"interpolation='{self.interpolation}', "
                f'min_size={self.min_size})')
