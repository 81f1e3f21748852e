from typing import Optional

import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness

from mmdet.registry import TRANSFORMS


def full_scale(img: np.ndarray, max_value: Optional[float] = None) -> float:
    """The white level of ``img``: ``max_value`` if given, else the largest
    value of an integer dtype (255 for uint8, 65535 for uint16) or 1.0 for
    a float image (``LoadRadiograph(output='float32')`` is in [0, 1])."""
    if max_value is not None:
        return max_value
    if np.issubdtype(img.dtype, np.integer):
        return np.iinfo(img.dtype).max
    return 1.0


@TRANSFORMS.register_module()
class RandomInvert(BaseTransform):
    """Invert the grey levels, ``x -> white - x``, with probability ``prob``:
    the paper's "random color inverse" (Methods, "Data pre-processing").

    Exact at every bit depth: ``white`` is the dtype's full scale (255 for
    uint8, 65535 for uint16, 1.0 for float) unless ``max_value`` says
    otherwise. The full scale is the right white for :class:`LoadRadiograph`,
    which maps every radiograph onto the full 16 bits before encoding it; a
    16-bit image that holds fewer stored bits (e.g. 12-bit values 0..4095
    loaded some other way) needs ``max_value=4095``, or it would be inverted
    into 61440..65535. MMDetection's ``Invert`` computes ``255 - x`` whatever
    the dtype, so it is right for 8-bit images only.

    Required Keys:

    - img

    Modified Keys:

    - img

    Args:
        prob (float): Probability of inverting. Defaults to 0.5: whether
            bone is shown bright or dark (MONOCHROME2 or MONOCHROME1, both
            common in PACS) says nothing about a fracture, so neither
            polarity is preferred.
        max_value (float, optional): White level. Defaults to None: the
            dtype's full scale, see :func:`full_scale`.
    """

    def __init__(self,
                 prob: float = 0.5,
                 max_value: Optional[float] = None) -> None:
        if not 0 <= prob <= 1:
            raise ValueError(f'prob must be in [0, 1], got {prob}')
        self.prob = prob
        self.max_value = max_value

    @cache_randomness
    def _random_apply(self) -> bool:
        return np.random.rand() < self.prob

    def transform(self, results: dict) -> dict:
        """Invert ``results['img']`` with probability ``prob``.

        Raises:
            ValueError: If a pixel exceeds ``max_value``.
        """
        if not self._random_apply():
            return results
        img = results['img']
        white = full_scale(img, self.max_value)
        if img.max() > white:
            raise ValueError(
                f"{results.get('img_path', 'image')}: pixel value "
                f'{img.max()} above max_value={white}; cannot invert')
        results['img'] = (white - img).astype(img.dtype)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(prob={self.prob}, '
                f'max_value={self.max_value})')
