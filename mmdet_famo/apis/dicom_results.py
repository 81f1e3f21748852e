"""Write the DICOM results of finished cases: a structured report and
presentation states per study, into the study they came from.

A DICOM node (``tools/dicom_node.py``) sends these files back to the PACS;
:func:`dicom_result_files` lists what an inference run wrote.
"""
import logging
import os.path as osp
from typing import Dict, List, Sequence

from mmengine.logging import print_log
from pydicom.uid import generate_uid

from mmdet_famo.evaluation.operating_points import OperatingPoints
from .cases import Case
from .dicom_objects import (AlgorithmInfo, image_findings, save_atomically,
                            source_header)
from .presentation_state import build_presentation_state, display_groups
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
    which: Sequence[str] = STUDY_RESULTS
) -> Dict[int, Dict[str, List[str]]]:
    """Write the SR and presentation states of each DICOM study.

    Cases grouped by StudyInstanceUID get, in a new series per kind and run:
    ``structured_report/case-0001.dcm`` (:mod:`.structured_report`) and
    ``presentation_state/case-0001.dcm`` (:mod:`.presentation_state`; a study
    whose views differ in Photometric Interpretation or rescaling gets one
    per group of views, ``case-0001-2.dcm``...; a group without findings,
    none). A case grouped by folder
    (PNG, JPEG, DICOM without StudyInstanceUID) gets none, nor a case with an
    image lacking its SOP Class or Instance UID (it cannot be referenced;
    logged by name). Each file is written atomically.

    Args:
        cases (Sequence[Case]): The cases, in report order (``case-0001`` is
            the first).
        out_dir (str): The run's output folder.
        points (OperatingPoints): The suspected and definite points.
        algorithm (AlgorithmInfo): The model's identity.
        which (Sequence[str]): Kinds to write, of :data:`STUDY_RESULTS`.

    Returns:
        dict[int, dict[str, list[str]]]: Per case number, per kind, the
        files written, relative to ``out_dir``.
    """
    unknown = set(which) - set(STUDY_RESULTS)
    if unknown:
        raise ValueError(f'unknown DICOM results {sorted(unknown)}; choose '
                         f'from {STUDY_RESULTS}')
    series = {kind: generate_uid() for kind in which}
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
        outputs = written.setdefault(number, {})
        if 'structured_report' in which:
            path = osp.join(STRUCTURED_REPORT_DIR, f'{case_name(number)}.dcm')
            save_atomically(
                build_structured_report(
                    case,
                    case_name(number),
                    sources,
                    findings,
                    points,
                    algorithm,
                    series_instance_uid=series['structured_report']),
                osp.join(out_dir, path))
            outputs['structured_report'] = [path]
        if 'presentation_state' in which:
            outputs['presentation_state'] = []
            groups = [
                group for group in display_groups(sources)
                if any(findings[i] for i in group)  # else nothing to show
            ]
            for part, group in enumerate(groups, start=1):
                suffix = '' if part == 1 else f'-{part}'
                path = osp.join(PRESENTATION_STATE_DIR,
                                f'{case_name(number)}{suffix}.dcm')
                save_atomically(
                    build_presentation_state(
                        [sources[i] for i in group],
                        [findings[i] for i in group],
                        algorithm,
                        series_instance_uid=series['presentation_state'],
                        instance_number=part), osp.join(out_dir, path))
                outputs['presentation_state'].append(path)
    return written


def dicom_result_files(report: dict, out_dir: str) -> List[str]:
    """Every DICOM file an inference run wrote (its ``report['dicom_files']``),
    as absolute paths: per case its SR, presentation states and Secondary
    Captures."""
    return [
        osp.abspath(osp.join(out_dir, path))
        for path in report.get('dicom_files', [])
    ]
