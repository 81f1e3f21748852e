# Copyright (c) mmdet-famo contributors. All rights reserved.
"""mmcv's RoI-Align and NMS, exported as the standard ONNX operators.

Each op runs mmcv's kernel in PyTorch, so the traced graph computes what
the MMDetection model computes, and exports (TorchScript exporter,
``torch.onnx.export(..., dynamo=False)``) as the ONNX operator of the same
definition, in the default domain: ``RoiAlign`` (opset 16, whose
``coordinate_transformation_mode='half_pixel'`` is mmcv's ``aligned=True``:
pixel centres at +0.5, RoI sizes not forced to 1) and
``NonMaxSuppression``. No custom domain is needed to run the graph
(mmdeploy's ``mmdeploy::MMCVMultiLevelRoiAlign`` is one; ONNX Runtime then
needs its op library).

ONNX Runtime's CPU kernels match mmcv's to float rounding for these
definitions; ``tests/test_deploy/test_onnx_ops.py`` checks it.
"""
import torch
from torch import Tensor
from torch.autograd import Function

#: The opset the graph is written in: ``RoiAlign``'s
#: ``coordinate_transformation_mode`` is new in opset 16.
OPSET = 17
#: ``max_kept`` meaning no cap (``max_per_img`` of 0 or less in mmdet).
NO_CAP = 2**31 - 1


class RoIAlignFunction(Function):
    """mmcv's ``roi_align`` with ``pool_mode='avg'`` on one feature map,
    exported as ONNX ``RoiAlign``."""

    @staticmethod
    def forward(ctx, features: Tensor, boxes: Tensor, batch_indices: Tensor,
                output_size: int, spatial_scale: float, sampling_ratio: int,
                aligned: bool) -> Tensor:
        from mmcv.ops import roi_align
        rois = torch.cat([batch_indices[:, None].to(boxes), boxes], dim=1)
        return roi_align(features, rois, (output_size, output_size),
                         spatial_scale, sampling_ratio, 'avg', aligned)

    @staticmethod
    def symbolic(g, features, boxes, batch_indices, output_size: int,
                 spatial_scale: float, sampling_ratio: int, aligned: bool):
        return g.op(
            'RoiAlign',
            features,
            boxes,
            batch_indices,
            coordinate_transformation_mode_s='half_pixel'
            if aligned else 'output_half_pixel',
            mode_s='avg',
            output_height_i=output_size,
            output_width_i=output_size,
            sampling_ratio_i=sampling_ratio,
            spatial_scale_f=spatial_scale)


class NMSFunction(Function):
    """mmcv's ``nms`` (IoU strictly above the threshold suppresses; kept
    indices in descending score order), exported as ONNX
    ``NonMaxSuppression`` on one batch and one class."""

    @staticmethod
    def forward(ctx, boxes: Tensor, scores: Tensor, iou_threshold: float,
                max_kept: int) -> Tensor:
        from mmcv.ops import nms
        _, keep = nms(boxes, scores, iou_threshold)
        return keep[:max_kept]

    @staticmethod
    def symbolic(g, boxes, scores, iou_threshold: float, max_kept: int):
        boxes = g.op('Unsqueeze', boxes,
                     g.op('Constant', value_t=torch.tensor([0])))
        scores = g.op('Unsqueeze', scores,
                      g.op('Constant', value_t=torch.tensor([0, 1])))
        selected = g.op(
            'NonMaxSuppression', boxes, scores,
            g.op('Constant', value_t=torch.tensor([max_kept])),
            g.op('Constant',
                 value_t=torch.tensor([iou_threshold], dtype=torch.float)))
        # Rows are (batch, class, box); one batch and one class here.
        keep = g.op('Gather', selected,
                    g.op('Constant', value_t=torch.tensor(2)), axis_i=1)
        return keep


def roi_align(features: Tensor, boxes: Tensor, batch_indices: Tensor,
              output_size: int, spatial_scale: float, sampling_ratio: int,
              aligned: bool) -> Tensor:
    """Average RoI-Align of ``boxes`` (x1, y1, x2, y2 in image pixels) on
    ``features``, as mmcv's ``RoIAlign`` with ``pool_mode='avg'``.

    Returns:
        Tensor: ``(len(boxes), C, output_size, output_size)``.
    """
    return RoIAlignFunction.apply(features, boxes, batch_indices,
                                  output_size, spatial_scale, sampling_ratio,
                                  aligned)


def nms(boxes: Tensor, scores: Tensor, iou_threshold: float,
        max_kept: int) -> Tensor:
    """Indices of the boxes NMS keeps, highest score first, at most
    ``max_kept`` (all if it is 0 or less)."""
    return NMSFunction.apply(boxes, scores, iou_threshold,
                             max_kept if max_kept > 0 else NO_CAP)
