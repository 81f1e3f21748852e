"""Receive radiographs: a pynetdicom Storage and Verification SCP.

Association negotiation accepts the projection-radiograph storage SOP
classes (:data:`ACCEPTED_SOP_CLASSES`: CR, DX For Presentation, DX For
Processing) in the transfer syntaxes that have a pixel decoder installed
when the node starts (:func:`decodable_transfer_syntaxes`), and rejects any
other abstract syntax (result 0x03, "abstract syntax not supported", PS3.8
9.3.3.2): a CT image cannot even be offered, nor a JPEG 2000 image where no
JPEG 2000 decoder is installed.

With an allow-list of callers (``AE`` or ``AE@HOST``), an association from
any other calling AE title is rejected (A-ASSOCIATE-RJ, "calling AE title not
recognised", PS3.8 7.1.1.9), and a C-ECHO or C-STORE from an allowed title
on another host is refused (0x0124, "Refused: Not Authorized", PS3.7
C.5.3). A C-STORE is answered (PS3.4 B.2.3):

- 0x0000 once the instance is in the spool, on disk (atomic write + fsync):
  an acknowledged image is never lost;
- 0xA900 (data set does not match SOP class) when its Image Pixel module
  cannot be a radiograph's (:func:`pixel_refusal`: several frames, sides
  beyond :data:`MAX_SIDE`, Pixel Data of another length than Rows x Columns
  ask), when the package's modality rule refuses it
  (:func:`~mmdet_famo.datasets.modalities.modality_refusal`, the rule of
  inference: e.g. DX For Processing, or Modality CT, unless that
  modality is allowed), when its SOP Class UID is not the presentation
  context's, or when it lacks the StudyInstanceUID, SOPInstanceUID or Pixel
  Data;
- 0xC000 (cannot understand) when the data set cannot be decoded;
- 0xA700 (out of resources) when the spool's disk is below its free-space
  floor (checked before anything is written) or cannot be written.

A failure carries an Error Comment saying why, without identifiers. Each
association runs in its own thread (pynetdicom's threaded server).
"""
import logging
import socket
from typing import Dict, List, Optional, Sequence, Set, Tuple

from pydicom.dataset import Dataset
from pydicom.pixels import get_decoder
from pydicom.uid import (ComputedRadiographyImageStorage,
                         DigitalXRayImageStorageForPresentation,
                         DigitalXRayImageStorageForProcessing,
                         JPEG2000TransferSyntaxes, JPEGLSTransferSyntaxes,
                         JPEGTransferSyntaxes, RLETransferSyntaxes)
from pynetdicom import AE, DEFAULT_TRANSFER_SYNTAXES, evt
from pynetdicom.sop_class import Verification

from mmdet_famo.datasets.modalities import modality_refusal
from .metrics import NodeMetrics
from .space import FreeSpaceFloor
from .spool import Spool
from .tls import TlsSettings

LOGGER = logging.getLogger('mmdet_famo.node')

#: Storage SOP classes of projection radiographs (PS3.4 B.5).
ACCEPTED_SOP_CLASSES = (ComputedRadiographyImageStorage,
                        DigitalXRayImageStorageForPresentation,
                        DigitalXRayImageStorageForProcessing)
#: Uncompressed, and the compressed syntaxes ``LoadRadiograph`` may decode
#: (pylibjpeg's JPEG, JPEG-LS and JPEG 2000 plugins, pydicom's RLE), if
#: their decoder is installed.
COMPRESSED_TRANSFER_SYNTAXES = (JPEGTransferSyntaxes + JPEGLSTransferSyntaxes +
                                JPEG2000TransferSyntaxes + RLETransferSyntaxes)
#: The longest side taken, pixels: a 43 cm detector at 100 micrometres has
#: 4,300; stitched full-leg and spine images reach about 10,000.
MAX_SIDE = 16384
SUCCESS = 0x0000
NOT_AUTHORIZED = 0x0124
OUT_OF_RESOURCES = 0xA700
NOT_MATCHING_SOP_CLASS = 0xA900
CANNOT_UNDERSTAND = 0xC000


