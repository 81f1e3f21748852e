"""Inference on new radiographs: files, folders or studies in; boxes with
their levels, verdicts, overlays, DICOM results (structured reports,
presentation states, Secondary Captures) and a JSON report out."""
import functools
import logging
import os
import os.path as osp
import time
from typing import Dict, List, Mapping, Optional, Sequence, Union

import cv2
import numpy as np
from mmengine.fileio import dump
from mmengine.logging import print_log
from pydicom import Dataset
from pydicom.uid import generate_uid

from mmdet_famo.evaluation.operating_points import (OperatingPoints,
                                                    given_operating_points)
from .cases import group_cases
from .dicom_objects import AlgorithmInfo
from .dicom_results import write_dicom_results
from .inputs import InputFailure, find_radiographs
from .overlay import draw_findings
from .predictor import BasePredictor, ImageFailure, ImagePrediction
from .report import REPORT_FILE, build_report, failure_name, image_name
from .secondary_capture import write_secondary_capture

OVERLAY_DIR = 'overlays'
SECONDARY_CAPTURE_DIR = 'secondary_capture'


def infer_radiographs(predictor: BasePredictor,
                      inputs: Sequence[str],
                      out_dir: str,
                      points: Union[OperatingPoints, float],
                      batch_size: int = 1,
                      overlays: bool = True,
                      secondary_capture: bool = False,
                      structured_report: bool = False,
                      presentation_state: bool = False,
                      include_identifiers: bool = False,
                      progress: bool = False,
                      model: Optional[dict] = None,
                      algorithm: Optional[AlgorithmInfo] = None,
                      replaces: Optional[Mapping[str,
                                                 Sequence[Dataset]]] = None
                      ) -> dict:
    """Run ``predictor`` on the radiographs of ``inputs`` and write the
    outputs into ``out_dir``.

    Files are found by :func:`~.inputs.find_radiographs` and grouped into
    cases by :func:`~.cases.group_cases` (StudyInstanceUID, else folder).
    A box scoring at least the suspected threshold of ``points`` is a
    *suspected* finding, at least the definite one a *definite* finding; an
    image reaches the highest level of its boxes, a case the highest of its
    views, and is positive if it reaches one (the metric's rule at each
    point, so each level has the sensitivity and specificity measured
    there). A file that cannot be read, or a DICOM file that is not a
    projection radiograph, is reported with its reason and skipped; the
    others go on. Written:

    - ``report.json``: see :func:`~.report.build_report`; pseudonymous
      unless ``include_identifiers``;
    - ``overlays/image-0001.png``...: the loaded image (after CLAHE) with
      its findings, each level drawn its own way (:func:`~.overlay.
      draw_findings`), if ``overlays``;
    - for cases grouped by StudyInstanceUID, in the source study, each
      kind in a new series per run: ``structured_report/case-0001.dcm``
      (a TID 1500 SR) if ``structured_report``,
      ``presentation_state/case-0001.dcm`` (a GSPS) if
      ``presentation_state`` (see :func:`~.dicom_results.
      write_dicom_results`), and ``secondary_capture/image-0001.dcm``...
      (the overlay as a Secondary Capture) if ``secondary_capture``. They
      copy the patient module: identifiers by construction. The report's
      ``dicom_files`` lists them (:func:`~.dicom_results.
      dicom_result_files`).

    Logged: each failure as its pseudonymous name and reason, never a path.

    Args:
        predictor (BasePredictor): The detector: a
            :class:`~.predictor.RadiographPredictor` (PyTorch) or an
            :class:`~.predictor.OnnxRadiographPredictor` (its export).
        inputs (Sequence[str]): Files and folders.
        out_dir (str): Output folder (created).
        points (OperatingPoints | float): The suspected and definite
            operating points; a number is one threshold for both
            (:func:`~mmdet_famo.evaluation.operating_points.
            given_operating_points`).
        batch_size (int): Images per forward pass. Defaults to 1.
        overlays (bool): Write overlay PNGs. Defaults to True.
        secondary_capture (bool): Write Secondary Captures. Defaults to
            False.
        structured_report (bool): Write an SR per study. Defaults to False.
        presentation_state (bool): Write presentation states per study.
            Defaults to False.
        include_identifiers (bool): Put identifiers in the report. Defaults
            to False.
        progress (bool): Show a progress bar. Defaults to False.
        model (dict, optional): Config and checkpoint names for the report.
        algorithm (AlgorithmInfo, optional): The model's identity for the
            DICOM results; by default from ``model``'s config and
            checkpoint files, or from the predictor's.
        replaces (Mapping[str, Sequence[Dataset]], optional): Per
            StudyInstanceUID, earlier SRs that the study's new SR replaces
            (:func:`~.dicom_results.write_dicom_results`).

    Returns:
        dict: The report.
    """
    if not isinstance(points, OperatingPoints):
        points = given_operating_points(points, source='given')
    study_results = [
        kind for kind, wanted in (('structured_report', structured_report),
                                  ('presentation_state', presentation_state))
        if wanted
    ]
    if (study_results or secondary_capture) and algorithm is None:
        algorithm = algorithm_of(predictor)
    os.makedirs(out_dir, exist_ok=True)
    start = time.perf_counter()
    files, input_failures = find_radiographs(inputs)
    failures: List[Union[ImageFailure, InputFailure]] = list(input_failures)
    predictions: List[ImagePrediction] = []
    outputs: Dict[int, Dict[str, str]] = {}
    writer = _OutputWriter(out_dir, points, overlays, secondary_capture,
                           algorithm)
    for result in predictor(files, batch_size, progress):
        if isinstance(result, ImageFailure):
            failures.append(result)
        else:
            outputs[result.index] = writer(result)
            result.image = None
            predictions.append(result)
    for failure in failures:
        print_log(f'{failure_name(failure)} skipped: {failure.reason}',
                  logger='current',
                  level=logging.WARNING)
    cases = group_cases(predictions)
    study_outputs = write_dicom_results(cases, out_dir, points, algorithm,
                                        study_results,
                                        replaces) if study_results else {}
    report = build_report(cases,
                          failures,
                          points,
                          outputs,
                          study_outputs,
                          seconds=time.perf_counter() - start,
                          include_identifiers=include_identifiers,
                          model=model)
    dump(report, osp.join(out_dir, REPORT_FILE), indent=2)
    return report


