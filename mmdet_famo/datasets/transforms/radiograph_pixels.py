"""Pixel maths of :class:`LoadRadiograph`: grey levels to display values,
the 16-bit adaptive histogram equalisation and the output encodings.

Every DICOM grey-level transform (modality LUT, VOI LUT, inversion) is
evaluated once on the grid of representable stored values, giving a lookup
table indexed by ``stored value - lowest stored value``. Tables are exact
(pydicom's own functions compute them) and cost nothing per pixel; an image
is mapped through its table once, straight to ``uint16``.
"""
from typing import Tuple

import cv2
import mmcv
import numpy as np
from pydicom import Dataset
from pydicom.pixels import apply_modality_lut, apply_voi_lut

UINT16_LEVELS = 2**16
OUTPUTS = ('rgb_uint8', 'uint16', 'float32')


def stored_range(bits_stored: int, signed: bool) -> Tuple[int, int]:
    """The lowest and highest value ``bits_stored`` bits can hold."""
    if signed:
        return -2**(bits_stored - 1), 2**(bits_stored - 1) - 1
    return 0, 2**bits_stored - 1


def is_inverted(ds: Dataset) -> bool:
    """Whether the lowest value of ``ds`` is displayed as white.

    True for Photometric Interpretation MONOCHROME1 and for Presentation LUT
    Shape (2050,0020) INVERSE. The two are one inversion, not two: the
    General Image Module (PS3.3) requires INVERSE exactly when the image is
    MONOCHROME1, so MONOCHROME1 + INVERSE is inverted once.
    """
    shape = str(ds.get('PresentationLUTShape', '')).strip().upper()
    return ds.PhotometricInterpretation == 'MONOCHROME1' or shape == 'INVERSE'


def display_levels(ds: Dataset, apply_voi: bool = False) -> np.ndarray:
    """Display value of every representable stored value of ``ds``.

    Entry ``i`` is the value of stored value ``lowest + i`` (see
    :func:`stored_range`) after, in DICOM's order (PS3.4 N.2):

    1. the modality LUT: Rescale Slope/Intercept or a Modality LUT Sequence
       (pydicom's ``apply_modality_lut``);
    2. if ``apply_voi``, the VOI LUT: a VOI LUT Sequence, else Window
       Centre/Width with the LINEAR, LINEAR_EXACT or SIGMOID function
       (pydicom's ``apply_voi_lut``, first view);
    3. inversion when :func:`is_inverted`, so that dense matter (bone) is
       bright. The rule: ``v -> lo + hi - v`` where ``[lo, hi]`` is the range
       of the table itself, i.e. what the stored bits can represent after
       steps 1-2 -- never the image's own min/max, so an image whose content
       does not fill the range is inverted without being stretched.

    Args:
        ds (Dataset): A monochrome dataset (the pixel module is enough).
        apply_voi (bool): Whether to apply the VOI LUT stage.

    Returns:
        np.ndarray: float64 table of length ``2 ** BitsStored``.
    """
    lowest, highest = stored_range(ds.BitsStored, ds.PixelRepresentation == 1)
    levels = apply_modality_lut(np.arange(lowest, highest + 1), ds)
    if apply_voi:
        levels = apply_voi_lut(levels, ds)
    levels = levels.astype(np.float64)
    if is_inverted(ds):
        levels = levels.min() + levels.max() - levels
    return levels


