# Copyright (c) mmdet-famo contributors. All rights reserved.
import torch
from torch import Tensor


def square_boxes(boxes: Tensor) -> Tensor:
    """Expand each box's short side to its long side about its centre.

    The FAMO adjustment (the paper's Methods, Fig. 7): ``(cx, cy, w, h) ->
    (cx, cy, s, s)`` with ``s = max(w, h)``.

    Args:
        boxes (Tensor): Boxes ``(..., 4)`` as x1, y1, x2, y2.

    Returns:
        Tensor: The squares, same shape and dtype.
    """
    x1, y1, x2, y2 = boxes.unbind(dim=-1)
    half_side = torch.maximum(x2 - x1, y2 - y1) / 2
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    return torch.stack(
        [cx - half_side, cy - half_side, cx + half_side, cy + half_side],
        dim=-1)
