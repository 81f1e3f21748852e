"""Load DICOM, PNG, JPEG and TIFF radiographs with CLAHE (paper, Methods:
"Image arrays in 16-bit integer format were extracted from DICOM files. The
raw data were processed with adaptive histogram equalization"): the
reading of :mod:`mmdet_famo.datasets.radiograph_reader` as an MMCV
transform."""
import logging
from typing import Optional, Tuple

from mmcv.transforms import BaseTransform
from mmengine.logging import print_log

from mmdet.registry import TRANSFORMS
from ..radiograph_reader import (DICOM_FACTS, Radiograph,  # noqa: F401
                                 RadiographError, RadiographReader,
                                 dicom_facts, is_dicom, read_dicom,
                                 read_image)


@TRANSFORMS.register_module()
class LoadRadiograph(RadiographReader, BaseTransform):
    """Load a radiograph from a DICOM, PNG, JPEG or TIFF file, in place of
    ``LoadImageFromFile``.

    Pixels go through, in order: Bits Stored masking and signed Pixel
    Representation; the modality LUT (Rescale Slope/Intercept or Modality
    LUT Sequence); the VOI LUT if ``apply_voi``; inversion of MONOCHROME1 /
    Presentation LUT Shape INVERSE so that bone is bright (see
    :func:`~.radiograph_pixels.display_levels` for the rule); a linear map
    onto 16 bits; CLAHE (paper, Methods) on the 16-bit image; the ``output``
    encoding. Pixel padding (Pixel Padding Value and Range Limit) is kept
    out of the stretch and of CLAHE's histograms and comes out as 0, the
    darkest value (see :func:`~.radiograph_pixels.equalize`). 8- and 16-bit
    PNG/JPEG/TIFF files (e.g. GRAZPEDWRI-DX, FracAtlas) take the same path
    with identity LUTs, read as displayed (EXIF orientation applied); 8-bit
    stored values (such files, 8-bit DICOMs) are equalised by OpenCV's 8-bit
    CLAHE, which gives what the 16-bit path gives to within one grey level
    of 255, several times faster. Compressed DICOMs decode through pydicom's
    handlers; JPEG, JPEG-LS and JPEG 2000 need the pylibjpeg plugins
    (``pip install 'mmdet-famo[dicom]'``).

    Required Keys:

    - img_path

    Added Keys:

    - img (np.ndarray): see ``output``
    - img_shape
    - ori_shape
    - radiograph_meta: dict with the keys of :data:`DICOM_FACTS` (study,
      series and SOP instance UIDs, patient_id, body_part_examined,
      view_position, laterality, pixel_spacing, imager_pixel_spacing,
      modality, photometric_interpretation), None where absent. Carried for
      grouping; never logged.

    Args:
        clip_limit (float, optional): CLAHE clip limit, as a multiple of the
            mean count per occupied grey level (so it means what it means for
            8-bit CLAHE, see :func:`~.radiograph_pixels.equalize`). None turns
            CLAHE off: the stored-bit range is then mapped onto 16 bits
            without stretching. Defaults to 2.0, OpenCV's documented example
            and a common choice for radiographs (scikit-image's default,
            0.01 of a tile over 256 bins, is 2.56 in this unit).
        tile_grid_size (tuple[int, int]): CLAHE tiles per (column, row).
            Defaults to (8, 8), as OpenCV and scikit-image: tiles of a few
            centimetres on an extremity radiograph, about a bone's width.
        apply_voi (bool): Apply the file's VOI LUT or window (centre/width,
            LINEAR or SIGMOID). Defaults to False: CLAHE works on the full
            range, which a window would clip.
        output (str): ``'rgb_uint8'`` (H x W x 3 uint8, for ImageNet-
            pretrained backbones), ``'uint16'`` (H x W) or ``'float32'``
            (H x W, in [0, 1]). Defaults to ``'rgb_uint8'``.
        on_error (str): On a file that cannot be read or decoded
            (:class:`RadiographError`: missing, truncated, corrupt, not an
            image, or unsupported; every error the readers raise on a bad
            file, see :data:`~mmdet_famo.datasets.image_files.READ_ERRORS`,
            is turned into one): ``'raise'`` (default), or ``'skip'``:
            log a warning with the file name and the reason through the
            current MMLogger, add one to :attr:`num_skipped` and return None,
            on which an MMDetection dataset in training mode fetches another
            sample (in test mode mmengine raises instead). The count is per
            process: each dataloader worker holds its own copy, the log has
            every skip. Errors outside the readers (a bug in this package)
            are never skipped.
    """

    def __init__(self,
                 clip_limit: Optional[float] = 2.0,
                 tile_grid_size: Tuple[int, int] = (8, 8),
                 apply_voi: bool = False,
                 output: str = 'rgb_uint8',
                 on_error: str = 'raise') -> None:
        super().__init__(clip_limit, tile_grid_size, apply_voi, output)
        if on_error not in ('raise', 'skip'):
            raise ValueError(f"on_error must be 'raise' or 'skip', got "
                             f'{on_error!r}')
        self.on_error = on_error
        self.num_skipped = 0

    def transform(self, results: dict) -> Optional[dict]:
        """Load ``results['img_path']``.

        Args:
            results (dict): Result dict with ``img_path``.

        Returns:
            dict or None: ``results`` with the added keys, or None for a
            skipped file.
        """
        path = str(results['img_path'])
        try:
            img, facts = self.read(path)
        except RadiographError as error:
            if self.on_error == 'raise':
                raise
            self.num_skipped += 1
            print_log(f'LoadRadiograph skipped {error.path}: {error.reason}',
                      logger='current',
                      level=logging.WARNING)
            return None
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        results['radiograph_meta'] = facts
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(clip_limit={self.clip_limit}, '
                f'tile_grid_size={self.tile_grid_size}, '
                f'apply_voi={self.apply_voi}, '
                f"output='{self.output}', on_error='{self.on_error}')")
