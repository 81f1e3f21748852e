"""What every DICOM object written by inference shares: the algorithm's
identity, the findings drawn and reported, the source headers, series
numbers and laterality of the results, and atomic saving."""
import datetime
import hashlib
import os
import os.path as osp
from dataclasses import dataclass
from typing import TYPE_CHECKING, List, Optional, Sequence, Tuple

import numpy as np
import pydicom
from pydicom import Dataset
from pydicom.sr.coding import Code
from pydicom.uid import generate_uid

from mmdet_famo.atomic_files import write_atomically
from mmdet_famo.version import __version__
from .finding_locations import finding_mask
from .predictor import ImagePrediction
from .report import image_name

if TYPE_CHECKING:
    from mmdet_famo.evaluation.operating_points import OperatingPoints

#: Manufacturer (0008,0070) and Manufacturer's Model Name of the results.
MANUFACTURER = 'mmdet-famo'
MODEL_NAME = 'mmdet-famo fracture detector'
#: Series Numbers of the result series; high, so that viewers list them
#: after the acquired series.
SECONDARY_CAPTURE_SERIES_NUMBER = 9901
STRUCTURED_REPORT_SERIES_NUMBER = 9902
PRESENTATION_STATE_SERIES_NUMBER = 9903
#: Purpose of Reference of the Contributing Equipment item that names the
#: algorithm, as IHE Radiology's AI Results (AIR) supplement codes it
#: ("Processing Algorithm" in IHE's temporary scheme 99IHE: DICOM's CID
#: 7005 has no such purpose).
PROCESSING_ALGORITHM = Code('Newcode1', '99IHE', 'Processing Algorithm')
#: Coding Scheme Identification (PS3.3 C.12.1.1.5) of that private scheme.
IHE_CODING_SCHEME = dict(designator='99IHE',
                         name='IHE temporary codes',
                         responsible_organization='IHE International')
#: The Type 2 attributes of the Patient (PS3.3 C.7.1.1) and General Study
#: (C.7.2.1) modules: every result carries them, empty where the source
#: lacks them.
STUDY_TYPE_2_ATTRIBUTES = ('PatientName', 'PatientID', 'PatientBirthDate',
                           'PatientSex', 'StudyDate', 'StudyTime',
                           'ReferringPhysicianName', 'StudyID',
                           'AccessionNumber')


@dataclass(frozen=True)
class AlgorithmInfo:
    """Who made the findings, for the SR's Algorithm Identification (TID
    4019) and the results' equipment attributes.

    Args:
        config (str): The model config's file name.
        checkpoint (str): The checkpoint's file name.
        checkpoint_sha256 (str): SHA-256 of the checkpoint, hex.
        name (str): Algorithm name. Defaults to :data:`MODEL_NAME`.
        version (str): Package version. Defaults to ``mmdet_famo``'s.
    """
    config: str
    checkpoint: str
    checkpoint_sha256: str
    name: str = MODEL_NAME
    version: str = __version__

    @classmethod
    def from_files(cls, config: str, checkpoint: str) -> 'AlgorithmInfo':
        """The identity of the model in ``config`` and ``checkpoint`` (file
        names only: their folders may name people)."""
        digest = hashlib.sha256()
        with open(checkpoint, 'rb') as file:
            for block in iter(lambda: file.read(1 << 20), b''):
                digest.update(block)
        return cls(config=osp.basename(config),
                   checkpoint=osp.basename(checkpoint),
                   checkpoint_sha256=digest.hexdigest())

    @property
    def device_uid(self) -> str:
        """A UID of this model, the same on every run and new with every
        checkpoint (from the checkpoint's checksum): the SR's device
        observer and the Device UID of :func:`contributing_equipment`."""
        return generate_uid(entropy_srcs=[self.name, self.checkpoint_sha256])

    def parameters(self) -> List[str]:
        """``key=value`` texts for Algorithm Parameters."""
        return [
            f'config={self.config}', f'checkpoint={self.checkpoint}',
            f'checkpoint_sha256={self.checkpoint_sha256}'
        ]


