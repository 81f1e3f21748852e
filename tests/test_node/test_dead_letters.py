"""The queue never blocks: what the destination cannot take (a SOP class it
does not support, an unreadable file) becomes a dead letter at once, with
its reason, logged and counted by study key; the rest goes on; the
re-queue tool puts dead letters back. The node calls the destination with
its own AE title."""
import importlib.util
import logging
from pathlib import Path

from pydicom.uid import SecondaryCaptureImageStorage

from mmdet_famo.node import DicomDestination, Spool
from .loopback import HOST, Destination, node_settings, read, send, wait_for

ROOT = Path(__file__).parents[2]


def dead_letter_tool():
    spec = importlib.util.spec_from_file_location(
        'dead_letter_tool', ROOT / 'tools' / 'dicom_node_dead_letters.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


def test_unsupported_sop_classes_are_dead_letters_and_requeued(
        phantoms, start_node, tmp_path, caplog, capsys):
    caplog.set_level(logging.INFO)
    # a PACS without SR or presentation states, which allow-lists the node
    pacs = Destination(sop_classes=[SecondaryCaptureImageStorage],
                       calling_ae_titles=['FAMO-WARD3']).start()
    try:
        node = start_node(
            node_settings(tmp_path / 'spool',
                          DicomDestination('PACS', HOST, pacs.port, timeout=5),
                          ae_title='FAMO-WARD3'))
        studies = {}
        for path in phantoms.files[:6]:
            studies.setdefault(Path(path).parent.name, []).append(path)
        for paths in studies.values():
            assert set(send(node.port, read(paths))) == {0x0000}
        captures = len(phantoms.files[:6])
        # every Secondary Capture arrives, none waits behind an SR
        assert wait_for(lambda: pacs.count() == captures, 60)
        assert wait_for(lambda: not node.spool.outbox())
    finally:
        pacs.stop()
    assert set(pacs.callers) == {'FAMO-WARD3'}  # the node's AE title
    letters = node.spool.dead_letters()
    keys = {letter.key for letter in letters}
    assert len(keys) == len(studies)
    assert {letter.reason.split(' 1.')[0]
            for letter in letters
            } == {'no presentation context for SOP class'}
    assert {letter.origin.split('/')[1]
            for letter in letters
            } == {'structured_report', 'presentation_state'}
    assert f'{len(letters)} dead letters in all' in caplog.text
    for key in keys:
        assert f'{key}: a result is a dead letter' in caplog.text
    node.stop()

    tool = dead_letter_tool()
    assert tool.main(['--spool', str(tmp_path / 'spool')]) == 0
    listing = capsys.readouterr().out
    assert f'{len(letters)} dead letters in {len(keys)} studies' in listing
    first = sorted(keys)[0]
    assert tool.main(
        ['--spool',
         str(tmp_path / 'spool'), '--requeue', '--study', first]) == 0
    spool = Spool(str(tmp_path / 'spool'))
    requeued = [letter for letter in letters if letter.key == first]
    assert sorted(path for _, path in spool.outbox()) == sorted(
        str(Path(spool.study_dir(first)) / letter.origin)
        for letter in requeued)
    assert len(spool.dead_letters()) == len(letters) - len(requeued)

    # the PACS now takes them: a node started on the spool sends them
    full = Destination(calling_ae_titles=['FAMO-WARD3']).start()
    try:
        start_node(
            node_settings(tmp_path / 'spool',
                          DicomDestination('PACS', HOST, full.port, timeout=5),
                          ae_title='FAMO-WARD3'))
        assert wait_for(lambda: full.count() == len(requeued))
    finally:
        full.stop()
    assert sorted(ds.Modality for ds in full.received) == sorted(
        'SR' if letter.origin.startswith('results-r1/structured') else 'PR'
        for letter in requeued)


def test_an_unreadable_result_is_a_dead_letter(phantoms, destination,
                                               start_node, tmp_path):
    study = read([f for f in phantoms.files if '/PH0001/' in str(f)])
    spool = Spool(str(tmp_path / 'spool'))
    for ds in study:
        key, _ = spool.store_image(ds.StudyInstanceUID, ds.SOPInstanceUID,
                                   Path(ds.filename).read_bytes())
    broken = Path(spool.study_dir(key)) / 'results-r9' / 'broken.dcm'
    broken.parent.mkdir()
    broken.write_bytes(b'not DICOM')  # first in the outbox
    node = start_node(
        node_settings(
            tmp_path / 'spool',
            DicomDestination('PACS', HOST, destination.port, timeout=5)))
    assert wait_for(lambda: destination.count() >= len(study) + 2)
    assert wait_for(lambda: not node.spool.outbox())
    [letter] = node.spool.dead_letters()
    assert (letter.key, letter.origin) == (key, 'results-r9/broken.dcm')
    assert letter.reason.startswith('unreadable (')
