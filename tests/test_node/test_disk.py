"""A full disk: below the free-space floor C-STOREs are refused with 0xA700
before anything is written, and taken again once space returns; a write
that fails is refused without a trace; a round that hits an ``OSError`` is
run again after a back-off; no worker thread dies of an error."""
import logging
import os
import shutil
import subprocess
import time
from collections import namedtuple
from pathlib import Path

import numpy as np
import pydicom
import pytest

from mmdet_famo.atomic_files import PARTIAL_PREFIX
from mmdet_famo.node import FreeSpaceFloor, Spool, Worker, processor, space
from mmdet_famo.node.processor import StudyProcessor
from mmdet_famo.node.receiver import StorageReceiver
from mmdet_famo.node.spool import DONE, RECEIVING
from tests.dicom_factory import write_dicom
from tests.disk_errors import disk_full
from .loopback import StoreEvent, wait_for

Usage = namedtuple('Usage', 'total used free')


def image(folder: Path, size: int = 64) -> Path:
    pixels = np.zeros((size, size), np.uint16)
    return write_dicom(folder / f'{pydicom.uid.generate_uid()}.dcm',
                       pixels,
                       SOPInstanceUID=pydicom.uid.generate_uid())


def spool_files(root: Path) -> list:
    return sorted(p.name for p in (root / 'studies').rglob('*') if p.is_file())


def test_floor_parsing_and_check(monkeypatch):
    assert FreeSpaceFloor.parse('5G') == FreeSpaceFloor(size=5 * 2**30)
    assert FreeSpaceFloor.parse('500M').size == 500 * 2**20
    assert FreeSpaceFloor.parse('10%') == FreeSpaceFloor(fraction=0.1)
    assert FreeSpaceFloor.parse('0') == FreeSpaceFloor()
    for wrong in ('5 apples', '100%', '-1G', ''):
        with pytest.raises(ValueError, match='free-space floor'):
            FreeSpaceFloor.parse(wrong)
    monkeypatch.setattr(space.shutil, 'disk_usage',
                        lambda _: Usage(100 * 2**30, 95 * 2**30, 5 * 2**30))
    assert FreeSpaceFloor.parse('10%').below('/')  # 5 GiB < 10 GiB
    assert not FreeSpaceFloor.parse('5G').below('/')
    assert FreeSpaceFloor.parse('6G').below('/')
    assert not FreeSpaceFloor().below('/')


def test_c_store_refused_below_the_floor_then_taken(tmp_path, monkeypatch):
    free = [10 * 2**30]
    monkeypatch.setattr(space.shutil, 'disk_usage',
                        lambda _: Usage(100 * 2**30, 0, free[0]))
    spool = Spool(str(tmp_path / 'spool'))
    receiver = StorageReceiver(spool, 'FAMO', floor=FreeSpaceFloor.parse('5G'))
    path = image(tmp_path)
    free[0] = 4 * 2**30
    status = receiver.handle_store(StoreEvent(path))
    assert (status.Status,
            status.ErrorComment) == (0xA700,
                                     'spool below its free-space floor')
    assert spool_files(tmp_path / 'spool') == [] and spool.keys() == []
    free[0] = 6 * 2**30  # space returns
    assert receiver.handle_store(StoreEvent(path)) == 0x0000
    assert len(spool_files(tmp_path / 'spool')) == 2  # image and state


def test_a_write_that_fails_is_refused_without_a_trace(tmp_path, monkeypatch,
                                                       caplog):
    spool = Spool(str(tmp_path / 'spool'))
    receiver = StorageReceiver(spool, 'FAMO')
    path = image(tmp_path)
    real_fsync = os.fsync

    def full(descriptor):
        raise disk_full()

    monkeypatch.setattr(os, 'fsync', full)
    status = receiver.handle_store(StoreEvent(path))
    monkeypatch.setattr(os, 'fsync', real_fsync)
    assert status.Status == 0xA700
    assert 'cannot write the spool: No space left on device' in caplog.text
    assert spool_files(tmp_path / 'spool') == [] and spool.keys() == []
    assert receiver.handle_store(StoreEvent(path)) == 0x0000


