"""Retention: a study is deleted whole (images, results, state: nothing of
it stays) a set time after all its results were delivered, unless it has
dead letters; the sender's scan looks only at studies with results
pending, not at every study delivered."""
import logging
from pathlib import Path

from mmdet_famo.node import FolderDestination, Spool
from .loopback import node_settings, read, send, wait_for


def deliver(spool: Spool, uid: str) -> str:
    """A study of one image, processed into one result, sent."""
    key, _ = spool.store_image(uid, uid + '.1', b'pixels')
    _, work = spool.begin_round(key)
    Path(work, 'sr.dcm').write_bytes(b'result')
    spool.commit_round(key, 1)
    [(_, path)] = spool.outbox()
    spool.mark_sent(key, path)
    assert spool.outbox() == []  # found empty: delivered
    return key


def test_purge_after_delivery(tmp_path, monkeypatch):
    spool = Spool(str(tmp_path))
    kept = deliver(spool, '1.2.3')
    purged = deliver(spool, '1.2.4')
    letter = Path(spool.study_dir(kept)) / 'dead-letters' / 'x.dcm'
    letter.parent.mkdir()
    letter.write_bytes(b'refused')
    assert spool.state(purged).delivered > 0
    # a delivered study is not looked at again: a file put in its results
    # folder behind the node's back is not seen
    stray = Path(spool.study_dir(purged)) / 'results-r1' / 'stray.dcm'
    stray.write_bytes(b'x')
    assert spool.outbox() == []
    assert spool.purge(3600.) == []  # not old enough
    assert spool.purge(0.) == [purged]  # the other has a dead letter
    assert not Path(spool.study_dir(purged)).exists()
    assert sorted(spool.keys()) == [kept]
    restarted = Spool(str(tmp_path))
    assert restarted.keys() == [kept]
    # a new image of the purged study starts it afresh
    key, new = restarted.store_image('1.2.4', '1.2.4.2', b'late')
    assert (key, new) == (purged, True)
    state = restarted.state(key)
    assert (state.round, state.images, state.delivered) == (1, 1, 0.)


def test_node_deletes_delivered_studies(phantoms, start_node, tmp_path,
                                        caplog):
    caplog.set_level(logging.INFO)
    node = start_node(
        node_settings(tmp_path / 'spool',
                      FolderDestination(str(tmp_path / 'out')),
                      retention_seconds=0.))
    study = read([f for f in phantoms.files if '/PH0001/' in str(f)])
    assert send(node.port, study) == [0x0000] * len(study)
    assert wait_for(lambda: 'retention: 1 studies' in caplog.text, 30)
    assert node.spool.keys() == []
    assert list((tmp_path / 'spool' / 'studies').iterdir()) == []
    results = list((tmp_path / 'out').rglob('*.dcm'))
    assert len(results) >= len(study) + 2  # delivered before
