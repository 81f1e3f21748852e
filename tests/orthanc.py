"""Orthanc, a real PACS, for tests: started on free loopback ports with a
temporary configuration and its DICOMweb plugin, driven through its REST
API (https://orthanc.uclouvain.be/book/users/rest.html) and read back by
DICOMweb WADO-RS (PS3.18 10.4); optionally over DICOM TLS
(https://orthanc.uclouvain.be/book/faq/dicom-tls.html)."""
import io
import json
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, List, Optional, Tuple

import pydicom
from pydicom import Dataset

#: Where Debian's packages ``orthanc`` and ``orthanc-dicomweb`` put them.
ORTHANC = shutil.which('Orthanc') or '/usr/sbin/Orthanc'
DICOMWEB_PLUGIN = Path('/usr/share/orthanc/plugins/libOrthancDicomWeb.so')
HOST = '127.0.0.1'
AE_TITLE = 'ORTHANC'
#: The release whose DICOM TLS has every option :class:`DicomTls` sets
#: ("DicomTlsRemoteCertificateRequired" came in 1.9.3, TLS itself in 1.9.0).
TLS_RELEASE = (1, 9, 3)
#: What Orthanc logs (``--verbose-dicom``) when its SCP starts: a build
#: without OpenSSL starts without TLS whatever the configuration says.
TLS_ON = 'Orthanc SCP will use DICOM TLS'
TLS_OFF = 'Orthanc SCP will *not* use DICOM TLS'


def missing() -> Optional[str]:
    """Why Orthanc cannot run here, or None."""
    if not Path(ORTHANC).is_file():
        return 'Orthanc is not installed (Debian package orthanc)'
    if not DICOMWEB_PLUGIN.is_file():
        return ('the Orthanc DICOMweb plugin is not installed (Debian '
                'package orthanc-dicomweb)')
    return None


@dataclass(frozen=True)
class DicomTls:
    """Orthanc's DICOM TLS: its SCP listens over TLS only, and it calls the
    modalities declared with ``tls`` over TLS.

    Args:
        certificate (Path): Orthanc's certificate (PEM), offered both ways.
        key (Path): Its private key (PEM, unencrypted).
        trusted (Path): Certificates (PEM) Orthanc trusts to sign its peers'
            (here the test CA's).
        remote_certificate_required (bool): Callers must present a trusted
            certificate (mutual TLS).
    """
    certificate: Path
    key: Path
    trusted: Path
    remote_certificate_required: bool = True


class TlsUnsupported(RuntimeError):
    """This Orthanc cannot do DICOM TLS; the message says why."""


def _release(version: str) -> Optional[Tuple[int, ...]]:
    """``1.10.1`` as (1, 10, 1); None for a build that is not a release
    (``mainline``)."""
    try:
        return tuple(int(part) for part in version.split('.')[:3])
    except ValueError:
        return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


