"""Every DICOM object the package writes holds the Type 1, 2 and applicable
2C attributes of its IOD's modules: checked against the module tables below
(DICOM PS3.3, 2024 editions) and by dicom3tools' ``dciodvfy``."""
import shutil
import subprocess

import numpy as np
import pydicom
import pytest

from mmdet_famo.apis import infer_radiographs
from mmdet_famo.evaluation.operating_points import given_operating_points
from mmdet_famo.phantom.dicom_writer import (PixelEncoding, RadiographTags,
                                             write_radiograph_dicom)

#: Module -> (Type 1 attributes, Type 2 attributes), PS3.3 section.
MODULES = {
    'Patient C.7.1.1': ((), ('PatientName', 'PatientID', 'PatientBirthDate',
                             'PatientSex')),
    'General Study C.7.2.1': (('StudyInstanceUID', ),
                              ('StudyDate', 'StudyTime',
                               'ReferringPhysicianName', 'StudyID',
                               'AccessionNumber')),
    'General Series C.7.3.1': (('Modality', 'SeriesInstanceUID'),
                               ('SeriesNumber', )),
    'General Equipment C.7.5.1': ((), ('Manufacturer', )),
    'General Image C.7.6.1': ((), ('InstanceNumber', )),
    'Image Pixel C.7.6.3': (('SamplesPerPixel', 'PhotometricInterpretation',
                             'Rows', 'Columns', 'BitsAllocated', 'BitsStored',
                             'HighBit', 'PixelRepresentation', 'PixelData'),
                            ()),
    'SOP Common C.12.1': (('SOPClassUID', 'SOPInstanceUID'), ()),
    'SC Equipment C.8.6.1': (('ConversionType', ), ()),
    'CR Series C.8.1.1': ((), ('BodyPartExamined', 'ViewPosition')),
    'DX Series C.8.11.1': (('Modality', 'PresentationIntentType'), ()),
    'DX Anatomy Imaged C.8.11.2': (('ImageLaterality', ),
                                   ('AnatomicRegionSequence', )),
    'DX Image C.8.11.3': (('ImageType', 'PixelIntensityRelationship',
                           'PixelIntensityRelationshipSign',
                           'RescaleIntercept', 'RescaleSlope', 'RescaleType',
                           'PresentationLUTShape', 'LossyImageCompression'),
                          ()),
    'DX Detector C.8.11.4': ((), ('DetectorType', )),
    'DX Positioning C.8.11.5': ((), ('PositionerType', )),
    'Acquisition Context C.7.6.14': ((), ('AcquisitionContextSequence', )),
    'SR Document Series C.17.1': (('Modality', 'SeriesInstanceUID',
                                   'SeriesNumber'),
                                  ('ReferencedPerformedProcedureStepSequence',
                                   )),
    'SR Document General C.17.2': (('InstanceNumber', 'CompletionFlag',
                                    'VerificationFlag', 'ContentDate',
                                    'ContentTime'),
                                   ('PerformedProcedureCodeSequence', )),
    'SR Document Content C.17.3': (('ValueType', 'ConceptNameCodeSequence',
                                    'ContinuityOfContent'), ()),
    'Presentation Series C.11.9': (('Modality', ), ()),
    'Presentation State Identification C.11.10':
    (('PresentationCreationDate', 'PresentationCreationTime',
      'InstanceNumber', 'ContentLabel'), ('ContentDescription',
                                          'ContentCreatorName')),
    'Presentation State Relationship C.11.11': (('ReferencedSeriesSequence',
                                                 ), ()),
    'Displayed Area C.10.4': (('DisplayedAreaSelectionSequence', ), ()),
    'Graphic Annotation C.10.5': (('GraphicAnnotationSequence', ), ()),
    'Graphic Layer C.10.7': (('GraphicLayerSequence', ), ()),
}
COMMON = ('Patient C.7.1.1', 'General Study C.7.2.1',
          'General Equipment C.7.5.1', 'SOP Common C.12.1')
IMAGE = COMMON + ('General Series C.7.3.1', 'General Image C.7.6.1',
                  'Image Pixel C.7.6.3')
