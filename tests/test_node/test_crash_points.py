"""A crash at every durable step of receiving, processing and sending,
then a restart: every acknowledged image lies in a processed round, every
round's results are delivered, and no round is delivered twice.

The node's receiver, spool, processor and sender run here in one thread,
step by step, with the inference replaced by a recorder (which images a
round saw) and the destination by one that keeps what it is sent. Every
``os.fsync``, ``os.replace`` and ``os.makedirs`` is a step; the scenario is
run once to count them, then once per step with a crash (an exception no
handler of the node catches, as ``kill -9`` would stop it) at that step,
followed by a restart on the same spool that finishes the work as a
modality would (resending what was not acknowledged).
"""
import json
import os
import uuid
from collections import defaultdict
from pathlib import Path

import numpy as np
import pydicom
import pytest

from mmdet_famo.atomic_files import PARTIAL_PREFIX, write_atomically
from mmdet_famo.node import Spool, processor
from mmdet_famo.node.processor import StudyProcessor
from mmdet_famo.node.receiver import StorageReceiver
from mmdet_famo.node.sender import SENT, ResultSender
from mmdet_famo.node.spool import PROCESSING
from tests.dicom_factory import write_dicom
from .loopback import StoreEvent


class Crash(BaseException):
    """The process dies here (not an ``Exception``: nothing catches it)."""


class Steps:
    """Counts the durable steps; raises :class:`Crash` at step ``crash_at``
    (0: never)."""

    def __init__(self, crash_at: int = 0) -> None:
        self.crash_at = crash_at
        self.count = 0

    def wrap(self, function):

        def step(*args, **kwargs):
            if self.crash_at:
                self.count += 1
                if self.count == self.crash_at:
                    self.crash_at = 0
                    raise Crash
            return function(*args, **kwargs)

        return step


def record_round(predictor, inputs, work, overlays, **options) -> dict:
    """Stands for ``infer_radiographs``: two result files naming the round
    (a fresh UID each run) and the SOP Instance UIDs of the images seen."""
    folder = inputs[0]
    images = sorted(
        pydicom.dcmread(os.path.join(folder, name),
                        stop_before_pixels=True).SOPInstanceUID
        for name in os.listdir(folder) if not name.startswith('.'))
    record = dict(round=int(Path(work).name.split('-r')[1]),
                  uid=uuid.uuid4().hex,
                  images=images)
    for part in ('sr', 'pr'):
        os.makedirs(os.path.join(work, part), exist_ok=True)
        write_atomically(os.path.join(work, part, 'result.dcm'),
                         json.dumps(dict(record, part=part)).encode())
    return dict(summary=dict(images=len(images), positive_images=0,
                             failures=0),
                cases=[])


class Recorder:
    """A destination that keeps every result it is given (the PACS)."""

    def __init__(self) -> None:
        self.received = []

    def send(self, results, outcome) -> None:
        for key, path in results:
            with open(path) as file:
                self.received.append((key, json.load(file)))
            outcome(key, path, SENT, 'status 0x0000')


@pytest.fixture(scope='module')
def images(tmp_path_factory):
    """Study A (two images, then a late third) and study B (one image)."""
    folder = tmp_path_factory.mktemp('images')
    pixels = np.arange(64 * 64, dtype=np.uint16).reshape(64, 64)
    study_a, study_b = pydicom.uid.generate_uid(), pydicom.uid.generate_uid()
    files = {}
    for name, study in (('a1', study_a), ('a2', study_a), ('b1', study_b),
                        ('a3', study_a)):
        files[name] = write_dicom(folder / f'{name}.dcm',
                                  pixels,
                                  StudyInstanceUID=study,
                                  SOPInstanceUID=pydicom.uid.generate_uid(),
                                  PatientID='CRASH-TEST')
    return files


class Node:
    """Receiver, processor and sender on one spool, driven step by step."""

    def __init__(self, root: Path, destination: Recorder, acked: dict):
        self.spool = Spool(str(root), retry_delay=0.)
        self.spool.recover()
        self.receiver = StorageReceiver(self.spool, 'FAMO')
        self.processor = StudyProcessor(self.spool, None, {}, 0.)
        self.sender = ResultSender(self.spool, destination)
        self.acked = acked

    def receive(self, path: Path) -> None:
        if self.receiver.handle_store(StoreEvent(path)) == 0x0000:
            ds = pydicom.dcmread(path, stop_before_pixels=True)
            self.acked[ds.SOPInstanceUID] = ds.StudyInstanceUID

    def work(self) -> None:
        """Process every due study and send everything queued."""
        for _ in range(20):
            key = self.spool.next_due(0.)
            if key is not None:
                self.processor.process(key)
            elif self.spool.outbox():
                self.sender.send(self.spool.outbox())
            else:
                return
        raise AssertionError('the node does not settle')


