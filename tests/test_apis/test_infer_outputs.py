"""What an inference run writes: overlays, Secondary Captures, and the
report's privacy."""
import io
import json
import logging

import cv2
import mmcv
import numpy as np
import pydicom
from mmengine.logging import MMLogger
from pydicom.uid import SecondaryCaptureImageStorage

from mmdet_famo.apis import draw_findings, infer_radiographs
from mmdet_famo.apis.inference import algorithm_of
from mmdet_famo.evaluation.operating_points import given_operating_points
from tests.dicom_factory import write_dicom

IDENTIFIERS = dict(PatientID='ID-SECRET-42',
                   PatientName='Doe^Jane',
                   PatientBirthDate='19700101',
                   AccessionNumber='ACC-777',
                   StudyDate='20230405')


def test_overlay_draws_the_boxes_at_or_above_the_threshold():
    image = np.full((100, 80), 7000, np.uint16)
    image[0, 0] = 0  # stretched: the background becomes 255
    overlay = draw_findings(image,
                            np.array([[10., 20., 50., 60.], [5., 5., 30.,
                                                             30.]]),
                            np.array([0.9, 0.1]),
                            given_operating_points(0.5))

    assert overlay.shape == (100, 80, 3) and overlay.dtype == np.uint8
    drawn = (overlay != 255).any(axis=2)
    drawn[0, 0] = False
    ys, xs = np.nonzero(drawn)
    # the 0.9 box's outline and its label above it; nothing of the 0.1 box
    assert (xs.min(), xs.max(), ys.max()) == (10, 50, 60)
    assert (overlay[40, 10] != overlay[40, 11]).any()  # left edge
    assert not drawn[5:30, 5].any()  # the 0.1 box's left edge
    assert tuple(overlay[40, 50]) == (60, 20, 220)  # the palette's crimson


def test_secondary_captures_read_back_in_the_source_study(
        predictor, phantoms, tmp_path):
    study = sorted(f for f in phantoms.files if '/PH0003_S2/' in f)
    report = infer_radiographs(predictor,
                               study,
                               str(tmp_path),
                               points=0.,
                               secondary_capture=True)

    case, = report['cases']
    algorithm = algorithm_of(predictor)
    series = set()
    for number, (source_path, image) in enumerate(zip(study, case['images']),
                                                  start=1):
        source = pydicom.dcmread(source_path)
        capture = pydicom.dcmread(tmp_path / image['secondary_capture'])
        assert capture.SOPClassUID == SecondaryCaptureImageStorage
        assert capture.StudyInstanceUID == source.StudyInstanceUID
        assert capture.SeriesInstanceUID != source.SeriesInstanceUID
        assert capture.SOPInstanceUID != source.SOPInstanceUID
        assert capture.PatientID == source.PatientID
        assert capture.PatientName == source.PatientName
        assert capture.AccessionNumber == source.AccessionNumber
        reference, = capture.SourceImageSequence
        assert reference.ReferencedSOPInstanceUID == source.SOPInstanceUID
        assert capture.InstanceNumber == number
        assert capture.Modality == 'OT'
        # IHE AIR: the algorithm that made it, as in the SR
        equipment, = capture.ContributingEquipmentSequence
        assert equipment.PurposeOfReferenceCodeSequence[0].CodeValue == \
            'Newcode1'  # Processing Algorithm (99IHE)
        assert equipment.DeviceUID == algorithm.device_uid
        assert equipment.ManufacturerModelName == algorithm.name
        overlay = mmcv.imread(str(tmp_path / image['overlay']))
        assert (capture.Rows, capture.Columns) == source.pixel_array.shape
        np.testing.assert_array_equal(capture.pixel_array,
                                      mmcv.bgr2rgb(overlay))
        series.add(capture.SeriesInstanceUID)
    assert len(series) == 1  # one new series for the study


def test_no_secondary_capture_without_a_study(predictor, tmp_path):
    cv2.imwrite(str(tmp_path / 'ap.png'), np.full((64, 48), 90, np.uint8))
    report = infer_radiographs(predictor, [str(tmp_path / 'ap.png')],
                               str(tmp_path / 'out'),
                               points=0.,
                               secondary_capture=True)

    image, = report['cases'][0]['images']
    assert report['cases'][0]['grouped_by'] == 'folder'
    assert 'secondary_capture' not in image and 'overlay' in image


def identified_study(phantoms, folder):
    """A phantom study plus a DICOM with every identifier, in a folder named
    after the patient."""
    source = pydicom.dcmread(phantoms.files[0])
    patient = folder / IDENTIFIERS['PatientID']
    patient.mkdir(parents=True)
    write_dicom(patient / f"{IDENTIFIERS['PatientID']}.dcm",
                source.pixel_array,
                BitsStored=source.BitsStored,
                StudyInstanceUID=source.StudyInstanceUID,
                **IDENTIFIERS)
    (patient / 'broken.dcm').write_text('not a radiograph')
    return [phantoms.files[0], str(patient)], source


def test_identifiers_are_in_outputs_only_on_request(predictor, phantoms,
                                                    tmp_path, capfd):
    inputs, source = identified_study(phantoms, tmp_path / 'in')
    log = io.StringIO()
    log_handler = logging.StreamHandler(log)
    MMLogger.get_current_instance().addHandler(log_handler)
    secrets = [
        *IDENTIFIERS.values(), 'Doe', source.PatientID,
        str(source.PatientName), source.StudyInstanceUID,
        source.SOPInstanceUID, source.AccessionNumber, 'PH0001', 'ap.dcm',
        str(tmp_path / 'in')
    ]

    infer_radiographs(predictor, inputs, str(tmp_path / 'plain'), 0.5)
    plain = (tmp_path / 'plain' / 'report.json').read_text()
    logs = ''.join(capfd.readouterr())
    infer_radiographs(predictor,
                      inputs,
                      str(tmp_path / 'named'),
                      0.5,
                      include_identifiers=True)
    named = json.loads((tmp_path / 'named' / 'report.json').read_text())
    logs += ''.join(capfd.readouterr())
    MMLogger.get_current_instance().removeHandler(log_handler)
    logs += log.getvalue()

    for secret in secrets:
        assert secret not in plain, secret
        assert secret not in logs, secret
    assert 'image-0003 skipped: neither DICOM' in logs
    assert all(secret not in str(path)
               for path in (tmp_path / 'plain').rglob('*')
               for secret in secrets)
    case, = named['cases']  # both views share the study UID
    assert case['study'] == source.StudyInstanceUID
    assert case['patient_id'] == source.PatientID  # of its first view
    second = case['images'][1]
    assert second['path'].endswith(f"{IDENTIFIERS['PatientID']}.dcm")
    assert named['failures'][0]['path'].endswith('broken.dcm')
    assert not json.loads(plain)['identifiers_included']


def test_overlay_draws_definite_solid_and_suspected_dashed():
    image = np.zeros((120, 120), np.uint8)
    points = given_operating_points(0.8, suspected=0.4)
    overlay = draw_findings(image,
                            np.array([[10., 30., 50., 70.],
                                      [60., 30., 110., 70.],
                                      [20., 80., 100., 110.]]),
                            np.array([0.9, 0.5, 0.3]), points)

    definite_edge = overlay[40:60, 10]
    suspected_edge = overlay[31:69, 60]
    assert (definite_edge == (60, 20, 220)).all()  # solid crimson
    yellow = (suspected_edge == (0, 255, 255)).all(axis=1)
    assert 0.3 < yellow.mean() < 0.8  # dashes and gaps
    assert not overlay[81:109, 20].any()  # 0.3: below both, not drawn
