"""Pixel maths of :class:`LoadRadiograph`: grey levels to display values,
pixel padding, the adaptive histogram equalisation and the output encodings.

Every DICOM grey-level transform (modality LUT, VOI LUT, inversion) is
evaluated once on the grid of representable stored values, giving a lookup
table indexed by ``stored value - lowest stored value``. Tables are exact
(pydicom's own functions compute them) and cost nothing per pixel; an image
is mapped through its table once, straight to ``uint16``.
"""
from typing import Optional, Tuple

import cv2
import numpy as np
from pydicom import Dataset
from pydicom.pixels import apply_modality_lut, apply_voi_lut

UINT16_LEVELS = 2**16
UINT8_LEVELS = 2**8
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


def padding_mask(ds: Dataset, stored: np.ndarray) -> Optional[np.ndarray]:
    """The padding pixels of ``ds``: True where ``stored`` is Pixel Padding
    Value (0028,0120), or lies between it and Pixel Padding Range Limit
    (0028,0121) inclusive when that is present (PS3.3 C.7.5.1.1.2: both in
    stored-pixel units, before the modality LUT, either may be the larger).
    None when the file has no padding value or no pixel is padding."""
    value = ds.get('PixelPaddingValue')
    if value is None:
        return None
    limit = ds.get('PixelPaddingRangeLimit')
    low, high = (value, value) if limit is None else sorted((value, limit))
    padding = (stored >= low) & (stored <= high)
    return padding if padding.any() else None


def to_uint16(stored: np.ndarray,
              levels: np.ndarray,
              lowest: int,
              stretch: bool,
              padding: Optional[np.ndarray] = None) -> np.ndarray:
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
        padding (np.ndarray, optional): Boolean mask of padding pixels
            (:func:`padding_mask`): left out of the stretch's range; their
            values are undefined (:func:`equalize` sets them).

    Returns:
        np.ndarray: uint16 array of ``stored``'s shape.
    """
    mask = None if padding is None else np.logical_not(padding).view(np.uint8)
    if stretch and is_affine(levels):
        # An affine table (identity, rescale, inversion) needs no lookup:
        # stretching the stored values over the image range gives the same.
        # Inverted first, over the stored range and in integers, so that an
        # inverted image and its inverted twin round alike.
        if levels[1] < levels[0]:
            stored = invert_stored(stored, lowest, len(levels))
        return cv2.normalize(stored, None, 0, UINT16_LEVELS - 1,
                             cv2.NORM_MINMAX, cv2.CV_16U, mask)
    span = np.ptp(levels) or 1.0
    table = np.rint((levels - levels.min()) * ((UINT16_LEVELS - 1) / span))
    index = stored.astype(np.int64) - lowest if lowest else stored
    image = table.astype(np.uint16)[index]
    if stretch:
        image = cv2.normalize(image, None, 0, UINT16_LEVELS - 1,
                              cv2.NORM_MINMAX, cv2.CV_16U, mask)
    return image


def invert_stored(stored: np.ndarray, lowest: int, count: int) -> np.ndarray:
    """``lowest + highest - stored``: stored values mirrored over the range
    of ``count`` values from ``lowest``, in ``stored``'s integer type."""
    return np.subtract(2 * lowest + count - 1, stored, dtype=stored.dtype)


def is_affine(levels: np.ndarray) -> bool:
    """Whether a display-level table is a non-constant affine map (identity,
    rescale, inversion)."""
    steps = np.diff(levels)
    return bool(steps[0] != 0 and np.ptp(steps) <= 1e-9 * abs(steps[0]))


