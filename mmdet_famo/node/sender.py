"""Send results: C-STORE to the destination, retried with back-off; what
the destination refuses or cannot take goes to the dead letters.

Results wait in the spool's outbox (on disk) until the destination confirms
them; a result leaves the outbox only then. While the destination cannot be
reached (no association, association rejected or aborted, no response) the
sender waits ``initial_delay``, then twice as long each time, up to
``max_delay``, and tries again: nothing is dropped however long it is down.

The queue never blocks on one object. A result the destination cannot take
(no presentation context for its SOP class: a PACS without presentation
states, say) or that cannot be read is moved to the study's dead letters at
once; one answered with a failure status is retried with the others and
moved there after ``max_refusals`` answers (a failure may be transient:
0xA700, the destination's disk full). Each dead letter keeps its reason,
is logged and counted by study key, and is re-queued by
``tools/dicom_node_dead_letters.py --requeue``.

The association is requested with the node's AE title as calling AE
(:attr:`DicomDestination.calling_ae_title`, set by the node from its
``ae_title``) and the destination's as called AE, so that a PACS that
allow-lists its callers knows the node. A result whose confirmation was lost
(the node stopped between the C-STORE and its bookkeeping) is sent again
after a restart with the same SOP Instance UID, which a PACS files as the
same instance.
"""
import logging
import os
import os.path as osp
import shutil
import socket
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from pydicom import Dataset, dcmread
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom import AE, evt
from pynetdicom.status import code_to_category

from mmdet_famo.atomic_files import write_atomically
from .metrics import NodeMetrics
from .spool import Spool
from .tls import TlsSettings
from .worker import Worker, describe_error

LOGGER = logging.getLogger('mmdet_famo.node')


def send_without_delay(event: evt.Event) -> None:
    """``EVT_CONN_OPEN`` handler of a sending association: TCP_NODELAY on
    its socket. pynetdicom writes a C-STORE request in pieces; with Nagle's
    algorithm the last piece waits for the peer's delayed acknowledgement
    (40 ms on Linux): 51 ms per C-STORE of a 64 x 64 image over loopback,
    10 ms without. DCMTK sets it only when its environment variable
    TCP_NODELAY is 1 (storescu 3.6.7, traced with strace)."""
    event.assoc.dul.socket.socket.setsockopt(socket.IPPROTO_TCP,
                                             socket.TCP_NODELAY, 1)


class DestinationUnavailable(RuntimeError):
    """The destination cannot be reached now; try again later."""


#: What became of a result: sent, refused (a failure status: retried, then
#: a dead letter) or undeliverable (a dead letter at once).
SENT, REFUSED, UNDELIVERABLE = 'sent', 'refused', 'undeliverable'
#: Called with the study key, the file, one of the above and why.
Outcome = Callable[[str, str, str, str], None]


@dataclass(frozen=True)
class DicomDestination:
    """A C-STORE SCP: the PACS, or another node.

    Args:
        ae_title (str): The destination's AE title.
        host (str): Its address.
        port (int): Its port.
        calling_ae_title (str): The node's own AE title (the node sets it
            to its ``ae_title``).
        timeout (float): Seconds for the association and each response.
        tls (TlsSettings, optional): Associate over DICOM TLS: the
            destination's certificate verified, the node's offered.
    """
    ae_title: str
    host: str
    port: int
    calling_ae_title: str = 'FAMO'
    timeout: float = 30.
    tls: Optional[TlsSettings] = None

    def send(self, results: Sequence[Tuple[str, str]],
             outcome: Outcome) -> None:
        """C-STORE ``results`` ((key, file) pairs) on one association, one
        file in memory at a time.

        Raises:
            DestinationUnavailable: No association, or it broke.
        """
        sop_classes, readable = {}, []
        for key, path in results:
            header = _read_result(key,
                                  path,
                                  outcome,
                                  stop_before_pixels=True,
                                  specific_tags=['SOPClassUID'])
            if header is not None:
                sop_classes[path] = header.SOPClassUID
                readable.append((key, path))
        if not readable:
            return
        ae = AE(ae_title=self.calling_ae_title)
        ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = self.timeout
        for sop_class in sorted(set(sop_classes.values())):
            ae.add_requested_context(
                sop_class, [ExplicitVRLittleEndian, ImplicitVRLittleEndian])
        tls_args = (None if self.tls is None else
                    (self.tls.client_context(), self.host))
        assoc = ae.associate(
            self.host,
            self.port,
            ae_title=self.ae_title,
            tls_args=tls_args,
            evt_handlers=[(evt.EVT_CONN_OPEN, send_without_delay)])
        if (not assoc.is_established and assoc.rejected_contexts
                and not assoc.accepted_contexts):
            # accepted, then aborted by pynetdicom: no SOP class taken
            for key, path in readable:
                outcome(key, path, UNDELIVERABLE,
                        _no_context(sop_classes[path]))
            return
        if not assoc.is_established:
            raise DestinationUnavailable('association rejected' if assoc.
                                         is_rejected else 'no association')
        try:
            for key, path in readable:
                ds = _read_result(key, path, outcome)
                if ds is None:
                    continue
                try:
                    status = assoc.send_c_store(ds)
                except ValueError:  # pynetdicom: no accepted context
                    outcome(key, path, UNDELIVERABLE,
                            _no_context(sop_classes[path]))
                    continue
                if 'Status' not in status:
                    raise DestinationUnavailable('no response to a C-STORE')
                category = code_to_category(status.Status)
                outcome(
                    key, path,
                    SENT if category in ('Success', 'Warning') else REFUSED,
                    f'status 0x{status.Status:04X}')
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
            write_atomically(osp.join(target, _flat_name(path)),
                             lambda partial: shutil.copyfile(path, partial))
            outcome(key, path, SENT, 'copied')


