"""Matching two readers' outlines one to one by the hit rule."""
import numpy as np

from mmdet_famo.analysis.reader_files import load_readers
from mmdet_famo.analysis.reader_matching import match_instances, match_readers


def test_matching_takes_the_most_pairs_whatever_the_reader_order():
    # a1 overlaps b1 and b2; a2 only b1: the greedy choice a1-b1 would
    # leave a2 alone; the best matching pairs a1-b2 and a2-b1
    boxes_a = np.array([[0, 0, 10, 10], [0, 6, 10, 16]])
    boxes_b = np.array([[0, 2, 10, 12], [0, 0, 10, 8]])
    assert sorted((i, j) for i, j, _ in match_instances(boxes_a, boxes_b)) \
        == [(0, 1), (1, 0)]
    assert sorted((j, i) for i, j, _ in match_instances(boxes_b, boxes_a)) \
        == [(0, 1), (1, 0)]
    far = np.array([[30, 30, 40, 40]])
    assert match_instances(boxes_a, far) == []
    assert match_instances(np.zeros((0, 4)), boxes_b) == []


def test_every_outline_is_matched_or_listed_alone(two_readers):
    pairs = match_readers(load_readers(two_readers))
    # image 0: shifted square, box IoU 48/80 = 0.6 but intersection over
    # the smaller box 48/64 = 0.75; image 1 missed by B; image 4: A's second
    # square identical to B's; image 6: B's false finding
    found = sorted(
        (p.image, p.annotation_a is not None, p.annotation_b is not None)
        for p in pairs)
    assert found == [(0, True, True), (1, True, False), (4, True, False),
                     (4, True, True), (6, False, True)]
    shifted = next(p for p in pairs if p.image == 0)
    assert (shifted.box_overlap, shifted.dice, shifted.iou) == \
        (0.75, 0.75, 0.6)
    identical = next(p for p in pairs
                     if p.image == 4 and p.annotation_b is not None)
    assert (identical.dice, identical.iou) == (1., 1.)
    # with IoU as the rule and 0.7 as the threshold the shift is no match
    strict = match_readers(load_readers(two_readers), 'iou', 0.7)
    assert sum(p.image == 0 for p in strict) == 2
