# Copyright (c) mmdet-famo contributors. All rights reserved.
"""Run an exported detector with ONNX Runtime: numpy, OpenCV and
onnxruntime only (no torch, MMCV or MMDetection)."""
from typing import Optional, Tuple

import cv2
import numpy as np

from .model_info import INPUT_NAMES, ModelInfo

#: mmcv's ``imresize`` interpolation names as OpenCV codes.
CV2_INTERPOLATIONS = {
    'nearest': cv2.INTER_NEAREST,
    'bilinear': cv2.INTER_LINEAR,
    'bicubic': cv2.INTER_CUBIC,
    'area': cv2.INTER_AREA,
    'lanczos': cv2.INTER_LANCZOS4,
}


def rescale(image: np.ndarray, scale: Tuple[int, int],
            interpolation: str) -> Tuple[np.ndarray, np.ndarray]:
    """MMDetection's ``Resize(scale, keep_ratio=True)`` (mmcv's
    ``imrescale``): the largest size whose long side is at most
    ``max(scale)`` and short side at most ``min(scale)``, each side rounded
    half up.

    Returns:
        tuple[np.ndarray, np.ndarray]: The resized image and its scale
        factor ``(w_scale, h_scale)`` (new size over old, per axis),
        float32.
    """
    height, width = image.shape[:2]
    factor = min(max(scale) / max(height, width),
                 min(scale) / min(height, width))
    new_width, new_height = int(width * factor + 0.5), \
        int(height * factor + 0.5)
    resized = cv2.resize(image, (new_width, new_height),
                         interpolation=CV2_INTERPOLATIONS[interpolation])
    return resized, np.array([new_width / width, new_height / height],
                             dtype=np.float32)


class OnnxDetector:
    """An exported detector (``tools/deployment/export_onnx.py``) in an
    ONNX Runtime session.

    Args:
        onnx_file (str): The ``.onnx`` file.
        num_threads (int, optional): ONNX Runtime's intra-op threads;
            None lets it choose (one per core).
    """

    def __init__(self, onnx_file: str,
                 num_threads: Optional[int] = None) -> None:
        import onnxruntime
        options = onnxruntime.SessionOptions()
        if num_threads is not None:
            options.intra_op_num_threads = num_threads
            options.inter_op_num_threads = 1
        self.onnx_file = onnx_file
        self.session = onnxruntime.InferenceSession(
            onnx_file, options, providers=['CPUExecutionProvider'])
        self.info = ModelInfo.from_metadata(
            self.session.get_modelmeta().custom_metadata_map, onnx_file)
        resize = self.info.preprocessing['resize']
        self.scale = tuple(resize['scale'])
        self.interpolation = resize['interpolation']

    def __call__(self, image: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Boxes ``(K, 4)`` (x1, y1, x2, y2 in ``image``'s pixels) and
        scores ``(K,)``, highest first, of ``image`` as the loader gives it
        (H x W x 3 uint8)."""
        if image.ndim != 3 or image.shape[2] != 3 or \
                image.dtype != np.uint8:
            raise ValueError(f'{self.onnx_file} takes H x W x 3 uint8 '
                             f'images, got {image.dtype} {image.shape}')
        resized, scale_factor = rescale(image, self.scale,
                                        self.interpolation)
        boxes, scores = self.session.run(
            None, dict(zip(INPUT_NAMES, (resized, scale_factor))))
        return boxes, scores
