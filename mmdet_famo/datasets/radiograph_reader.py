"""Read radiographs (DICOM, PNG, JPEG, TIFF) into the images the detector
sees, with CLAHE (paper, Methods: "Image arrays in 16-bit integer format
were extracted from DICOM files. The raw data were processed with adaptive
histogram equalization").

Imports neither torch nor MMCV nor MMDetection: the ONNX runtime and the
DICOM node read with it (:class:`RadiographReader`), and so does the
training pipeline's :class:`~.transforms.LoadRadiograph`.
"""
import math
from typing import NamedTuple, Optional, Tuple

import numpy as np
import pydicom
from pydicom import Dataset
from pydicom.multival import MultiValue
from pydicom.pixels import get_decoder
from pydicom.uid import (JPEG2000TransferSyntaxes, JPEGLSTransferSyntaxes,
                         JPEGTransferSyntaxes, RLETransferSyntaxes)

from .image_files import RadiographError, read_raster, reading
from .transforms.radiograph_pixels import (OUTPUTS, display_levels,
                                           encode_output, equalize,
                                           is_affine, padding_mask,
                                           stored_range, stretch_uint8,
                                           to_uint16)

__all__ = [
    'DICOM_FACTS', 'Radiograph', 'RadiographError', 'RadiographReader',
    'dicom_facts', 'is_dicom', 'read_dicom', 'read_image'
]

#: ``results['radiograph_meta']`` key -> DICOM keyword(s), first present wins.
DICOM_FACTS = {
    'study_instance_uid': ('StudyInstanceUID', ),
    'series_instance_uid': ('SeriesInstanceUID', ),
    'sop_instance_uid': ('SOPInstanceUID', ),
    'patient_id': ('PatientID', ),
    'body_part_examined': ('BodyPartExamined', ),
    'view_position': ('ViewPosition', ),
    'laterality': ('ImageLaterality', 'Laterality'),
    'pixel_spacing': ('PixelSpacing', ),
    'imager_pixel_spacing': ('ImagerPixelSpacing', ),
    'modality': ('Modality', ),
    'photometric_interpretation': ('PhotometricInterpretation', ),
}

#: The pylibjpeg plugin that decodes each family of compressed syntaxes.
DECODER_PACKAGES = (
    (JPEGTransferSyntaxes + JPEGLSTransferSyntaxes, 'pylibjpeg-libjpeg'),
    (JPEG2000TransferSyntaxes, 'pylibjpeg-openjpeg'),
    (RLETransferSyntaxes, 'pylibjpeg-rle'),
)


class Radiograph(NamedTuple):
    """What a reader gives :class:`RadiographReader`.

    Args:
        stored (np.ndarray): Stored values, H x W, as displayed.
        levels (np.ndarray): Display value per representable stored value
            (:func:`~.transforms.radiograph_pixels.display_levels`).
        lowest (int): The stored value of ``levels[0]``.
        padding (np.ndarray, optional): Boolean mask of padding pixels.
        facts (dict): :func:`dicom_facts`, all None for other files.
    """
    stored: np.ndarray
    levels: np.ndarray
    lowest: int
    padding: Optional[np.ndarray]
    facts: dict


