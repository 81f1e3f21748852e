"""Only projection radiographs are run or converted, unless allowed."""
import importlib.util
import json
import shutil
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom import Dataset
from pydicom.uid import (ComputedRadiographyImageStorage, CTImageStorage,
                         DigitalMammographyXRayImageStorageForPresentation,
                         DigitalXRayImageStorageForPresentation,
                         DigitalXRayImageStorageForProcessing,
                         SecondaryCaptureImageStorage,
                         XRayAngiographicImageStorage)

from mmdet_famo.datasets.coco_builder import DatasetRecordError
from mmdet_famo.datasets.converters import convert_dicom_folder
from mmdet_famo.datasets.modalities import modality_refusal
from tests.dicom_factory import pydicom_test_file, write_dicom

TOOL = Path(__file__).parents[2] / 'tools' / 'infer.py'


def header(modality, sop_class):
    ds = Dataset()
    if modality is not None:
        ds.Modality = modality
    if sop_class is not None:
        ds.SOPClassUID = sop_class
    return ds


@pytest.mark.parametrize('modality, sop_class', [
    ('CR', ComputedRadiographyImageStorage),
    ('DX', DigitalXRayImageStorageForPresentation),
    ('DX', None),
    (None, ComputedRadiographyImageStorage),
])
def test_projection_radiographs_are_accepted(modality, sop_class):
    assert modality_refusal(header(modality, sop_class)) is None


@pytest.mark.parametrize('modality, sop_class, words', [
    ('CT', CTImageStorage, 'modality CT (CT Image Storage)'),
    ('MG', DigitalMammographyXRayImageStorageForPresentation, 'modality MG'),
    ('XA', XRayAngiographicImageStorage, 'modality XA'),
    ('DX', DigitalXRayImageStorageForProcessing,
     'Digital X-Ray Image Storage - For Processing'),
    ('DX', SecondaryCaptureImageStorage, 'Secondary Capture Image Storage'),
    ('OT', SecondaryCaptureImageStorage, 'modality OT'),
    (None, None, 'neither Modality'),
])
def test_other_objects_are_refused_with_the_reason(modality, sop_class,
                                                   words):
    reason = modality_refusal(header(modality, sop_class))
    assert words in reason
    if modality:
        assert f'--allow-modality {modality}' in reason


def test_an_allowed_modality_is_accepted_whatever_its_sop_class():
    # a lower-case Modality is not a valid CS value, and pydicom says so
    with pytest.warns(UserWarning, match="Invalid value for VR CS: 'ct'"):
        assert modality_refusal(header('ct', CTImageStorage), ['CT']) is None
    assert modality_refusal(
        header('DX', DigitalXRayImageStorageForProcessing), ['DX']) is None
    assert modality_refusal(header('CT', CTImageStorage), ['MG'])


@pytest.fixture(scope='module')
def infer_tool():
    spec = importlib.util.spec_from_file_location('infer_tool', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_infer_refuses_a_ct_slice_unless_allowed(infer_tool, model_files,
                                                 phantoms, tmp_path):
    shutil.copytree(phantoms.root / 'PH0001', tmp_path / 'in')
    shutil.copy(pydicom_test_file('CT_small.dcm'), tmp_path / 'in' / 'ct.dcm')
    common = [model_files.config, model_files.checkpoint, str(tmp_path / 'in'),
              '--threshold', '0.5', '--no-overlays']

    status = infer_tool.main(common + ['--out-dir', str(tmp_path / 'out')])
    allowed = infer_tool.main(common + [
        '--out-dir', str(tmp_path / 'allowed'), '--allow-modality', 'CT'])

    report = json.loads((tmp_path / 'out' / 'report.json').read_text())
    assert status == 1
    assert report['summary']['images'] == 2  # the phantom study's views
    failure, = report['failures']
    assert failure['input'] == 'image-0001'  # ct.dcm: files before folders
    assert failure['reason'].startswith(
        'modality CT (CT Image Storage) is not a projection radiograph')
    assert allowed == 0
    assert json.loads((tmp_path / 'allowed' / 'report.json').read_text()
                      )['summary']['images'] == 3


def test_the_dicom_folder_converter_refuses_a_ct_slice(tmp_path):
    write_dicom(tmp_path / 'ap.dcm',
                np.zeros((8, 8), np.uint16),
                PatientID='P1')
    shutil.copy(pydicom_test_file('CT_small.dcm'), tmp_path / 'ct.dcm')

    with pytest.raises(DatasetRecordError,
                       match=r'ct\.dcm: modality CT .* --allow-modality CT'):
        convert_dicom_folder(tmp_path, progress=False)
    coco = convert_dicom_folder(tmp_path,
                                progress=False,
                                allowed_modalities=['CT'])
    assert sorted(image['file_name'] for image in coco['images']) == \
        ['ap.dcm', 'ct.dcm']
    assert pydicom.dcmread(tmp_path / 'ct.dcm').Modality == 'CT'
