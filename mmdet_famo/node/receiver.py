"""Receive radiographs: a pynetdicom Storage and Verification SCP.

Association negotiation accepts the projection-radiograph storage SOP
classes (:data:`ACCEPTED_SOP_CLASSES`: CR, DX For Presentation, DX For
Processing) in the transfer syntaxes the loader decodes, and rejects any
other abstract syntax (result 0x03, "abstract syntax not supported", PS3.8
9.3.3.2): a CT image cannot even be offered. A C-STORE is answered (PS3.4
B.2.3):

- 0x0000 once the instance is in the spool, on disk (atomic write + fsync):
  an acknowledged image is never lost;
- 0xA900 (data set does not match SOP class) when the package's modality
  rule refuses it (:func:`~mmdet_famo.datasets.modalities.modality_refusal`,
  the rule of inference: e.g. DX For Processing, or Modality CT, unless that
  modality is allowed), when its SOP Class UID is not the presentation
  context's, or when it lacks the StudyInstanceUID, SOPInstanceUID or Pixel
  Data;
- 0xC000 (cannot understand) when the data set cannot be decoded;
- 0xA700 (out of resources) when the spool cannot be written.

A failure carries an Error Comment saying why, without identifiers. Each
association runs in its own thread (pynetdicom's threaded server).
"""
import logging
from typing import Optional, Sequence, Tuple

from pydicom.dataset import Dataset
from pydicom.uid import (ComputedRadiographyImageStorage,
                         DigitalXRayImageStorageForPresentation,
                         DigitalXRayImageStorageForProcessing,
                         JPEG2000TransferSyntaxes, JPEGLSTransferSyntaxes,
                         JPEGTransferSyntaxes, RLETransferSyntaxes)
from pynetdicom import AE, DEFAULT_TRANSFER_SYNTAXES, evt
from pynetdicom.sop_class import Verification

from mmdet_famo.datasets.modalities import modality_refusal
from .spool import Spool

LOGGER = logging.getLogger('mmdet_famo.node')

#: Storage SOP classes of projection radiographs (PS3.4 B.5).
ACCEPTED_SOP_CLASSES = (ComputedRadiographyImageStorage,
                        DigitalXRayImageStorageForPresentation,
                        DigitalXRayImageStorageForProcessing)
#: Uncompressed, and the compressed syntaxes ``LoadRadiograph`` decodes
#: (pylibjpeg's JPEG, JPEG-LS and JPEG 2000 plugins, pydicom's RLE).
ACCEPTED_TRANSFER_SYNTAXES = (list(DEFAULT_TRANSFER_SYNTAXES) +
                              JPEGTransferSyntaxes + JPEGLSTransferSyntaxes +
                              JPEG2000TransferSyntaxes + RLETransferSyntaxes)
SUCCESS = 0x0000
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
    except Exception as error:  # pydicom decodes lazily, here
        return CANNOT_UNDERSTAND, ('cannot decode the data set '
                                   f'({type(error).__name__})')
    if refusal is not None:
        return NOT_MATCHING_SOP_CLASS, refusal
    if context_sop_class is not None and sop_class != context_sop_class:
        return NOT_MATCHING_SOP_CLASS, ('SOP Class UID differs from the '
                                        "presentation context's")
    if missing:
        return NOT_MATCHING_SOP_CLASS, f'no {", ".join(missing)}'
    return None


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
    """

    def __init__(
        self,
        spool: Spool,
        ae_title: str,
        allowed_modalities: Sequence[str] = ()) -> None:
        self.spool = spool
        self.allowed_modalities = tuple(allowed_modalities)
        self.ae = AE(ae_title=ae_title)
        self.ae.add_supported_context(Verification)
        for sop_class in ACCEPTED_SOP_CLASSES:
            self.ae.add_supported_context(sop_class,
                                          ACCEPTED_TRANSFER_SYNTAXES)
        self.ae.maximum_associations = 16
        self.server = None

    def start(self, host: str, port: int) -> int:
        """Listen on ``host``:``port`` (0: any free port) in the
        background; returns the port."""
        self.server = self.ae.start_server(
            (host, port),
            block=False,
            evt_handlers=[(evt.EVT_C_ECHO, lambda event: SUCCESS),
                          (evt.EVT_C_STORE, self.handle_store)])
        return self.server.server_address[1]

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server = None

    def handle_store(self, event: evt.Event):
        """Spool one C-STORE's instance, then answer (see the module)."""
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
                    '' if new else ', a resent copy')
        return SUCCESS
