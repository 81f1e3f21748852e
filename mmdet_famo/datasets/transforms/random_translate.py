from typing import Optional, Tuple

import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness

from mmdet.registry import TRANSFORMS
from mmdet.structures.bbox import autocast_box_type
from .instance_warp import translation, warp_instances


@TRANSFORMS.register_module()
class RandomTranslate(BaseTransform):
    """Shift the image and its instance masks by a random whole number of
    pixels, and re-derive each box from its shifted mask.

    The paper's "image shifting" (Methods, "Data pre-processing").
    MMDetection's ``RandomShift`` does not move the masks (so boxes and masks
    disagree afterwards), and never shifts an image without boxes or one
    whose shift would cut off all of them; ``TranslateX``/``TranslateY``
    draw the shift from AutoAugment levels rounded to a tenth of the image
    (with ``max_mag=0.1`` either no shift or exactly 10%). Here every image
    is shifted alike, fracture-free or not, the boxes are the tight boxes of
    what is left of each mask in the image, and instances shifted out are
    dropped (see :mod:`.instance_warp`).

    Required Keys:

    - img (any dtype and channels OpenCV warps)
    - gt_bboxes (BaseBoxes[torch.float32]) (optional, needs gt_masks)
    - gt_masks (BitmapMasks | PolygonMasks) (optional)
    - gt_bboxes_labels (np.int64) (optional)
    - gt_ignore_flags (bool) (optional)

    Modified Keys:

    - img, gt_bboxes, gt_masks, gt_bboxes_labels, gt_ignore_flags

    Added Keys:

    - homography_matrix

    Args:
        prob (float): Probability of shifting an image. Defaults to 0.5.
        max_shift_ratio (float): Largest shift as a fraction of the image
            width (horizontally) and height (vertically); each is drawn
            uniformly. Defaults to 0.1: about as far as the anatomy's place
            varies between radiographs framed on the same region, while a
            fracture in the middle half of the image stays in it.
        border_value (float): Image value of the uncovered strip. Defaults
            to 0, the air of a radiograph read with bone bright.
        min_size (float): An instance whose box is no more than
            ``min_size`` px wide or high after the shift is dropped.
            Defaults to 1, as :class:`RandomRotate`.
    """

    def __init__(self,
                 prob: float = 0.5,
                 max_shift_ratio: float = 0.1,
                 border_value: float = 0,
                 min_size: float = 1.) -> None:
        if not 0 <= prob <= 1:
            raise ValueError(f'prob must be in [0, 1], got {prob}')
        if not 0 <= max_shift_ratio <= 1:
            raise ValueError(
                f'max_shift_ratio must be in [0, 1], got {max_shift_ratio}')
        self.prob = prob
        self.max_shift_ratio = max_shift_ratio
        self.border_value = border_value
        self.min_size = min_size

    @cache_randomness
    def _random_shift(self, img_shape: Tuple[int,
                                             int]) -> Optional[np.ndarray]:
        """The (dx, dy) shift in pixels, or None to leave the image."""
        if np.random.rand() >= self.prob:
            return None
        largest = (np.array(img_shape[::-1]) * self.max_shift_ratio).astype(
            np.int64)
        return np.random.randint(-largest, largest + 1)

    @autocast_box_type()
    def transform(self, results: dict) -> dict:
        """Shift ``results`` by a random offset, or leave it unchanged with
        probability ``1 - prob``."""
        img_shape = results['img'].shape[:2]
        shift = self._random_shift(img_shape)
        if shift is None:
            return results
        warp_instances(results, translation(*shift), img_shape,
                       self.border_value, 'nearest', self.min_size)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(prob={self.prob}, '
                f'max_shift_ratio={self.max_shift_ratio}, '
                f'border_value={self.border_value}, '
                f'min_size={self.min_size})')