def algorithm_of(predictor: BasePredictor) -> AlgorithmInfo:
    """The identity of ``predictor``'s model; its checksum is computed once
    per checkpoint file version (a node runs many studies). An exported
    model is identified by the config and checkpoint it was exported from
    (its metadata), as the PyTorch model they make: the same algorithm,
    whichever backend runs it."""
    if predictor.model_info is not None:
        info = predictor.model_info
        return AlgorithmInfo(config=info.config_name,
                             checkpoint=info.checkpoint,
                             checkpoint_sha256=info.checkpoint_sha256)
    stat = os.stat(predictor.checkpoint)
    return _algorithm(predictor.config_name, osp.abspath(predictor.checkpoint),
                      stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=8)
def _algorithm(config_name: str, checkpoint: str, size: int,
               mtime_ns: int) -> AlgorithmInfo:
    return AlgorithmInfo.from_files(config_name, checkpoint)


class _OutputWriter:
    """Writes an image's overlay and Secondary Capture; returns their paths
    relative to the output folder."""

    def __init__(self, out_dir: str, points: OperatingPoints, overlays: bool,
                 secondary_capture: bool,
                 algorithm: Optional[AlgorithmInfo]) -> None:
        self.out_dir = out_dir
        self.algorithm = algorithm
        self.points = points
        self.overlays = overlays
        self.secondary_capture = secondary_capture
        self.series: Dict[str, List] = {}  # study UID -> [series UID, count]

    def __call__(self, image: ImagePrediction) -> Dict[str, str]:
        if not (self.overlays or self.secondary_capture):
            return {}
        overlay = draw_findings(image.image, image.bboxes, image.scores,
                                self.points)
        written = {}
        name = image_name(image.index)
        if self.overlays:
            written['overlay'] = osp.join(OVERLAY_DIR, f'{name}.png')
            write_png(overlay, osp.join(self.out_dir, written['overlay']))
        study_uid = image.radiograph_meta.get('study_instance_uid')
        if self.secondary_capture and study_uid:
            series = self.series.setdefault(study_uid, [generate_uid(), 0])
            series[1] += 1
            written['secondary_capture'] = osp.join(SECONDARY_CAPTURE_DIR,
                                                    f'{name}.dcm')
            write_secondary_capture(
                osp.join(self.out_dir, written['secondary_capture']),
                cv2.cvtColor(overlay, cv2.COLOR_BGR2RGB),
                image.path,
                series_instance_uid=series[0],
                instance_number=series[1],
                description='fracture detector findings: suspected >= '
                f'{self.points.suspected.threshold:.4g}, definite >= '
                f'{self.points.definite.threshold:.4g}',
                algorithm=self.algorithm)
        return written


def write_png(image: np.ndarray, path: str) -> None:
    """Write ``image`` (BGR) as the PNG file ``path``, its folder created;
    ``OSError`` naming the file if it cannot be."""
    os.makedirs(osp.dirname(path) or '.', exist_ok=True)
    encoded, data = cv2.imencode('.png', image)
    if not encoded:
        raise OSError(f'cannot encode {path} as PNG')
    with open(path, 'wb') as file:
        file.write(data.tobytes())
