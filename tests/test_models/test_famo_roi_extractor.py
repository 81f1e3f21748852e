"""FAMOBBoxRoIExtractor against SingleRoIExtractor and hand-squared RoIs."""
import threading
from unittest import mock

import pytest
import torch
from mmcv.ops import RoIAlign
from mmengine.config import ConfigDict

from mmdet.models.roi_heads.roi_extractors import SingleRoIExtractor
from mmdet.registry import MODELS
from mmdet.structures.bbox import bbox2roi
from mmdet_famo.models.roi_extractors import FAMOBBoxRoIExtractor

STRIDES = [4, 8, 16, 32]
ROI_LAYER = dict(type='RoIAlign', output_size=7, sampling_ratio=2)


def build(cls, **kwargs):
    return cls(
        roi_layer=ROI_LAYER,
        out_channels=8,
        featmap_strides=STRIDES,
        **kwargs)


def pyramid(size=256, channels=8, batch=2, requires_grad=False):
    torch.manual_seed(0)
    return tuple(
        torch.rand(batch, channels, size // s, size // s,
                   requires_grad=requires_grad) for s in STRIDES)


def roi_align(feats, level, rois):
    """RoI-Align of ``rois`` on one FPN level, by hand."""
    layer = RoIAlign(7, spatial_scale=1 / STRIDES[level], sampling_ratio=2)
    return layer(feats[level], rois)


def test_square_roi_equals_single_roi_extractor():
    feats = pyramid()
    rois = torch.tensor([[0, 10., 20., 50., 60.], [1, 30., 30., 230., 230.],
                         [0, 100., 40., 140., 80.]])
    expected = build(SingleRoIExtractor)(feats, rois)
    assert torch.equal(build(FAMOBBoxRoIExtractor)(feats, rois), expected)


def test_elongated_roi_pools_its_hand_squared_roi():
    feats = pyramid()
    # 80 x 20 box centred at (50, 50) -> the 80 x 80 square at (50, 50).
    rois = torch.tensor([[0, 10., 40., 90., 60.], [1, 40., 10., 60., 90.]])
    squares = torch.tensor([[0, 10., 10., 90., 90.], [1, 10., 10., 90., 90.]])
    expected = build(SingleRoIExtractor)(feats, squares)
    out = build(FAMOBBoxRoIExtractor)(feats, rois)
    assert torch.equal(out, expected)
    assert not torch.allclose(out, build(SingleRoIExtractor)(feats, rois))


@pytest.mark.parametrize('level_by, level', [('square', 2), ('original', 0)])
def test_fpn_level_follows_level_by(level_by, level):
    feats = pyramid()
    # 240 x 30: sqrt(w*h) = 84.9 -> level 0 (< 2 * 56);
    # square side 240 -> floor(log2(240 / 56)) = level 2.
    rois = torch.tensor([[0, 8., 113., 248., 143.]])
    square = torch.tensor([[0, 8., 8., 248., 248.]])
    out = build(FAMOBBoxRoIExtractor, level_by=level_by)(feats, rois)
    assert torch.equal(out, roi_align(feats, level, square))


def test_no_rois():
    feats = pyramid()
    out = build(FAMOBBoxRoIExtractor)(feats, torch.zeros(0, 5))
    assert out.shape == (0, 8, 7, 7)


def test_roi_at_the_border_keeps_its_square_by_default():
    feats = pyramid()
    # 60 x 20 at the top-left corner: square (0, -20, 60, 40) runs past y=0.
    rois = torch.tensor([[0, 0., 0., 60., 20.]])
    kept = build(FAMOBBoxRoIExtractor)(feats, rois)
    assert torch.equal(
        kept, roi_align(feats, 0, torch.tensor([[0, 0., -20., 60., 40.]])))
    clipped = build(
        FAMOBBoxRoIExtractor, border='clip_to_features')(feats, rois)
    assert torch.equal(
        clipped, roi_align(feats, 0, torch.tensor([[0, 0., 0., 60., 40.]])))


def test_invalid_options_are_refused():
    with pytest.raises(ValueError, match='level_by'):
        build(FAMOBBoxRoIExtractor, level_by='area')
    with pytest.raises(ValueError, match='border'):
        build(FAMOBBoxRoIExtractor, border='shift')


