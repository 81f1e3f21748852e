# Copyright (c) mmdet-famo contributors. All rights reserved.
"""A trained Faster R-CNN (FAMO or baseline) as one traceable function of
an image: preprocessing, backbone, FPN, RPN with its decoding and NMS,
FAMO's squares, multi-level RoI-Align, box head, decoding and final NMS.

MMDetection's ``predict`` goes through Python control flow on data
(``InstanceData`` filtering, empty-result branches, per-level loops over
the RoIs present) that the ONNX exporters cannot express as one graph.
This module reuses the trained submodules as they are (the data
preprocessor's constants, ``backbone``, ``neck``, ``rpn_head``'s
convolutions, ``bbox_head``'s FCs, the coders' constants, the anchors, the
RoI extractor's level rule and FAMO's squaring) and writes the
post-processing MMDetection does with tensor operations only, each step
the same arithmetic as MMDetection 3.3's (the functions named below). Sizes
come from the input's shape, so the exported graph takes any image size.
"""
from typing import List, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mmdet.models.detectors import TwoStageDetector
from mmdet.models.roi_heads.bbox_heads import ConvFCBBoxHead
from mmdet.models.roi_heads.roi_extractors import SingleRoIExtractor
from mmdet.models.task_modules.coders import DeltaXYWHBBoxCoder
from mmdet.models.task_modules.coders.delta_xywh_bbox_coder import \
    delta2bbox
from mmdet.models.task_modules.prior_generators import AnchorGenerator

from mmdet_famo.models.roi_extractors import FAMOBBoxRoIExtractor
from mmdet_famo.models.task_modules import FAMODeltaXYWHBBoxCoder
from mmdet_famo.structures import square_boxes
from .onnx_ops import nms, roi_align


