"""The DICOM node: receiver (or folder watcher), processor and sender over
one spool."""
import ipaddress
import logging
from dataclasses import dataclass, field, replace
from typing import List, Optional, Union

from mmdet_famo.apis import BasePredictor
from .processor import StudyProcessor
from .receiver import StorageReceiver, parse_allowed_callers
from .sender import (DicomDestination, FolderDestination, ResultSender,
                     StowRsDestination)
from .metrics import NodeMetrics
from .space import FreeSpaceFloor
from .spool import Spool
from .tls import TlsSettings
from .watcher import FolderWatcher

LOGGER = logging.getLogger('mmdet_famo.node')
#: Libraries that log UIDs or AE details below WARNING (pynetdicom: the
#: SOP Instance UID of each C-STORE; highdicom: the source datasets' UIDs
#: as it copies the patient and study modules).
IDENTIFYING_LOGGERS = ('pynetdicom', 'highdicom')


def quiet_identifying_loggers() -> None:
    """Let :data:`IDENTIFYING_LOGGERS` log warnings and errors only, so that
    the node's log holds no identifiers whatever level the user chose."""
    for name in IDENTIFYING_LOGGERS:
        logger = logging.getLogger(name)
        logger.setLevel(max(logger.getEffectiveLevel(), logging.WARNING))


@dataclass
class NodeSettings:
    """What the node listens on, where it sends, and when it processes.

    Args:
        spool (str): Spool folder: received images, states, results.
        ae_title (str): The node's AE title, as called AE when receiving
            and as calling AE when sending. Defaults to 'FAMO'.
        host (str): Address to listen on. Defaults to '0.0.0.0'; any
            address but a loopback one needs ``allowed_callers`` or
            ``allow_any_caller``.
        port (int): Port to listen on (0: a free one). Defaults to 11112.
        watch (str, optional): Take files from this folder instead of
            listening.
        settle_seconds (float): A watched file is taken once unchanged for
            this long. Defaults to 2.
        destination (DicomDestination | StowRsDestination |
            FolderDestination, optional): Where results go; required.
        idle_seconds (float): A study is processed once no image of it has
            come for this long. Defaults to 60 (Orthanc's ``StableAge``; see
            the node's documentation).
        initial_delay (float): First retry delay of the sender, seconds.
        max_delay (float): Longest retry delay, seconds.
        poll_seconds (float): How often idle studies are looked for.
        allowed_callers (list[str], optional): The calling AE titles that
            may send, each as ``AE`` or ``AE@HOST``; None: any.
        allow_any_caller (bool): Listen on a non-loopback address without
            ``allowed_callers`` (anyone on the network may then send).
        min_free_space (FreeSpaceFloor): Refuse images and start no round
            while the spool's disk has less free space. Defaults to 5 GiB,
            the reserve of MONAI Deploy's Informatics Gateway.
        tls (TlsSettings, optional): Receive over DICOM TLS (the
            destination's own ``tls`` is for sending).
        retention_seconds (float): Delete a study (images, results, state)
            this long after all its results were delivered; ``inf`` keeps
            everything. Defaults to 24 h.
        metrics_port (int, optional): Serve ``/metrics`` (Prometheus) and
            ``/health`` on ``host`` at this port (0: a free one).
    """
    spool: str
    destination: Union[DicomDestination, FolderDestination,
                       StowRsDestination, None] = None
    ae_title: str = 'FAMO'
    host: str = '0.0.0.0'
    port: int = 11112
    watch: Optional[str] = None
    settle_seconds: float = 2.
    idle_seconds: float = 60.
    initial_delay: float = 1.
    max_delay: float = 60.
    poll_seconds: float = 0.2
    allowed_callers: Optional[List[str]] = None
    allow_any_caller: bool = False
    min_free_space: FreeSpaceFloor = field(
        default_factory=lambda: FreeSpaceFloor(size=5 * 2**30))
    tls: Optional[TlsSettings] = None
    retention_seconds: float = 24 * 3600.
    metrics_port: Optional[int] = None


