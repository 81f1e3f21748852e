"""The findings of one study as a DICOM Structured Report, TID 1500
(Measurement Report), written with highdicom.

A PACS or viewer reads the boxes, scores and levels from it, not pixels.
Content, under the report's Imaging Measurements:

- one **Planar ROI group** (TID 1410) per finding, i.e. per box scoring at
  least the suspected threshold: its box as a closed SCOORD POLYLINE of 5
  points on its source image; Finding Type SNOMED CT 125605004 "Fracture of
  bone (disorder)" (the root concept of SNOMED's fractures, SNOMED
  International's template "Fracture of [bone structure] (disorder)");
  the detector's score as the measurement DCM 111012 "Certainty of
  Finding", unit UCUM "1" (no units; the raw score in [0, 1], not a
  calibrated probability); its level as a qualitative evaluation
  (:data:`LEVEL_CODES`); and a tracking identifier ``image-0001 finding 2``
  (the image's report name and the box's rank in the report, highest score
  first) with a tracking UID shared with the presentation state;
- one **image group** (TID 1501) per view and one for the case: Finding Type
  "Fracture of bone", qualitative evaluations SNOMED CT 52101004 "Present"
  or 272519000 "Absent" (the verdict at the suspected point: of the group's
  finding, a fracture) and the level reached, the image or case score as
  "Certainty of Finding", tracking identifiers ``image-0001`` and
  ``case-0001`` (the report's names); the image group references its image;
- in each group, the Algorithm Identification (TID 4019): name, package
  version, and as parameters the config, checkpoint, its SHA-256 and both
  operating points with their method and source. (TID 4019 has no
  manufacturer row in the edition PixelMed's validator knows: the
  manufacturer is in the observer context and in Contributing Equipment.)

Qualitative evaluations are the rows TID 1410 and 1501 allow for them:
concept name :data:`QUALITATIVE_EVALUATION` (UMLS C0034375 "Qualitative
Evaluations"), value the coded evaluation. Levels have no code in DICOM or
SNOMED CT that says "at the high-sensitivity / high-specificity operating
point", so their values use the local coding scheme :data:`CODING_SCHEME`
(declared in the Coding Scheme Identification Sequence), with meanings that
name the level (``Definite fracture``). Procedure Reported is SNOMED CT
363679005 "Imaging procedure", the member of its context group (CID 100,
Quantitative Diagnostic Imaging Procedures) that covers a radiograph: the
group has no plain-radiography code, and PixelMed's validator refuses
codes outside it; the evidence's SOP classes say the modality.

For IHE AI Results (AIR) the document is UNVERIFIED (Verification Flag: no
person has checked it) and carries the Contributing Equipment item of
:func:`~.dicom_objects.contributing_equipment`.

Coordinates: DICOM's SCOORD pixel space, where (0, 0) is the top left
corner of the top left pixel and (Columns, Rows) the bottom right corner of
the bottom right one (PS3.3 C.18.6.1.2). That is
MMDetection's box convention (a box [x1, y1, x2, y2] spans pixels x1 to
x2 - 1; its horizontal flip is ``W - x2``, ``HorizontalBoxes.flip_``), so
(column, row) = (x, y) without offset. (highdicom's spatial transforms index
pixel *centres* from (0, 0); they are not used here: the graphic data is
stored as given.) Scores are stored as Floating Point Value too, so they
read back exactly.

The SR has the source study's Patient and Study modules (by construction:
it goes into that study), a new series and the SOP Instance UIDs of its
images; write it only where the user asked for DICOM output.
"""
from typing import TYPE_CHECKING, List, Optional, Sequence

import highdicom as hd
from highdicom.coding_schemes import CodingSchemeIdentificationItem
from pydicom import Dataset
from pydicom.sr.codedict import codes
from pydicom.sr.coding import Code
from pydicom.uid import generate_uid

from .cases import Case
from .dicom_objects import (IHE_CODING_SCHEME, MANUFACTURER, MODEL_NAME,
                            STRUCTURED_REPORT_SERIES_NUMBER, AlgorithmInfo,
                            Finding, contributing_equipment)