def test_gradients_reach_the_features_under_the_whole_square():
    feats = pyramid(requires_grad=True)
    # 64 x 16 box at level 0 (stride 4): its square spans y in [8, 72].
    rois = torch.tensor([[0, 16., 32., 80., 48.]])
    build(FAMOBBoxRoIExtractor)(feats, rois).sum().backward()
    grad = feats[0].grad[0].abs().sum(0)
    # Feature rows 2..4 (y 8..20 px) lie in the square but not in the box.
    assert grad[2:5, 4:20].sum() > 0
    assert grad[:, 21:].sum() == 0  # nothing right of the square (x > 80)


def roi_head_cfg(extractor_type, coder_type='DeltaXYWHBBoxCoder'):
    return ConfigDict(
        type='StandardRoIHead',
        bbox_roi_extractor=dict(
            type=extractor_type,
            roi_layer=ROI_LAYER,
            out_channels=8,
            featmap_strides=STRIDES),
        bbox_head=dict(
            type='Shared2FCBBoxHead',
            in_channels=8,
            fc_out_channels=16,
            roi_feat_size=7,
            num_classes=1,
            bbox_coder=dict(
                type=coder_type,
                target_means=[0., 0., 0., 0.],
                target_stds=[0.1, 0.1, 0.2, 0.2]),
            reg_class_agnostic=False,
            loss_cls=dict(
                type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
            loss_bbox=dict(type='L1Loss', loss_weight=1.0)),
        train_cfg=dict(
            assigner=dict(
                type='MaxIoUAssigner',
                pos_iou_thr=0.5,
                neg_iou_thr=0.5,
                min_pos_iou=0.5,
                match_low_quality=False,
                ignore_iof_thr=-1),
            sampler=dict(
                type='RandomSampler',
                num=32,
                pos_fraction=0.25,
                neg_pos_ub=-1,
                add_gt_as_proposals=True),
            pos_weight=-1,
            debug=False),
        test_cfg=dict(
            score_thr=0.0,
            nms=dict(type='nms', iou_threshold=1.0),
            max_per_img=100))


def hand_sampling():
    """Three proposals, the first two positive for one elongated box."""
    from mmdet.models.task_modules.assigners import AssignResult
    from mmdet.models.task_modules.samplers import SamplingResult

    proposals = torch.tensor([[10., 40., 90., 60.], [12., 38., 88., 64.],
                              [100., 100., 140., 220.]])
    gt = torch.tensor([[11., 41., 91., 61.]])
    assign = AssignResult(
        num_gts=1,
        gt_inds=torch.tensor([1, 1, 0]),
        max_overlaps=torch.tensor([0.9, 0.8, 0.]),
        labels=torch.tensor([0, 0, -1]))
    return SamplingResult(
        pos_inds=torch.tensor([0, 1]),
        neg_inds=torch.tensor([2]),
        priors=proposals,
        gt_bboxes=gt,
        assign_result=assign,
        gt_flags=torch.zeros(3, dtype=torch.uint8))


def bbox_loss_inputs(extractor_type, coder_type='DeltaXYWHBBoxCoder'):
    """The RoIs, regression targets and pooled features of one bbox loss."""
    import mmdet_famo  # noqa: F401

    torch.manual_seed(0)
    head = MODELS.build(roi_head_cfg(extractor_type, coder_type))
    calls = []
    loss_and_target = head.bbox_head.loss_and_target

    def record(**kwargs):
        calls.append((kwargs['rois'], loss_and_target(**kwargs)))
        return calls[-1][1]

    with mock.patch.object(head.bbox_head, 'loss_and_target', record):
        results = head.bbox_loss(pyramid(), [hand_sampling()])
    rois, loss_and_targets = calls[0]
    return rois, loss_and_targets['bbox_targets'], results['bbox_feats']


def test_the_extractor_alone_changes_features_not_targets():
    """The extractor changes the pooled features, never the regression
    targets: those follow the RoI head's coder."""
    base_rois, base_targets, base_feats = bbox_loss_inputs(
        'SingleRoIExtractor')
    famo_rois, famo_targets, famo_feats = bbox_loss_inputs(
        'FAMOBBoxRoIExtractor')
    assert torch.equal(famo_rois, bbox2roi([hand_sampling().priors]))
    assert torch.equal(famo_rois, base_rois)
    for base, famo in zip(base_targets, famo_targets):
        assert torch.equal(base, famo)
    assert not torch.allclose(base_feats, famo_feats)


def test_famo_coder_targets_move_the_squares_onto_the_box():
    from mmdet.models.task_modules.coders import DeltaXYWHBBoxCoder

    _, targets, _ = bbox_loss_inputs('FAMOBBoxRoIExtractor',
                                     'FAMODeltaXYWHBBoxCoder')
    sampling = hand_sampling()
    # The positives' squares: 80 x 80 and 76 x 76 about their centres.
    squares = torch.tensor([[10., 10., 90., 90.], [12., 13., 88., 89.]])
    stock = DeltaXYWHBBoxCoder(
        target_means=[0., 0., 0., 0.], target_stds=[0.1, 0.1, 0.2, 0.2])
    expected = stock.encode(squares, sampling.pos_gt_bboxes)
    assert torch.allclose(targets[2][:2], expected)
    assert torch.equal(targets[2][2:], torch.zeros(1, 4))  # the negative


@pytest.mark.parametrize('coder_type, squared', [
    ('DeltaXYWHBBoxCoder', False), ('FAMODeltaXYWHBBoxCoder', True)])
def test_zero_deltas_return_the_box_the_coder_refers_to(coder_type, squared):
    """With zero regression deltas a FAMO head returns its proposals as they
    are (elongated) with the stock coder, their squares with FAMO's."""
    from mmengine.structures import InstanceData

    import mmdet_famo  # noqa: F401
    from mmdet_famo.structures import square_boxes

    head = MODELS.build(roi_head_cfg('FAMOBBoxRoIExtractor', coder_type))
    torch.nn.init.zeros_(head.bbox_head.fc_reg.weight)
    torch.nn.init.zeros_(head.bbox_head.fc_reg.bias)
    proposals = torch.tensor([[10., 40., 90., 60.], [100., 20., 110., 200.]])
    rpn = InstanceData(bboxes=proposals, scores=torch.ones(2))
    meta = dict(img_shape=(256, 256), scale_factor=(1., 1.))
    with torch.no_grad():
        result = head.predict_bbox(
            pyramid(batch=1), [meta], [rpn], head.test_cfg, rescale=False)[0]
    order = result.bboxes[:, 0].argsort()
    # 80 x 20 -> 80 x 80 about y = 50; 10 x 180 -> 180 x 180 about x = 105.
    expected = torch.tensor([[10., 10., 90., 90.], [15., 20., 195., 200.]])
    assert torch.allclose(square_boxes(proposals), expected)
    assert torch.allclose(result.bboxes[order],
                          expected if squared else proposals)


# level_by='original' over two calls: (rois, their squares, expected levels).
# 240 x 30: sqrt(w*h) = 84.9 -> level 0; 20 x 80: 40 -> level 0.
# 224 x 224: floor(log2(224 / 56)) = 2; 256 x 64: sqrt 128 -> level 1
# (its 256-px square alone would be level 2).
SUCCESSIVE_CALLS = [
    (torch.tensor([[0, 8., 113., 248., 143.], [1, 40., 10., 60., 90.]]),
     torch.tensor([[0, 8., 8., 248., 248.], [1, 10., 10., 90., 90.]]),
     [0, 0]),
    (torch.tensor([[0, 20., 20., 244., 244.], [1, 0., 100., 256., 164.]]),
     torch.tensor([[0, 20., 20., 244., 244.], [1, 0., 4., 256., 260.]]),
     [2, 1]),
]


def hand_pooled(feats, squares, levels):
    return torch.cat([
        roi_align(feats, level, square[None])
        for square, level in zip(squares, levels)
    ])


def test_original_levels_over_successive_calls_keep_no_state():
    feats = pyramid()
    extractor = build(FAMOBBoxRoIExtractor, level_by='original')
    state = dict(vars(extractor))
    for rois, squares, levels in SUCCESSIVE_CALLS:
        out = extractor(feats, rois)
        assert torch.equal(out, hand_pooled(feats, squares, levels))
    assert vars(extractor).keys() == state.keys()


def test_threads_sharing_one_extractor_get_their_own_levels():
    """Two threads in one forward at once: both square their RoIs before
    either chooses levels (a barrier), so a level taken from state left on
    the module by the other call would show."""
    feats = pyramid()
    extractor = build(FAMOBBoxRoIExtractor, level_by='original')
    barrier = threading.Barrier(2, timeout=10)
    square_rois = extractor.square_rois

    def square_rois_together(rois, feats):
        squares = square_rois(rois, feats)
        barrier.wait()
        return squares

    outputs = {}

    def run(call):
        outputs[call] = extractor(feats, SUCCESSIVE_CALLS[call][0])

    with mock.patch.object(extractor, 'square_rois', square_rois_together):
        threads = [threading.Thread(target=run, args=(c, )) for c in (0, 1)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    for call, (_, squares, levels) in enumerate(SUCCESSIVE_CALLS):
        assert torch.equal(outputs[call], hand_pooled(feats, squares, levels))
