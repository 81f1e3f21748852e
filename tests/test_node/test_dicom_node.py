"""The DICOM node on the loopback interface: receiving, refusing,
processing, sending, back-off, restart, privacy, dcmtk, folder watching."""
import copy
import importlib.util
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import highdicom as hd
import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.uid import (DigitalXRayImageStorageForPresentation,
                         DigitalXRayImageStorageForProcessing,
                         SecondaryCaptureImageStorage, generate_uid)
from pynetdicom import AE

from mmdet_famo.node import (DicomDestination, FolderDestination,
                             FreeSpaceFloor, Spool, StowRsDestination)
from .loopback import (DCMTK, DEFINITE, HOST, SUSPECTED, Destination,
                       free_port, node_settings, read, send, wait_for)

pytestmark = pytest.mark.heavy

ROOT = Path(__file__).parents[2]
TOOL = ROOT / 'tools' / 'infer.py'


def pacs(port: int) -> DicomDestination:
    return DicomDestination('PACS', HOST, port, timeout=5)


def broken_copy(path: Path) -> pydicom.Dataset:
    """A DX instance of the study of ``path`` whose pixel data stops short."""
    ds = pydicom.dcmread(path)
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = \
        generate_uid()
    ds.PixelData = ds.PixelData[:1000]
    return ds


def secondary_captures(datasets) -> dict:
    """Source SOP Instance UID -> the pixels of its Secondary Capture."""
    return {
        ds.SourceImageSequence[0].ReferencedSOPInstanceUID: ds.pixel_array
        for ds in datasets if ds.SOPClassUID == SecondaryCaptureImageStorage
    }


def sr_findings(datasets) -> dict:
    """Source SOP Instance UID -> its findings in the structured reports
    received, as the report writes boxes: (x1, y1, x2, y2), score, level."""
    found = {}
    for ds in datasets:
        if ds.Modality != 'SR':
            continue
        sr = hd.sr.ComprehensiveSR.from_dataset(ds)
        for group in sr.content.get_planar_roi_measurement_groups():
            region = group.roi
            uid = region.ContentSequence[0].ReferencedSOPSequence[0]. \
                ReferencedSOPInstanceUID
            corners = region.value[[0, 2]].ravel()
            level = group.get_qualitative_evaluations()[0].value.meaning
            found.setdefault(uid, []).append(
                ([round(float(v), 2)
                  for v in corners], round(group.get_measurements()[0].value,
                                           6), level.split()[0].lower()))
    return {uid: sorted(findings) for uid, findings in found.items()}


def report_findings(report: dict, files) -> dict:
    """The same from tools/infer.py's report; image-000N is ``files[N-1]``
    (they were written in that order)."""
    return {
        files[int(image['image'].split('-')[1]) - 1].SOPInstanceUID:
        sorted((box['bbox'], round(box['score'], 6), box['level'])
               for box in image['boxes']
               if box['level'] and box['merged_into'] is None)
        for case in report['cases']
        for image in case['images']
        if any(box['level'] for box in image['boxes'])
    }


def received_of(destination: Destination, modality: str) -> list:
    return [ds for ds in destination.received if ds.Modality == modality]


def sources(destination: Destination) -> set:
    """The images the Secondary Captures received were drawn from."""
    return {
        ds.SourceImageSequence[0].ReferencedSOPInstanceUID
        for ds in received_of(destination, 'OT')
    }


def run_infer_tool(model_files, files, out_dir: Path) -> dict:
    """tools/infer.py on ``files`` (copied into one folder), as a user runs
    it; its report and Secondary Captures."""
    spec = importlib.util.spec_from_file_location('infer_tool', TOOL)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    inputs = out_dir / 'in'
    inputs.mkdir(parents=True)
    for number, ds in enumerate(files):
        ds.save_as(inputs / f'{number:03d}.dcm', enforce_file_format=True)
    tool.main([
        model_files.config, model_files.checkpoint,
        str(inputs), '--out-dir',
        str(out_dir / 'out'), '--threshold',
        str(DEFINITE), '--suspected-threshold',
        str(SUSPECTED), '--sr', '--presentation-state', '--secondary-capture',
        '--no-overlays'
    ])
    report = json.loads((out_dir / 'out' / 'report.json').read_text())
    return report, read(sorted((out_dir / 'out').rglob('*.dcm')))


