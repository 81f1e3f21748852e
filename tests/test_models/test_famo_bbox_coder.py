"""FAMODeltaXYWHBBoxCoder against DeltaXYWHBBoxCoder on hand-squared boxes."""
import torch

from mmdet.models.task_modules.coders import DeltaXYWHBBoxCoder
from mmdet_famo.models.task_modules import FAMODeltaXYWHBBoxCoder
from mmdet_famo.structures import square_boxes

STDS = dict(target_means=[0., 0., 0., 0.], target_stds=[0.1, 0.1, 0.2, 0.2])
# A 60 x 10 RoI centred at (40, 25); its square is 60 x 60 about the centre.
ROI = torch.tensor([[10., 20., 70., 30.]])
SQUARE = torch.tensor([[10., -5., 70., 55.]])
GT = torch.tensor([[12., 18., 68., 33.]])  # 56 x 15, centre (40, 25.5)


def test_square_boxes_by_hand():
    boxes = torch.tensor([[10., 20., 70., 30.], [40., 10., 60., 90.],
                          [0., 0., 8., 8.]])
    expected = torch.tensor([[10., -5., 70., 55.], [10., 10., 90., 90.],
                             [0., 0., 8., 8.]])
    assert torch.equal(square_boxes(boxes), expected)


def test_encode_is_relative_to_the_square():
    deltas = FAMODeltaXYWHBBoxCoder(**STDS).encode(ROI, GT)
    # (dx, dy, dw, dh) = (0 / 60, 0.5 / 60, log(56 / 60), log(15 / 60)),
    # divided by the stds.
    expected = torch.tensor([[
        0., 0.5 / 60 / 0.1,
        torch.log(torch.tensor(56 / 60)) / 0.2,
        torch.log(torch.tensor(15 / 60)) / 0.2
    ]])
    assert torch.allclose(deltas, expected, atol=1e-5)
    assert torch.allclose(
        deltas, DeltaXYWHBBoxCoder(**STDS).encode(SQUARE, GT))


def test_decode_inverts_encode_and_zero_deltas_give_the_square():
    coder = FAMODeltaXYWHBBoxCoder(**STDS)
    assert torch.allclose(coder.decode(ROI, coder.encode(ROI, GT)), GT)
    assert torch.allclose(coder.decode(ROI, torch.zeros(1, 4)), SQUARE)
    clipped = coder.decode(ROI, torch.zeros(1, 4), max_shape=(50, 100))
    assert torch.equal(clipped, torch.tensor([[10., 0., 70., 50.]]))


def test_rois_with_one_square_share_their_decoded_boxes():
    """Two RoIs of one centre and long side pool the same features under
    FAMO, so the same deltas must mean the same box."""
    wide = torch.tensor([[10., 20., 70., 30.], [10., 10., 70., 40.]])
    deltas = torch.tensor([[0.1, -0.2, -0.3, -4.], [0.1, -0.2, -0.3, -4.]])
    famo = FAMODeltaXYWHBBoxCoder(**STDS).decode(wide, deltas)
    assert torch.equal(famo[0], famo[1])
    stock = DeltaXYWHBBoxCoder(**STDS).decode(wide, deltas)
    assert not torch.allclose(stock[0], stock[1])
