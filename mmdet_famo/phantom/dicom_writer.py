"""Write a rendered radiograph as a DICOM file, the way X-ray units do.

The paper's images were 16-bit arrays extracted from DICOM files (Methods,
the pre-processing paragraph after "Data labeling").  Real archives mix
what a reader must handle: MONOCHROME1 (high value = dark) next to
MONOCHROME2, 12 to 16 stored bits in 16-bit words, and a rescale
slope/intercept between stored values and output values; the phantoms mix
them too, so the loader is tested on them.

The files hold every Type 1, 2 and applicable 2C attribute of their IOD's
modules (CR Image, PS3.3 A.2; DX Image For Presentation, A.26.1), checked by
``tests/test_apis/test_dicom_validity.py`` and dicom3tools' ``dciodvfy``.
The DX IOD allows no rescaling (PS3.3 C.8.11.3, DX Image Module: Rescale
Slope 1, Intercept 0), so a phantom asked to be DX with another rescale is
written as CR, whose IOD allows it.
"""
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.sr.codedict import codes
from pydicom.uid import (PYDICOM_IMPLEMENTATION_UID,
                         ComputedRadiographyImageStorage,
                         DigitalXRayImageStorageForPresentation,
                         ExplicitVRLittleEndian)

SOP_CLASSES = {
    'DX': DigitalXRayImageStorageForPresentation,
    'CR': ComputedRadiographyImageStorage,
}
#: BodyPartExamined -> its SNOMED CT code in DICOM's CID 4031 (Common
#: Anatomic Regions), for the Anatomic Region Sequence.
ANATOMIC_REGIONS = {
    'WRIST': codes.SCT.WristJoint,
    'HAND': codes.SCT.Hand,
    'ELBOW': codes.SCT.ElbowJoint,
    'SHOULDER': codes.SCT.Shoulder,
    'PELVIS': codes.SCT.Pelvis,
    'KNEE': codes.SCT.Knee,
    'ANKLE': codes.SCT.AnkleJoint,
    'FOOT': codes.SCT.Foot,
}
#: ViewPosition -> Patient Orientation (0020,0020): the patient directions
#: of the rows and the columns, as for an upright patient seen from the
#: source side (PS3.3 C.7.6.1.1.1).
PATIENT_ORIENTATIONS = {
    'AP': ['L', 'F'],
    'PA': ['R', 'F'],
    'LL': ['P', 'F'],
    'RL': ['A', 'F'],
    'LLO': ['P', 'F'],
    'RLO': ['A', 'F'],
}


@dataclass(frozen=True)
class PixelEncoding:
    """How intensities become stored values.

    ``MONOCHROME2`` stores bright (dense) as high values, ``MONOCHROME1``
    as low ones; values fill ``bits_stored`` bits, and
    ``output = stored * rescale_slope + rescale_intercept``.
    """
    photometric: str = 'MONOCHROME2'
    bits_stored: int = 16
    rescale_slope: float = 1.0
    rescale_intercept: float = 0.0


@dataclass(frozen=True)
class RadiographTags:
    """The identifying and acquisition tags of one radiograph; strings as
    DICOM spells them (``body_part='WRIST'``, ``view_position='AP'``)."""
    patient_id: str
    study_instance_uid: str
    series_instance_uid: str
    sop_instance_uid: str
    body_part: str
    view_position: str
    laterality: Optional[str]
    pixel_spacing_mm: float
    modality: str = 'DX'
    study_id: str = '1'
    series_number: int = 1
    instance_number: int = 1
    study_date: str = '20240101'


def encode_pixels(image: np.ndarray, encoding: PixelEncoding) -> np.ndarray:
    """Stored values (uint16) of an image in ``[0, 1]`` (bright = dense)."""
    if encoding.photometric not in ('MONOCHROME1', 'MONOCHROME2'):
        raise ValueError(
            f'unsupported photometric interpretation {encoding.photometric}')
    if not 8 <= encoding.bits_stored <= 16:
        raise ValueError(f'bits_stored must be 8..16, got '
                         f'{encoding.bits_stored}')
    brightness = np.clip(image, 0, 1)
    if encoding.photometric == 'MONOCHROME1':
        brightness = 1 - brightness
    top = 2**encoding.bits_stored - 1
    return np.rint(brightness * top).astype(np.uint16)