class DicomNode:
    """Receive radiographs, detect fractures study by study, send the
    results back (README, "A DICOM node on the hospital network").

    Args:
        settings (NodeSettings): Network, spool and timing settings.
        predictor (BasePredictor): The detector, loaded once (PyTorch or
            ONNX Runtime).
        infer_options (dict): Keyword arguments of
            :func:`~mmdet_famo.apis.infer_radiographs`: thresholds, DICOM
            outputs, batch size (see :class:`~.processor.StudyProcessor`).
    """

    def __init__(self, settings: NodeSettings, predictor: BasePredictor,
                 infer_options: dict) -> None:
        destinations = (DicomDestination, FolderDestination,
                        StowRsDestination)
        if not isinstance(settings.destination, destinations):
            raise ValueError('the node needs a destination: a '
                             'DicomDestination, StowRsDestination or '
                             'FolderDestination')
        self.allowed_callers = (None if settings.allowed_callers is None else
                                parse_allowed_callers(
                                    settings.allowed_callers))
        if (not settings.watch and self.allowed_callers is None
                and not settings.allow_any_caller
                and not is_loopback(settings.host)):
            raise ValueError(
                f'listening on {settings.host} lets any machine that reaches '
                'it send images: give the allowed callers (AE or AE@HOST), '
                'or allow any caller explicitly')
        destination = settings.destination
        if isinstance(destination, DicomDestination):
            destination = replace(destination,
                                  calling_ae_title=settings.ae_title)
        self.settings = settings
        self.metrics = (None if settings.metrics_port is None else
                        NodeMetrics())
        self.spool = Spool(settings.spool,
                           retry_delay=settings.initial_delay,
                           max_retry_delay=settings.max_delay)
        if self.metrics is not None:
            latency = self.metrics.latency
            self.spool.on_delivered = lambda state: latency.observe(
                state.delivered - state.last_image)
        self.sender = ResultSender(
            self.spool,
            destination,
            initial_delay=settings.initial_delay,
            max_delay=settings.max_delay,
            retention_seconds=settings.retention_seconds,
            metrics=self.metrics)
        self.processor = StudyProcessor(self.spool,
                                        predictor,
                                        infer_options,
                                        settings.idle_seconds,
                                        on_results=self.sender.wake,
                                        poll_seconds=settings.poll_seconds,
                                        floor=settings.min_free_space,
                                        metrics=self.metrics)
        # the predictor's modality rule: nothing is acknowledged that
        # inference would refuse
        self.allowed_modalities = predictor.allowed_modalities
        self.receiver = None
        self.watcher = None
        self.port = None
        self.metrics_port = None

    def start(self) -> None:
        """Resume what a previous run left, then start serving."""
        quiet_identifying_loggers()
        again = self.spool.recover()
        if again:
            LOGGER.info('resuming %d interrupted studies', len(again))
        queued = len(self.spool.outbox())
        if queued:
            LOGGER.info('%d results queued from a previous run', queued)
        if self.sender.dead_letters:
            LOGGER.warning(
                '%d dead letters (results the destination refused); '
                're-queue them with tools/dicom_node_dead_letters.py',
                self.sender.dead_letters)
        self.processor.start()
        self.sender.start()
        if self.settings.watch:
            self.watcher = FolderWatcher(
                self.spool,
                self.settings.watch,
                self.settings.settle_seconds,
                allowed_modalities=self.allowed_modalities,
                floor=self.settings.min_free_space)
            self.watcher.start()
            LOGGER.info('watching a folder for radiographs')
        else:
            self.receiver = StorageReceiver(
                self.spool,
                self.settings.ae_title,
                self.allowed_modalities,
                allowed_callers=self.allowed_callers,
                floor=self.settings.min_free_space,
                tls=self.settings.tls,
                metrics=self.metrics)
            self.port = self.receiver.start(self.settings.host,
                                            self.settings.port)
            LOGGER.info('listening as %s on port %d%s', self.settings.ae_title,
                        self.port,
                        '' if self.settings.tls is None else ' (TLS)')
        if self.metrics is not None:
            self.metrics_port = self.metrics.serve(self.settings.host,
                                                   self.settings.metrics_port,
                                                   self.threads)
            LOGGER.info('metrics and health check on port %d',
                        self.metrics_port)

    def threads(self) -> dict:
        """Whether each of the node's threads runs, by name (the health
        check)."""
        alive = dict(processor=self.processor.is_alive(),
                     sender=self.sender.is_alive())
        if self.watcher is not None:
            alive['watcher'] = self.watcher.is_alive()
        else:
            alive['receiver'] = self.receiver is not None \
                and self.receiver.server is not None
        return alive

    def stop(self) -> None:
        """Stop receiving, finish the study in progress, stop sending;
        whatever is left stays in the spool for the next start."""
        if self.metrics is not None:
            self.metrics.stop()
        if self.receiver is not None:
            self.receiver.stop()
        if self.watcher is not None:
            self.watcher.stop()
        self.processor.stop()
        self.sender.stop()
        LOGGER.info('stopped')

    def __enter__(self) -> 'DicomNode':
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or 'localhost') is a loopback one."""
    if host == 'localhost':
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: not known to be loopback
        return False
