"""Send results: C-STORE to the destination, retried with back-off.

Results wait in the spool's outbox (on disk) until the destination confirms
them; a result leaves the outbox only then. While the destination cannot be
reached (no association, association rejected or aborted, no response) the
sender waits ``initial_delay``, then twice as long each time, up to
``max_delay``, and tries again: nothing is dropped however long it is down.
A result the destination answers with a failure status is retried the same
way and set aside (``refused/``) after ``max_refusals`` answers, so that one
bad object cannot block the queue. A result whose confirmation was lost (the
node stopped between the C-STORE and its bookkeeping) is sent again after a
restart with the same SOP Instance UID, which a PACS files as the same
instance.
"""
import logging
import os
import os.path as osp
import shutil
import threading
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from pydicom import dcmread
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom import AE
from pynetdicom.status import code_to_category

from .spool import Spool, sync_folder

LOGGER = logging.getLogger('mmdet_famo.node')


class DestinationUnavailable(RuntimeError):
    """The destination cannot be reached now; try again later."""


#: A result was sent (True) or answered with a failure status (False).
Outcome = Callable[[str, str, bool], None]


@dataclass(frozen=True)
class DicomDestination:
    """A C-STORE SCP: the PACS, or another node.

    Args:
        ae_title (str): The destination's AE title.
        host (str): Its address.
        port (int): Its port.
        calling_ae_title (str): The node's own AE title.
        timeout (float): Seconds for the association and each response.
    """
    ae_title: str
    host: str
    port: int
    calling_ae_title: str = 'FAMO'
    timeout: float = 30.

    def send(self, results: Sequence[Tuple[str, str]],
             outcome: Outcome) -> None:
        """C-STORE ``results`` ((key, file) pairs) on one association.

        Raises:
            DestinationUnavailable: No association, or it broke.
        """
        datasets = [(key, path, dcmread(path)) for key, path in results]
        ae = AE(ae_title=self.calling_ae_title)
        ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = self.timeout
        for sop_class in sorted({ds.SOPClassUID for _, _, ds in datasets}):
            ae.add_requested_context(
                sop_class, [ExplicitVRLittleEndian, ImplicitVRLittleEndian])
        assoc = ae.associate(self.host, self.port, ae_title=self.ae_title)
        if not assoc.is_established:
            raise DestinationUnavailable('association rejected' if assoc.
                                         is_rejected else 'no association')
        try:
            for key, path, ds in datasets:
                status = assoc.send_c_store(ds)
                if 'Status' not in status:
                    raise DestinationUnavailable('no response to a C-STORE')
                category = code_to_category(status.Status)
                outcome(key, path, category in ('Success', 'Warning'))
        finally:
            if assoc.is_established:
                assoc.release()


@dataclass(frozen=True)
class FolderDestination:
    """A folder: results are copied into ``<folder>/<study key>/`` (for the
    folder-watcher mode, or a PACS import folder).

    Args:
        folder (str): The destination folder (created).
    """
    folder: str

    def send(self, results: Sequence[Tuple[str, str]],
             outcome: Outcome) -> None:
        for key, path in results:
            target = osp.join(self.folder, key)
            os.makedirs(target, exist_ok=True)
            partial = osp.join(target, '.partial-' + osp.basename(path))
            shutil.copyfile(path, partial)
            os.replace(partial, osp.join(target, _flat_name(path)))
            sync_folder(target)
            outcome(key, path, True)


def _flat_name(path: str) -> str:
    """``results-r1/secondary_capture/image-0001.dcm`` ->
    ``r1-secondary_capture-image-0001.dcm``."""
    parts = path.split(os.sep)
    round_dir = next(i for i in range(len(parts) - 1, -1, -1)
                     if parts[i].startswith('results-r'))
    return '-'.join([parts[round_dir][len('results-'):]] +
                    parts[round_dir + 1:])


class ResultSender:
    """The thread that empties the outbox into the destination.

    Args:
        spool (Spool): The node's spool.
        destination (DicomDestination | FolderDestination): Where to.
        initial_delay (float): First wait after a failure, seconds.
        max_delay (float): Longest wait, seconds.
        max_refusals (int): Failure answers before a result is set aside.
        per_association (int): Results sent per association.
    """

    def __init__(self,
                 spool: Spool,
                 destination,
                 initial_delay: float = 1.,
                 max_delay: float = 60.,
                 max_refusals: int = 5,
                 per_association: int = 64) -> None:
        self.spool = spool
        self.destination = destination
        self.initial_delay = initial_delay
        self.max_delay = max_delay
        self.max_refusals = max_refusals
        self.per_association = per_association
        self.refusals: Dict[str, int] = {}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run,
                                        name='famo-sender',
                                        daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self, key: Optional[str] = None) -> None:
        """New results are queued: send without waiting for the poll."""
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join()

    def _run(self) -> None:
        delay = self.initial_delay
        while not self._stop.is_set():
            self._wake.clear()
            queued = self.spool.outbox()
            if not queued:
                self._wake.wait(1.)
                continue
            try:
                refused = self.send(queued[:self.per_association])
            except Exception as error:  # unreachable, or the network broke
                reason = str(error) if isinstance(
                    error, DestinationUnavailable) else type(error).__name__
                LOGGER.warning(
                    'destination unavailable (%s); %d results queued, next '
                    'try in %.1f s', reason, len(queued), delay)
                self._stop.wait(delay)
                delay = min(2 * delay, self.max_delay)
                continue
            if refused:
                self._stop.wait(delay)
                delay = min(2 * delay, self.max_delay)
            else:
                delay = self.initial_delay

    def send(self, queued: List[Tuple[str, str]]) -> int:
        """Send ``queued`` once; returns how many were answered with a
        failure status."""
        sent: Dict[str, int] = {}
        refused = [0]

        def outcome(key: str, path: str, success: bool) -> None:
            if success:
                self.spool.mark_sent(key, path)
                self.refusals.pop(path, None)
                sent[key] = sent.get(key, 0) + 1
                return
            refused[0] += 1
            self.refusals[path] = self.refusals.get(path, 0) + 1
            if self.refusals[path] >= self.max_refusals:
                LOGGER.error('%s: a result refused %d times, set aside', key,
                             self.max_refusals)
                self.spool.mark_refused(key, path)
                self.refusals.pop(path)

        try:
            self.destination.send(queued, outcome)
        finally:
            for key, count in sent.items():
                LOGGER.info('%s: %d results sent', key, count)
        return refused[0]