def test_receives_refuses_and_sends_what_infer_reports(phantoms, model_files,
                                                       destination, start_node,
                                                       tmp_path, caplog):
    caplog.set_level(logging.INFO)
    node = start_node(node_settings(tmp_path / 'spool',
                                    pacs(destination.port)))
    studies = read(phantoms.files)
    broken = broken_copy(phantoms.files[0])
    ct = pydicom.dcmread(get_testdata_file('CT_small.dcm'))
    ct_as_dx = copy.deepcopy(ct)
    ct_as_dx.SOPClassUID = DigitalXRayImageStorageForPresentation
    for_processing = copy.deepcopy(studies[1])
    for_processing.SOPClassUID = DigitalXRayImageStorageForProcessing
    for_processing.SOPInstanceUID = generate_uid()

    ae = AE(ae_title='MODALITY')
    ae.add_requested_context('1.2.840.10008.1.1')
    assoc = ae.associate(HOST, node.port, ae_title='FAMO')
    assert assoc.send_c_echo().Status == 0x0000
    assoc.release()
    statuses = send(node.port, studies[:4] + [broken, ct, ct_as_dx])
    statuses += send(node.port, studies[4:] + [for_processing])

    assert statuses[:4] == [0x0000] * 4
    assert statuses[4] == 0xA900  # pixel data shorter than Rows x Columns
    assert statuses[5] == -1  # CT Image Storage: context rejected
    assert statuses[6] == 0xA900  # a CT labelled DX: refused by modality
    assert statuses[7:-1] == [0x0000] * (len(studies) - 4)
    assert statuses[-1] == 0xA900  # DX For Processing: not by default
    num_studies = len({ds.StudyInstanceUID for ds in studies})
    # per study an SR and a presentation state per display group (at most
    # one per view), per view a Secondary Capture
    assert wait_for(
        lambda: destination.count() >= len(studies) + 2 * num_studies)
    assert wait_for(lambda: not Spool(str(tmp_path / 'spool')).outbox())
    modalities = [ds.Modality for ds in destination.received]
    assert modalities.count('SR') == num_studies
    assert num_studies <= modalities.count('PR') <= len(studies)
    assert modalities.count('OT') == len(studies)

    report, expected = run_infer_tool(model_files, studies + [broken],
                                      tmp_path / 'infer')
    assert report['summary']['failures'] == 1
    levels = {
        box['level']
        for case in report['cases']
        for image in case['images']
        for box in image['boxes']
    }
    assert levels == {None, 'suspected', 'definite'}
    findings = sr_findings(destination.received)
    assert findings and findings == report_findings(report, studies)
    received = secondary_captures(destination.received)
    assert received.keys() == {ds.SOPInstanceUID for ds in studies}
    reference = secondary_captures(expected)
    assert received.keys() == reference.keys()
    for uid, pixels in received.items():  # the same boxes drawn
        np.testing.assert_array_equal(pixels, reference[uid])
    # each result is in its source study, one new series per study
    study_of = {ds.SOPInstanceUID: ds.StudyInstanceUID for ds in studies}
    series = {}
    for ds in destination.received:
        assert ds.StudyInstanceUID in study_of.values()
        series.setdefault((ds.StudyInstanceUID, ds.Modality),
                          set()).add(ds.SeriesInstanceUID)
    for ds in received_of(destination, 'OT'):
        source = ds.SourceImageSequence[0].ReferencedSOPInstanceUID
        assert ds.StudyInstanceUID == study_of[source]
    assert len(series) == 3 * num_studies
    assert all(len(uids) == 1 for uids in series.values())
    # the logs name no patient, study, image or file
    log = caplog.text
    assert 'study-' in log
    for ds in studies + [broken, ct]:
        for secret in (ds.PatientID, str(ds.PatientName), ds.StudyInstanceUID,
                       ds.SOPInstanceUID):
            assert secret not in log
    assert str(phantoms.root) not in log and str(tmp_path) not in log


def test_destination_down_then_back_loses_nothing(phantoms, start_node,
                                                  tmp_path, caplog):
    port = free_port()
    node = start_node(node_settings(tmp_path / 'spool', pacs(port)))
    study = [f for f in phantoms.files if '/PH0001/' in str(f)]
    assert send(node.port, read(study)) == [0x0000] * len(study)
    spool = Spool(str(tmp_path / 'spool'))
    # an SR, a presentation state or more, a Secondary Capture per view
    assert wait_for(lambda: len(spool.outbox()) >= len(study) + 2)
    assert wait_for(lambda: caplog.text.count('destination unavailable') >= 2)
    queued = len(spool.outbox())

    destination = Destination(port).start()
    try:
        assert wait_for(lambda: not spool.outbox())
    finally:
        destination.stop()
    assert destination.count() == queued
    assert len(received_of(destination, 'SR')) == 1
    assert sources(destination) == {
        pydicom.dcmread(f).SOPInstanceUID
        for f in study
    }


