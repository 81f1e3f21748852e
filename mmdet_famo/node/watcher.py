"""Without a network: take radiographs from a folder into the spool.

The folder watcher feeds the same spool, processor and sender as the
Storage SCP. A file is taken once it has not changed for ``settle_seconds``
(a writer still copying it is left alone; hidden files are ignored, so a
writer may also copy to a hidden name and rename). It is checked as a
C-STORE would be (:func:`~.receiver.check_instance`), written to the spool
atomically, and only then deleted from the folder. A refused file is moved
to ``<folder>/.refused/`` and logged by a counter, never by its name (file
names may hold identifiers). While the spool's disk is below its free-space
floor, files are left where they are.
"""
import logging
import os
import os.path as osp
import time
from typing import Optional, Sequence

from pydicom import dcmread
from .receiver import check_instance
from .space import FreeSpaceFloor
from .spool import Spool
from .worker import Worker

LOGGER = logging.getLogger('mmdet_famo.node')
REFUSED_DIR = '.refused'


class FolderWatcher(Worker):
    """Poll ``folder`` and spool the DICOM files that appear in it.

    Args:
        spool (Spool): The node's spool.
        folder (str): The watched folder (created).
        settle_seconds (float): How long a file must stay unchanged.
        poll_seconds (float): How often the folder is scanned.
        allowed_modalities (Sequence[str]): Further Modality values to take.
        floor (FreeSpaceFloor, optional): Take nothing while the spool's
            disk has less free space than this.
    """

    def __init__(self,
                 spool: Spool,
                 folder: str,
                 settle_seconds: float = 2.,
                 poll_seconds: float = 0.5,
                 allowed_modalities: Sequence[str] = (),
                 floor: Optional[FreeSpaceFloor] = None) -> None:
        super().__init__('famo-watcher', initial_delay=poll_seconds)
        self.spool = spool
        self.folder = folder
        self.settle_seconds = settle_seconds
        self.poll_seconds = poll_seconds
        self.allowed_modalities = tuple(allowed_modalities)
        self.floor = floor
        self.refused = 0
        os.makedirs(folder, exist_ok=True)

    def step(self) -> float:
        if self.floor is not None and self.floor.below(self.spool.root):
            LOGGER.warning(
                'watched folder left alone: the spool has less '
                'free space than %s', self.floor)
            return max(self.poll_seconds, 1.)
        self.scan()
        return self.poll_seconds

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
