"""Fracture bins by box shape and orientation, and AP over a bin against
pycocotools' area ranges (the bins fed to COCOeval as areas)."""
import contextlib
import io

import numpy as np
import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from mmdet_famo.evaluation.functional import match_to_fractures
from mmdet_famo.evaluation.functional.box_shapes import (
    aspect_ratio_bins, box_orientation_bins, orientation_bins,
    subset_average_precision)
from tests.test_evaluation.conftest import random_case, xywh_to_xyxy

IN_BIN_AREA, OUT_OF_BIN_AREA = 50., 5000.


def test_bins_by_hand():
    boxes = [[0, 0, 30, 10], [0, 0, 10, 29], [0, 0, 14, 10], [0, 0, 10, 10],
             [5, 5, 5, 9]]
    assert aspect_ratio_bins(boxes).tolist() == [
        'elongated', 'intermediate', 'squarish', 'squarish', 'elongated'
    ]
    assert orientation_bins([0, 22.4, 22.5, 67.4, 67.5, 90, 112.6, 157.4,
                             157.6, 179.9, None]).tolist() == [
        'near-horizontal', 'near-horizontal', 'oblique', 'oblique',
        'near-vertical', 'near-vertical', 'oblique', 'oblique',
        'near-horizontal', 'near-horizontal', ''
    ]
    # a box's diagonal: 30x10 is 18.4 degrees, 10x29 is 71 degrees
    assert box_orientation_bins(boxes[:4]).tolist() == [
        'near-horizontal', 'near-vertical', 'oblique', 'oblique'
    ]


def _coco(images, boxes, areas, scores=None):
    annotations = []
    for image, (image_boxes, image_areas) in enumerate(zip(boxes, areas)):
        for index, (box, area) in enumerate(zip(image_boxes, image_areas)):
            annotation = dict(
                id=len(annotations) + 1, image_id=image + 1, category_id=1,
                bbox=[float(v) for v in box], area=float(area), iscrowd=0)
            if scores is not None:
                annotation['score'] = float(scores[image][index])
            annotations.append(annotation)
    coco = COCO()
    coco.dataset = dict(images=images, annotations=annotations,
                        categories=[dict(id=1, name='fracture')])
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
    return coco


def cocoeval_ap50_of_subset(gts, preds, scores, gt_in, pred_in):
    """COCOeval's AP50 for the area range that holds exactly the boxes
    flagged in the subset."""
    images = [dict(id=i + 1, width=1000, height=1000) for i in range(len(gts))]

    def areas(flags):
        return [np.where(f, IN_BIN_AREA, OUT_OF_BIN_AREA) for f in flags]

    evaluator = COCOeval(_coco(images, gts, areas(gt_in)),
                         _coco(images, preds, areas(pred_in), scores), 'bbox')
    evaluator.params.maxDets = [10**6]
    evaluator.params.areaRng = [[0, 100]]
    evaluator.params.areaRngLbl = ['bin']
    with contextlib.redirect_stdout(io.StringIO()):
        evaluator.evaluate()
        evaluator.accumulate()
    return evaluator.eval['precision'][0, :, 0, 0, -1].mean()


@pytest.mark.parametrize('bins', ['aspect', 'orientation'])
def test_subset_ap_equals_cocoeval_area_ranges(bins):
    rng = np.random.default_rng(4)
    checked = 0
    for _ in range(30):
        gts, preds, scores = random_case(rng)
        gts_xyxy = [xywh_to_xyxy(g) for g in gts]
        preds_xyxy = [xywh_to_xyxy(p) for p in preds]
        if bins == 'aspect':
            name = 'elongated' if rng.random() < .5 else 'squarish'
            gt_in = [aspect_ratio_bins(g) == name for g in gts_xyxy]
            pred_in = [aspect_ratio_bins(p) == name for p in preds_xyxy]
        else:
            name = 'oblique'
            angles = [rng.uniform(0, 180, len(g)) for g in gts]
            gt_in = [orientation_bins(a) == name for a in angles]
            pred_in = [box_orientation_bins(p) == name for p in preds_xyxy]
        if not sum(int(g.sum()) for g in gt_in):
            continue
        expected = cocoeval_ap50_of_subset(gts, preds, scores, gt_in, pred_in)
        assert subset_average_precision(preds_xyxy, scores, gts_xyxy, gt_in,
                                        pred_in) == pytest.approx(
                                            expected, abs=1e-9)
        # the shortcut through the plain matching gives the same
        matched = [
            match_to_fractures(p, s, g, 0.5)[0]
            for p, s, g in zip(preds_xyxy, scores, gts_xyxy)
        ]
        assert subset_average_precision(
            preds_xyxy, scores, gts_xyxy, gt_in, pred_in,
            matched=matched) == pytest.approx(expected, abs=1e-9)
        checked += 1
    assert checked > 10


def test_a_detection_matched_outside_the_bin_is_ignored():
    # one elongated fracture, one squarish; the top detection hits the
    # squarish one, the second the elongated one
    gts = [np.array([[0., 0., 90., 10.], [200., 200., 220., 220.]])]
    preds = [np.array([[200., 200., 220., 220.], [0., 0., 90., 10.],
                       [500., 500., 590., 510.]])]
    scores = [np.array([.9, .8, .85])]
    gt_in = [np.array([True, False])]
    pred_in = [aspect_ratio_bins(preds[0]) == 'elongated']
    # ranked: .9 ignored (matched outside), .85 FP (elongated, unmatched),
    # .8 TP: precision 1/2 at recall 1
    assert subset_average_precision(preds, scores, gts, gt_in,
                                    pred_in) == pytest.approx(.5)


def test_dataset_orientations_follow_the_kept_boxes():
    """FractureDataset passes each kept box's fracture_orientation on, in
    gt_instances order, past the annotations CocoDataset drops."""
    from mmdet_famo.datasets.fracture_dataset import fracture_orientations
    raw = [
        dict(bbox=[0, 0, 10, 5], fracture_orientation=10.),
        dict(bbox=[0, 0, 0, 5], fracture_orientation=20.),  # dropped: empty
        dict(bbox=[5, 5, 10, 10], fracture_orientation=30.),  # crowd
        dict(bbox=[1, 1, 4, 9]),
    ]
    instances = [
        dict(bbox=[0, 0, 10, 5], ignore_flag=0),
        dict(bbox=[5, 5, 15, 15], ignore_flag=1),
        dict(bbox=[1, 1, 5, 10], ignore_flag=0),
    ]
    assert fracture_orientations(raw, instances) == [10., None]
    assert fracture_orientations([dict(bbox=[0, 0, 1, 1])], instances[:1]) \
        is None
