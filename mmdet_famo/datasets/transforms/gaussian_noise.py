from typing import Optional, Tuple

import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness

from mmdet.registry import TRANSFORMS
from .random_invert import full_scale


@TRANSFORMS.register_module()
class GaussianNoise(BaseTransform):
    """Add zero-mean Gaussian noise to every pixel with probability
    ``prob``: the paper's "pixel noise" (Methods, "Data pre-processing").

    The standard deviation is a fraction of the image's full scale (255 for
    uint8, 65535 for uint16, 1.0 for float; see :func:`full_scale`), drawn
    uniformly from ``std_range`` per image, so a setting means the same at
    every bit depth. One noise field is added to all channels alike, so a
    grey radiograph stays grey; the result is clipped to ``[0, full scale]``
    and, for integer images, rounded. The field comes from a generator
    seeded from NumPy's global random state, so a seeded run is
    reproducible, and is drawn by its ziggurat sampler in float32, twice as
    fast as the global state's ``normal``.

    Required Keys:

    - img

    Modified Keys:

    - img

    Args:
        prob (float): Probability of adding noise. Defaults to 0.5.
        std_range (tuple[float, float]): Range of the standard deviation,
            as a fraction of full scale. Defaults to (0, 0.02): the paper
            gives no level; up to 5 grey levels in 8 bits is a mild grain,
            small next to the tens of levels between cortex and soft tissue
            after CLAHE, so it perturbs texture without hiding fractures.
        max_value (float, optional): Full scale, if not the dtype's.
            Defaults to None.
    """

    def __init__(self,
                 prob: float = 0.5,
                 std_range: Tuple[float, float] = (0., 0.02),
                 max_value: Optional[float] = None) -> None:
        if not 0 <= prob <= 1:
            raise ValueError(f'prob must be in [0, 1], got {prob}')
        if not 0 <= std_range[0] <= std_range[1]:
            raise ValueError(
                f'std_range must be (low, high) with 0 <= low <= high, got '
                f'{std_range}')
        self.prob = prob
        self.std_range = tuple(std_range)
        self.max_value = max_value

    @cache_randomness
    def _random_noise(self) -> Optional[Tuple[float, int]]:
        """The standard deviation (fraction of full scale) and the seed of
        the noise field, or None to leave the image."""
        if np.random.rand() >= self.prob:
            return None
        return np.random.uniform(*self.std_range), np.random.randint(2**31)

    def transform(self, results: dict) -> dict:
        """Add noise to ``results['img']`` with probability ``prob``."""
        noise = self._random_noise()
        if noise is None:
            return results
        std, seed = noise
        img = results['img']
        white = full_scale(img, self.max_value)
        field = np.random.default_rng(seed).standard_normal(
            img.shape[:2], dtype=np.float32)
        field *= std * white
        noisy = img + (field if img.ndim == 2 else field[..., None])
        if np.issubdtype(img.dtype, np.integer):
            noisy = np.rint(noisy, out=noisy)
        noisy = np.clip(noisy, 0, white, out=noisy)
        results['img'] = noisy.astype(img.dtype)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(prob={self.prob}, '
                f'std_range={self.std_range}, max_value={self.max_value})')