def test_a_late_image_gives_a_new_version_that_replaces_the_first(
        phantoms, destination, start_node, tmp_path):
    """A study that comes in pieces: the late view's round covers every
    view, and its SR names the first round's SR as its predecessor
    (Predecessor Documents Sequence, PS3.3 C.17.2.1), in this study."""
    node = start_node(node_settings(tmp_path / 'spool',
                                    pacs(destination.port)))
    study = read([f for f in phantoms.files if '/PH0001/' in str(f)])
    assert len(study) >= 2
    assert send(node.port, study[:-1]) == [0x0000] * (len(study) - 1)
    assert wait_for(lambda: len(received_of(destination, 'SR')) == 1)
    assert send(node.port, study[-1:]) == [0x0000]
    assert wait_for(lambda: len(received_of(destination, 'SR')) == 2)
    assert wait_for(lambda: not node.spool.outbox())

    first, second = received_of(destination, 'SR')
    assert 'PredecessorDocumentsSequence' not in first
    [predecessor] = second.PredecessorDocumentsSequence
    assert predecessor.StudyInstanceUID == study[0].StudyInstanceUID
    [series] = predecessor.ReferencedSeriesSequence
    assert series.SeriesInstanceUID == first.SeriesInstanceUID
    [instance] = series.ReferencedSOPSequence
    assert (instance.ReferencedSOPClassUID,
            instance.ReferencedSOPInstanceUID) == (first.SOPClassUID,
                                                   first.SOPInstanceUID)

    def evidence(report):
        return {
            item.ReferencedSOPInstanceUID
            for study_item in report.CurrentRequestedProcedureEvidenceSequence
            for series_item in study_item.ReferencedSeriesSequence
            for item in series_item.ReferencedSOPSequence
        }

    views = {ds.SOPInstanceUID for ds in study}
    assert evidence(first) == views - {study[-1].SOPInstanceUID}
    assert evidence(second) == views
    # the second round's Secondary Captures cover every view again
    assert sources(destination) == views
    # a third version would replace the second, not the first
    assert node.spool.replaced_reports(
        node.spool.study_key(study[0].StudyInstanceUID)
    )[0].SOPInstanceUID == second.SOPInstanceUID


def test_results_refused_five_times_are_dead_letters(phantoms, start_node,
                                                     tmp_path, caplog):
    refusing = Destination(status=0xA700).start()  # out of resources
    try:
        node = start_node(
            node_settings(tmp_path / 'spool', pacs(refusing.port)))
        study = [f for f in phantoms.files if '/PH0001/' in str(f)]
        assert send(node.port, read(study)) == [0x0000] * len(study)
        assert wait_for(lambda: 'status 0xA700, 5 times' in caplog.text)
        assert wait_for(lambda: not node.spool.outbox())
    finally:
        refusing.stop()
    received = [ds.SOPInstanceUID for ds in refusing.received]
    letters = node.spool.dead_letters()
    assert len(letters) == len(set(received)) >= len(study) + 2
    assert {letter.reason for letter in letters} == {'status 0xA700, 5 times'}
    assert all(received.count(uid) == 5 for uid in received)


def test_a_round_left_processing_runs_once_after_a_restart(tmp_path, phantoms):
    """The on-disk state machine alone: a round renamed into results but
    not recorded is committed (not run again); a round caught in its work
    folder is set back to wait and run again."""
    spool = Spool(str(tmp_path))
    files = [pydicom.dcmread(f) for f in phantoms.files[:3]]
    keys = set()
    for ds in files:
        key, new = spool.store_image(ds.StudyInstanceUID, ds.SOPInstanceUID,
                                     Path(ds.filename).read_bytes())
        assert new
        keys.add(key)
    assert spool.store_image(files[0].StudyInstanceUID,
                             files[0].SOPInstanceUID,
                             Path(files[0].filename).read_bytes())[1] is False
    committed, interrupted = sorted(keys)[:2]
    for key in (committed, interrupted):
        round_, work = spool.begin_round(key)
        (Path(work) / 'result.dcm').write_bytes(b'x')
    os.replace(
        Path(spool.study_dir(committed)) / 'work-r1',
        Path(spool.study_dir(committed)) / 'results-r1')

    restarted = Spool(str(tmp_path))
    assert restarted.recover() == [interrupted]
    assert restarted.state(committed).state == 'done'
    assert restarted.state(interrupted).state == 'receiving'
    assert [key for key, _ in restarted.outbox()] == [committed]
    # a new image of a done study opens round 2; an identical resent one
    # does not
    ds = next(ds for ds in files
              if restarted.study_key(ds.StudyInstanceUID) == committed)
    restarted.store_image(ds.StudyInstanceUID, ds.SOPInstanceUID,
                          Path(ds.filename).read_bytes())
    assert restarted.state(committed).state == 'done'
    restarted.store_image(ds.StudyInstanceUID, generate_uid(), b'')
    assert (restarted.state(committed).state,
            restarted.state(committed).round) == ('receiving', 2)


