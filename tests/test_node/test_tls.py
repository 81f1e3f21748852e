"""DICOM TLS: the node receives over mutual TLS (a caller without a
certificate from the node's CA cannot associate, nor one without TLS) and
sends over TLS to a destination that verifies the node's certificate; with
pynetdicom, and with dcmtk's echoscu and storescu where installed."""
import shutil
import ssl
import subprocess
from pathlib import Path

import pydicom
import pytest

from mmdet_famo.node import DicomDestination, TlsSettings
from .loopback import (DCMTK, HOST, Destination, node_settings, read, send,
                       wait_for)


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(['openssl', *args],
                   cwd=cwd,
                   check=True,
                   capture_output=True)


def issue(folder: Path, name: str, ca: str = 'ca') -> None:
    """``name.key`` and ``name.crt`` for 127.0.0.1, signed by ``ca``."""
    (folder /
     f'{name}.ext').write_text('subjectAltName=IP:127.0.0.1,DNS:localhost\n')
    openssl('req',
            '-newkey',
            'rsa:2048',
            '-nodes',
            '-keyout',
            f'{name}.key',
            '-out',
            f'{name}.csr',
            '-subj',
            f'/CN={name}',
            cwd=folder)
    openssl('x509',
            '-req',
            '-in',
            f'{name}.csr',
            '-CA',
            f'{ca}.crt',
            '-CAkey',
            f'{ca}.key',
            '-CAcreateserial',
            '-days',
            '2',
            '-out',
            f'{name}.crt',
            '-extfile',
            f'{name}.ext',
            cwd=folder)


@pytest.fixture(scope='module')
def certs(tmp_path_factory):
    """A CA; the node's, a modality's and the PACS's certificates from it;
    a stranger's from another CA."""
    if shutil.which('openssl') is None:
        pytest.skip('openssl is not installed (Debian package openssl)')
    folder = tmp_path_factory.mktemp('certs')
    for ca in ('ca', 'other-ca'):
        openssl('req',
                '-x509',
                '-newkey',
                'rsa:2048',
                '-nodes',
                '-keyout',
                f'{ca}.key',
                '-out',
                f'{ca}.crt',
                '-days',
                '2',
                '-subj',
                f'/CN={ca}',
                cwd=folder)
    for name in ('node', 'modality', 'pacs'):
        issue(folder, name)
    issue(folder, 'stranger', ca='other-ca')
    return folder


def mutual_tls(certs: Path) -> TlsSettings:
    """The node's certificate and key, the test CA for its peers, and a
    certificate required of every caller."""
    return TlsSettings(str(certs / 'node.crt'),
                       str(certs / 'node.key'),
                       str(certs / 'ca.crt'),
                       require_client_certificate=True)


def client(certs: Path, name: str) -> tuple:
    """pynetdicom's ``tls_args`` of a caller presenting ``name``'s
    certificate (None: none) and trusting the CA."""
    context = ssl.create_default_context(cafile=str(certs / 'ca.crt'))
    if name:
        context.load_cert_chain(str(certs / f'{name}.crt'),
                                str(certs / f'{name}.key'))
    return context, HOST


def test_mutual_tls_receiving_and_sending(phantoms, start_node, certs,
                                          tmp_path):
    tls = mutual_tls(certs)
    pacs_context = TlsSettings(
        str(certs / 'pacs.crt'),
        str(certs / 'pacs.key'),
        str(certs / 'ca.crt'),
        require_client_certificate=True).server_context()
    pacs = Destination(ssl_context=pacs_context).start()
    try:
        node = start_node(
            node_settings(tmp_path / 'spool',
                          DicomDestination('PACS',
                                           HOST,
                                           pacs.port,
                                           timeout=5,
                                           tls=tls),
                          tls=tls))
        study = read([f for f in phantoms.files if '/PH0001/' in str(f)])
        for refused in (None, client(certs, ''), client(certs, 'stranger')):
            with pytest.raises(AssertionError):  # no association
                send(node.port, study, tls_args=refused)
        assert node.spool.keys() == []
        assert send(node.port, study,
                    tls_args=client(certs, 'modality')) == [0] * len(study)
        assert wait_for(lambda: pacs.count() >= len(study) + 2, 60)
        assert wait_for(lambda: not node.spool.outbox())
    finally:
        pacs.stop()
    assert sorted({ds.Modality for ds in pacs.received}) == ['OT', 'PR', 'SR']


def test_tls_settings_refuse_what_cannot_work(certs, tmp_path):
    with pytest.raises(ValueError, match='no such file'):
        TlsSettings(str(tmp_path / 'missing.crt'), str(certs / 'node.key'))
    with pytest.raises(ValueError, match='needs the CA'):
        TlsSettings(str(certs / 'node.crt'),
                    str(certs / 'node.key'),
                    require_client_certificate=True)


@pytest.mark.skipif(not all(DCMTK.values()),
                    reason="dcmtk's echoscu and storescu are not installed "
                    '(Debian package dcmtk)')
def test_dcmtk_over_tls(phantoms, destination, start_node, certs, tmp_path):
    tls = mutual_tls(certs)
    node = start_node(
        node_settings(tmp_path / 'spool',
                      DicomDestination('PACS',
                                       HOST,
                                       destination.port,
                                       timeout=5),
                      tls=tls))
    study = [str(f) for f in phantoms.files if '/PH0003/' in str(f)]

    def dcmtk(program, name, *files) -> subprocess.CompletedProcess:
        tls_options = [] if name is None else [
            '+tls',
            str(certs / f'{name}.key'),
            str(certs / f'{name}.crt'), '+cf',
            str(certs / 'ca.crt')
        ]
        return subprocess.run([
            DCMTK[program], *tls_options, '-aec', 'FAMO', HOST,
            str(node.port), *files
        ],
                              capture_output=True,
                              text=True,
                              timeout=30)

    assert dcmtk('echoscu', 'modality').returncode == 0
    assert dcmtk('echoscu', None).returncode != 0  # no TLS
    assert dcmtk('echoscu', 'stranger').returncode != 0  # another CA
    stored = dcmtk('storescu', 'modality', *study)
    assert stored.returncode == 0, stored.stderr
    assert wait_for(
        lambda: len([ds for ds in destination.received
                     if ds.Modality == 'OT']) == len(study))
    assert {
        ds.SourceImageSequence[0].ReferencedSOPInstanceUID
        for ds in destination.received if ds.Modality == 'OT'
    } == {pydicom.dcmread(f).SOPInstanceUID
          for f in study}