from .report import highest_level, image_name

if TYPE_CHECKING:
    from mmdet_famo.evaluation.operating_points import OperatingPoints

#: The local coding scheme of the levels (PS3.3 8.2: local designators
#: start with "99").
CODING_SCHEME = '99MMDETFAMO'
FRACTURE = Code('125605004', 'SCT', 'Fracture of bone')
SCORE = codes.DCM.CertaintyOfFinding
SCORE_UNIT = codes.UCUM.NoUnits
PRESENT = codes.SCT.Present
ABSENT = codes.SCT.Absent
#: The concept name of a coded qualitative evaluation in TID 1410 and 1501.
QUALITATIVE_EVALUATION = Code('C0034375', 'UMLS', 'Qualitative Evaluations')
#: What the report is about: CID 100's imaging procedure (see the module).
PROCEDURE_REPORTED = codes.SCT.ImagingProcedure
#: Level -> its coded value; None: no box reached the suspected point.
LEVEL_CODES = {
    'definite': Code('DEFINITE', CODING_SCHEME, 'Definite fracture'),
    'suspected': Code('SUSPECTED', CODING_SCHEME, 'Suspected fracture'),
    None: Code('NONE', CODING_SCHEME, 'No fracture finding'),
}


def algorithm_identification(
        algorithm: AlgorithmInfo,
        points: 'OperatingPoints') -> hd.sr.AlgorithmIdentification:
    """TID 4019 for ``algorithm`` with both operating points as parameters
    (``suspected_threshold=0.31 (sensitivity 0.95; validation set...)``)."""
    parameters = algorithm.parameters()
    for point in (points.suspected, points.definite):
        method = point.method if point.target is None else \
            f'{point.method} {point.target:g}'
        parameters.append(f'{point.level}_threshold={point.threshold!r} '
                          f'({method}; {point.source})')
    return hd.sr.AlgorithmIdentification(name=algorithm.name,
                                         version=algorithm.version,
                                         parameters=parameters)


def _score(value: float) -> hd.sr.Measurement:
    return hd.sr.Measurement(name=SCORE, value=float(value), unit=SCORE_UNIT)


def _evaluation(value: Code) -> hd.sr.QualitativeEvaluation:
    return hd.sr.QualitativeEvaluation(QUALITATIVE_EVALUATION, value)


def _verdict(level: Optional[str]) -> List[hd.sr.QualitativeEvaluation]:
    return [
        _evaluation(PRESENT if level else ABSENT),
        _evaluation(LEVEL_CODES[level]),
    ]


def _finding_group(
    finding: Finding, source: Dataset,
    algorithm_id: hd.sr.AlgorithmIdentification
) -> hd.sr.PlanarROIMeasurementsAndQualitativeEvaluations:
    """The TID 1410 group of one finding on the image ``source``."""
    region = hd.sr.ImageRegion(
        graphic_type=hd.sr.GraphicTypeValues.POLYLINE,
        graphic_data=finding.polyline,
        source_image=hd.sr.SourceImageForRegion(source.SOPClassUID,
                                                source.SOPInstanceUID))
    return hd.sr.PlanarROIMeasurementsAndQualitativeEvaluations(
        tracking_identifier=hd.sr.TrackingIdentifier(
            uid=finding.tracking_uid, identifier=finding.identifier),
        referenced_region=region,
        finding_type=FRACTURE,
        algorithm_id=algorithm_id,
        measurements=[_score(finding.score)],
        qualitative_evaluations=[_evaluation(LEVEL_CODES[finding.level])])