@dataclass(frozen=True)
class StowRsDestination:
    """A DICOMweb origin server: results are stored by STOW-RS (PS3.18
    10.5), one instance per request, through ``dicomweb-client``.

    Args:
        url (str): The service's base URL (e.g.
            ``https://pacs.hospital.local/dicom-web``).
        username (str, optional): HTTP Basic authentication user.
        password (str, optional): Its password.
        timeout (float): Seconds for each request.
    """
    url: str
    username: Optional[str] = None
    password: Optional[str] = field(default=None, repr=False)
    timeout: float = 30.

    def send(self, results: Sequence[Tuple[str, str]],
             outcome: Outcome) -> None:
        """STOW-RS ``results`` one by one: 200 or 202 (a warning) is sent;
        another 4xx a refusal (PS3.18 10.5.3: 400 bad request, 409 conflict
        with failed instances, 415 unsupported media type); 5xx or no answer
        means the destination is unavailable.

        Raises:
            DestinationUnavailable: No connection, a server error.
        """
        # optional (the node-dicomweb extra): imported only when used
        import requests
        from dicomweb_client import DICOMwebClient
        session = requests.Session()
        if self.username is not None:
            session.auth = (self.username, self.password or '')
        client = DICOMwebClient(self.url, session=session,
                                timeout=self.timeout)
        # dicomweb-client retries a failed request itself, on any exception
        # too (``retrying``'s default), 5 times over 30 s: a refused
        # connection held the sender, and the node's shutdown, for 30 s per
        # attempt. The node's own back-off (the outbox) is the one retry.
        client.set_http_retry_params(retry=False)
        for key, path in results:
            ds = _read_result(key, path, outcome)
            if ds is None:
                continue
            try:
                client.store_instances([ds])
            except requests.HTTPError as error:
                status = error.response.status_code
                if status >= 500 or status in (401, 403, 407, 429):
                    raise DestinationUnavailable(f'HTTP {status}')
                outcome(key, path, REFUSED, f'HTTP {status}')
                continue
            except requests.RequestException as error:
                raise DestinationUnavailable(type(error).__name__)
            outcome(key, path, SENT, 'stored')


def _read_result(key: str, path: str, outcome: Outcome,
                 **options) -> Optional[Dataset]:
    """The result file ``path`` read with pydicom's ``options``; None if it
    cannot be, once ``outcome`` has set it aside as undeliverable (sending
    it again would fail again)."""
    try:
        return dcmread(path, **options)
    except Exception as error:
        outcome(key, path, UNDELIVERABLE,
                f'unreadable ({describe_error(error)})')
        return None


def _no_context(sop_class: str) -> str:
    """The dead-letter reason of a SOP class the destination does not
    take."""
    return f'no presentation context for SOP class {sop_class}'


