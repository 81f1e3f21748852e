"""Inference on new radiographs: files, folders and studies, with the
PyTorch model or its ONNX export (the latter without torch, MMCV or
MMDetection installed)."""
from mmdet_famo.evaluation.operating_points import (OperatingPoints,
                                                    load_operating_points)
from .cases import Case, group_cases
from .dicom_objects import AlgorithmInfo, Finding
from .dicom_results import dicom_result_files, write_dicom_results
from .inference import infer_radiographs
from .inputs import InputFailure, find_radiographs
from .overlay import draw_findings
from .predictor import (BACKENDS, BasePredictor, ImageFailure,
                        ImagePrediction, OnnxRadiographPredictor,
                        RadiographPredictor, build_inference_pipeline)
from .presentation_state import build_presentation_state
from .report import build_report, format_summary
from .secondary_capture import write_secondary_capture
from .structured_report import build_structured_report

__all__ = [
    'AlgorithmInfo', 'BACKENDS', 'BasePredictor', 'Case', 'Finding',
    'ImageFailure', 'ImagePrediction', 'InputFailure',
    'OnnxRadiographPredictor', 'OperatingPoints', 'RadiographPredictor',
    'build_inference_pipeline', 'build_presentation_state', 'build_report',
    'build_structured_report', 'dicom_result_files', 'draw_findings',
    'find_radiographs', 'format_summary', 'group_cases', 'infer_radiographs',
    'load_operating_points', 'write_dicom_results', 'write_secondary_capture'
]
