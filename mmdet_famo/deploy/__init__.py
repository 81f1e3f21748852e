"""Deployment without MMCV: the detector exported as one ONNX graph of
standard operators (:mod:`.export`, :mod:`.detector_graph`, needing the
full install) and run in ONNX Runtime (:mod:`.runtime`, needing neither
torch nor MMCV nor MMDetection). See docs/deployment.md."""
from .model_info import METADATA_FORMAT, ModelInfo
from .runtime import OnnxDetector, rescale

__all__ = ['METADATA_FORMAT', 'ModelInfo', 'OnnxDetector', 'rescale']