def to_uint16(stored: np.ndarray, levels: np.ndarray, lowest: int,
              stretch: bool) -> np.ndarray:
    """Map stored values through ``levels`` linearly onto 0..65535.

    Args:
        stored (np.ndarray): Stored values (integers within the table).
        levels (np.ndarray): Display value per stored value, from
            :func:`display_levels`; entry 0 belongs to ``lowest``.
        lowest (int): The stored value of ``levels[0]``.
        stretch (bool): What is mapped onto 0..65535. False: the table's
            range, i.e. what the stored bits can represent, so a stored
            value always gives the same output. True: the image's own range
            (its darkest pixel gives 0, its brightest 65535), as
            :func:`equalize` needs.

    Returns:
        np.ndarray: uint16 array of ``stored``'s shape.
    """
    steps = np.diff(levels)
    if stretch and steps[0] != 0 and np.allclose(steps, steps[0]):
        # An affine table (identity, rescale, inversion) needs no lookup:
        # stretching the stored values over the image range gives the same.
        image = cv2.normalize(stored, None, 0, UINT16_LEVELS - 1,
                              cv2.NORM_MINMAX, cv2.CV_16U)
        return cv2.bitwise_not(image) if steps[0] < 0 else image
    span = np.ptp(levels) or 1.0
    table = np.rint((levels - levels.min()) * ((UINT16_LEVELS - 1) / span))
    index = stored.astype(np.int64) - lowest if lowest else stored
    image = table.astype(np.uint16)[index]
    if stretch:
        image = cv2.normalize(image, None, 0, UINT16_LEVELS - 1,
                              cv2.NORM_MINMAX, cv2.CV_16U)
    return image


def equalize(image: np.ndarray, clip_limit: float,
             tile_grid_size: Tuple[int, int]) -> np.ndarray:
    """Contrast limited adaptive histogram equalisation (CLAHE) in 16 bits.

    OpenCV's ``createCLAHE`` on the full 16-bit image, with two choices that
    make it behave as 8-bit CLAHE (and scikit-image's ``equalize_adapthist``)
    does, whatever the bit depth:

    - the image spans 0..65535 (:func:`to_uint16` with ``stretch=True``, as
      scikit-image rescales to the image's min/max): OpenCV redistributes
      the clipped counts over all 65536 bins, so they land among the
      image's own grey levels only if it spans them all. Histogram
      equalisation is otherwise indifferent to a monotone remap, so the
      stretch changes nothing else, and it is lossless: every stored level
      keeps its own bin.
    - the clip limit is measured against the grey levels the image
      occupies: OpenCV clips each bin at ``clipLimit * tile pixels /
      65536``, so a 10- or 12-bit image (1024 or 4096 occupied bins) would
      be clipped almost flat, i.e. hardly equalised, by an amount set by its
      encoding. ``clipLimit = clip_limit * 65536 / occupied levels`` gives
      each image the clip 8-bit CLAHE with ``clip_limit`` gives an image
      using all 256 levels: the same anatomy stored with 10, 12 or 16 bits,
      or stretched with gaps as in GRAZPEDWRI-DX's PNGs, comes out alike.

    Args:
        image (np.ndarray): uint16 image spanning 0..65535.
        clip_limit (float): Clip limit as a multiple of the mean count per
            occupied grey level (the unit of 8-bit CLAHE).
        tile_grid_size (tuple[int, int]): Tiles per (column, row).

    Returns:
        np.ndarray: uint16 equalised image.
    """
    hist = cv2.calcHist([image], [0], None, [UINT16_LEVELS],
                        [0, UINT16_LEVELS])
    occupied = np.count_nonzero(hist)
    clahe = cv2.createCLAHE(clipLimit=clip_limit * UINT16_LEVELS / occupied,
                            tileGridSize=tuple(tile_grid_size))
    return clahe.apply(image)


def encode_output(image: np.ndarray, output: str) -> np.ndarray:
    """Encode a uint16 image as ``output``.

    - ``'rgb_uint8'``: H x W x 3 uint8, ``round(image * 255 / 65535)`` in
      every channel (the input ImageNet-pretrained backbones and mmdet's
      transforms expect);
    - ``'uint16'``: H x W uint16, unchanged;
    - ``'float32'``: H x W float32, ``image / 65535`` in [0, 1].
    """
    if output == 'uint16':
        return image
    if output == 'float32':
        return np.divide(image, UINT16_LEVELS - 1, dtype=np.float32)
    if output == 'rgb_uint8':
        return mmcv.gray2bgr(
            cv2.convertScaleAbs(image, alpha=255 / (UINT16_LEVELS - 1)))
    raise ValueError(f'output must be one of {OUTPUTS}, got {output!r}')
