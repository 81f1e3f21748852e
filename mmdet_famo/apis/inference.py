"""Inference on new radiographs: files, folders or studies in; boxes,
verdicts, overlays, DICOM Secondary Captures and a JSON report out."""
import logging
import math
import os
import os.path as osp
import time
from typing import Dict, List, Optional, Sequence, Union

import mmcv
from mmengine.fileio import dump
from mmengine.logging import print_log
from pydicom.uid import generate_uid

from .cases import group_cases
from .inputs import InputFailure, find_radiographs
from .overlay import draw_findings
from .predictor import ImageFailure, ImagePrediction, RadiographPredictor
from .report import REPORT_FILE, build_report, failure_name, image_name
from .secondary_capture import write_secondary_capture

OVERLAY_DIR = 'overlays'
SECONDARY_CAPTURE_DIR = 'secondary_capture'


def infer_radiographs(predictor: RadiographPredictor,
                      inputs: Sequence[str],
                      out_dir: str,
                      threshold: float,
                      threshold_source: str = 'given',
                      batch_size: int = 1,
                      overlays: bool = True,
                      secondary_capture: bool = False,
                      include_identifiers: bool = False,
                      progress: bool = False,
                      model: Optional[dict] = None) -> dict:
    """Run ``predictor`` on the radiographs of ``inputs`` and write the
    outputs into ``out_dir``.

    Files are found by :func:`~.inputs.find_radiographs` and grouped into
    cases by :func:`~.cases.group_cases` (StudyInstanceUID, else folder). An
    image is positive if one of its boxes scores at least ``threshold``, a
    case if any of its views is (the metric's rule, so the verdicts have the
    sensitivity and specificity it measured at that threshold). A file that
    cannot be read is reported with its reason and skipped; the others go
    on. Written:

    - ``report.json``: see :func:`~.report.build_report`; pseudonymous
      unless ``include_identifiers``;
    - ``overlays/image-0001.png``...: the loaded image (after CLAHE) with the
      boxes at or above the threshold, if ``overlays``;
    - ``secondary_capture/image-0001.dcm``...: the overlay as a DICOM
      Secondary Capture in the source study (new series per study and run),
      for DICOM sources with a StudyInstanceUID, if ``secondary_capture``.
      It copies the patient module: identifiers by construction.

    Logged: each failure as its pseudonymous name and reason, never a path.

    Args:
        predictor (RadiographPredictor): The detector.
        inputs (Sequence[str]): Files and folders.
        out_dir (str): Output folder (created).
        threshold (float): Operating threshold, finite.
        threshold_source (str): Where it came from, for the report.
        batch_size (int): Images per forward pass. Defaults to 1.
        overlays (bool): Write overlay PNGs. Defaults to True.
        secondary_capture (bool): Write Secondary Captures. Defaults to
            False.
        include_identifiers (bool): Put identifiers in the report. Defaults
            to False.
        progress (bool): Show a progress bar. Defaults to False.
        model (dict, optional): Config and checkpoint names for the report.

    Returns:
        dict: The report.
    """
    if not math.isfinite(threshold):
        raise ValueError(f'threshold must be a finite number, got {threshold}')
    os.makedirs(out_dir, exist_ok=True)
    start = time.perf_counter()
    files, input_failures = find_radiographs(inputs)
    failures: List[Union[ImageFailure, InputFailure]] = list(input_failures)
    predictions: List[ImagePrediction] = []
    outputs: Dict[int, Dict[str, str]] = {}
    writer = _OutputWriter(out_dir, threshold, overlays, secondary_capture)
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
    report = build_report(group_cases(predictions),
                          failures,
                          threshold,
                          threshold_source,
                          outputs,
                          seconds=time.perf_counter() - start,
                          include_identifiers=include_identifiers,
                          model=model)
    dump(report, osp.join(out_dir, REPORT_FILE), indent=2)
    return report


class _OutputWriter:
    """Writes an image's overlay and Secondary Capture; returns their paths
    relative to the output folder."""

    def __init__(self, out_dir: str, threshold: float, overlays: bool,
                 secondary_capture: bool) -> None:
        self.out_dir = out_dir
        self.threshold = threshold
        self.overlays = overlays
        self.secondary_capture = secondary_capture
        self.series: Dict[str, List] = {}  # study UID -> [series UID, count]

    def __call__(self, image: ImagePrediction) -> Dict[str, str]:
        if not (self.overlays or self.secondary_capture):
            return {}
        overlay = draw_findings(image.image, image.bboxes, image.scores,
                                self.threshold)
        written = {}
        name = image_name(image.index)
        if self.overlays:
            written['overlay'] = osp.join(OVERLAY_DIR, f'{name}.png')
            mmcv.imwrite(overlay, osp.join(self.out_dir, written['overlay']))
        study_uid = image.radiograph_meta.get('study_instance_uid')
        if self.secondary_capture and study_uid:
            series = self.series.setdefault(study_uid, [generate_uid(), 0])
            series[1] += 1
            written['secondary_capture'] = osp.join(SECONDARY_CAPTURE_DIR,
                                                    f'{name}.dcm')
            path = osp.join(self.out_dir, written['secondary_capture'])
            os.makedirs(osp.dirname(path), exist_ok=True)
            write_secondary_capture(
                path,
                mmcv.bgr2rgb(overlay),
                image.path,
                series_instance_uid=series[0],
                instance_number=series[1],
                description=f'fracture detector boxes scoring >= '
                f'{self.threshold:.4g}')
        return written
