"""Who may talk to the node, and what it accepts: the calling-AE allow-list
(optionally with hosts), no open listening without it, and transfer
syntaxes only where a decoder is installed."""
import pytest
from pydicom.uid import (DigitalXRayImageStorageForPresentation,
                         ExplicitVRLittleEndian, JPEG2000Lossless,
                         JPEG2000MCLossless, RLELossless)
from pynetdicom import AE

from mmdet_famo.node import (DicomNode, FolderDestination, Spool,
                             StorageReceiver, decodable_transfer_syntaxes,
                             parse_allowed_callers, receiver)
from .loopback import HOST, INFER_OPTIONS, node_settings, read, send


def associate(port: int, ae_title: str, transfer_syntax=None):
    ae = AE(ae_title=ae_title)
    ae.add_requested_context('1.2.840.10008.1.1')
    ae.add_requested_context(DigitalXRayImageStorageForPresentation,
                             transfer_syntax or ExplicitVRLittleEndian)
    return ae.associate(HOST, port, ae_title='FAMO')


def test_allow_list_of_calling_ae_titles_and_hosts(phantoms, start_node,
                                                   tmp_path, caplog):
    node = start_node(
        node_settings(tmp_path / 'spool',
                      FolderDestination(str(tmp_path / 'out')),
                      allowed_callers=['CR1', 'CR2@10.9.9.9']))
    stranger = associate(node.port, 'STRANGER')
    assert stranger.is_rejected and not stranger.is_established
    study = read([f for f in phantoms.files if '/PH0001/' in str(f)])
    # an allowed title from a host not allowed for it: refused, not spooled
    assert send(node.port, study, ae_title='CR2') == [0x0124] * len(study)
    wrong_host = associate(node.port, 'CR2')
    assert wrong_host.send_c_echo().Status == 0x0124
    wrong_host.release()
    assert node.spool.keys() == []
    assert 'called from a host not allowed for it' in caplog.text
    assert send(node.port, study, ae_title='CR1') == [0x0000] * len(study)
    assert len(node.spool.keys()) == 1


def test_listening_openly_needs_an_allow_list_or_a_flag(tmp_path, predictor):
    out = FolderDestination(str(tmp_path / 'out'))
    with pytest.raises(ValueError, match='listening on 0.0.0.0 lets any'):
        DicomNode(node_settings(tmp_path / 'a', out, host='0.0.0.0'),
                  predictor, INFER_OPTIONS)
    for allowed in (dict(allowed_callers=['CR1']), dict(allow_any_caller=True),
                    dict(host='::1'), dict(watch=str(tmp_path / 'in'))):
        settings = dict(dict(host='0.0.0.0'), **allowed)
        DicomNode(node_settings(tmp_path / 'b', out, **settings), predictor,
                  INFER_OPTIONS)


def test_allowed_callers_parsed_or_refused_by_name():
    assert parse_allowed_callers(['CR1', 'CR2@127.0.0.1',
                                  'CR2@localhost'])['CR1'] is None
    assert '127.0.0.1' in parse_allowed_callers(['CR2@127.0.0.1'])['CR2']
    for wrong, message in (('@10.0.0.1', 'expected AE or AE@HOST'),
                           ('A' * 17, 'expected AE or AE@HOST'),
                           ('CR1@no-such-host.invalid', 'does not resolve')):
        with pytest.raises(ValueError, match=message) as error:
            parse_allowed_callers([wrong])
        assert repr(wrong) in str(error.value)


def test_transfer_syntaxes_only_with_a_decoder(tmp_path, monkeypatch):
    accepted = decodable_transfer_syntaxes()
    # pydicom has no decoder for JPEG 2000 Part 2 at all; RLE it decodes
    # itself; JPEG 2000 needs pylibjpeg-openjpeg or GDCM (installed here)
    assert JPEG2000MCLossless not in accepted
    assert RLELossless in accepted and JPEG2000Lossless in accepted
    assert ExplicitVRLittleEndian in accepted
    real = receiver.get_decoder

    class Missing:
        is_available = False

    monkeypatch.setattr(
        receiver, 'get_decoder', lambda uid: Missing
        if uid == JPEG2000Lossless else real(uid))
    assert JPEG2000Lossless not in decodable_transfer_syntaxes()
    scp = StorageReceiver(Spool(str(tmp_path / 'spool')), 'FAMO')
    port = scp.start(HOST, 0)
    try:
        for syntax, taken in ((JPEG2000Lossless, False), (RLELossless, True)):
            assoc = associate(port, 'MODALITY', syntax)
            contexts = [
                cx.transfer_syntax[0] for cx in assoc.accepted_contexts
                if cx.abstract_syntax == DigitalXRayImageStorageForPresentation
            ]
            assert contexts == ([syntax] if taken else [])
            assoc.release()
    finally:
        scp.stop()
