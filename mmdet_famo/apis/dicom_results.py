"""Write the DICOM results of finished cases: a structured report and
presentation states per study, into the study they came from.

A DICOM node (``tools/dicom_node.py``) sends these files back to the PACS;
:func:`dicom_result_files` lists what an inference run wrote.
"""
import functools
import logging
import os.path as osp
from typing import Dict, List, Mapping, Optional, Sequence

from mmengine.logging import print_log
from pydicom import Dataset
from pydicom.uid import generate_uid

from mmdet_famo.evaluation.operating_points import OperatingPoints
from .cases import Case
from .dicom_objects import (AlgorithmInfo, image_findings, save_atomically,
                            source_header)
from .presentation_state import build_presentation_state, display_groups
from .private_logging import (identifiers_kept_out_of_logs, identifying_values,
                              scrub)
from .report import case_name, image_name
from .structured_report import build_structured_report

STRUCTURED_REPORT_DIR = 'structured_report'
PRESENTATION_STATE_DIR = 'presentation_state'
#: The kinds of study results, as ``which`` names them.
STUDY_RESULTS = ('structured_report', 'presentation_state')


def write_dicom_results(
    cases: Sequence[Case],
    out_dir: str,
    points: OperatingPoints,
    algorithm: AlgorithmInfo,
    which: Sequence[str] = STUDY_RESULTS,
    replaces: Optional[Mapping[str, Sequence[Dataset]]] = None
) -> Dict[int, Dict[str, List[str]]]:
    """Write the SR and presentation states of each DICOM study.

    Cases grouped by StudyInstanceUID get, each in a series of its own per
    kind (a series belongs to one study, PS3.3 C.7.3; instance numbers count
    within it): ``structured_report/case-0001.dcm``
    (:mod:`.structured_report`) and ``presentation_state/case-0001.dcm``
    (:mod:`.presentation_state`; a study whose views differ in size,
    Photometric Interpretation or rescaling gets one per group of views,
    ``case-0001-2.dcm``...; a group without findings, none). A case grouped
    by folder (PNG, JPEG, DICOM without StudyInstanceUID) gets none, nor a
    case with an image lacking its SOP Class or Instance UID (it cannot be
    referenced; logged by name). Each file is written atomically.

    One object that cannot be built loses no other: the error is logged
    (its type and message, without identifiers) and listed in the case's
    ``dicom_errors``, and the case's other objects are written. Warnings
    that highdicom and pydicom raise about the sources' values are logged
    without the values (:mod:`.private_logging`).

    Args:
        cases (Sequence[Case]): The cases, in report order (``case-0001`` is
            the first).
        out_dir (str): The run's output folder.
        points (OperatingPoints): The suspected and definite points.
        algorithm (AlgorithmInfo): The model's identity.
        which (Sequence[str]): Kinds to write, of :data:`STUDY_RESULTS`.
        replaces (Mapping[str, Sequence[Dataset]], optional): Per
            StudyInstanceUID, the earlier SRs that the study's new SR
            replaces (a study that came in pieces, run again with its late
            images: :func:`~.structured_report.build_structured_report`).

    Returns:
        dict[int, dict[str, list[str]]]: Per case number, per kind, the
        files written, relative to ``out_dir``, and under ``dicom_errors``
        what could not be written and why.
    """
    unknown = set(which) - set(STUDY_RESULTS)
    if unknown:
        raise ValueError(f'unknown DICOM results {sorted(unknown)}; choose '
                         f'from {STUDY_RESULTS}')
    written: Dict[int, Dict[str, List[str]]] = {}
    for number, case in enumerate(cases, start=1):
        if case.grouped_by != 'StudyInstanceUID' or not which:
            continue
        sources = [source_header(image.path) for image in case.images]
        missing = [
            image_name(image.index)
            for image, source in zip(case.images, sources)
            if not (source.get('SOPClassUID') and source.get('SOPInstanceUID'))
        ]
        if missing:
            print_log(f'{case_name(number)}: no SR or presentation state: '
                      f'{", ".join(missing)} lack a SOP Class or Instance UID',
                      logger='current',
                      level=logging.WARNING)
            continue
        findings = [image_findings(image, points) for image in case.images]
        objects = []  # (kind, path, builder) in the order written
        name = case_name(number)
        if 'structured_report' in which:
            objects.append(
                ('structured_report',
                 osp.join(STRUCTURED_REPORT_DIR, f'{name}.dcm'),
                 functools.partial(build_structured_report,
                                   case,
                                   name,
                                   sources,
                                   findings,
                                   points,
                                   algorithm,
                                   replaces=(replaces or {}).get(
                                       sources[0].StudyInstanceUID, ()))))
        if 'presentation_state' in which:
            groups = [
                group for group in display_groups(sources)
                if any(findings[i] for i in group)  # else nothing to show
            ]
            for part, group in enumerate(groups, start=1):
                suffix = '' if part == 1 else f'-{part}'
                objects.append(
                    ('presentation_state',
                     osp.join(PRESENTATION_STATE_DIR, f'{name}{suffix}.dcm'),
                     functools.partial(build_presentation_state,
                                       [sources[i] for i in group],
                                       [findings[i] for i in group],
                                       algorithm)))
        outputs = written[number] = {kind: [] for kind in which}
        series = {kind: generate_uid() for kind in which}  # this study's
        for kind, path, build in objects:
            files = outputs[kind]
            try:
                with identifiers_kept_out_of_logs(sources, path):
                    save_atomically(
                        build(series_instance_uid=series[kind],
                              instance_number=len(files) + 1),
                        osp.join(out_dir, path))
            except Exception as error:  # the study's other results go on
                reason = (f'{path} not written: '
                          f'{type(error).__name__}: '
                          f'{scrub(str(error), identifying_values(sources))}')
                print_log(f'{name}: {reason}',
                          logger='current',
                          level=logging.ERROR)
                outputs.setdefault('dicom_errors', []).append(reason)
                continue
            files.append(path)
    return written


def dicom_result_files(report: dict, out_dir: str) -> List[str]:
    """Every DICOM file an inference run wrote (its ``report['dicom_files']``),
    as absolute paths: per case its SR, presentation states and Secondary
    Captures."""
    return [
        osp.abspath(osp.join(out_dir, path))
        for path in report.get('dicom_files', [])
    ]
