# Copyright (c) mmdet-famo contributors. All rights reserved.
from typing import Optional, Sequence, Union

from torch import Tensor

from mmdet.models.task_modules.coders import DeltaXYWHBBoxCoder
from mmdet.registry import TASK_UTILS
from mmdet.structures.bbox import BaseBoxes, get_box_tensor

from mmdet_famo.structures import square_boxes


@TASK_UTILS.register_module()
class FAMODeltaXYWHBBoxCoder(DeltaXYWHBBoxCoder):
    """Box deltas relative to the FAMO square of each RoI.

    :class:`FAMOBBoxRoIExtractor` pools the square around each RoI (the
    paper's Methods, Fig. 7), so the RoI head sees the same features for
    every RoI of one centre and long side, whatever its short side. Deltas
    relative to the RoI itself would ask the head to correct a short side
    its features do not show; relative to the square, they describe where
    the fracture lies within the region the head does see. This is the
    paper's pipeline read literally: the operator adjusts the box to a
    square, and RoI-Align and the box head then work from that box.

    Encodes and decodes as :class:`DeltaXYWHBBoxCoder`, from the squares of
    the given boxes. Use it as the RoI head's ``bbox_coder`` together with
    the FAMO extractor (not in the RPN, whose anchors are pooled unsquared).
    """

    def encode(self, bboxes: Union[Tensor, BaseBoxes],
               gt_bboxes: Union[Tensor, BaseBoxes]) -> Tensor:
        """Deltas that move the squares of ``bboxes`` onto ``gt_bboxes``."""
        return super().encode(
            square_boxes(get_box_tensor(bboxes)), gt_bboxes)

    def decode(self,
               bboxes: Union[Tensor, BaseBoxes],
               pred_bboxes: Tensor,
               max_shape: Optional[Union[Sequence[int], Tensor,
                                         Sequence[Sequence[int]]]] = None,
               wh_ratio_clip: Optional[float] = 16 / 1000
               ) -> Union[Tensor, BaseBoxes]:
        """Apply ``pred_bboxes`` to the squares of ``bboxes``."""
        return super().decode(
            square_boxes(get_box_tensor(bboxes)), pred_bboxes, max_shape,
            wh_ratio_clip)
