"""The phantom DICOM writer: a valid file, the stated tags, exact pixels."""
import numpy as np
import pydicom
import pytest
from pydicom.pixels import apply_modality_lut
from pydicom.uid import (ComputedRadiographyImageStorage,
                         DigitalXRayImageStorageForPresentation,
                         ExplicitVRLittleEndian)

from mmdet_famo.phantom import (PixelEncoding, RadiographTags,
                                write_radiograph_dicom)

TAGS = RadiographTags(
    patient_id='PH0042',
    study_instance_uid='1.2.826.0.1.3680043.8.498.1',
    series_instance_uid='1.2.826.0.1.3680043.8.498.2',
    sop_instance_uid='1.2.826.0.1.3680043.8.498.3',
    body_part='WRIST',
    view_position='LL',
    laterality='L',
    pixel_spacing_mm=0.143,
    modality='CR',
    study_id='PH0042_S1',
    series_number=2)


def gradient(height=20, width=30):
    return np.linspace(0, 1, height * width).reshape(height, width)


def test_file_and_tags(tmp_path):
    path = tmp_path / 'lateral.dcm'
    write_radiograph_dicom(path, gradient(), TAGS, PixelEncoding())
    assert path.read_bytes()[128:132] == b'DICM'  # preamble + prefix
    ds = pydicom.dcmread(path)
    assert ds.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
    assert ds.file_meta.MediaStorageSOPClassUID == \
        ComputedRadiographyImageStorage == ds.SOPClassUID
    assert ds.file_meta.MediaStorageSOPInstanceUID == TAGS.sop_instance_uid
    assert (ds.PatientID, ds.StudyInstanceUID, ds.SeriesInstanceUID,
            ds.SOPInstanceUID) == ('PH0042', TAGS.study_instance_uid,
                                   TAGS.series_instance_uid,
                                   TAGS.sop_instance_uid)
    assert (ds.Modality, ds.BodyPartExamined, ds.ViewPosition,
            ds.ImageLaterality) == ('CR', 'WRIST', 'LL', 'L')
    assert 'Laterality' not in ds  # not sent beside Image Laterality
    assert [float(v) for v in ds.ImagerPixelSpacing] == [0.143, 0.143]
    assert (ds.Rows, ds.Columns, ds.BitsAllocated, ds.SamplesPerPixel,
            ds.PixelRepresentation) == (20, 30, 16, 1, 0)
    assert ds.StudyID == 'PH0042_S1' and ds.SeriesNumber == 2


def test_dx_without_laterality(tmp_path):
    path = tmp_path / 'pelvis.dcm'
    tags = RadiographTags(**dict(vars(TAGS), modality='DX', laterality=None))
    write_radiograph_dicom(path, gradient(), tags, PixelEncoding())
    ds = pydicom.dcmread(path)
    assert ds.SOPClassUID == DigitalXRayImageStorageForPresentation
    assert ds.PresentationIntentType == 'FOR PRESENTATION'
    assert 'Laterality' not in ds and ds.ImageLaterality == 'U'  # unpaired


@pytest.mark.parametrize('photometric, bits, slope, intercept', [
    ('MONOCHROME2', 16, 1.0, 0.0),
    ('MONOCHROME2', 12, 0.5, -1024.0),
    ('MONOCHROME1', 14, 2.0, -100.0),
    ('MONOCHROME1', 12, 1.0, -1024.0),
])
def test_pixels_are_encoded_as_stated(tmp_path, photometric, bits, slope,
                                      intercept):
    image = gradient()
    path = tmp_path / 'x.dcm'
    encoding = PixelEncoding(photometric, bits, slope, intercept)
    write_radiograph_dicom(path, image, TAGS, encoding)
    ds = pydicom.dcmread(path)
    top = 2**bits - 1
    assert (ds.PhotometricInterpretation, ds.BitsStored,
            ds.HighBit) == (photometric, bits, bits - 1)
    assert (float(ds.RescaleSlope), float(ds.RescaleIntercept)) == (slope,
                                                                    intercept)
    stored = ds.pixel_array
    assert stored.dtype == np.uint16
    assert stored.min() == 0 and stored.max() == top
    brightness = image if photometric == 'MONOCHROME2' else 1 - image
    np.testing.assert_array_equal(stored, np.rint(brightness * top))
    np.testing.assert_allclose(
        apply_modality_lut(stored, ds), stored * slope + intercept)
    # the window spans exactly the output range
    assert float(ds.WindowWidth) == pytest.approx(slope * top)
    assert float(ds.WindowCenter) == pytest.approx(intercept + slope * top / 2)


def test_bad_encoding_or_modality_is_refused(tmp_path):
    with pytest.raises(ValueError, match='photometric'):
        write_radiograph_dicom(tmp_path / 'a.dcm', gradient(), TAGS,
                               PixelEncoding(photometric='RGB'))
    with pytest.raises(ValueError, match='bits_stored'):
        write_radiograph_dicom(tmp_path / 'a.dcm', gradient(), TAGS,
                               PixelEncoding(bits_stored=17))
    with pytest.raises(ValueError, match='DX or CR'):
        write_radiograph_dicom(
            tmp_path / 'a.dcm', gradient(),
            RadiographTags(**dict(vars(TAGS), modality='MR')), PixelEncoding())
    assert not (tmp_path / 'a.dcm').exists()
