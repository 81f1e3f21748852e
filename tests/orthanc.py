"""Orthanc, a real PACS, for tests: started on free loopback ports with a
temporary configuration and its DICOMweb plugin, driven through its REST
API (https://orthanc.uclouvain.be/book/users/rest.html) and read back by
DICOMweb WADO-RS (PS3.18 10.4)."""
import io
import json
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, List, Optional

import pydicom
from pydicom import Dataset

#: Where Debian's packages ``orthanc`` and ``orthanc-dicomweb`` put them.
ORTHANC = shutil.which('Orthanc') or '/usr/sbin/Orthanc'
DICOMWEB_PLUGIN = Path('/usr/share/orthanc/plugins/libOrthancDicomWeb.so')
HOST = '127.0.0.1'
AE_TITLE = 'ORTHANC'


def missing() -> Optional[str]:
    """Why Orthanc cannot run here, or None."""
    if not Path(ORTHANC).is_file():
        return 'Orthanc is not installed (Debian package orthanc)'
    if not DICOMWEB_PLUGIN.is_file():
        return ('the Orthanc DICOMweb plugin is not installed (Debian '
                'package orthanc-dicomweb)')
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


class Orthanc:
    """One Orthanc server in ``folder``: :meth:`start`, use, :meth:`stop`.

    Args:
        folder (Path): Its configuration, database, storage and log.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
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
        path = self.folder / 'orthanc.json'
        path.write_text(json.dumps(config, indent=2))
        log = open(self.folder / 'orthanc.log', 'wb')
        self.process = subprocess.Popen([ORTHANC, str(path)],
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
                self.get('/system')
                return self
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f'Orthanc did not answer within {timeout} s')

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

    def add_modality(self, name: str, ae_title: str, port: int) -> None:
        """Declare a DICOM peer on the loopback interface."""
        self.request(
            'PUT', f'/modalities/{name}',
            json.dumps(dict(AET=ae_title, Host=HOST, Port=port)).encode())

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