class Orthanc:
    """One Orthanc server in ``folder``: :meth:`start`, use, :meth:`stop`.

    Args:
        folder (Path): Its configuration, database, storage and log.
        tls (DicomTls, optional): Speak DICOM over TLS; :meth:`start`
            raises :class:`TlsUnsupported` where this Orthanc cannot.
    """

    def __init__(self, folder: Path, tls: Optional[DicomTls] = None) -> None:
        self.folder = Path(folder)
        self.tls = tls
        self.http_port = _free_port()
        self.dicom_port = _free_port()
        self.process: Optional[subprocess.Popen] = None

    @property
    def url(self) -> str:
        return f'http://{HOST}:{self.http_port}'

    def start(self, timeout: float = 60.) -> 'Orthanc':
        """Write the configuration and start; returns once the REST API
        answers."""
        self.folder.mkdir(parents=True, exist_ok=True)
        config = dict(
            Name='famo-test',
            StorageDirectory=str(self.folder / 'storage'),
            IndexDirectory=str(self.folder / 'index'),
            HttpPort=self.http_port,
            DicomPort=self.dicom_port,
            DicomAet=AE_TITLE,
            RemoteAccessAllowed=False,
            AuthenticationEnabled=False,
            DicomCheckCalledAet=True,
            DicomAlwaysAllowStore=True,
            DicomScuTimeout=30,
            StableAge=1,
            Plugins=[str(DICOMWEB_PLUGIN)],
            DicomWeb=dict(Enable=True, Root='/dicom-web/'),
            DicomModalities={},
        )
        options = []
        if self.tls is not None:
            config.update(
                DicomTlsEnabled=True,
                DicomTlsCertificate=str(self.tls.certificate),
                DicomTlsPrivateKey=str(self.tls.key),
                DicomTlsTrustedCertificates=str(self.tls.trusted),
                DicomTlsRemoteCertificateRequired=self.tls.
                remote_certificate_required)
            options.append('--verbose-dicom')  # to log TLS_ON or TLS_OFF
        path = self.folder / 'orthanc.json'
        path.write_text(json.dumps(config, indent=2))
        log = open(self.folder / 'orthanc.log', 'wb')
        self.process = subprocess.Popen([ORTHANC, *options, str(path)],
                                        stdout=log,
                                        stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f'Orthanc exited with {self.process.returncode}; see '
                    f'{self.folder / "orthanc.log"}')
            try:
                system = self.get('/system')
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.2)
                continue
            if self.tls is not None:
                self._check_tls(system['Version'], deadline)
            return self
        self.stop()
        raise RuntimeError(f'Orthanc did not answer within {timeout} s')

    def _check_tls(self, version: str, deadline: float) -> None:
        """Raise :class:`TlsUnsupported` (Orthanc stopped) unless its log
        says that its SCP uses DICOM TLS: an older release ignores the
        options it does not know, and a build without OpenSSL ignores
        "DicomTlsEnabled", both silently."""
        release = _release(version)
        reason = None
        if release is not None and release < TLS_RELEASE:
            reason = (f'Orthanc {version} predates DICOM TLS with a '
                      'required client certificate (Orthanc 1.9.3)')
        while reason is None:
            log = (self.folder / 'orthanc.log').read_text(errors='replace')
            if TLS_ON in log:
                return
            if TLS_OFF in log or time.monotonic() > deadline:
                reason = (f'this Orthanc {version} build has no DICOM TLS '
                          f'(its log does not say "{TLS_ON}")')
            else:
                time.sleep(0.2)
        self.stop()
        raise TlsUnsupported(reason)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def request(self,
                method: str,
                path: str,
                body: Optional[bytes] = None,
                content_type: str = 'application/json',
                accept: str = 'application/json') -> Any:
        """One REST call; the decoded JSON answer (bytes if not JSON)."""
        request = urllib.request.Request(self.url + path,
                                         data=body,
                                         method=method,
                                         headers={
                                             'Content-Type': content_type,
                                             'Accept': accept
                                         })
        with urllib.request.urlopen(request, timeout=120) as answer:
            data = answer.read()
            kind = answer.headers.get('Content-Type', '')
        return json.loads(data) if 'json' in kind and data else data

    def get(self, path: str, accept: str = 'application/json') -> Any:
        return self.request('GET', path, accept=accept)

    def post(self, path: str, payload: Any) -> Any:
        return self.request('POST', path, json.dumps(payload).encode())

    def upload(self, path: Path) -> str:
        """Store a DICOM file (as a modality would); its Orthanc ID."""
        answer = self.request('POST', '/instances',
                              Path(path).read_bytes(), 'application/dicom')
        return answer['ID']

    def lookup(self, uid: str) -> List[dict]:
        """What Orthanc holds under a DICOM UID (``/tools/lookup``)."""
        return self.request('POST', '/tools/lookup', uid.encode(),
                            'text/plain')

    def instance_file(self, uid: str) -> Dataset:
        """The stored instance of SOP Instance UID ``uid``."""
        found, = [item for item in self.lookup(uid)
                  if item['Type'] == 'Instance']
        data = self.get(f'/instances/{found["ID"]}/file',
                        accept='application/dicom')
        return pydicom.dcmread(io.BytesIO(data))

    def add_modality(self,
                     name: str,
                     ae_title: str,
                     port: int,
                     tls: bool = False) -> None:
        """Declare a DICOM peer on the loopback interface; with ``tls``,
        Orthanc calls it over DICOM TLS (needs :class:`DicomTls`)."""
        modality = dict(AET=ae_title, Host=HOST, Port=port)
        if tls:
            modality['UseDicomTls'] = True
        self.request('PUT', f'/modalities/{name}',
                     json.dumps(modality).encode())

    def store_to(self, modality: str, resources: List[str]) -> Any:
        """C-STORE ``resources`` (Orthanc IDs of studies or instances) to
        ``modality``, synchronously, as a forwarding rule does."""
        return self.post(f'/modalities/{modality}/store',
                         dict(Resources=resources, Synchronous=True))

    def study_instances(self, study_uid: str) -> List[dict]:
        """WADO-RS metadata (PS3.18 10.4.1.1.2) of every instance of a
        study, as DICOM JSON."""
        return self.get(f'/dicom-web/studies/{study_uid}/metadata',
                        accept='application/dicom+json')
