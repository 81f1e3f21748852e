"""Loopback helpers for the DICOM node tests: a destination Storage SCP, a
sending SCU, free ports, polling with a deadline, quick node settings."""
import os
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Callable, Dict, List, Optional, Sequence

import pydicom
from pydicom.dataset import Dataset
from pynetdicom import AE, StoragePresentationContexts, evt
from pynetdicom.presentation import build_context

from mmdet_famo.evaluation.operating_points import given_operating_points
from mmdet_famo.node import FreeSpaceFloor, NodeSettings
from mmdet_famo.node.sender import send_without_delay

HOST = '127.0.0.1'
#: Senders' associations with TCP_NODELAY, so that each C-STORE is not held
#: 40 ms for the node's delayed acknowledgement (what these tests check is
#: the node, not a sender's latency).
NO_DELAY = [(evt.EVT_CONN_OPEN, send_without_delay)]
#: The node's thresholds in these tests: the tiny random model's box scores
#: lie around 0.55, so boxes fall on every side of them.
SUSPECTED, DEFINITE = 0.55, 0.555


def free_port() -> int:
    """A loopback port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def wait_for(condition: Callable[[], bool], timeout: float = 20.) -> bool:
    """Poll ``condition`` until it holds or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


class Destination:
    """A pynetdicom Storage SCP that keeps what it receives (a PACS) and
    answers ``status``; optionally only for some SOP classes, from some
    calling AE titles, or over TLS."""

    def __init__(self,
                 port: int = 0,
                 status: int = 0x0000,
                 sop_classes: Optional[Sequence[str]] = None,
                 calling_ae_titles: Sequence[str] = (),
                 ssl_context=None) -> None:
        self.port = port
        self.ssl_context = ssl_context
        self.status = status
        self.sop_classes = sop_classes
        self.calling_ae_titles = list(calling_ae_titles)
        self.received: List[Dataset] = []
        self.callers: List[str] = []
        self._lock = threading.Lock()
        self.server = None

    def _store(self, event: evt.Event) -> int:
        ds = event.dataset
        ds.file_meta = event.file_meta
        with self._lock:
            self.received.append(ds)
            self.callers.append(event.assoc.requestor.ae_title)
        return self.status

    def start(self) -> 'Destination':
        ae = AE(ae_title='PACS')
        ae.supported_contexts = [
            context for context in StoragePresentationContexts
            if self.sop_classes is None
            or context.abstract_syntax in self.sop_classes
        ]
        ae.require_calling_aet = self.calling_ae_titles
        self.server = ae.start_server(
            (HOST, self.port),
            block=False,
            ssl_context=self.ssl_context,
            evt_handlers=[(evt.EVT_C_STORE, self._store)])
        self.port = self.server.server_address[1]
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server = None

    def count(self) -> int:
        with self._lock:
            return len(self.received)


def send(port: int,
         datasets: Sequence[Dataset],
         extra_contexts: Sequence[str] = (),
         ae_title: str = 'MODALITY',
         tls_args=None) -> List[int]:
    """C-STORE ``datasets`` to the node on one association, calling as
    ``ae_title`` (over TLS with ``tls_args``, with :data:`NO_DELAY`); their
    statuses (-1 where no presentation context was accepted for it)."""
    ae = AE(ae_title=ae_title)
    classes = {ds.SOPClassUID for ds in datasets} | set(extra_contexts)
    ae.requested_contexts = [build_context(uid) for uid in sorted(classes)]
    assoc = ae.associate(HOST, port, ae_title='FAMO', tls_args=tls_args,
                         evt_handlers=NO_DELAY)
    assert assoc.is_established
    statuses = []
    try:
        for ds in datasets:
            try:
                statuses.append(assoc.send_c_store(ds).Status)
            except ValueError:  # no accepted presentation context
                statuses.append(-1)
    finally:
        assoc.release()
    return statuses


class StoreEvent:
    """The parts of a pynetdicom C-STORE event the receiver reads: the
    file's data set, its SOP class as the context's, its bytes, and the
    caller."""

    def __init__(self,
                 path: Path,
                 ae_title: str = 'MODALITY',
                 address: str = HOST) -> None:
        self.dataset = pydicom.dcmread(path)
        self.context = SimpleNamespace(
            abstract_syntax=self.dataset.SOPClassUID)
        self.assoc = SimpleNamespace(
            requestor=SimpleNamespace(ae_title=ae_title, address=address))
        self._encoded = Path(path).read_bytes()

    def encoded_dataset(self) -> bytes:
        return self._encoded


def read(paths: Sequence[Path]) -> List[Dataset]:
    return [pydicom.dcmread(path) for path in paths]


def dcmtk_program(name: str):
    """The path of dcmtk's ``name`` on PATH, or None. pynetdicom installs
    apps of the same names (storescu, echoscu) that exit 0 when a store
    fails, and an activated virtual environment puts them first."""
    for directory in os.environ.get('PATH', '').split(os.pathsep):
        path = shutil.which(name, path=directory)
        version = subprocess.run([path, '--version'],
                                 capture_output=True,
                                 text=True).stdout if path else ''
        if '$dcmtk:' in version:
            return path
    return None


DCMTK = {name: dcmtk_program(name) for name in ('echoscu', 'storescu')}


def node_settings(spool: Path, destination, **changes) -> NodeSettings:
    """Quick settings for tests: loopback, any free port, short idle time
    and back-off."""
    settings = dict(spool=str(spool),
                    destination=destination,
                    host=HOST,
                    port=0,
                    idle_seconds=0.5,
                    initial_delay=0.1,
                    max_delay=0.4,
                    poll_seconds=0.05,
                    settle_seconds=0.2,
                    min_free_space=FreeSpaceFloor())
    settings.update(changes)
    return NodeSettings(**settings)


#: What the node runs, as tools/dicom_node.py passes it with --threshold
#: and --secondary-capture.
INFER_OPTIONS: Dict = dict(points=given_operating_points(DEFINITE,
                                                         SUSPECTED,
                                                         source='--threshold'),
                           structured_report=True,
                           presentation_state=True,
                           secondary_capture=True)
