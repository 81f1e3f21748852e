"""Write small synthetic DICOM files for tests; find pydicom's on disk."""
from pathlib import Path
from typing import Union

import numpy as np
from pydicom import Dataset
from pydicom.data import get_testdata_file
from pydicom.dataset import FileMetaDataset
from pydicom.uid import DigitalXRayImageStorageForPresentation, generate_uid


def write_dicom(path: Union[str, Path], pixels: np.ndarray, **tags) -> Path:
    """Write ``pixels`` as a DICOM Part 10 file (a DX image) at ``path``.

    The Image Pixel module is built from ``pixels`` by pydicom's
    ``set_pixel_data``: dtype uint8, uint16, int8 or int16 (signed sets
    Pixel Representation 1); shape (rows, columns), (frames, rows, columns)
    or (rows, columns, 3) for colour. Special ``tags``:

    - ``PhotometricInterpretation`` (default 'MONOCHROME2') and ``BitsStored``
      (default: all the dtype's bits) go to ``set_pixel_data``;
    - ``TransferSyntaxUID`` compresses the pixels with pydicom's encoder
      (RLE Lossless natively, JPEG 2000 with pylibjpeg-openjpeg).

    Every other keyword is set on the dataset last, so it may override what
    ``set_pixel_data`` wrote (``Rows=0``, raw ``PixelData`` bytes...).

    Returns:
        Path: ``path``.
    """
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.SOPClassUID = DigitalXRayImageStorageForPresentation
    ds.Modality = 'DX'
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.set_pixel_data(pixels,
                      tags.pop('PhotometricInterpretation', 'MONOCHROME2'),
                      tags.pop('BitsStored', pixels.dtype.itemsize * 8))
    if 'TransferSyntaxUID' in tags:
        ds.compress(tags.pop('TransferSyntaxUID'))
    for keyword, value in tags.items():
        setattr(ds, keyword, value)
    ds.save_as(path, enforce_file_format=True)
    return Path(path)


def pydicom_test_file(name: str) -> str:
    """The path of a test file shipped with pydicom or pydicom-data, e.g.
    'CT_small.dcm' or 'RG3_UNCR.dcm'; never downloads."""
    path = get_testdata_file(name, download=False)
    assert path is not None, f'{name} is in neither pydicom nor pydicom-data'
    return path