def build_structured_report(case: Case,
                            case_label: str,
                            sources: Sequence[Dataset],
                            findings: Sequence[Sequence[Finding]],
                            points: 'OperatingPoints',
                            algorithm: AlgorithmInfo,
                            series_instance_uid: Optional[str] = None,
                            sop_instance_uid: Optional[str] = None,
                            instance_number: int = 1,
                            replaces: Sequence[Dataset] = ()
                            ) -> hd.sr.ComprehensiveSR:
    """The Comprehensive SR of ``case``'s findings (see the module).

    Args:
        case (Case): A case grouped by StudyInstanceUID, with its boxes.
        case_label (str): Its report name (``case-0001``).
        sources (Sequence[Dataset]): The headers of its images, in the
            order of ``case.images``.
        findings (Sequence[Sequence[Finding]]): The findings of each image
            (:func:`~.dicom_objects.image_findings`), in that order.
        points (OperatingPoints): The suspected and definite points.
        algorithm (AlgorithmInfo): The model's identity.
        series_instance_uid (str, optional): Defaults to a new UID.
        sop_instance_uid (str, optional): Defaults to a new UID.
        instance_number (int): In its series. Defaults to 1.
        replaces (Sequence[Dataset]): Earlier SRs of the study that this
            one replaces (their SOP Class, SOP Instance, Series and Study
            UIDs suffice): listed in its Predecessor Documents Sequence
            (PS3.3 C.17.2.1), so that a viewer shows the new version in
            their place. Defaults to none.

    Returns:
        highdicom.sr.ComprehensiveSR: The SR, not yet saved.
    """
    algorithm_id = algorithm_identification(algorithm, points)
    groups: list = []
    levels = []
    for image, source, found in zip(case.images, sources, findings):
        groups.extend(
            _finding_group(finding, source, algorithm_id)
            for finding in found)
        level = highest_level([finding.level for finding in found])
        levels.append(level)
        groups.append(
            hd.sr.MeasurementsAndQualitativeEvaluations(
                tracking_identifier=hd.sr.TrackingIdentifier(
                    uid=generate_uid(), identifier=image_name(image.index)),
                finding_type=FRACTURE,
                algorithm_id=algorithm_id,
                measurements=[_score(image.score)],
                qualitative_evaluations=_verdict(level),
                source_images=[
                    hd.sr.SourceImageForMeasurementGroup(
                        source.SOPClassUID, source.SOPInstanceUID)
                ]))
    groups.append(
        hd.sr.MeasurementsAndQualitativeEvaluations(
            tracking_identifier=hd.sr.TrackingIdentifier(
                uid=generate_uid(), identifier=case_label),
            finding_type=FRACTURE,
            algorithm_id=algorithm_id,
            measurements=[_score(case.score)],
            qualitative_evaluations=_verdict(highest_level(levels))))
    observer = hd.sr.ObserverContext(
        observer_type=codes.DCM.Device,
        observer_identifying_attributes=hd.sr.
        DeviceObserverIdentifyingAttributes(uid=algorithm.device_uid,
                                            name=algorithm.name,
                                            manufacturer_name=MANUFACTURER,
                                            model_name=MODEL_NAME))
    content = hd.sr.MeasurementReport(
        observation_context=hd.sr.ObservationContext(
            observer_device_context=observer),
        procedure_reported=PROCEDURE_REPORTED,
        imaging_measurements=groups)
    report = hd.sr.ComprehensiveSR(
        evidence=list(sources),
        content=content[0],
        series_instance_uid=series_instance_uid or generate_uid(),
        series_number=STRUCTURED_REPORT_SERIES_NUMBER,
        sop_instance_uid=sop_instance_uid or generate_uid(),
        instance_number=instance_number,
        previous_versions=list(replaces) or None,
        manufacturer=MANUFACTURER,
        is_complete=True,
        is_verified=False,
        series_description='mmdet-famo fracture findings (SR)',
        manufacturer_model_name=MODEL_NAME,
        software_versions=algorithm.version,
        coding_schemes=[
            CodingSchemeIdentificationItem(
                designator=CODING_SCHEME,
                name='mmdet-famo fracture finding levels',
                responsible_organization='mmdet-famo'),
            CodingSchemeIdentificationItem(**IHE_CODING_SCHEME)
        ])
    report.ContributingEquipmentSequence = [contributing_equipment(algorithm)]
    return report