def start_node_process(model_files, spool: Path, port: int, dest_port: int,
                       log: Path) -> subprocess.Popen:
    return subprocess.Popen([
        sys.executable,
        str(ROOT / 'tools' / 'dicom_node.py'), model_files.config,
        model_files.checkpoint, '--spool',
        str(spool), '--bind', HOST, '--port',
        str(port), '--destination', f'PACS@{HOST}:{dest_port}', '--threshold',
        str(DEFINITE), '--suspected-threshold',
        str(SUSPECTED), '--secondary-capture', '--idle-seconds', '1.5',
        '--retry-max-seconds', '1'
    ],
                            stdout=log.open('a'),
                            stderr=subprocess.STDOUT,
                            env=dict(os.environ, OMP_NUM_THREADS='1'))


def node_answers(port: int) -> bool:
    ae = AE(ae_title='PROBE')
    ae.add_requested_context('1.2.840.10008.1.1')
    assoc = ae.associate(HOST, port, ae_title='FAMO')
    if not assoc.is_established:
        return False
    assoc.release()
    return True


def test_killed_mid_study_and_restarted_processes_it_once(
        phantoms, model_files, destination, tmp_path):
    study = read([f for f in phantoms.files if '/PH0002/' in str(f)])
    assert len(study) >= 2
    port, log = free_port(), tmp_path / 'node.log'
    node = start_node_process(model_files, tmp_path / 'spool', port,
                              destination.port, log)
    try:
        assert wait_for(lambda: node_answers(port), 60), log.read_text()
        assert send(port, study[:1]) == [0x0000]
        node.send_signal(signal.SIGKILL)
        node.wait(10)
        node = start_node_process(model_files, tmp_path / 'spool', port,
                                  destination.port, log)
        assert wait_for(lambda: node_answers(port), 60), log.read_text()
        # the modality resends the whole study, as after a broken link
        assert send(port, study) == [0x0000] * len(study)
        assert wait_for(lambda: received_of(destination, 'SR'), 30)
        assert wait_for(lambda: not Spool(str(tmp_path / 'spool')).outbox())
        assert not wait_for(lambda: len(received_of(destination, 'SR')) > 1,
                            2.)
    finally:
        node.send_signal(signal.SIGTERM)
        node.wait(20)
    assert sources(destination) == {ds.SOPInstanceUID for ds in study}
    assert len(received_of(destination, 'OT')) == len(study)
    # one SR, one presentation-state series, one capture series
    assert len({ds.SeriesInstanceUID for ds in destination.received}) == 3
    text = log.read_text()
    assert text.count('round 1 processed') == 1 and 'round 2' not in text
    assert study[0].PatientID not in text


@pytest.mark.skipif(not all(DCMTK.values()),
                    reason="dcmtk's echoscu and storescu are not installed "
                    '(Debian package dcmtk)')
def test_dcmtk_echoscu_and_storescu(phantoms, destination, start_node,
                                    tmp_path):
    node = start_node(node_settings(tmp_path / 'spool',
                                    pacs(destination.port)))
    study = [str(f) for f in phantoms.files if '/PH0003/' in str(f)]

    def dcmtk(program, *files) -> subprocess.CompletedProcess:
        return subprocess.run(
            [DCMTK[program], '-aec', 'FAMO', HOST,
             str(node.port), *files],
            capture_output=True,
            text=True,
            timeout=30)

    assert dcmtk('echoscu').returncode == 0
    stored = dcmtk('storescu', *study)
    assert stored.returncode == 0, stored.stderr
    refused = dcmtk('storescu', get_testdata_file('CT_small.dcm'))
    assert refused.returncode != 0  # no presentation context for CT
    assert wait_for(lambda: len(received_of(destination, 'OT')) == len(study))
    assert wait_for(lambda: not node.spool.outbox())
    assert sources(destination) == {
        pydicom.dcmread(f).SOPInstanceUID
        for f in study
    }