def check_pixel_module(ds: Dataset, path: str) -> None:
    """Raise :class:`RadiographError` unless ``ds`` holds one monochrome
    frame of 8- or 16-bit pixels this loader can turn into a radiograph."""
    if 'PixelData' not in ds:
        raise RadiographError(
            path, 'no Pixel Data (7FE0,0010): not an image, or truncated')
    if int(ds.get('NumberOfFrames') or 1) != 1:
        raise RadiographError(
            path, f'{ds.NumberOfFrames} frames; one radiograph per file is '
            'supported')
    photometric = ds.get('PhotometricInterpretation')
    samples = ds.get('SamplesPerPixel', 1)
    if photometric not in ('MONOCHROME1', 'MONOCHROME2') or samples != 1:
        raise RadiographError(
            path, f'colour or unknown pixel data (Photometric Interpretation '
            f'{photometric}, {samples} samples per pixel); only MONOCHROME1 '
            'and MONOCHROME2 radiographs are supported')
    if not ds.get('Rows') or not ds.get('Columns'):
        raise RadiographError(
            path, f"zero-sized image ({ds.get('Rows')} x "
            f"{ds.get('Columns')} pixels)")
    allocated, stored = ds.get('BitsAllocated'), ds.get('BitsStored')
    if allocated not in (8, 16) or not 1 <= (stored or 0) <= allocated:
        raise RadiographError(
            path, f'unsupported bit depth ({stored} bits stored in '
            f'{allocated} allocated); 8 or 16 bits allocated are supported')
    if ds.get('PixelRepresentation') not in (0, 1):
        raise RadiographError(
            path, f"Pixel Representation {ds.get('PixelRepresentation')}; "
            '0 (unsigned) or 1 (signed) is required')


def check_decoder(ds: Dataset, path: str) -> None:
    """Raise :class:`RadiographError` naming the transfer syntax and the
    package to install if pydicom has no decoder for ``ds``'s pixels."""
    syntax = ds.file_meta.get('TransferSyntaxUID')
    if syntax is None:
        raise RadiographError(
            path, 'no Transfer Syntax UID in its meta '
            'information')
    try:
        decoder = get_decoder(syntax)
    except NotImplementedError as error:
        raise RadiographError(
            path, f"unsupported transfer syntax '{syntax.name}' ({syntax})"
        ) from error
    if not decoder.is_available:
        package = next(
            (name
             for syntaxes, name in DECODER_PACKAGES if syntax in syntaxes),
            'a pydicom pixel data plugin')
        raise RadiographError(
            path, f"no decoder for transfer syntax '{syntax.name}' "
            f"({syntax}) is installed: pip install pylibjpeg {package} "
            "(or pip install 'mmdet-famo[dicom]')")


def dicom_facts(ds: Dataset) -> dict:
    """The :data:`DICOM_FACTS` of ``ds``; None where absent or empty,
    spacings as ``(row, column)`` floats in mm, the rest as ``str``.

    A spacing is None unless it is two positive finite values: some CR
    readers write ``0\\0`` for "not calibrated" (pydicom-data's RG1_UNCR
    does), which is no spacing at all (PS3.3 10.7.1.3).
    """
    facts = dict.fromkeys(DICOM_FACTS)
    for key, keywords in DICOM_FACTS.items():
        value = next((ds.get(k) for k in keywords if ds.get(k)), None)
        if value is None:
            continue
        if key.endswith('spacing'):
            values = value if isinstance(value, MultiValue) else [value]
            spacing = tuple(float(v) for v in values)
            if len(spacing) == 2 and all(0 < v < math.inf for v in spacing):
                facts[key] = spacing
        else:
            facts[key] = str(value)
    return facts


def read_dicom(path: str, apply_voi: bool) -> Radiograph:
    """The :class:`Radiograph` of the DICOM file ``path``.

    pydicom's reading, decoding and grey-level table calls are the reading
    boundary: what they raise on a bad file (see
    :data:`~mmdet_famo.datasets.image_files.READ_ERRORS`) becomes
    :class:`RadiographError`.
    """
    with reading(path, 'not a readable DICOM file'):
        ds = pydicom.dcmread(path)
    check_pixel_module(ds, path)
    check_decoder(ds, path)
    syntax = ds.file_meta.TransferSyntaxUID.name
    # pydicom masks the bits above Bits Stored and sign-extends signed
    # (Pixel Representation 1) values.
    with reading(path, f"cannot decode its pixel data ('{syntax}')"):
        stored = ds.pixel_array
    with reading(path, 'unusable modality or VOI LUT'):
        levels = display_levels(ds, apply_voi)
    padding = padding_mask(ds, stored)
    if padding is not None and padding.all():
        raise RadiographError(
            path, 'every pixel is padding (Pixel Padding Value '
            f"{ds.PixelPaddingValue}, Range Limit "
            f"{ds.get('PixelPaddingRangeLimit')})")
    lowest, _ = stored_range(ds.BitsStored, ds.PixelRepresentation == 1)
    return Radiograph(stored, levels, lowest, padding, dicom_facts(ds))