class DetectorGraph(nn.Module):
    """The detector's inference as tensor operations.

    Input: one image after the test pipeline's resize, ``(H, W, 3)`` uint8
    in the loader's channel order (as ``PackDetInputs`` receives it), and
    its ``scale_factor`` ``(w_scale, h_scale)`` float32. Output: the boxes
    ``(K, 4)`` (x1, y1, x2, y2 in original image pixels) and their scores
    ``(K,)``, highest first, as ``model.test_step`` returns them for one
    image with ``rescale=True``.

    Supported: MMDetection's ``TwoStageDetector`` with an anchor-based RPN
    head (sigmoid scores), a ``SingleRoIExtractor`` (or FAMO's) on mmcv's
    average ``RoIAlign``, a ``ConvFCBBoxHead`` of one class, softmax scores
    and :class:`DeltaXYWHBBoxCoder` or :class:`FAMODeltaXYWHBBoxCoder`,
    NMS of type ``'nms'``: the package's configs. Anything else raises
    ``ValueError`` saying what.

    Args:
        model (TwoStageDetector): A built detector with its weights, in
            eval mode.
    """

    def __init__(self, model: TwoStageDetector) -> None:
        super().__init__()
        check_supported(model)
        preprocessor = model.data_preprocessor
        self.register_buffer('mean', preprocessor.mean.view(1, -1, 1, 1))
        self.register_buffer('std', preprocessor.std.view(1, -1, 1, 1))
        self.bgr_to_rgb = bool(preprocessor._channel_conversion)
        self.pad_size_divisor = int(preprocessor.pad_size_divisor)
        self.pad_value = float(preprocessor.pad_value)
        self.backbone = model.backbone
        self.neck = model.neck
        self.rpn_head = model.rpn_head
        self.extractor = model.roi_head.bbox_roi_extractor
        self.bbox_head = model.roi_head.bbox_head
        self.rpn_cfg = model.rpn_head.test_cfg
        self.rcnn_cfg = model.roi_head.test_cfg
        generator = model.rpn_head.prior_generator
        self.anchor_strides = [int(stride[0]) for stride in generator.strides]
        for level, anchors in enumerate(generator.base_anchors):
            self.register_buffer(f'base_anchors{level}', anchors.clone())

    def forward(self, image: Tensor,
                scale_factor: Tensor) -> Tuple[Tensor, Tensor]:
        """Boxes and scores of ``image``; see the class docstring."""
        height, width = torch._shape_as_tensor(image)[:2].unbind()
        feats = self.neck(self.backbone(self.preprocess(image)))
        proposals = self.proposals(feats, height, width)
        return self.detections(feats, proposals, height, width, scale_factor)

    def preprocess(self, image: Tensor) -> Tensor:
        """``DetDataPreprocessor``: channels first, BGR to RGB, normalised,
        padded with ``pad_value`` up to a multiple of ``pad_size_divisor``
        (right and bottom)."""
        inputs = image.permute(2, 0, 1)[None].float()
        if self.bgr_to_rgb:
            inputs = inputs.flip(1)
        inputs = (inputs - self.mean) / self.std
        divisor = self.pad_size_divisor
        pad_h = (divisor - inputs.shape[2] % divisor) % divisor
        pad_w = (divisor - inputs.shape[3] % divisor) % divisor
        return F.pad(inputs, (0, pad_w, 0, pad_h), value=self.pad_value)

    def anchors(self, level: int, feat: Tensor) -> Tensor:
        """``AnchorGenerator.single_level_grid_priors`` for ``feat``'s size:
        the base anchors at every cell, cells in row-major order."""
        stride = self.anchor_strides[level]
        shift_x = torch.arange(feat.shape[-1]).to(feat) * stride
        shift_y = torch.arange(feat.shape[-2]).to(feat) * stride
        shift_yy, shift_xx = torch.meshgrid(shift_y, shift_x, indexing='ij')
        shift_xx, shift_yy = shift_xx.reshape(-1), shift_yy.reshape(-1)
        shifts = torch.stack([shift_xx, shift_yy, shift_xx, shift_yy], dim=-1)
        base = getattr(self, f'base_anchors{level}')
        return (base[None] + shifts[:, None]).view(-1, 4)

    def proposals(self, feats: Tuple[Tensor], height: Tensor,
                  width: Tensor) -> Tensor:
        """``RPNHead.predict_by_feat`` for one image: the ``nms_pre`` best
        anchors per level, decoded and clipped to the image, boxes of zero
        width or height dropped, NMS within each level, the
        ``max_per_img`` best kept. Returns ``(n, 4)`` boxes."""
        cfg = self.rpn_cfg
        cls_scores, bbox_preds = self.rpn_head(feats)
        scores, deltas, priors, levels = [], [], [], []
        for level, (cls_score, bbox_pred) in enumerate(
                zip(cls_scores, bbox_preds)):
            score = cls_score[0].permute(1, 2, 0).reshape(-1).sigmoid()
            delta = bbox_pred[0].permute(1, 2, 0).reshape(-1, 4)
            prior = self.anchors(level, cls_score)
            if cfg.nms_pre > 0:  # else every anchor goes on, as in mmdet
                k = torch.clamp(
                    torch._shape_as_tensor(score)[0], max=cfg.nms_pre)
                score, index = score.topk(k)
                delta, prior = delta[index], prior[index]
            scores.append(score)
            deltas.append(delta)
            priors.append(prior)
            levels.append(torch.full_like(score, level))
        scores, levels = torch.cat(scores), torch.cat(levels)
        boxes = self.decode(self.rpn_head.bbox_coder, torch.cat(priors),
                            torch.cat(deltas), height, width)
        min_size = cfg.get('min_bbox_size', -1)
        if min_size >= 0:
            valid = ((boxes[:, 2] - boxes[:, 0] > min_size) &
                     (boxes[:, 3] - boxes[:, 1] > min_size))
            boxes, scores, levels = boxes[valid], scores[valid], levels[valid]
        keep = batched_nms(boxes, scores, levels, cfg.nms.iou_threshold,
                           cfg.max_per_img)
        return boxes[keep]

    def decode(self, coder: DeltaXYWHBBoxCoder, priors: Tensor,
               deltas: Tensor, height: Tensor, width: Tensor) -> Tensor:
        """``coder.decode(priors, deltas, max_shape=(height, width))``:
        ``delta2bbox`` from the priors (their FAMO squares for
        :class:`FAMODeltaXYWHBBoxCoder`), clipped to the image.
        (``DeltaXYWHBBoxCoder.decode`` switches to a legacy ONNX path,
        unavailable in MMDetection 3, while exporting.)"""
        if isinstance(coder, FAMODeltaXYWHBBoxCoder):
            priors = square_boxes(priors)
        boxes = delta2bbox(priors, deltas, coder.means, coder.stds, None,
                           16 / 1000, coder.clip_border, coder.add_ctr_clamp,
                           coder.ctr_clamp)
        if not coder.clip_border:
            return boxes
        zero = boxes.new_zeros(())
        maxima = torch.stack([width, height, width, height]).to(boxes)
        return torch.minimum(torch.maximum(boxes, zero), maxima)

    def pooled_features(self, feats: Tuple[Tensor],
                        rois: Tensor) -> Tuple[Tensor, Tensor]:
        """The RoI extractor: each RoI (its FAMO square with FAMO's
        extractor) pooled on the FPN level of ``map_roi_levels``.

        Returns:
            tuple[Tensor, Tensor]: The pooled features and the RoIs in the
            same order (grouped by level: each level pools its own RoIs,
            as ``SingleRoIExtractor`` does, rather than every RoI on every
            level).
        """
        extractor = self.extractor
        num_levels = len(extractor.featmap_strides)
        pooled = rois
        if isinstance(extractor, FAMOBBoxRoIExtractor):
            pooled = square_boxes(rois)
            if extractor.border == 'clip_to_features':
                stride = extractor.featmap_strides[0]
                extent = torch._shape_as_tensor(feats[0])[-2:] * stride
                maxima = extent.flip(0).to(rois).repeat(2)
                pooled = torch.minimum(
                    torch.maximum(pooled, pooled.new_zeros(())), maxima)
        level_boxes = rois if isinstance(extractor, FAMOBBoxRoIExtractor) \
            and extractor.level_by == 'original' else pooled
        with_index = torch.cat(
            [torch.zeros_like(level_boxes[:, :1]), level_boxes], dim=1)
        target_levels = extractor.map_roi_levels(with_index, num_levels)
        features, order = [], []
        for level in range(num_levels):
            index = (target_levels == level).nonzero()[:, 0]
            layer = extractor.roi_layers[level]
            boxes = pooled[index]
            features.append(
                roi_align(feats[level], boxes,
                          torch.zeros_like(index), layer.output_size[0],
                          layer.spatial_scale, layer.sampling_ratio,
                          layer.aligned))
            order.append(index)
        order = torch.cat(order)
        return torch.cat(features), rois[order]

    def detections(self, feats: Tuple[Tensor], proposals: Tensor,
                   height: Tensor, width: Tensor,
                   scale_factor: Tensor) -> Tuple[Tensor, Tensor]:
        """``StandardRoIHead.predict_bbox`` with ``rescale=True`` for one
        image and one class: box head on the pooled RoIs, softmax scores,
        boxes decoded from the RoIs and clipped to the resized image,
        scaled back to the original image, then ``multiclass_nms``: scores
        above ``score_thr``, NMS, the ``max_per_img`` best."""
        cfg = self.rcnn_cfg
        features, rois = self.pooled_features(
            feats[:len(self.extractor.featmap_strides)], proposals)
        cls_score, bbox_pred = self.bbox_head(features)
        scores = F.softmax(cls_score, dim=-1)[:, 0]
        boxes = self.decode(self.bbox_head.bbox_coder, rois, bbox_pred,
                            height, width)
        boxes = boxes * (1 / scale_factor).repeat(2)
        valid = scores > cfg.score_thr
        boxes, scores = boxes[valid], scores[valid]
        keep = nms(boxes, scores, cfg.nms.iou_threshold, cfg.max_per_img)
        return boxes[keep], scores[keep]