def contributing_equipment(algorithm: AlgorithmInfo) -> Dataset:
    """The Contributing Equipment Sequence item (PS3.3 C.12.1, SOP Common)
    that says which algorithm made a result, as IHE AIR asks of every AI
    result: Purpose of Reference :data:`PROCESSING_ALGORITHM`, the
    manufacturer, model name and version, and as Device UID
    :attr:`AlgorithmInfo.device_uid`, which changes with the checkpoint; the
    contribution's time and what it was."""
    purpose = Dataset()
    purpose.CodeValue = PROCESSING_ALGORITHM.value
    purpose.CodingSchemeDesignator = PROCESSING_ALGORITHM.scheme_designator
    purpose.CodeMeaning = PROCESSING_ALGORITHM.meaning
    item = Dataset()
    item.PurposeOfReferenceCodeSequence = [purpose]
    item.Manufacturer = MANUFACTURER
    item.ManufacturerModelName = algorithm.name
    item.SoftwareVersions = algorithm.version
    item.DeviceSerialNumber = algorithm.checkpoint_sha256[:16]
    item.DeviceUID = algorithm.device_uid
    item.ContributionDateTime = datetime.datetime.now().astimezone(
    ).strftime('%Y%m%d%H%M%S.%f%z')
    item.ContributionDescription = 'fracture detection by ' + algorithm.name
    return item


def source_header(path: str) -> Dataset:
    """The header of the DICOM image ``path`` (no pixels), with every
    :data:`STUDY_TYPE_2_ATTRIBUTES` it lacks added empty, as the results
    copy it (highdicom copies them from the evidence)."""
    header = pydicom.dcmread(path, stop_before_pixels=True)
    for keyword in STUDY_TYPE_2_ATTRIBUTES:
        if keyword not in header:
            setattr(header, keyword, '')
    return header


def series_laterality(sources: Sequence[Dataset]) -> Optional[str]:
    """Laterality (0020,0060) of a result series, None to leave it out.

    General Series, Type 2C (PS3.3 C.7.3.1): required for a paired body
    part when there is no Image Laterality, which results lack. The side of
    the sources (their Laterality, else their Image Laterality) when they
    share one, R or L; empty when a source sent an empty or differing
    Laterality; None when none did (an unpaired part, Image Laterality U).
    """
    sides = {
        str(source.get('Laterality') or source.get('ImageLaterality') or '')
        for source in sources
    }
    side = sides.pop() if len(sides) == 1 else ''
    if side in ('R', 'L'):
        return side
    if any('Laterality' in source for source in sources):
        return ''
    return None


def save_atomically(ds: Dataset, path: str) -> str:
    """Save ``ds`` as a DICOM Part 10 file at ``path`` (its folder created)
    with :func:`~mmdet_famo.atomic_files.write_atomically`: a reader (a
    DICOM node sending the folder) never sees half a file, and the file is
    on disk before it is queued. Returns ``path``."""
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    return write_atomically(
        path, lambda partial: ds.save_as(partial, enforce_file_format=True))


@dataclass(frozen=True)
class Finding:
    """A box of an image at or above the suspected threshold, not merged
    into a higher-scoring one, as the SR and the presentation state show
    it.

    Args:
        identifier (str): ``image-0001 finding 2``: the image's report name
            and the box's rank in the report (highest score first).
        tracking_uid (str): One UID for the finding in the SR and in the
            presentation state.
        bbox (tuple[float, float, float, float]): x1, y1, x2, y2 in the
            image's pixels (DICOM's pixel space: (0, 0) is the top left
            corner of the top left pixel).
        score (float): The detector's score.
        level (str): 'suspected' or 'definite'.
    """
    identifier: str
    tracking_uid: str
    bbox: Tuple[float, float, float, float]
    score: float
    level: str

    @property
    def polyline(self) -> np.ndarray:
        """The box as a closed polyline of 5 (column, row) points, clockwise
        from its top left corner."""
        x1, y1, x2, y2 = self.bbox
        return np.array([[x1, y1], [x2, y1], [x2, y2], [x1, y2], [x1, y1]])


def image_findings(image: ImagePrediction,
                   points: 'OperatingPoints') -> List[Finding]:
    """The :class:`Finding` of each box of ``image`` at or above the
    suspected threshold and not merged into a higher-scoring one
    (:func:`~.finding_locations.merged_into`), highest score first, each
    with a new tracking UID."""
    shown = finding_mask(image.bboxes, image.scores,
                         points.suspected.threshold)
    findings = []
    for rank, i in enumerate(image.scores.argsort()[::-1], start=1):
        level = points.level_of(float(image.scores[i]))
        if shown[i]:
            findings.append(
                Finding(identifier=f'{image_name(image.index)} finding {rank}',
                        tracking_uid=generate_uid(),
                        bbox=tuple(float(v) for v in image.bboxes[i]),
                        score=float(image.scores[i]),
                        level=level))
    return findings
