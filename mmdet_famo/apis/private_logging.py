"""Keep patient and study identifiers out of the logs while DICOM objects
are built.

highdicom and pydicom check the values they copy from the source images
and say so: highdicom warns that ``"SMITH JOHN" is unlikely to represent
the intended person name`` (a name without ``^``), pydicom that a value
does not fit its VR, quoting it. Printed on stderr, that reaches the
node's log and the system journal. :func:`identifiers_kept_out_of_logs`
catches their warnings and log records while an object is built, replaces
every identifier in them (the sources' identifying values, anything quoted,
anything shaped like a UID) and logs what is left as a warning of this
package: the user still learns that a source value is odd, not which.
"""
import logging
import re
import warnings
from contextlib import contextmanager
from typing import Iterable, Iterator, List, Sequence

from mmengine.logging import print_log
from pydicom import Dataset
from pydicom.multival import MultiValue

#: Source attributes whose values identify a patient or study (PS3.15
#: Annex E's basic profile, the ones a radiograph's header carries).
IDENTIFYING_ATTRIBUTES = (
    'PatientName', 'PatientID', 'IssuerOfPatientID', 'OtherPatientIDs',
    'PatientBirthDate', 'PatientBirthTime', 'PatientAddress',
    'PatientTelephoneNumbers', 'PatientMotherBirthName', 'OtherPatientNames',
    'AccessionNumber', 'StudyID', 'StudyDate', 'StudyTime', 'SeriesDate',
    'SeriesTime', 'AcquisitionDate', 'AcquisitionTime', 'ContentDate',
    'ContentTime', 'ReferringPhysicianName', 'PerformingPhysicianName',
    'OperatorsName', 'InstitutionName', 'InstitutionAddress', 'StationName',
    'DeviceSerialNumber', 'StudyInstanceUID', 'SeriesInstanceUID',
    'SOPInstanceUID', 'FrameOfReferenceUID')
#: A UID (PS3.5 9.1): at least four dot-separated numeric components
#: (roots such as 1.2.840.10008 have more; version numbers have three).
#: Class UIDs are replaced too, which costs nothing but detail.
UID = re.compile(r'(?<![\w.])\d+(?:\.\d+){3,}(?![\w.])')
#: Text in straight or typographic double quotes, or in single quotes:
#: where both libraries put the value they complain about.
QUOTED = re.compile(r'"[^"]*"|\u201c[^\u201d]*\u201d|(?<!\w)\'[^\']*\'')
REPLACEMENT = '<identifier>'
#: Loggers of the libraries that build the objects.
LIBRARY_LOGGERS = ('highdicom', 'pydicom')


def identifying_values(sources: Iterable[Dataset]) -> List[str]:
    """Every non-empty :data:`IDENTIFYING_ATTRIBUTES` value of ``sources``
    as text, a person name also by each of its components, longest first
    (so that a whole name is replaced before its parts)."""
    values = set()
    for source in sources:
        for keyword in IDENTIFYING_ATTRIBUTES:
            value = source.get(keyword)
            if value is None or value == '':
                continue
            items = value if isinstance(value, (list, tuple, MultiValue)) \
                else [value]
            for item in items:
                text = str(item)
                values.add(text)
                values.update(part for part in re.split(r'[\^=]', text)
                              if len(part) > 1)
    return sorted((v for v in values if v.strip()), key=len, reverse=True)


def scrub(text: str, identifiers: Sequence[str] = ()) -> str:
    """``text`` with every value of ``identifiers``, every quoted string
    and every UID replaced by :data:`REPLACEMENT`."""
    for value in identifiers:
        text = text.replace(value, REPLACEMENT)
    text = QUOTED.sub(REPLACEMENT, text)
    return UID.sub(REPLACEMENT, text)


class _Scrubber(logging.Filter):
    """Rewrites each record of a library logger as its scrubbed message."""

    def __init__(self, identifiers: Sequence[str]) -> None:
        super().__init__()
        self.identifiers = identifiers

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = scrub(record.getMessage(), self.identifiers)
        record.args = None
        return True


def _library_loggers() -> List[logging.Logger]:
    """The loggers of :data:`LIBRARY_LOGGERS` and their modules that exist
    (each module creates its logger on import)."""
    names = [
        name for name in logging.Logger.manager.loggerDict
        if name.split('.')[0] in LIBRARY_LOGGERS
    ]
    return [
        logger for logger in map(logging.getLogger, names)
        if isinstance(logger, logging.Logger)
    ]


@contextmanager
def identifiers_kept_out_of_logs(sources: Sequence[Dataset],
                                 subject: str) -> Iterator[None]:
    """Build DICOM objects from ``sources`` without their identifiers
    reaching a log or stream (see the module).

    Warnings raised inside are caught and logged, scrubbed, by their first
    sentence, as warnings naming ``subject``
    (``structured_report/case-0001.dcm``); records of
    highdicom's and pydicom's loggers are scrubbed in place. Warnings are
    process-wide state: use it where one thread builds at a time (the
    inference run, the node's single worker).

    Args:
        sources (Sequence[Dataset]): The headers the objects copy from.
        subject (str): What is built, without identifiers.
    """
    identifiers = identifying_values(sources)
    scrubber = _Scrubber(identifiers)
    loggers = _library_loggers()
    for logger in loggers:
        logger.addFilter(scrubber)
    caught: List[warnings.WarningMessage] = []
    try:
        with warnings.catch_warnings(record=True) as recorded:
            warnings.simplefilter('always')
            try:
                yield
            finally:
                caught.extend(recorded)
    finally:
        for logger in loggers:
            logger.removeFilter(scrubber)
        messages = dict.fromkeys(  # their first sentence says what
            f'{subject}: {warning.category.__name__}: ' +
            scrub(str(warning.message), identifiers).split('. ')[0]
            for warning in caught)
        for message in messages:
            print_log(message, logger='current', level=logging.WARNING)