def read_image(path: str) -> Radiograph:
    """The :class:`Radiograph` of an 8- or 16-bit greyscale image file (PNG,
    JPEG, TIFF...) as displayed (EXIF orientation applied, see
    :func:`~mmdet_famo.datasets.image_files.read_raster`): display levels
    are the identity, there is no padding and every DICOM fact is None."""
    image = read_raster(path)
    levels = np.arange(np.iinfo(image.dtype).max + 1, dtype=np.float64)
    return Radiograph(image, levels, 0, None, dict.fromkeys(DICOM_FACTS))


def is_dicom(path: str) -> bool:
    """Whether ``path`` starts with the DICOM Part 10 preamble and 'DICM';
    :class:`RadiographError` if it cannot be opened."""
    try:
        with open(path, 'rb') as file:
            return file.read(132)[128:] == b'DICM'
    except OSError as error:
        raise RadiographError(path,
                              f'cannot open ({error.strerror})') from error


class RadiographReader:
    """Reads a radiograph file into the detector's input image.

    Pixels go through, in order: Bits Stored masking and signed Pixel
    Representation; the modality LUT; the VOI LUT if ``apply_voi``;
    inversion so that bone is bright; a linear map onto 16 bits; CLAHE on
    the 16-bit image (8-bit stored values through OpenCV's 8-bit CLAHE);
    the ``output`` encoding. :class:`~.transforms.LoadRadiograph` is this
    reader as an MMCV transform, where the arguments are documented.

    Args:
        clip_limit (float, optional): CLAHE clip limit; None turns CLAHE
            off. Defaults to 2.0.
        tile_grid_size (tuple[int, int]): CLAHE tiles per (column, row).
            Defaults to (8, 8).
        apply_voi (bool): Apply the file's VOI LUT or window. Defaults to
            False.
        output (str): ``'rgb_uint8'``, ``'uint16'`` or ``'float32'``.
            Defaults to ``'rgb_uint8'``.
    """

    def __init__(self,
                 clip_limit: Optional[float] = 2.0,
                 tile_grid_size: Tuple[int, int] = (8, 8),
                 apply_voi: bool = False,
                 output: str = 'rgb_uint8') -> None:
        if clip_limit is not None and clip_limit <= 0:
            raise ValueError(f'clip_limit must be > 0 or None, got '
                             f'{clip_limit}')
        if output not in OUTPUTS:
            raise ValueError(f'output must be one of {OUTPUTS}, got '
                             f'{output!r}')
        self.clip_limit = clip_limit
        self.tile_grid_size = tuple(tile_grid_size)
        self.apply_voi = apply_voi
        self.output = output

    def read(self, path: str) -> Tuple[np.ndarray, dict]:
        """The image of ``path`` in the ``output`` encoding, and its
        :data:`DICOM_FACTS` (all None for a non-DICOM file);
        :class:`RadiographError` on a file that cannot be read."""
        radiograph = read_dicom(
            path, self.apply_voi) if is_dicom(path) else read_image(path)
        return encode_output(self.display(radiograph),
                             self.output), radiograph.facts

    def display(self, radiograph: Radiograph) -> np.ndarray:
        """The radiograph's display values, equalised unless ``clip_limit``
        is None: uint16, or uint8 from the 8-bit path; padding at 0."""
        stored, levels, lowest, padding, _ = radiograph
        if self.clip_limit is None:
            image = to_uint16(stored, levels, lowest, stretch=False)
        elif stored.dtype == np.uint8 and is_affine(levels) \
                and padding is None:
            return equalize(stretch_uint8(stored, levels), self.clip_limit,
                            self.tile_grid_size)
        else:
            image = equalize(to_uint16(stored, levels, lowest, True, padding),
                             self.clip_limit, self.tile_grid_size, padding)
        if padding is not None:
            image[padding] = 0
        return image
