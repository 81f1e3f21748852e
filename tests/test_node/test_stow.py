"""DICOMweb STOW-RS as the destination: the node stores its results into
Orthanc's DICOMweb plugin, where they are filed in the source study; while
the server cannot be reached they stay queued."""
import urllib.error

import pytest

from mmdet_famo.node import StowRsDestination
from .loopback import free_port, node_settings, read, send, wait_for
from .test_orthanc import MODALITY, results_in, value

pytest.importorskip('dicomweb_client',
                    reason='dicomweb-client is not installed (the '
                    'node-dicomweb extra)')


def test_results_stored_into_orthanc_by_stow_rs(orthanc, phantoms,
                                                start_node, tmp_path):
    node = start_node(
        node_settings(tmp_path / 'spool',
                      StowRsDestination(f'{orthanc.url}/dicom-web',
                                        timeout=10)))
    study = read([f for f in phantoms.files if '/PH0001/' in str(f)])
    assert send(node.port, study) == [0x0000] * len(study)
    uid = study[0].StudyInstanceUID

    def filed() -> list:
        try:
            return sorted(
                value(item, MODALITY) for item in results_in(orthanc, uid))
        except urllib.error.HTTPError:  # 404: no instance of it yet
            return []

    assert wait_for(lambda: filed().count('OT') == len(study), 120)
    assert wait_for(lambda: not node.spool.outbox())
    assert filed().count('SR') == 1 and 'PR' in filed()
    assert not node.spool.dead_letters()


def test_unreachable_stow_server_queues_results(phantoms, start_node,
                                                tmp_path, caplog):
    node = start_node(
        node_settings(tmp_path / 'spool',
                      StowRsDestination(f'http://127.0.0.1:{free_port()}',
                                        timeout=2)))
    study = read([f for f in phantoms.files if '/PH0001/' in str(f)])
    assert send(node.port, study) == [0x0000] * len(study)
    assert wait_for(
        lambda: 'destination unavailable (ConnectionError)' in caplog.text,
        60)
    assert len(node.spool.outbox()) >= len(study) + 2
    assert not node.spool.dead_letters()


def test_one_attempt_per_send_the_node_backs_off_itself(phantoms,
                                                        monkeypatch):
    """dicomweb-client would retry a refused connection 5 times over 30 s
    inside one send, holding the sender and the node's shutdown; the node
    makes one attempt and leaves the retries to its outbox's back-off."""
    import requests

    from mmdet_famo.node.sender import DestinationUnavailable
    attempts = []

    def refused(session, url, **kwargs):
        attempts.append(url)
        raise requests.ConnectionError('connection refused')

    monkeypatch.setattr(requests.Session, 'post', refused)
    destination = StowRsDestination('http://127.0.0.1:1/dicom-web')
    with pytest.raises(DestinationUnavailable, match='ConnectionError'):
        destination.send([('study-0', str(phantoms.files[0]))],
                         lambda *outcome: None)
    assert len(attempts) == 1
