"""The JSON report of an inference run, pseudonymous unless asked.

Without ``include_identifiers`` the report names images by their position in
the input list (``image-0003``: the third file found, folders searched in
sorted order) and cases by their order of appearance (``case-0001``); it
holds no path, file name, UID, patient name or ID, birth date, accession
number or study date. With it, each case adds its StudyInstanceUID (or
folder), patient ID and name, birth date, accession number and study date,
each image its path and series and SOP instance UIDs, each failure its path.
"""
import os.path as osp
from dataclasses import asdict
from typing import Dict, List, Optional, Sequence, Union

import pydicom

from mmdet_famo.datasets.radiograph_reader import is_dicom
from mmdet_famo.evaluation.operating_points import OperatingPoints
from .cases import Case
from .finding_locations import merged_into
from .inputs import InputFailure
from .predictor import ImageFailure, ImagePrediction

REPORT_FILE = 'report.json'
#: Finding levels, lowest first (None: below the suspected threshold).
LEVEL_RANK = (None, 'suspected', 'definite')
VERDICT_RULE = (
    'a box scoring >= the suspected threshold is a suspected finding, '
    '>= the definite threshold a definite one, unless at least half of the '
    'smaller of it and a higher-scoring finding lies in both: then it is '
    'merged into that finding (merged_into: its rank among the boxes); '
    'an image reaches the highest '
    'level of its boxes, a case the highest of its views; an image or case '
    'is positive if it reaches a level')
BBOX_FORMAT = 'x1, y1, x2, y2 in original image pixels'
#: ``radiograph_meta`` facts that identify nobody, reported always.
IMAGE_FACTS = ('modality', 'body_part_examined', 'view_position', 'laterality',
               'photometric_interpretation', 'pixel_spacing',
               'imager_pixel_spacing')
#: Report key -> DICOM keyword, reported only with identifiers.
CASE_IDENTIFIERS = {
    'patient_id': 'PatientID',
    'patient_name': 'PatientName',
    'patient_birth_date': 'PatientBirthDate',
    'accession_number': 'AccessionNumber',
    'study_date': 'StudyDate',
}
IMAGE_IDENTIFIERS = {
    'series_instance_uid': 'SeriesInstanceUID',
    'sop_instance_uid': 'SOPInstanceUID',
}


def image_name(index: int) -> str:
    """The pseudonymous name of the ``index``-th input file."""
    return f'image-{index:04d}'


def case_name(number: int) -> str:
    """The pseudonymous name of the ``number``-th case."""
    return f'case-{number:04d}'


def failure_name(failure: Union[ImageFailure, InputFailure]) -> str:
    """The pseudonymous name of a failed file or input argument."""
    if isinstance(failure, InputFailure):
        return f'argument-{failure.argument}'
    return image_name(failure.index)


def highest_level(levels: Sequence[Optional[str]]) -> Optional[str]:
    """The highest of ``levels`` ('definite' > 'suspected' > None): the
    level of an image from its boxes, of a case from its views."""
    return max(levels, key=LEVEL_RANK.index, default=None)


def build_report(cases: Sequence[Case],
                 failures: Sequence[Union[ImageFailure, InputFailure]],
                 points: OperatingPoints,
                 outputs: Dict[int, Dict[str, str]],
                 study_outputs: Dict[int, Dict[str, List[str]]],
                 seconds: float,
                 include_identifiers: bool = False,
                 model: Optional[dict] = None) -> dict:
    """The run's report.

    Args:
        cases (Sequence[Case]): The cases with their images.
        failures (Sequence[ImageFailure | InputFailure]): What failed.
        points (OperatingPoints): The suspected and definite points (their
            sources are not identifiers).
        outputs (dict[int, dict[str, str]]): Per image index, the files
            written for it (``overlay``, ``secondary_capture``), relative to
            the output folder.
        study_outputs (dict[int, dict[str, list[str]]]): Per case number,
            its ``structured_report`` and ``presentation_state`` files.
        seconds (float): Wall time of the run.
        include_identifiers (bool): Add the identifiers (see the module).
        model (dict, optional): Config and checkpoint, as given.

    Returns:
        dict: The report (see README, "Inference").
    """
    num_images = sum(len(case.images) for case in cases)
    num_files = num_images + sum(
        isinstance(failure, ImageFailure) for failure in failures)
    case_entries = [
        _case_entry(case, number, points, outputs,
                    study_outputs.get(number, {}), include_identifiers)
        for number, case in enumerate(cases, start=1)
    ]
    return dict(
        model=model or {},
        threshold=dict(value=points.definite.threshold,
                       source=points.definite.source),
        operating_points={point.level: asdict(point)
                          for point in points},
        verdict_rule=VERDICT_RULE,
        bbox_format=BBOX_FORMAT,
        identifiers_included=include_identifiers,
        summary=dict(images=num_images,
                     cases=len(cases),
                     positive_images=sum(image['positive']
                                         for case in case_entries
                                         for image in case['images']),
                     positive_cases=sum(case['positive']
                                        for case in case_entries),
                     definite_images=sum(image['level'] == 'definite'
                                         for case in case_entries
                                         for image in case['images']),
                     definite_cases=sum(case['level'] == 'definite'
                                        for case in case_entries),
                     failures=len(failures),
                     seconds=seconds,
                     seconds_per_image=seconds / max(num_files, 1)),
        cases=case_entries,
        dicom_files=[
            path for case in case_entries
            for kind in ('structured_report', 'presentation_state')
            for path in case.get(kind, [])
        ] + [
            image['secondary_capture'] for case in case_entries
            for image in case['images'] if 'secondary_capture' in image
        ],
        failures=[
            _failure_entry(failure, include_identifiers)
            for failure in failures
        ])


