"""A tiny random-init detector saved as config + checkpoint, a small
phantom data set and a two-view study of real CR files of different sizes,
shared by the inference tests."""
from pathlib import Path
from types import SimpleNamespace
from typing import List

import pydicom
import pytest
import torch
from mmengine.registry import init_default_scope
from pydicom.uid import generate_uid

from mmdet.registry import MODELS
from mmdet_famo.apis import RadiographPredictor, find_radiographs
from mmdet_famo.phantom import PhantomConfig, generate_phantom_dataset
from tests.detector_cfg import tiny_detector_cfg
from tests.dicom_factory import pydicom_test_file

FAMO_CONFIG = ('configs/famo/'
               'famo_faster-rcnn_x101-32x4d_fpn_4xb1-35e_fracture.py')
#: Longer side the test pipeline resizes to (the paper's is 800).
TEST_SCALE = 160


@pytest.fixture(scope='session')
def model_files(tmp_path_factory):
    """Config and checkpoint of the FAMO config shrunk by
    ``tiny_detector_cfg``, resizing to 160 px, 100 proposals, with every box
    kept (``score_thr=0``, 20 per image) so that a random model has
    findings."""
    folder = tmp_path_factory.mktemp('model')
    cfg = tiny_detector_cfg(FAMO_CONFIG)
    cfg.model.test_cfg.rpn.update(nms_pre=200, max_per_img=100)
    cfg.model.test_cfg.rcnn.update(score_thr=0., max_per_img=20)
    for transform in cfg.test_dataloader.dataset.pipeline:
        if transform.type == 'Resize':
            transform.scale = (TEST_SCALE, TEST_SCALE)
    init_default_scope('mmdet')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    checkpoint = folder / 'tiny.pth'
    torch.save(
        dict(state_dict=model.state_dict(),
             meta=dict(dataset_meta=dict(classes=('fracture', )))), checkpoint)
    config = folder / 'tiny.py'
    cfg.dump(config)
    return SimpleNamespace(config=str(config), checkpoint=str(checkpoint))


@pytest.fixture(scope='session')
def predictor(model_files):
    return RadiographPredictor(model_files.config, model_files.checkpoint)


@pytest.fixture(scope='session')
def phantoms(tmp_path_factory):
    """3 patients, 4 studies, 9 DICOM views of 320 x 256 px (MONOCHROME1
    and MONOCHROME2 mixed); ``files`` in ``find_radiographs`` order and
    ``case_of`` each file's study."""
    root = tmp_path_factory.mktemp('phantoms')
    coco, _ = generate_phantom_dataset(root, PhantomConfig(num_patients=3))
    images = root / 'images'
    files, failures = find_radiographs([str(images)])
    assert not failures
    case_of = {
        str(images / record['file_name']): record['case_id']
        for record in coco['images']
    }
    return SimpleNamespace(root=images,
                           coco=coco,
                           files=files,
                           case_of=case_of)


@pytest.fixture(scope='session')
def phantom_predictions(predictor, phantoms):
    """The predictions on ``phantoms.files``, one by one."""
    return list(predictor(phantoms.files))


#: Real computed radiographs of pydicom-data, of different sizes: RG1 is
#: 1955 rows x 1841 columns, RG3 1760 x 1760 (both MONOCHROME1).
CR_VIEWS = ('RG1_UNCI.dcm', 'RG3_UNCR.dcm')


def write_cr_study(folder: Path,
                   patient_name: str = 'CR^TWO VIEWS',
                   character_set: str = 'ISO_IR 100') -> List[Path]:
    """Copies of :data:`CR_VIEWS` as two views of one new study of one
    patient (an AP and a lateral view exposed on different cassettes), each
    in its series with a new SOP Instance UID; their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    study_uid = generate_uid()
    paths = []
    for number, name in enumerate(CR_VIEWS, start=1):
        ds = pydicom.dcmread(pydicom_test_file(name))
        ds.SpecificCharacterSet = character_set
        ds.StudyInstanceUID = study_uid
        ds.SeriesInstanceUID = generate_uid()
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = \
            generate_uid()
        ds.PatientName = patient_name
        ds.PatientID = 'CR-0001'
        ds.AccessionNumber = 'ACC-CR-0001'
        ds.StudyID = 'CR1'
        ds.SeriesNumber = number
        ds.InstanceNumber = 1
        paths.append(folder / name)
        ds.save_as(paths[-1], enforce_file_format=True)
    return paths


@pytest.fixture(scope='session')
def cr_study(tmp_path_factory):
    """:func:`write_cr_study` in a folder of its own."""
    return write_cr_study(tmp_path_factory.mktemp('cr_study'))
