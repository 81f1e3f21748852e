"""The spool's study keys, resent instances and versions: keys are checked
against the full StudyInstanceUID kept in the spool, so two studies whose
hashes share their first digits stay apart; an identical resent instance
changes nothing, one with other content is logged and processed again; a
committed round's SR is what the next round's replaces."""
import copy
import hashlib
import json
import logging
from pathlib import Path

import pydicom

from mmdet_famo.node import Spool
from mmdet_famo.node.spool import DONE, RECEIVING, REPORT_UIDS


def test_colliding_study_keys_stay_apart(tmp_path, monkeypatch):
    # every hash starts with the same 12 digits: the 48-bit keys collide
    monkeypatch.setattr(
        Spool, '_hash', lambda self, value: '0' * 12 + hashlib.sha256(
            self._salt + value.encode()).hexdigest())
    spool = Spool(str(tmp_path))
    first, _ = spool.store_image('1.2.3.1', '1.2.3.1.1', b'first study')
    second, _ = spool.store_image('1.2.3.2', '1.2.3.2.1', b'second study')
    assert first == 'study-000000000000'
    assert second.startswith(first) and len(second) == len('study-') + 24
    state = json.loads(
        (Path(spool.study_dir(first)) / 'state.json').read_text())
    assert state['study_instance_uid'] == '1.2.3.1'
    restarted = Spool(str(tmp_path))
    assert restarted.study_key('1.2.3.2') == second
    assert restarted.study_key('1.2.3.1') == first
    assert (restarted.state(first).images,
            restarted.state(second).images) == (1, 1)


def test_resent_instances(tmp_path, caplog):
    spool = Spool(str(tmp_path))
    key, new = spool.store_image('1.2.3', '1.2.3.1', b'pixels')
    assert new
    spool.begin_round(key)
    spool.commit_round(key, 1)
    assert spool.store_image('1.2.3', '1.2.3.1', b'pixels') == (key, False)
    assert (spool.state(key).state, spool.state(key).round) == (DONE, 1)
    with caplog.at_level(logging.WARNING):
        assert spool.store_image('1.2.3', '1.2.3.1', b'other') == (key, True)
    assert f'{key}: an instance was resent with other content' in caplog.text
    state = spool.state(key)
    assert (state.state, state.round, state.images) == (RECEIVING, 2, 1)
    [image] = Path(spool.images_dir(key)).iterdir()
    assert image.read_bytes() == b'other'


def test_the_reports_a_round_replaces(tmp_path):
    """A round's SR is recorded when the round is committed (after a
    restart too) as what the next round's SR replaces; files that are not
    an SR, or cannot be read, are not."""
    spool = Spool(str(tmp_path))
    key, _ = spool.store_image('1.2.3', '1.2.3.1', b'pixels')
    assert spool.replaced_reports(key) == []
    round_, work = spool.begin_round(key)
    report = pydicom.Dataset()
    report.Modality = 'SR'
    report.SOPClassUID = pydicom.uid.ComprehensiveSRStorage
    report.SOPInstanceUID, report.SeriesInstanceUID = '1.2.3.9', '1.2.3.8'
    report.StudyInstanceUID = '1.2.3'
    capture = copy.deepcopy(report)
    capture.Modality, capture.SOPInstanceUID = 'OT', '1.2.3.7'
    for name, dataset in (('sr.dcm', report), ('sc.dcm', capture)):
        dataset.file_meta = pydicom.dataset.FileMetaDataset()
        dataset.file_meta.TransferSyntaxUID = \
            pydicom.uid.ExplicitVRLittleEndian
        dataset.save_as(Path(work) / name, enforce_file_format=True)
    (Path(work) / 'broken.dcm').write_bytes(b'not DICOM')
    spool.commit_round(key, round_)
    spool.store_image('1.2.3', '1.2.3.2', b'late')  # round 2 waits
    [replaced] = Spool(str(tmp_path)).replaced_reports(key)
    assert {keyword: replaced.get(keyword) for keyword in REPORT_UIDS} == {
        'SOPClassUID': pydicom.uid.ComprehensiveSRStorage,
        'SOPInstanceUID': '1.2.3.9',
        'SeriesInstanceUID': '1.2.3.8',
        'StudyInstanceUID': '1.2.3'
    }