def write_radiograph_dicom(path: Union[str, Path], image: np.ndarray,
                           tags: RadiographTags,
                           encoding: PixelEncoding) -> None:
    """Write ``image`` (``H x W`` in ``[0, 1]``) as a DX or CR DICOM file,
    Explicit VR Little Endian, with the tags and encoding given."""
    if tags.modality not in SOP_CLASSES:
        raise ValueError(f'modality must be DX or CR, got {tags.modality}')
    stored = encode_pixels(image, encoding)
    modality = tags.modality
    if modality == 'DX' and (encoding.rescale_slope, encoding.rescale_intercept
                             ) != (1, 0):
        modality = 'CR'  # the DX IOD has no rescale
    sop_class = SOP_CLASSES[modality]

    file_meta = FileMetaDataset()
    file_meta.MediaStorageSOPClassUID = sop_class
    file_meta.MediaStorageSOPInstanceUID = tags.sop_instance_uid
    file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    file_meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID

    ds = Dataset()
    ds.file_meta = file_meta
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = tags.sop_instance_uid
    ds.StudyInstanceUID = tags.study_instance_uid
    ds.SeriesInstanceUID = tags.series_instance_uid
    ds.Modality = modality
    ds.ImageType = ['ORIGINAL', 'PRIMARY']
    ds.Manufacturer = 'mmdet-famo phantom'
    ds.PatientName = f'Phantom^{tags.patient_id}'
    ds.PatientID = tags.patient_id
    ds.PatientBirthDate = ''  # Type 2: unknown
    ds.PatientSex = ''
    ds.StudyID = tags.study_id
    ds.StudyDate = tags.study_date
    ds.StudyTime = '090000'
    ds.ReferringPhysicianName = ''
    ds.AccessionNumber = tags.study_id
    ds.SeriesNumber = tags.series_number
    ds.InstanceNumber = tags.instance_number
    ds.BodyPartExamined = tags.body_part
    ds.ViewPosition = tags.view_position
    # Image Laterality (U: unpaired) makes the General Series Laterality
    # one that may not be sent (its condition, PS3.3 C.7.3.1)
    ds.ImageLaterality = tags.laterality or 'U'
    ds.PatientOrientation = PATIENT_ORIENTATIONS.get(tags.view_position, '')
    ds.ImagerPixelSpacing = [tags.pixel_spacing_mm] * 2
    if modality == 'DX':
        _add_dx_modules(ds, tags, encoding)
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = encoding.photometric
    ds.Rows, ds.Columns = stored.shape
    ds.BitsAllocated = 16
    ds.BitsStored = encoding.bits_stored
    ds.HighBit = encoding.bits_stored - 1
    ds.PixelRepresentation = 0
    ds.RescaleSlope = encoding.rescale_slope
    ds.RescaleIntercept = encoding.rescale_intercept
    ds.RescaleType = 'US'
    top = 2**encoding.bits_stored - 1
    ds.WindowCenter = encoding.rescale_intercept + (
        encoding.rescale_slope * top / 2)
    ds.WindowWidth = encoding.rescale_slope * top
    ds.BurnedInAnnotation = 'NO'
    ds.add_new(0x7FE00010, 'OW', stored.astype('<u2').tobytes())
    ds.save_as(path, enforce_file_format=True)


def _add_dx_modules(ds: Dataset, tags: RadiographTags,
                    encoding: PixelEncoding) -> None:
    """The DX Series, DX Anatomy Imaged, DX Image, DX Detector, DX
    Positioning and Acquisition Context attributes of a DX image For
    Presentation (PS3.3 A.26.1, C.8.11)."""
    ds.PresentationIntentType = 'FOR PRESENTATION'
    region = ANATOMIC_REGIONS.get(tags.body_part)
    if region is None:
        ds.AnatomicRegionSequence = DicomSequence()
    else:
        item = Dataset()
        item.CodeValue = region.value
        item.CodingSchemeDesignator = region.scheme_designator
        item.CodeMeaning = region.meaning
        ds.AnatomicRegionSequence = DicomSequence([item])
    ds.PixelIntensityRelationship = 'LIN'
    # -1: higher values are less X-ray intensity (denser), as MONOCHROME2
    ds.PixelIntensityRelationshipSign = \
        -1 if encoding.photometric == 'MONOCHROME2' else 1
    ds.PresentationLUTShape = 'IDENTITY' \
        if encoding.photometric == 'MONOCHROME2' else 'INVERSE'
    ds.LossyImageCompression = '00'
    ds.DetectorType = 'SCINTILLATOR'
    ds.PositionerType = 'NONE'
    ds.AcquisitionContextSequence = DicomSequence()