def batched_nms(boxes: Tensor, scores: Tensor, groups: Tensor,
                iou_threshold: float, max_kept: int) -> Tensor:
    """mmcv's ``batched_nms`` below its ``split_thr``: NMS within each
    group, done as one NMS on boxes moved apart by group (each group offset
    by the largest coordinate plus one)."""
    offsets = groups.to(boxes) * (boxes.max() + 1)
    return nms(boxes + offsets[:, None], scores, iou_threshold, max_kept)


def check_supported(model: TwoStageDetector) -> None:
    """Raise ``ValueError`` naming what :class:`DetectorGraph` does not
    express in ``model``."""
    problems: List[str] = []
    if not isinstance(model, TwoStageDetector) or not model.with_rpn:
        raise ValueError(f'{type(model).__name__} is not a two-stage '
                         'detector with an RPN')
    rpn_head = model.rpn_head
    if not isinstance(rpn_head.prior_generator, AnchorGenerator) or \
            rpn_head.prior_generator.center_offset != 0:
        problems.append('the RPN needs an AnchorGenerator with '
                        'center_offset=0')
    if not rpn_head.use_sigmoid_cls or rpn_head.cls_out_channels != 1:
        problems.append('the RPN needs one sigmoid score per anchor')
    if type(rpn_head.bbox_coder) is not DeltaXYWHBBoxCoder:
        problems.append('the RPN needs a DeltaXYWHBBoxCoder')
    extractor = model.roi_head.bbox_roi_extractor
    if not isinstance(extractor, SingleRoIExtractor):
        problems.append('the RoI extractor must be a SingleRoIExtractor')
    elif any(
            type(layer).__name__ != 'RoIAlign' or layer.pool_mode != 'avg'
            or layer.use_torchvision or
            layer.output_size[0] != layer.output_size[1]
            for layer in extractor.roi_layers):
        problems.append("the RoI layers must be mmcv RoIAlign, pool_mode "
                        "'avg', square output")
    bbox_head = model.roi_head.bbox_head
    if not isinstance(bbox_head, ConvFCBBoxHead) or \
            bbox_head.num_classes != 1 or bbox_head.custom_cls_channels \
            or bbox_head.reg_class_agnostic:
        problems.append('the box head must be a ConvFCBBoxHead of one '
                        'class with softmax scores and class-specific boxes')
    elif type(bbox_head.bbox_coder) not in (DeltaXYWHBBoxCoder,
                                            FAMODeltaXYWHBBoxCoder):
        problems.append('the box head needs a DeltaXYWHBBoxCoder or '
                        'FAMODeltaXYWHBBoxCoder')
    for name, cfg in (('rpn', rpn_head.test_cfg),
                      ('rcnn', model.roi_head.test_cfg)):
        if cfg.nms.get('type', 'nms') != 'nms':
            problems.append(f"test_cfg.{name}.nms must be of type 'nms'")
    if model.data_preprocessor.pad_size_divisor < 1:
        problems.append('pad_size_divisor must be at least 1')
    if problems:
        raise ValueError('cannot export this detector: ' +
                         '; '.join(problems))