#: IOD (PS3.3 Annex A) -> the modules checked.
IODS = {
    'Secondary Capture Image A.8.1': IMAGE + ('SC Equipment C.8.6.1', ),
    'CR Image A.2': IMAGE + ('CR Series C.8.1.1', ),
    'DX Image A.26': IMAGE + ('DX Series C.8.11.1',
                              'DX Anatomy Imaged C.8.11.2',
                              'DX Image C.8.11.3', 'DX Detector C.8.11.4',
                              'DX Positioning C.8.11.5',
                              'Acquisition Context C.7.6.14'),
    'Comprehensive SR A.35.3': COMMON + ('SR Document Series C.17.1',
                                         'SR Document General C.17.2',
                                         'SR Document Content C.17.3'),
    'Grayscale Softcopy Presentation State A.33.1': COMMON + (
        'General Series C.7.3.1', 'Presentation Series C.11.9',
        'Presentation State Identification C.11.10',
        'Presentation State Relationship C.11.11', 'Displayed Area C.10.4',
        'Graphic Annotation C.10.5', 'Graphic Layer C.10.7'),
}
IOD_OF_MODALITY = {
    'OT': 'Secondary Capture Image A.8.1',
    'CR': 'CR Image A.2',
    'DX': 'DX Image A.26',
    'SR': 'Comprehensive SR A.35.3',
    'PR': 'Grayscale Softcopy Presentation State A.33.1',
}


def missing_attributes(ds: pydicom.Dataset, iod: str) -> list:
    """'Module: Keyword (Type N)' for each attribute ``ds`` lacks."""
    missing = []
    for module in IODS[iod]:
        type_1, type_2 = MODULES[module]
        for keyword in type_1:
            if keyword not in ds or ds[keyword].is_empty:
                missing.append(f'{module}: {keyword} (Type 1)')
        for keyword in type_2:
            if keyword not in ds:
                missing.append(f'{module}: {keyword} (Type 2)')
    return missing


@pytest.fixture(scope='module')
def written(predictor, phantoms, tmp_path_factory):
    """Every kind of DICOM object the package writes: the results of a run
    on all phantom studies (SR, presentation states, Secondary Captures),
    and phantom radiographs as CR and as DX."""
    out = tmp_path_factory.mktemp('validity')
    report = infer_radiographs(predictor,
                               phantoms.files,
                               str(out / 'run'),
                               given_operating_points(0.5, 0.),
                               overlays=False,
                               secondary_capture=True,
                               structured_report=True,
                               presentation_state=True)
    paths = [str(out / 'run' / path) for path in report['dicom_files']]
    for modality in ('CR', 'DX'):
        path = out / f'{modality}.dcm'
        tags = RadiographTags(patient_id='PH0001',
                              study_instance_uid=pydicom.uid.generate_uid(),
                              series_instance_uid=pydicom.uid.generate_uid(),
                              sop_instance_uid=pydicom.uid.generate_uid(),
                              body_part='WRIST',
                              view_position='AP',
                              laterality='L',
                              pixel_spacing_mm=0.2,
                              modality=modality)
        write_radiograph_dicom(path,
                               np.linspace(0, 1, 24 * 32).reshape(24, 32),
                               tags, PixelEncoding('MONOCHROME1', 12))
        paths.append(str(path))
    return paths


def test_every_kind_is_written(written):
    modalities = [pydicom.dcmread(path).Modality for path in written]
    assert set(modalities) == set(IOD_OF_MODALITY)
    # mixed MONOCHROME1/2 phantom views: some study needs two states
    assert modalities.count('PR') > modalities.count('SR') == 4


def test_objects_hold_their_modules_attributes(written):
    for path in written:
        ds = pydicom.dcmread(path)
        assert missing_attributes(ds, IOD_OF_MODALITY[ds.Modality]) == [], \
            path
        if ds.Modality in ('OT', 'CR', 'DX'):
            # General Image, Type 2C: no Image Orientation (Patient)
            assert 'PatientOrientation' in ds, path


def test_the_table_check_can_fail(written):
    ds = pydicom.dcmread(written[-1])
    del ds.PatientSex
    ds.PresentationLUTShape = ''
    assert missing_attributes(ds, 'DX Image A.26') == [
        'Patient C.7.1.1: PatientSex (Type 2)',
        'DX Image C.8.11.3: PresentationLUTShape (Type 1)'
    ]


@pytest.mark.skipif(shutil.which('dciodvfy') is None,
                    reason='dciodvfy (dicom3tools) is not installed: apt-get '
                    'install dicom3tools')
def test_dciodvfy_finds_no_error(written):
    for path in written:
        result = subprocess.run(['dciodvfy', path],
                                capture_output=True,
                                text=True,
                                check=False)
        lines = (result.stdout + result.stderr).splitlines()
        errors = [line for line in lines if line.startswith('Error')]
        assert errors == [], (path, errors)
        # dciodvfy names the IOD it checked first
        assert lines and not lines[0].startswith('Abort'), path
