"""Inference on new radiographs: files, folders and studies."""
from .cases import Case, group_cases
from mmdet_famo.evaluation.operating_points import (OperatingPoints,
                                                    load_operating_points)
from .inference import infer_radiographs
from .inputs import InputFailure, find_radiographs
from .overlay import draw_findings
from .predictor import (ImageFailure, ImagePrediction, RadiographPredictor,
                        build_inference_pipeline)
from .report import build_report, format_summary
from .secondary_capture import write_secondary_capture

__all__ = [
    'Case', 'ImageFailure', 'ImagePrediction', 'InputFailure',
    'OperatingPoints', 'RadiographPredictor', 'build_inference_pipeline', 'build_report',
    'draw_findings', 'find_radiographs', 'format_summary', 'group_cases',
    'infer_radiographs', 'load_operating_points', 'write_secondary_capture'
]