def stretch_uint8(stored: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """The 8-bit twin of :func:`to_uint16` with ``stretch=True`` for uint8
    stored values and an affine table (:func:`is_affine`): the image's range
    mapped onto 0..255, inverted where the table decreases. Lossless: a
    range of at most 256 levels spread over 256 keeps every level apart."""
    if levels[1] < levels[0]:
        stored = invert_stored(stored, 0, len(levels))
    return cv2.normalize(stored, None, 0, UINT8_LEVELS - 1, cv2.NORM_MINMAX,
                         cv2.CV_8U)


def fill_padding(image: np.ndarray, padding: np.ndarray) -> np.ndarray:
    """``image`` with every padding pixel replaced by the value of its
    nearest non-padding pixel (OpenCV's distance transform, labelled by
    pixel; labels follow the raster order of the non-padding pixels)."""
    _, nearest = cv2.distanceTransformWithLabels(
        padding.view(np.uint8),
        cv2.DIST_L2,
        cv2.DIST_MASK_5,
        labelType=cv2.DIST_LABEL_PIXEL)
    return image[np.logical_not(padding)][nearest - 1]


def equalize(image: np.ndarray,
             clip_limit: float,
             tile_grid_size: Tuple[int, int],
             padding: Optional[np.ndarray] = None) -> np.ndarray:
    """Contrast limited adaptive histogram equalisation (CLAHE) at the
    image's bit depth, 16 or 8.

    OpenCV's ``createCLAHE`` on the full image, with two choices that make
    it behave as 8-bit CLAHE (and scikit-image's ``equalize_adapthist``)
    does, whatever the bit depth:

    - the image spans its type's range, 0..65535 or 0..255 (:func:`to_uint16`
      with ``stretch=True``, :func:`stretch_uint8`; scikit-image rescales to
      the image's min/max too): OpenCV redistributes the clipped counts over
      all 65536 (256) bins, so they land among the image's own grey levels
      only if it spans them all. Histogram equalisation is otherwise
      indifferent to a monotone remap, so the stretch changes nothing else,
      and it is lossless: every stored level keeps its own bin.
    - the clip limit is measured against the grey levels the image
      occupies: OpenCV clips each bin at ``clipLimit * tile pixels / bins``,
      so a 10- or 12-bit image (1024 or 4096 occupied bins out of 65536)
      would be clipped almost flat, i.e. hardly equalised, by an amount set
      by its encoding. ``clipLimit = clip_limit * bins / occupied levels``
      gives each image the clip 8-bit CLAHE with ``clip_limit`` gives an
      image using all 256 levels: the same anatomy stored with 8, 10, 12 or
      16 bits, or stretched with gaps as in GRAZPEDWRI-DX's PNGs, comes out
      alike. In particular an 8-bit image gets, from OpenCV's 8-bit CLAHE,
      what its 16-bit stretch gets from the 16-bit one, to within one grey
      level of 255 (interpolation rounding), several times faster.

    Pixel padding is kept out of the histograms: CLAHE runs on the bounding
    box of the non-padding pixels (so padding around the anatomy, the usual
    shutter or collimation border, is simply not there), and padding inside
    that box is filled with its nearest non-padding value
    (:func:`fill_padding`) so that it adds copies of the edge's own levels,
    never a spike at the padding value. The occupied levels are those of
    non-padding pixels.

    Args:
        image (np.ndarray): uint16 image spanning 0..65535, or uint8 spanning
            0..255 (outside the padding).
        clip_limit (float): Clip limit as a multiple of the mean count per
            occupied grey level (the unit of 8-bit CLAHE).
        tile_grid_size (tuple[int, int]): Tiles per (column, row).
        padding (np.ndarray, optional): Boolean mask of padding pixels, not
            all of the image; their output is undefined (the caller sets it).

    Returns:
        np.ndarray: The equalised image, of ``image``'s type.
    """
    bins = np.iinfo(image.dtype).max + 1
    region, window = image, np.s_[:, :]
    if padding is not None:
        x, y, width, height = cv2.boundingRect(
            np.logical_not(padding).view(np.uint8))
        window = np.s_[y:y + height, x:x + width]
        region = image[window]
        if padding[window].any():
            region = fill_padding(region, padding[window])
    hist = cv2.calcHist([region], [0], None, [bins], [0, bins])
    occupied = np.count_nonzero(hist)
    clahe = cv2.createCLAHE(clipLimit=clip_limit * bins / occupied,
                            tileGridSize=tuple(tile_grid_size))
    if padding is None:
        return clahe.apply(region)
    equalized = np.zeros_like(image)
    equalized[window] = clahe.apply(region)
    return equalized


def encode_output(image: np.ndarray, output: str) -> np.ndarray:
    """Encode a uint16 (or uint8) image as ``output``.

    - ``'rgb_uint8'``: H x W x 3 uint8, ``round(image * 255 / 65535)`` in
      every channel (the input ImageNet-pretrained backbones and mmdet's
      transforms expect);
    - ``'uint16'``: H x W uint16, unchanged;
    - ``'float32'``: H x W float32, ``image / 65535`` in [0, 1].

    A uint8 image is first read as ``image * 257`` (0..255 onto 0..65535).
    """
    if image.dtype == np.uint8:
        if output == 'rgb_uint8':
            return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        image = image.astype(np.uint16) * 257
    if output == 'uint16':
        return image
    if output == 'float32':
        return np.divide(image, UINT16_LEVELS - 1, dtype=np.float32)
    if output == 'rgb_uint8':
        return cv2.cvtColor(
            cv2.convertScaleAbs(image, alpha=255 / (UINT16_LEVELS - 1)),
            cv2.COLOR_GRAY2BGR)
    raise ValueError(f'output must be one of {OUTPUTS}, got {output!r}')