def test_a_round_that_hits_a_full_disk_runs_again_after_a_back_off(
        tmp_path, monkeypatch, caplog):
    spool = Spool(str(tmp_path / 'spool'), retry_delay=0.2)
    receiver = StorageReceiver(spool, 'FAMO')
    assert receiver.handle_store(StoreEvent(image(tmp_path))) == 0x0000
    [key] = spool.keys()
    calls = []

    def infer(predictor, inputs, work, overlays, **options):
        calls.append(time.time())
        if len(calls) == 1:
            raise disk_full(work)
        if len(calls) == 2:  # the writers log it and go on
            return dict(summary={},
                        cases=[
                            dict(dicom_errors=[
                                'sr.dcm not written: OSError: [Errno 28] No '
                                'space left on device'
                            ])
                        ])
        Path(work, 'sr.dcm').write_bytes(b'x')
        return dict(summary=dict(images=1, positive_images=0, failures=0),
                    cases=[])

    monkeypatch.setattr(processor, 'infer_radiographs', infer)
    worker = StudyProcessor(spool,
                            None, {},
                            idle_seconds=0.,
                            poll_seconds=0.02)
    worker.start()
    try:
        assert wait_for(lambda: spool.state(key).state == DONE, 10)
    finally:
        worker.stop()
    assert len(calls) == 3
    assert calls[1] - calls[0] >= 0.2 and calls[2] - calls[1] >= 0.4
    log = caplog.text
    assert f'{key}: round 1 interrupted (OSError: No space left on device)' \
        in log
    assert 'round 1 interrupted (OSError: 1 results not written)' in log
    assert str(tmp_path) not in log  # no file name
    assert spool.state(key).round == 1 and spool.state(key).retries == 0
    assert [key for key, _ in spool.outbox()] == [key]
    assert not list(Path(spool.study_dir(key)).glob('work-r*'))


def test_no_worker_thread_dies_of_an_error(caplog):

    class Flaky(Worker):

        def __init__(self):
            super().__init__('famo-flaky', initial_delay=0.01)
            self.passes = 0

        def step(self):
            self.passes += 1
            if self.passes <= 3:
                raise disk_full('/spool/PATIENT-NAME.dcm')
            return 0.01

    worker = Flaky()
    worker.start()
    try:
        assert wait_for(lambda: worker.passes > 5, 5)
        assert worker.is_alive() and worker.failures == 0
    finally:
        worker.stop()
    assert caplog.text.count('famo-flaky: pass failed (OSError: No space '
                             'left on device); next try in') == 3
    assert 'PATIENT-NAME' not in caplog.text
    assert not worker.is_alive()


@pytest.fixture
def small_tmpfs(tmp_path):
    """A 4 MiB tmpfs (CI runs as root); skipped where it cannot be
    mounted."""
    folder = tmp_path / 'tmpfs'
    folder.mkdir()
    mounted = subprocess.run(
        ['mount', '-t', 'tmpfs', '-o', 'size=4m', 'tmpfs',
         str(folder)],
        capture_output=True,
        text=True)
    if mounted.returncode != 0:
        pytest.skip('cannot mount a tmpfs here (needs root and '
                    f'CAP_SYS_ADMIN): {mounted.stderr.strip()}')
    yield folder
    subprocess.run(['umount', str(folder)], check=True)


def test_a_real_full_disk(small_tmpfs, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    root = small_tmpfs / 'spool'
    spool = Spool(str(root))
    floor = FreeSpaceFloor.parse('1M')
    receiver = StorageReceiver(spool, 'FAMO', floor=floor)
    big = image(tmp_path, size=800)  # 1.25 MiB
    assert receiver.handle_store(StoreEvent(big)) == 0x0000
    # fill the disk up to the floor: the next image is refused unwritten
    ballast = small_tmpfs / 'ballast'
    ballast.write_bytes(bytes(shutil.disk_usage(root).free - 2**20 + 4096))
    before = spool_files(root)
    assert receiver.handle_store(StoreEvent(image(tmp_path))).Status == 0xA700
    assert spool_files(root) == before
    # without a floor the write itself fails: refused, nothing left
    receiver.floor = None
    other = image(tmp_path, size=800)
    assert receiver.handle_store(StoreEvent(other)).Status == 0xA700
    assert spool_files(root) == before
    assert not [
        p for p in root.rglob('*') if p.name.startswith(PARTIAL_PREFIX)
    ]
    assert [spool.state(key).images for key in spool.keys()] == [1]
    ballast.unlink()  # space returns
    receiver.floor = floor
    assert receiver.handle_store(StoreEvent(other)) == 0x0000
    assert sorted(spool.state(key).state
                  for key in spool.keys()) == [RECEIVING, RECEIVING]