def run(root: Path, images: dict, steps: Steps, monkeypatch) -> tuple:
    """The scenario, a crash at ``steps.crash_at``, a restart, the rest."""
    monkeypatch.setattr(processor, 'infer_radiographs', record_round)
    for name in ('fsync', 'replace', 'makedirs'):
        monkeypatch.setattr(os, name, steps.wrap(getattr(os, name)))
    destination, acked = Recorder(), {}
    try:
        node = Node(root, destination, acked)
        for name in ('a1', 'a2', 'b1'):
            node.receive(images[name])
        node.work()
        node.receive(images['a3'])  # a late image of a done study
        node.receive(images['a1'])  # an identical resent one
        node.work()
        crashed = False
    except Crash:
        crashed = True
    steps.crash_at = 0
    node = Node(root, destination, acked)  # the restart
    for name, path in images.items():  # the modality resends the rest
        if pydicom.dcmread(path).SOPInstanceUID not in acked:
            node.receive(path)
    node.work()
    return crashed, acked, destination.received, node.spool


def check_invariants(acked: dict, received: list, spool: Spool) -> None:
    rounds = defaultdict(set)  # (study key, round) -> round UIDs delivered
    parts = defaultdict(set)  # round UID -> its parts delivered
    latest = {}  # study key -> the images of its last round delivered
    for key, record in received:
        rounds[key, record['round']].add(record['uid'])
        parts[record['uid']].add(record['part'])
        if record['round'] >= latest.get(key, (0, ))[0]:
            latest[key] = record['round'], set(record['images'])
    # no round is delivered twice (a result resent after a crash between
    # its C-STORE and its bookkeeping is the same instance, filed once)
    assert all(len(uids) == 1 for uids in rounds.values()), rounds
    # every round's results are delivered, all of them
    assert all(found == {'sr', 'pr'} for found in parts.values()), parts
    assert not spool.outbox() and not spool.dead_letters()
    # every acknowledged image lies in a processed round: the last one of
    # its study
    for sop_instance_uid, study_instance_uid in acked.items():
        key = spool.study_key(study_instance_uid)
        assert sop_instance_uid in latest[key][1]
        assert spool.state(key).state != PROCESSING
    partials = [
        path for path in Path(spool.root).rglob('*')
        if path.name.startswith(PARTIAL_PREFIX)
    ]
    assert not partials


def test_crash_at_every_step_then_restart(images, tmp_path, monkeypatch):
    counting = Steps(crash_at=10**9)  # counts, never reached
    crashed, acked, received, spool = run(tmp_path / 'whole', images, counting,
                                          monkeypatch)
    assert not crashed
    check_invariants(acked, received, spool)
    assert len(acked) == 4
    # study A: round 1 (a1, a2), round 2 with the late a3; study B: round 1
    assert sorted(
        (spool.study_key(images_study(images, r['images'][0])), r['round'],
         len(r['images']), r['part']) for _, r in received) == sorted(
             [(spool.study_key(images_study(images, 'A')), 1, 2, part)
              for part in ('pr', 'sr')] +
             [(spool.study_key(images_study(images, 'A')), 2, 3, part)
              for part in ('pr', 'sr')] +
             [(spool.study_key(images_study(images, 'B')), 1, 1, part)
              for part in ('pr', 'sr')])
    total = counting.count
    assert total > 50  # every fsync, rename and folder made
    monkeypatch.undo()
    for crash_at in range(1, total + 1):
        crashed, acked, received, spool = run(tmp_path / f'crash-{crash_at}',
                                              images, Steps(crash_at),
                                              monkeypatch)
        monkeypatch.undo()
        assert crashed, crash_at
        try:
            check_invariants(acked, received, spool)
        except AssertionError as error:
            raise AssertionError(f'crash at step {crash_at} of {total}: '
                                 f'{error}') from None
        assert len(acked) == 4


def images_study(images: dict, which: str) -> str:
    """The StudyInstanceUID of study 'A' or 'B', or of an image's SOP
    Instance UID."""
    datasets = [pydicom.dcmread(path) for path in images.values()]
    if which in ('A', 'B'):
        name = 'a1' if which == 'A' else 'b1'
        return pydicom.dcmread(images[name]).StudyInstanceUID
    return next(ds.StudyInstanceUID for ds in datasets
                if ds.SOPInstanceUID == which)
