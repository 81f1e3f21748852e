# Copyright (c) mmdet-famo contributors. All rights reserved.
from typing import List, Optional, Tuple

import torch
from torch import Tensor

from mmdet.models.roi_heads.roi_extractors import SingleRoIExtractor
from mmdet.registry import MODELS
from mmdet.utils import ConfigType, OptMultiConfig

from mmdet_famo.structures import square_boxes

LEVEL_BY = ('square', 'original')
BORDER_MODES = ('keep', 'clip_to_features')


@MODELS.register_module()
class FAMOBBoxRoIExtractor(SingleRoIExtractor):
    """RoI-Align on squared RoIs: the Feature Ambiguity Mitigate Operator.

    RoI-Align resizes every RoI to a fixed square grid, so a fracture line
    lying horizontally (a narrow box) and the same line lying obliquely (a
    squarish box) become differently distorted features of one class (the
    paper's Methods, "Feature ambiguity", Figs. 6-7). FAMO expands each RoI's
    short side to its long side about the RoI's centre before RoI-Align:
    ``(cx, cy, w, h) -> (cx, cy, s, s)`` with ``s = max(w, h)``, so the pooled
    features keep the fracture's shape whatever its direction.

    Only the pooled features change; which box the head's deltas refer to is
    its coder's choice. Every RoI of one centre and long side pools the same
    square, so deltas relative to the RoI itself would ask the head to
    correct a short side its features do not show. The FAMO configs pair
    this extractor with :class:`FAMODeltaXYWHBBoxCoder`, whose deltas move
    the square onto the fracture's box: the detector still predicts boxes
    of the fracture's true shape. The same squaring is applied in training
    and inference.

    Two choices the paper leaves open, both configurable:

    - ``level_by='square'`` (default): the FPN level is chosen from the
      square's size ``s``. FPN's level rule keeps the number of feature cells
      under a RoI roughly constant; the cells pooled are those under the
      square, so the square's size is the one that keeps that rule true (and
      it equals feeding the squared box to the unchanged RoI pipeline, the
      paper's description). ``'original'`` picks the level from the
      proposal's own ``sqrt(w * h)``, as the baseline would.
    - ``border='keep'`` (default): a square that runs past the image keeps its
      size and centre; RoI-Align samples zeros outside the feature map, the
      same as the batch padding, and the fracture keeps its shape. Clipping
      would squeeze border RoIs back into rectangles, the distortion FAMO
      exists to remove. ``'clip_to_features'`` clips squares to the feature
      maps' extent (the padded batch: the RoI-extractor interface is not
      given each image's own shape) for ablation.

    Args:
        roi_layer (:obj:`ConfigDict` or dict): RoI layer type and arguments.
        out_channels (int): Output channels of RoI layers.
        featmap_strides (List[int]): Strides of input feature maps.
        finest_scale (int): Scale threshold of mapping to level 0.
            Defaults to 56.
        level_by (str): ``'square'`` or ``'original'``; see above.
        border (str): ``'keep'`` or ``'clip_to_features'``; see above.
        init_cfg (:obj:`ConfigDict` or dict or list, optional):
            Initialization config dict. Defaults to None.
    """

    def __init__(self,
                 roi_layer: ConfigType,
                 out_channels: int,
                 featmap_strides: List[int],
                 finest_scale: int = 56,
                 level_by: str = 'square',
                 border: str = 'keep',
                 init_cfg: OptMultiConfig = None) -> None:
        if level_by not in LEVEL_BY:
            raise ValueError(f'level_by must be one of {LEVEL_BY}, '
                             f'got {level_by!r}')
        if border not in BORDER_MODES:
            raise ValueError(f'border must be one of {BORDER_MODES}, '
                             f'got {border!r}')
        super().__init__(
            roi_layer=roi_layer,
            out_channels=out_channels,
            featmap_strides=featmap_strides,
            finest_scale=finest_scale,
            init_cfg=init_cfg)
        self.level_by = level_by
        self.border = border

    def square_rois(self, rois: Tensor, feats: Tuple[Tensor]) -> Tensor:
        """Expand each RoI's short side to its long side about its centre.

        Args:
            rois (Tensor): RoIs ``(n, 5)``: batch index, x1, y1, x2, y2.
            feats (Tuple[Tensor]): Multi-scale features; their extent bounds
                the squares when ``border='clip_to_features'``.

        Returns:
            Tensor: Squared RoIs, shape ``(n, 5)``.
        """
        squares = torch.cat([rois[:, :1], square_boxes(rois[:, 1:])], dim=1)
        if self.border == 'clip_to_features':
            height = feats[0].size(-2) * self.featmap_strides[0]
            width = feats[0].size(-1) * self.featmap_strides[0]
            squares[:, 1::2] = squares[:, 1::2].clamp(0, width)
            squares[:, 2::2] = squares[:, 2::2].clamp(0, height)
        return squares

    def forward(self,
                feats: Tuple[Tensor],
                rois: Tensor,
                roi_scale_factor: Optional[float] = None) -> Tensor:
        """Pool the features under the squared RoIs.

        :class:`SingleRoIExtractor`'s forward, with the squares pooled and
        the FPN level of each RoI chosen here from the squares or the
        proposals (``level_by``). Nothing of the call is kept on the module,
        so threads sharing one model and TorchScript are safe.

        Args:
            feats (Tuple[Tensor]): Multi-scale features.
            rois (Tensor): RoIs ``(n, 5)``: batch index, x1, y1, x2, y2.
            roi_scale_factor (float, optional): Scale applied to the squares
                after squaring, as in :class:`SingleRoIExtractor`.

        Returns:
            Tensor: RoI features ``(n, out_channels, *output_size)``.
        """
        rois = rois.type_as(feats[0])  # fp16 under AMP
        squares = self.square_rois(rois, feats)
        num_levels = len(feats)
        target_lvls = self.map_roi_levels(
            rois if self.level_by == 'original' else squares, num_levels)
        if roi_scale_factor is not None:
            squares = self.roi_rescale(squares, roi_scale_factor)
        roi_feats = feats[0].new_zeros(rois.size(0), self.out_channels,
                                       *self.roi_layers[0].output_size)
        for level in range(num_levels):
            inds = (target_lvls == level).nonzero(as_tuple=False).squeeze(1)
            if inds.numel() > 0:
                roi_feats[inds] = self.roi_layers[level](feats[level],
                                                         squares[inds])
            else:
                # Keep every level and parameter in the graph, as
                # SingleRoIExtractor does, so that DDP processes agree.
                roi_feats += sum(
                    x.view(-1)[0]
                    for x in self.parameters()) * 0. + feats[level].sum() * 0.
        return roi_feats