def check_instance(
    ds: Dataset,
    context_sop_class: Optional[str] = None,
    allowed_modalities: Sequence[str] = ()
) -> Optional[Tuple[int, str]]:
    """Why the node refuses ``ds``, as (C-STORE status, comment); None if it
    takes it.

    Args:
        ds (Dataset): The received data set.
        context_sop_class (str, optional): The presentation context's
            abstract syntax, which the data set must match.
        allowed_modalities (Sequence[str]): Further Modality values to take
            (the predictor's ``allowed_modalities``).
    """
    try:
        sop_class = ds.get('SOPClassUID')
        missing = [
            keyword
            for keyword in ('StudyInstanceUID', 'SOPInstanceUID', 'PixelData')
            if not ds.get(keyword)
        ]
        refusal = modality_refusal(ds, allowed_modalities)
        if refusal is None and not missing:
            refusal = pixel_refusal(ds)
    except Exception as error:  # pydicom decodes lazily, here
        return CANNOT_UNDERSTAND, ('cannot decode the data set '
                                   f'({type(error).__name__})')
    if context_sop_class is not None and sop_class != context_sop_class:
        return NOT_MATCHING_SOP_CLASS, ('SOP Class UID differs from the '
                                        "presentation context's")
    if refusal is not None:
        return NOT_MATCHING_SOP_CLASS, refusal
    if missing:
        return NOT_MATCHING_SOP_CLASS, f'no {", ".join(missing)}'
    return None


def pixel_refusal(ds: Dataset) -> Optional[str]:
    """Why the Image Pixel module of ``ds`` cannot be a projection
    radiograph, or None. Checked before anything is written, so that no
    image is acknowledged whose decoding would take unbounded memory (a
    decompression bomb) or fail: one frame (the CR and DX IODs have no
    Multi-frame module, PS3.3 A.2, A.26), Rows and Columns from 1 to
    :data:`MAX_SIDE`, 8 or 16 bits allocated, 1 or 3 samples per pixel,
    and native (uncompressed) Pixel Data exactly as long as these ask
    (PS3.5 8.1.1; one byte of padding to an even length)."""
    rows, columns = ds.get('Rows'), ds.get('Columns')
    bits, samples = ds.get('BitsAllocated'), ds.get('SamplesPerPixel', 1)
    frames = int(ds.get('NumberOfFrames') or 1)
    if not (isinstance(rows, int) and isinstance(columns, int)
            and 0 < rows <= MAX_SIDE and 0 < columns <= MAX_SIDE):
        return f'Rows x Columns not within 1 to {MAX_SIDE}'
    if frames != 1:
        return 'more than one frame'
    if bits not in (8, 16) or samples not in (1, 3):
        return 'Bits Allocated not 8 or 16, or Samples per Pixel not 1 or 3'
    element = ds['PixelData']
    if element.is_undefined_length:  # encapsulated: bounded by the above
        return None
    expected = rows * columns * samples * bits // 8
    if len(element.value) not in (expected, expected + 1):
        return (f'Pixel Data of {len(element.value)} bytes where Rows, '
                f'Columns and Bits Allocated ask for {expected}')
    return None


def decodable_transfer_syntaxes() -> List[str]:
    """The transfer syntaxes the node accepts: the uncompressed ones
    (pynetdicom's defaults: implicit and explicit VR little endian, deflated,
    explicit big endian) and each compressed one whose pydicom pixel decoder
    has a plugin installed now, so that no image is acknowledged that
    inference cannot decode."""
    accepted = list(DEFAULT_TRANSFER_SYNTAXES)
    for uid in COMPRESSED_TRANSFER_SYNTAXES:
        try:
            available = get_decoder(uid).is_available
        except NotImplementedError:  # pydicom has no decoder at all
            available = False
        if available:
            accepted.append(uid)
    return accepted


def parse_allowed_callers(
        entries: Sequence[str]) -> Dict[str, Optional[Set[str]]]:
    """``['MODALITY1', 'CR2@10.0.0.7']`` -> calling AE title -> the
    addresses it may call from (None: any). A host name is resolved now.

    Raises:
        ValueError: An empty AE title, one longer than 16 characters, or a
            host that does not resolve, naming the entry.
    """
    callers: Dict[str, Optional[Set[str]]] = {}
    for entry in entries:
        ae_title, _, host = entry.partition('@')
        ae_title = ae_title.strip()
        if not ae_title or len(ae_title) > 16:
            raise ValueError(f'allowed caller {entry!r}: expected AE or '
                             'AE@HOST, with an AE title of 1 to 16 '
                             'characters')
        if not host:
            callers[ae_title] = None
            continue
        try:
            addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
        except socket.gaierror as error:
            raise ValueError(f'allowed caller {entry!r}: host {host!r} does '
                             f'not resolve ({error.strerror})') from None
        if callers.get(ae_title, set()) is not None:
            callers[ae_title] = callers.get(ae_title, set()) | addresses
    return callers


def failure_status(status: int, comment: str) -> Dataset:
    """A C-STORE failure response: Status and Error Comment (LO: its first
    64 characters)."""
    response = Dataset()
    response.Status = status
    response.ErrorComment = comment[:64]
    return response


