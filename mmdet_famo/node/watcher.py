"""Without a network: take radiographs from a folder into the spool.

The folder watcher feeds the same spool, processor and sender as the
Storage SCP. A file is taken once it has not changed for ``settle_seconds``
(a writer still copying it is left alone; hidden files are ignored, so a
writer may also copy to a hidden name and rename). It is checked as a
C-STORE would be (:func:`~.receiver.check_instance`), written to the spool
atomically, and only then deleted from the folder. A refused file is moved
to ``<folder>/.refused/`` and logged by a counter, never by its name (file
names may hold identifiers).
"""
import logging
import os
import os.path as osp
import threading
import time
from typing import Sequence

from pydicom import dcmread

from .receiver import check_instance
from .spool import Spool

LOGGER = logging.getLogger('mmdet_famo.node')
REFUSED_DIR = '.refused'


class FolderWatcher:
    """Poll ``folder`` and spool the DICOM files that appear in it.

    Args:
        spool (Spool): The node's spool.
        folder (str): The watched folder (created).
        settle_seconds (float): How long a file must stay unchanged.
        poll_seconds (float): How often the folder is scanned.
        allowed_modalities (Sequence[str]): Further Modality values to take.
    """

    def __init__(
        self,
        spool: Spool,
        folder: str,
        settle_seconds: float = 2.,
        poll_seconds: float = 0.5,
        allowed_modalities: Sequence[str] = ()) -> None:
        self.spool = spool
        self.folder = folder
        self.settle_seconds = settle_seconds
        self.poll_seconds = poll_seconds
        self.allowed_modalities = tuple(allowed_modalities)
        self.refused = 0
        os.makedirs(folder, exist_ok=True)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run,
                                        name='famo-watcher',
                                        daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.scan()
            self._stop.wait(self.poll_seconds)

    def scan(self) -> None:
        """Take every settled file once."""
        now = time.time()
        for root, dirs, names in os.walk(self.folder):
            dirs[:] = sorted(d for d in dirs if not d.startswith('.'))
            for name in sorted(names):
                path = osp.join(root, name)
                if name.startswith('.'):
                    continue
                try:
                    settled = now - os.stat(path).st_mtime >= \
                        self.settle_seconds
                except FileNotFoundError:
                    continue
                if settled:
                    self.take(path)

    def take(self, path: str) -> None:
        """Spool one file, then delete it; set it aside if refused."""
        with open(path, 'rb') as file:
            encoded = file.read()
        try:
            ds = dcmread(path)  # Part 10 files only: they carry their meta
            refusal = check_instance(ds, None, self.allowed_modalities)
        except Exception as error:
            refusal = 0, f'not a DICOM file ({type(error).__name__})'
        if refusal is not None:
            self.refused += 1
            LOGGER.warning('watched file #%d refused: %s', self.refused,
                           refusal[1])
            os.makedirs(osp.join(self.folder, REFUSED_DIR), exist_ok=True)
            os.replace(
                path,
                osp.join(self.folder, REFUSED_DIR,
                         f'{self.refused:06d}-{osp.basename(path)}'))
            return
        key, new = self.spool.store_image(ds.StudyInstanceUID,
                                          ds.SOPInstanceUID, encoded)
        os.remove(path)
        LOGGER.info('%s: image taken from the watched folder (%s)%s', key,
                    ds.get('Modality'), '' if new else ', a resent copy')
