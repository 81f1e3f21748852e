"""A DICOM node: receive radiographs over the network (or from a folder),
detect fractures study by study, send the results back (README, "A DICOM
node on the hospital network")."""
from .node import DicomNode, NodeSettings
from .processor import StudyProcessor
from .receiver import (ACCEPTED_SOP_CLASSES, StorageReceiver, check_instance)
from .sender import (DestinationUnavailable, DicomDestination,
                     FolderDestination, ResultSender)
from .spool import Spool, StudyState, write_atomically
from .watcher import FolderWatcher

__all__ = [
    'ACCEPTED_SOP_CLASSES', 'DestinationUnavailable', 'DicomDestination',
    'DicomNode', 'FolderDestination', 'FolderWatcher', 'NodeSettings',
    'ResultSender', 'Spool', 'StorageReceiver', 'StudyProcessor', 'StudyState',
    'check_instance', 'write_atomically'
]
