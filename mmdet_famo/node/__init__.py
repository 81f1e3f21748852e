"""A DICOM node: receive radiographs over the network (or from a folder),
detect fractures study by study, send the results back (README, "A DICOM
node on the hospital network")."""
from .node import DicomNode, NodeSettings
from .processor import StudyProcessor
from .receiver import (ACCEPTED_SOP_CLASSES, StorageReceiver, check_instance,
                       decodable_transfer_syntaxes, parse_allowed_callers)
from .sender import (DestinationUnavailable, DicomDestination,
                     FolderDestination, ResultSender, StowRsDestination)
from .space import FreeSpaceFloor
from .spool import DeadLetter, Spool, StudyState
from .tls import TlsSettings
from .watcher import FolderWatcher
from .worker import Worker

__all__ = [
    'ACCEPTED_SOP_CLASSES', 'DeadLetter', 'DestinationUnavailable',
    'DicomDestination', 'DicomNode', 'FolderDestination', 'FolderWatcher',
    'FreeSpaceFloor', 'NodeSettings', 'ResultSender', 'Spool',
    'StorageReceiver', 'StowRsDestination', 'StudyProcessor', 'StudyState',
    'TlsSettings', 'Worker',
    'check_instance', 'decodable_transfer_syntaxes', 'parse_allowed_callers'
]