def _flat_name(path: str) -> str:
    """``results-r1/secondary_capture/image-0001.dcm`` ->
    ``r1-secondary_capture-image-0001.dcm``."""
    parts = path.split(os.sep)
    round_dir = next(i for i in range(len(parts) - 1, -1, -1)
                     if parts[i].startswith('results-r'))
    return '-'.join([parts[round_dir][len('results-'):]] +
                    parts[round_dir + 1:])


class ResultSender(Worker):
    """The thread that empties the outbox into the destination.

    Args:
        spool (Spool): The node's spool.
        destination (DicomDestination | FolderDestination): Where to.
        initial_delay (float): First wait after a failure, seconds.
        max_delay (float): Longest wait, seconds.
        max_refusals (int): Failure answers before a result becomes a dead
            letter.
        per_association (int): Results sent per association.
        retention_seconds (float): Delete a study this long after its
            results were all delivered (:meth:`.Spool.purge`; checked at
            most once a minute); ``inf`` keeps everything.
        metrics (NodeMetrics, optional): Gauges the queue and the dead
            letters.
    """

    def __init__(self,
                 spool: Spool,
                 destination,
                 initial_delay: float = 1.,
                 max_delay: float = 60.,
                 max_refusals: int = 5,
                 per_association: int = 64,
                 retention_seconds: float = float('inf'),
                 metrics: Optional[NodeMetrics] = None) -> None:
        super().__init__('famo-sender', initial_delay, max_delay)
        self.spool = spool
        self.destination = destination
        self.max_refusals = max_refusals
        self.per_association = per_association
        self.refusals: Dict[str, int] = {}
        self.dead_letters = len(spool.dead_letters())
        self.retention_seconds = retention_seconds
        self.metrics = metrics
        self._delay = initial_delay
        self._last_purge = 0.

    def step(self) -> float:
        """Send the oldest queued results; the wait before the next pass
        (back-off while the destination is down or refuses)."""
        queued = self.spool.outbox()
        if self.metrics is not None:
            self.metrics.queue_depth.set(len(queued))
            self.metrics.dead_letters.set(self.dead_letters)
        self._purge()
        if not queued:
            return 1.
        try:
            refused = self.send(queued[:self.per_association])
        except DestinationUnavailable as error:
            LOGGER.warning(
                'destination unavailable (%s); %d results queued, next try '
                'in %.1f s', error, len(queued), self._delay)
            return self._back_off()
        except OSError as error:  # the network broke, or the spool
            LOGGER.warning(
                'sending failed (%s); %d results queued, next try in %.1f s',
                describe_error(error), len(queued), self._delay)
            return self._back_off()
        if refused:
            return self._back_off()
        self._delay = self.initial_delay
        return 0.

    def _purge(self) -> None:
        """Delete the studies delivered longer ago than the retention
        time."""
        now = time.monotonic()
        if (self.retention_seconds == float('inf')
                or now - self._last_purge < min(60., self.retention_seconds)):
            return
        self._last_purge = now
        purged = self.spool.purge(self.retention_seconds)
        if purged:
            LOGGER.info(
                'retention: %d studies delivered %.3g h ago or more deleted '
                '(%s)', len(purged), self.retention_seconds / 3600,
                ', '.join(purged))

    def _back_off(self) -> float:
        delay, self._delay = self._delay, min(2 * self._delay, self.max_delay)
        return delay

    def send(self, queued: List[Tuple[str, str]]) -> int:
        """Send ``queued`` once; returns how many were answered with a
        failure status and stay queued."""
        sent: Dict[str, int] = {}
        refused = [0]

        def outcome(key: str, path: str, result: str, reason: str) -> None:
            if result == SENT:
                self.spool.mark_sent(key, path)
                self.refusals.pop(path, None)
                sent[key] = sent.get(key, 0) + 1
                return
            if result == REFUSED:
                self.refusals[path] = self.refusals.get(path, 0) + 1
                if self.refusals[path] < self.max_refusals:
                    refused[0] += 1
                    return
                reason = f'{reason}, {self.max_refusals} times'
            self.refusals.pop(path, None)
            self.spool.dead_letter(key, path, reason)
            self.dead_letters += 1
            LOGGER.error(
                '%s: a result is a dead letter (%s); %d dead letters in all, '
                're-queue them with tools/dicom_node_dead_letters.py', key,
                reason, self.dead_letters)

        try:
            self.destination.send(queued, outcome)
        finally:
            for key, count in sent.items():
                LOGGER.info('%s: %d results sent', key, count)
        return refused[0]