def format_summary(summary: dict) -> str:
    """One line for the console; counts only."""
    return (f"{summary['images']} images in {summary['cases']} cases: "
            f"{summary['positive_images']} positive images "
            f"({summary['definite_images']} definite), "
            f"{summary['positive_cases']} positive cases "
            f"({summary['definite_cases']} definite), "
            f"{summary['failures']} failures, "
            f"{summary['seconds_per_image']:.3f} s per image")


def _case_entry(case: Case, number: int, points: OperatingPoints,
                outputs: Dict[int, Dict[str, str]],
                study_outputs: Dict[str, List[str]],
                include_identifiers: bool) -> dict:
    images = [
        _image_entry(image, points, outputs.get(image.index, {}),
                     include_identifiers) for image in case.images
    ]
    level = highest_level([image['level'] for image in images])
    entry = dict(case=case_name(number),
                 grouped_by=case.grouped_by,
                 positive=level is not None,
                 level=level,
                 score=case.score,
                 num_images=len(case.images),
                 **study_outputs)
    if include_identifiers:
        entry['study'] = case.study
        entry.update(_dicom_identifiers(case.images[0].path, CASE_IDENTIFIERS))
    entry['images'] = images
    return entry


def _image_entry(image: ImagePrediction, points: OperatingPoints,
                 outputs: Dict[str, str], include_identifiers: bool) -> dict:
    order = image.scores.argsort()[::-1]
    rank_of = {int(i): rank for rank, i in enumerate(order, start=1)}
    levels = [points.level_of(float(score)) for score in image.scores]
    level = highest_level(levels)
    merged = merged_into(image.bboxes, image.scores,
                         points.suspected.threshold)
    entry = dict(
        image=image_name(image.index),
        positive=level is not None,
        level=level,
        score=image.score,
        num_findings=int(
            sum(box_level is not None and into < 0
                for box_level, into in zip(levels, merged))),
        height=image.height,
        width=image.width,
        **{fact: image.radiograph_meta.get(fact)
           for fact in IMAGE_FACTS},
        boxes=[
            dict(bbox=[round(float(v), 2) for v in image.bboxes[i]],
                 score=float(image.scores[i]),
                 level=levels[i],
                 merged_into=rank_of.get(int(merged[i]))) for i in order
        ],
        **outputs)
    if include_identifiers:
        entry['path'] = osp.abspath(image.path)
        entry.update(_dicom_identifiers(image.path, IMAGE_IDENTIFIERS))
    return entry


def _failure_entry(failure: Union[ImageFailure, InputFailure],
                   include_identifiers: bool) -> dict:
    entry = dict(input=failure_name(failure), reason=failure.reason)
    if include_identifiers:
        entry['path'] = failure.path
    return entry


def _dicom_identifiers(path: str, keywords: Dict[str, str]) -> dict:
    """``keywords``' values in the DICOM file ``path`` (None where absent or
    not DICOM)."""
    source = pydicom.dcmread(
        path, stop_before_pixels=True) if is_dicom(path) else {}
    return {
        key: str(source[keyword].value) if keyword in source else None
        for key, keyword in keywords.items()
    }
