# Copyright (c) mmdet-famo contributors. All rights reserved.
from mmcv.transforms import BaseTransform

from mmdet.registry import TRANSFORMS
from mmdet.structures.bbox import HorizontalBoxes

from mmdet_famo.structures import square_boxes


@TRANSFORMS.register_module()
class SquareGTBoxes(BaseTransform):
    """Label-level FAMO: square the ground-truth boxes about their centres.

    The paper's text ("the annotated box was adjusted by expanding its short
    side ... making a square box", Methods, Fig. 7) can also be read as
    squaring the labels themselves rather than the RoIs. This transform does
    that, for ablation against :class:`FAMOBBoxRoIExtractor`: with it the
    whole detector (RPN and box head) learns, and predicts, squares.

    Its predictions are evaluated against the original, tight boxes (the test
    pipeline does not square them), so its figures stay comparable with the
    baseline's and the RoI-level FAMO's; a square around a thin fracture has
    a low IoU with the tight box, which the metric's default overlap
    criterion is meant to forgive (see :class:`FractureCaseMetric`).

    Put it after every geometric transform and before ``PackDetInputs``.

    Required Keys: ``gt_bboxes`` (:obj:`HorizontalBoxes`), ``img_shape``.
    Modified Keys: ``gt_bboxes``.

    Args:
        clip_to_image (bool): Clip squares that run past the image border to
            the image, so every label lies inside it as anchors and the
            assigner expect. Defaults to True.
    """

    def __init__(self, clip_to_image: bool = True) -> None:
        self.clip_to_image = clip_to_image

    def transform(self, results: dict) -> dict:
        boxes = results.get('gt_bboxes')
        if boxes is None or len(boxes) == 0:
            return results
        squares = HorizontalBoxes(square_boxes(boxes.tensor))
        if self.clip_to_image:
            squares.clip_(results['img_shape'])
        results['gt_bboxes'] = squares
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(clip_to_image={self.clip_to_image})'