def test_folder_watcher_feeds_the_same_processor(phantoms, start_node,
                                                 tmp_path):
    watch, out = tmp_path / 'watch', tmp_path / 'out'
    node = start_node(
        node_settings(tmp_path / 'spool',
                      FolderDestination(str(out)),
                      watch=str(watch)))
    study = [f for f in phantoms.files if '/PH0001/' in str(f)]
    watch.mkdir(exist_ok=True)
    for number, path in enumerate(study):
        shutil.copy(path, watch / f'view{number}.dcm')
    (watch / 'notes.txt').write_text('not DICOM')

    assert wait_for(lambda: list(out.rglob('*structured_report*.dcm')))
    assert wait_for(lambda: not node.spool.outbox())
    assert sorted(p.name for p in watch.rglob('*')
                  if p.is_file()) == ['000001-notes.txt']  # set aside
    results = read(sorted(out.rglob('*.dcm')))
    assert [ds.Modality for ds in results].count('SR') == 1
    assert {
        ds.SourceImageSequence[0].ReferencedSOPInstanceUID
        for ds in results if ds.Modality == 'OT'
    } == {pydicom.dcmread(f).SOPInstanceUID
          for f in study}


def test_command_line_settings(model_files, capsys, tmp_path):
    spec = importlib.util.spec_from_file_location(
        'dicom_node_tool', ROOT / 'tools' / 'dicom_node.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    common = [model_files.config, model_files.checkpoint, '--spool', 'spool']

    args = tool.parse_args(common + [
        '--destination', 'PACS@10.0.0.5:104', '--threshold', '0.6',
        '--suspected-threshold', '0.3', '--allow-caller', 'CR1@10.0.0.7',
        '--allow-caller', 'ORTHANC', '--min-free-space', '10%'
    ])
    assert args.destination == DicomDestination('PACS', '10.0.0.5', 104)
    assert (args.points.suspected.threshold,
            args.points.definite.threshold) == (0.3, 0.6)
    assert args.port == 11112 and args.idle_seconds == 60
    assert args.allow_caller == ['CR1@10.0.0.7', 'ORTHANC']
    assert args.min_free_space == FreeSpaceFloor(fraction=0.1)
    local = ['--out-dir', 'out', '--threshold', '0.5', '--bind', '127.0.0.1']
    args = tool.parse_args(common + local + ['--retention-hours', 'inf'])
    assert args.min_free_space == FreeSpaceFloor(size=5 * 2**30)
    assert args.allow_caller is None and not args.allow_any_caller
    assert args.retention_hours == float('inf') and args.tls is None
    password = tmp_path / 'password'
    password.write_text('secret\n')
    args = tool.parse_args(common + local[2:] + [
        '--stow-url', 'https://pacs/dicom-web', '--stow-user', 'famo',
        '--stow-password-file',
        str(password)
    ])
    assert args.destination == StowRsDestination('https://pacs/dicom-web',
                                                 'famo', 'secret')
    assert 'secret' not in repr(args.destination)
    out = ['--out-dir', 'out', '--threshold', '0.5']
    wrong_cases = [
        (['--destination', 'PACS:104', '--threshold', '0.5'], 'AE@HOST:PORT'),
        (['--threshold', '0.5'], 'required'),
        (out + ['--port', '1', '--watch', 'in'], 'not allowed with'),
        (out, 'give --allow-caller'),
        (out + ['--allow-any-caller', '--allow-caller', 'CR1'],
         'exclude each other'),
        (out + ['--min-free-space', '5 apples'], "'5 apples': expected a"),
        (local + ['--retention-hours', '-1'], 'must be >= 0'),
        (local + ['--stow-user', 'famo'], 'need --stow-url'),
        (local + ['--tls-ca', 'ca.pem'], 'TLS needs --tls-cert and --tls-key'),
        (local + ['--tls-cert', 'missing.pem', '--tls-key', 'key.pem'],
         'no such file'),
    ]
    for wrong, message in wrong_cases:
        with pytest.raises(SystemExit) as error:
            tool.parse_args(common + wrong)
        assert error.value.code == 2
        assert message in capsys.readouterr().err