class StorageReceiver:
    """A Storage SCP (and Verification SCP) that writes what it receives
    into a :class:`~.spool.Spool`.

    Args:
        spool (Spool): Where instances go.
        ae_title (str): The node's AE title.
        allowed_modalities (Sequence[str]): Further Modality values to take.
        allowed_callers (dict, optional): Calling AE title -> the addresses
            it may call from, None for any
            (:func:`parse_allowed_callers`); None: anyone may call.
        floor (FreeSpaceFloor, optional): Refuse C-STOREs while the spool's
            disk has less free space than this.
        tls (TlsSettings, optional): Listen with DICOM TLS (and mutual TLS
            if it requires client certificates).
        metrics (NodeMetrics, optional): Counts what is received and
            refused.
    """

    def __init__(self,
                 spool: Spool,
                 ae_title: str,
                 allowed_modalities: Sequence[str] = (),
                 allowed_callers: Optional[Dict[str,
                                                Optional[Set[str]]]] = None,
                 floor: Optional[FreeSpaceFloor] = None,
                 tls: Optional[TlsSettings] = None,
                 metrics: Optional[NodeMetrics] = None) -> None:
        self.spool = spool
        self.tls = tls
        self.metrics = metrics
        self.allowed_modalities = tuple(allowed_modalities)
        self.allowed_callers = allowed_callers
        self.floor = floor
        self.transfer_syntaxes = decodable_transfer_syntaxes()
        self.ae = AE(ae_title=ae_title)
        self.ae.add_supported_context(Verification)
        for sop_class in ACCEPTED_SOP_CLASSES:
            self.ae.add_supported_context(sop_class, self.transfer_syntaxes)
        if allowed_callers is not None:
            self.ae.require_calling_aet = sorted(allowed_callers)
        self.ae.maximum_associations = 16
        self.server = None

    def start(self, host: str, port: int) -> int:
        """Listen on ``host``:``port`` (0: any free port) in the
        background; returns the port."""
        context = None if self.tls is None else self.tls.server_context()
        self.server = self.ae.start_server(
            (host, port),
            block=False,
            ssl_context=context,
            evt_handlers=[(evt.EVT_C_ECHO, self.handle_echo),
                          (evt.EVT_C_STORE, self.handle_store)])
        return self.server.server_address[1]

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server = None

    def _authorized(self, event: evt.Event) -> bool:
        """Whether the association's caller is on the allow-list, from an
        allowed host (its AE title was checked at negotiation)."""
        if self.allowed_callers is None:
            return True
        requestor = event.assoc.requestor
        hosts = self.allowed_callers.get(requestor.ae_title.strip(), set())
        if hosts is None or requestor.address in hosts:
            return True
        LOGGER.warning('refused: an allowed AE title called from a host not '
                       'allowed for it')
        return False

    def handle_echo(self, event: evt.Event) -> int:
        return SUCCESS if self._authorized(event) else NOT_AUTHORIZED

    def handle_store(self, event: evt.Event):
        """Spool one C-STORE's instance, then answer (see the module)."""
        answer = self._store(event)
        if self.metrics is not None:
            if answer == SUCCESS:
                self.metrics.images_received.inc()
            else:
                self.metrics.images_refused.labels(
                    f'0x{answer.Status:04X}').inc()
        return answer

    def _store(self, event: evt.Event):
        if not self._authorized(event):
            return failure_status(NOT_AUTHORIZED, 'calling host not allowed')
        if self.floor is not None and self.floor.below(self.spool.root):
            LOGGER.error('C-STORE refused (0xA700): less free space than %s',
                         self.floor)
            return failure_status(OUT_OF_RESOURCES,
                                  'spool below its free-space floor')
        try:
            ds = event.dataset
        except Exception as error:
            return failure_status(
                CANNOT_UNDERSTAND,
                f'cannot decode the data set ({type(error).__name__})')
        refusal = check_instance(ds, event.context.abstract_syntax,
                                 self.allowed_modalities)
        if refusal is not None:
            LOGGER.warning('C-STORE refused (0x%04X): %s', *refusal)
            return failure_status(*refusal)
        try:
            key, new = self.spool.store_image(ds.StudyInstanceUID,
                                              ds.SOPInstanceUID,
                                              event.encoded_dataset())
        except OSError as error:
            LOGGER.error('cannot write the spool: %s', error.strerror)
            return failure_status(OUT_OF_RESOURCES, 'cannot write the spool')
        LOGGER.info('%s: image received (%s)%s', key, ds.get('Modality'),
                    '' if new else ', an identical resent copy')
        return SUCCESS
