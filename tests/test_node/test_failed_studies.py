"""A study whose processing fails is marked failed with its reason, kept
out of the logs' identifiers, and not run again at every start; a new image
of it opens a new round. Warnings raised while a study is processed reach
the logs without its identifiers."""
import io
import logging
import os.path as osp
import warnings

import pydicom
import pytest
from mmengine.logging import MMLogger

from mmdet_famo.node import Spool, processor
from mmdet_famo.node.processor import StudyProcessor
from mmdet_famo.node.spool import DONE, FAILED, RECEIVING
from .loopback import INFER_OPTIONS


def spool_study(spool: Spool, paths) -> str:
    """Store the files as the receiver does; the study's key."""
    for path in paths:
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        with open(path, 'rb') as file:
            key, _ = spool.store_image(ds.StudyInstanceUID, ds.SOPInstanceUID,
                                       file.read())
    return key


@pytest.fixture
def study(phantoms):
    """The files of the first phantom study, and its identifiers."""
    first = phantoms.case_of[phantoms.files[0]]
    files = [f for f in phantoms.files if phantoms.case_of[f] == first]
    header = pydicom.dcmread(files[0], stop_before_pixels=True)
    return files, header


def test_a_failing_study_is_marked_failed_and_not_rerun(
        study, predictor, tmp_path, monkeypatch, caplog):
    caplog.set_level(logging.INFO)
    files, header = study
    name = str(header.PatientName)

    def broken(*args, **kwargs):
        raise ValueError(f'cannot read "{name}" of {header.StudyInstanceUID}')

    spool = Spool(str(tmp_path / 'spool'))
    key = spool_study(spool, files[:-1])
    worker = StudyProcessor(spool, predictor, INFER_OPTIONS, idle_seconds=0)
    monkeypatch.setattr(processor, 'infer_radiographs', broken)
    worker.process(key)
    state = spool.state(key)
    assert (state.state, state.round) == (FAILED, 1)
    assert state.reason == \
        'ValueError: cannot read <identifier> of <identifier>'
    assert not osp.exists(osp.join(spool.study_dir(key), 'work-r1'))
    assert f'{key}: round 1 failed (ValueError: cannot read' in caplog.text
    assert name not in caplog.text
    assert header.StudyInstanceUID not in caplog.text

    # a restart does not run it again
    restarted = Spool(str(tmp_path / 'spool'))
    assert restarted.recover() == []
    assert restarted.state(key).state == FAILED
    assert restarted.next_due(0) is None

    # a new image opens round 2, which runs
    monkeypatch.undo()
    spool_study(restarted, files[-1:])
    state = restarted.state(key)
    assert (state.state, state.round, state.reason) == (RECEIVING, 2, '')
    assert restarted.next_due(0) == key
    StudyProcessor(restarted, predictor, INFER_OPTIONS,
                   idle_seconds=0).process(key)
    assert restarted.state(key).state == DONE
    kinds = {osp.basename(osp.dirname(path))
             for _, path in restarted.outbox()}
    assert {'structured_report', 'presentation_state'} <= kinds


def test_warnings_of_a_round_name_no_one(study, predictor, tmp_path,
                                         monkeypatch, capfd, caplog):
    caplog.set_level(logging.DEBUG)
    log = io.StringIO()
    handler = logging.StreamHandler(log)
    MMLogger.get_current_instance().addHandler(handler)
    files, header = study
    run = processor.infer_radiographs

    def odd_values(*args, **kwargs):  # as pydicom warns, quoting the value
        warnings.warn(f'Invalid value for VR PN: {header.PatientName} of '
                      f'{header.SOPInstanceUID}')
        return run(*args, **kwargs)

    monkeypatch.setattr(processor, 'infer_radiographs', odd_values)
    spool = Spool(str(tmp_path / 'spool'))
    key = spool_study(spool, files)
    StudyProcessor(spool, predictor, INFER_OPTIONS,
                   idle_seconds=0).process(key)
    MMLogger.get_current_instance().removeHandler(handler)
    captured = capfd.readouterr()
    text = captured.out + captured.err + caplog.text + log.getvalue()
    assert spool.state(key).state == DONE
    assert f'{key}: UserWarning: Invalid value for VR PN: <identifier> of ' \
        '<identifier>' in text
    for secret in (str(header.PatientName), header.PatientID,
                   header.SOPInstanceUID, header.StudyInstanceUID):
        assert secret not in text, secret
