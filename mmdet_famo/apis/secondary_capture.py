"""Write an overlay as a DICOM Secondary Capture image that a PACS files
with the source study.

The Secondary Capture Image IOD (DICOM PS3.3 A.8.1) needs the Patient and
General Study modules of the study it belongs to: they are copied from the
source file, so the output holds the patient's identifiers by construction.
Write it only where the user asked for DICOM output. Like the SR and the
presentation state it names the algorithm in its Contributing Equipment
(IHE AIR: every AI result says what made it).
"""
import datetime
import os.path as osp
from typing import Optional

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import SecondaryCaptureImageStorage, generate_uid

from mmdet_famo.version import __version__

from .dicom_objects import (MANUFACTURER, SECONDARY_CAPTURE_SERIES_NUMBER,
                            STUDY_TYPE_2_ATTRIBUTES, AlgorithmInfo,
                            contributing_equipment, save_atomically,
                            series_laterality)
from .private_logging import identifiers_kept_out_of_logs

#: Patient (C.7.1.1), General Study (C.7.2.1) and Patient Study (C.7.2.2)
#: attributes copied from the source; the type 2 ones are written empty
#: when the source lacks them.
STUDY_ATTRIBUTES = ('PatientName', 'PatientID', 'IssuerOfPatientID',
                    'PatientBirthDate', 'PatientSex',
                    'OtherPatientIDsSequence', 'PatientAge', 'PatientSize',
                    'PatientWeight', 'StudyInstanceUID', 'StudyDate',
                    'StudyTime', 'ReferringPhysicianName', 'StudyID',
                    'AccessionNumber', 'StudyDescription',
                    'SpecificCharacterSet')
SERIES_DESCRIPTION = 'mmdet-famo fracture findings'


def write_secondary_capture(path: str,
                            overlay_rgb: np.ndarray,
                            source_path: str,
                            series_instance_uid: str,
                            instance_number: int,
                            description: str,
                            algorithm: AlgorithmInfo,
                            sop_instance_uid: Optional[str] = None) -> str:
    """Write ``overlay_rgb`` as a Secondary Capture of the source's study.

    The output has the source's StudyInstanceUID and Patient / Study
    attributes, a new series (``series_instance_uid``, shared by the
    overlays of one study and run, Modality OT) and a new SOP Instance UID;
    it references the source image (Source Image Sequence, when the
    source has SOP UIDs) and says it is
    derived (Image Type DERIVED\\SECONDARY, ``description`` in Derivation
    Description). Burned In Annotation is NO: the pixels carry boxes and
    scores, no identifiers.

    Args:
        path (str): Output file.
        overlay_rgb (np.ndarray): H x W x 3 uint8 RGB image.
        source_path (str): The DICOM radiograph it was drawn from.
        series_instance_uid (str): Series of the output.
        instance_number (int): Instance Number in that series.
        description (str): Derivation Description, e.g. the threshold.
        algorithm (AlgorithmInfo): The model, for Contributing Equipment.
        sop_instance_uid (str, optional): Defaults to a new UID.

    Returns:
        str: The SOP Instance UID written.
    """
    source = pydicom.dcmread(source_path, stop_before_pixels=True)
    now = datetime.datetime.now()
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    for keyword in STUDY_ATTRIBUTES:
        if keyword in source:
            ds[keyword] = source[keyword]
        elif keyword in STUDY_TYPE_2_ATTRIBUTES:
            setattr(ds, keyword, '')
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = sop_instance_uid or generate_uid()
    ds.Modality = 'OT'
    ds.SeriesInstanceUID = series_instance_uid
    ds.SeriesNumber = SECONDARY_CAPTURE_SERIES_NUMBER
    ds.SeriesDescription = SERIES_DESCRIPTION
    ds.Manufacturer = MANUFACTURER
    ds.SoftwareVersions = __version__
    ds.ConversionType = 'WSD'
    ds.InstanceNumber = instance_number
    ds.ImageType = ['DERIVED', 'SECONDARY']
    ds.DerivationDescription = description
    ds.ContentDate = now.strftime('%Y%m%d')
    ds.ContentTime = now.strftime('%H%M%S')
    ds.BurnedInAnnotation = 'NO'
    # General Image, Type 2C (PS3.3 C.7.6.1): required as the SC has no
    # Image Orientation (Patient); the overlay keeps the source's geometry
    ds.PatientOrientation = source.get('PatientOrientation') or ''
    if 'BodyPartExamined' in source:  # General Series
        ds.BodyPartExamined = source.BodyPartExamined
    laterality = series_laterality([source])
    if laterality is not None:
        ds.Laterality = laterality
    if 'SOPClassUID' in source and 'SOPInstanceUID' in source:
        reference = Dataset()
        reference.ReferencedSOPClassUID = source.SOPClassUID
        reference.ReferencedSOPInstanceUID = source.SOPInstanceUID
        ds.SourceImageSequence = DicomSequence([reference])
    ds.ContributingEquipmentSequence = [contributing_equipment(algorithm)]
    ds.set_pixel_data(overlay_rgb, 'RGB', 8, generate_instance_uid=False)
    with identifiers_kept_out_of_logs([source], osp.basename(path)):
        save_atomically(ds, path)  # pydicom checks the values as it writes
    return ds.SOPInstanceUID
