import math

import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness

from mmdet.datasets.transforms import Resize
from mmdet.registry import TRANSFORMS


@TRANSFORMS.register_module()
class RandomAspectRatio(BaseTransform):
    """Stretch the image's width against its height by a random factor,
    keeping its area: the paper's "aspect ratio floating" (Methods, "Data
    pre-processing").

    The width is multiplied by ``sqrt(r)`` and the height divided by it,
    with ``log r`` uniform in ``[-log max_ratio, log max_ratio]``, so that
    stretching and squashing by the same factor are equally likely.
    MMDetection's ``RandomResize`` jitters the scale, but with
    ``keep_ratio=True`` never the aspect ratio, and with ``keep_ratio=False``
    it gives every image the same (w, h) whatever its own aspect; put this
    after it. Image, boxes and masks are resized by MMDetection's ``Resize``
    (an axis-aligned stretch keeps a tight box tight), and ``scale_factor``
    is composed with the one already in ``results``.

    Required Keys:

    - img
    - gt_bboxes (BaseBoxes[torch.float32]) (optional)
    - gt_masks (BitmapMasks | PolygonMasks) (optional)
    - scale_factor (optional)

    Modified Keys:

    - img, img_shape, gt_bboxes, gt_masks, scale, scale_factor, keep_ratio

    Added Keys:

    - homography_matrix

    Args:
        max_ratio (float): Largest stretch ``r`` (>= 1). Defaults to 1.2,
            i.e. each side changes by up to ~9.5%: the paper gives no
            range; this is about the spread of magnification and projection
            between radiographs of the same anatomy, and keeps a fracture's
            shape recognisable.
        **resize_kwargs: Passed to ``Resize`` (``interpolation``,
            ``backend``, ``clip_object_border``).
    """

    def __init__(self, max_ratio: float = 1.2, **resize_kwargs) -> None:
        if max_ratio < 1:
            raise ValueError(f'max_ratio must be >= 1, got {max_ratio}')
        self.max_ratio = max_ratio
        self.resize = Resize(scale=0, keep_ratio=False, **resize_kwargs)

    @cache_randomness
    def _random_ratio(self) -> float:
        """The width:height stretch ``r``."""
        log_max = math.log(self.max_ratio)
        return math.exp(np.random.uniform(-log_max, log_max))

    def transform(self, results: dict) -> dict:
        """Stretch ``results`` by a random aspect ratio."""
        stretch = math.sqrt(self._random_ratio())
        height, width = results['img'].shape[:2]
        self.resize.scale = (max(1, round(width * stretch)),
                             max(1, round(height / stretch)))
        previous = results.get('scale_factor', (1., 1.))
        results = self.resize(results)
        results['scale_factor'] = tuple(
            p * s for p, s in zip(previous, results['scale_factor']))
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(max_ratio={self.max_ratio}, '
                f'resize={self.resize!r})')
