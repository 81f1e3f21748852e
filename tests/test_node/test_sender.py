"""The node's DICOM sender sends each PDU at once (TCP_NODELAY)."""
import socket

import numpy as np
import pydicom

from mmdet_famo.node import sender
from mmdet_famo.node.sender import DicomDestination
from tests.dicom_factory import write_dicom
from .loopback import HOST, Destination


def test_results_go_out_without_waiting_for_acknowledgements(
        tmp_path, monkeypatch):
    """The destination's association has TCP_NODELAY on its socket (Nagle's
    algorithm would hold each C-STORE's last piece for the peer's delayed
    acknowledgement), and the result arrives."""
    flags = []

    def recording(event):
        send_without_delay(event)
        flags.append(event.assoc.dul.socket.socket.getsockopt(
            socket.IPPROTO_TCP, socket.TCP_NODELAY))

    send_without_delay = sender.send_without_delay
    monkeypatch.setattr(sender, 'send_without_delay', recording)
    result = write_dicom(tmp_path / 'result.dcm',
                         np.zeros((8, 8), np.uint16),
                         SOPInstanceUID=pydicom.uid.generate_uid())
    pacs = Destination().start()
    outcomes = []
    try:
        DicomDestination('PACS', HOST, pacs.port, timeout=5).send(
            [('study', str(result))],
            lambda key, path, status, detail: outcomes.append(status))
    finally:
        pacs.stop()
    assert pacs.count() == 1 and outcomes == [sender.SENT]
    assert len(flags) == 1 and flags[0] != 0
