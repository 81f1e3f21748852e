"""RandomInvert and GaussianNoise at 8 and 16 bits and in float."""
import numpy as np
import pytest

from mmdet.datasets.transforms import Invert
from mmdet_famo.datasets.transforms import GaussianNoise, RandomInvert


def every_value(dtype, channels=None):
    """An image holding every value of an integer dtype once."""
    values = np.arange(np.iinfo(dtype).max + 1, dtype=dtype).reshape(256, -1)
    return values if channels is None else np.repeat(
        values[..., None], channels, axis=2)


@pytest.mark.parametrize('img, white', [
    (every_value(np.uint8, channels=3), 255),
    (every_value(np.uint16), 65535),
])
def test_inversion_is_exact_at_both_bit_depths(img, white):
    results = RandomInvert(prob=1)(dict(img=img.copy()))
    inverted = results['img']
    assert inverted.dtype == img.dtype and inverted.shape == img.shape
    np.testing.assert_array_equal(
        inverted.astype(np.int64), white - img.astype(np.int64))
    # an involution: inverting twice gives the image back
    twice = RandomInvert(prob=1)(dict(img=inverted))['img']
    np.testing.assert_array_equal(twice, img)


def test_mmdet_invert_is_wrong_for_16_bit():
    # why RandomInvert exists: MMDetection's Invert computes 255 - x
    img = np.array([[0, 1000, 65535]], dtype=np.uint16)
    stock = Invert(prob=1.)(dict(img=img.copy()))['img']
    assert stock[0, 0] == 255
    ours = RandomInvert(prob=1)(dict(img=img.copy()))['img']
    np.testing.assert_array_equal(ours, [[65535, 64535, 0]])


def test_inversion_over_stored_bits_and_in_float():
    twelve_bit = np.array([[0, 1, 4000, 4095]], dtype=np.uint16)
    inverted = RandomInvert(prob=1, max_value=4095)(dict(img=twelve_bit))
    np.testing.assert_array_equal(inverted['img'], [[4095, 4094, 95, 0]])
    assert inverted['img'].dtype == np.uint16
    with pytest.raises(ValueError, match=r'scan\.png.*4096.*max_value'):
        RandomInvert(
            prob=1, max_value=4095)(
                dict(img=twelve_bit + 1, img_path='scan.png'))
    unit = np.array([[0., 0.25, 1.]], dtype=np.float32)
    np.testing.assert_array_equal(
        RandomInvert(prob=1)(dict(img=unit))['img'], [[1., 0.75, 0.]])


def test_inversion_probability():
    transform = RandomInvert(prob=0.25)
    np.random.seed(0)
    img = np.zeros((2, 2), np.uint8)
    inverted = [transform(dict(img=img))['img'][0, 0] == 255
                for _ in range(2000)]
    assert np.mean(inverted) == pytest.approx(0.25, abs=0.03)


@pytest.mark.parametrize('img, white', [
    (np.full((256, 256, 3), 128, np.uint8), 255),
    (np.full((256, 256), 32768, np.uint16), 65535),
    (np.full((256, 256), 0.5, np.float32), 1.),
])
@pytest.mark.parametrize('std', [0.01, 0.04])
def test_noise_has_the_configured_standard_deviation(img, white, std):
    np.random.seed(0)
    results = GaussianNoise(prob=1, std_range=(std, std))(dict(img=img))
    noisy = results['img']
    assert noisy.dtype == img.dtype and noisy.shape == img.shape
    noise = noisy.astype(np.float64) - img.astype(np.float64)
    if noise.ndim == 3:  # one field for all channels: grey stays grey
        np.testing.assert_array_equal(noise[..., 0], noise[..., 2])
        noise = noise[..., 0]
    expected = std * white
    if np.issubdtype(img.dtype, np.integer):  # rounding adds 1/12
        expected = np.sqrt(expected**2 + 1 / 12)
    # 65536 samples: the standard error of the sd is 0.3%
    assert noise.std() == pytest.approx(expected, rel=0.015)
    assert noise.mean() == pytest.approx(0, abs=0.02 * expected)


def test_noise_is_clipped_not_wrapped():
    np.random.seed(0)
    black = np.zeros((64, 64, 3), np.uint8)
    noisy = GaussianNoise(prob=1, std_range=(0.05, 0.05))(
        dict(img=black))['img']
    # about half the pixels would go negative; clipped they stay at 0
    assert (noisy == 0).mean() == pytest.approx(0.5, abs=0.05)
    assert noisy.max() < 80  # no wrap-around to 255


def test_noise_standard_deviation_is_drawn_from_the_range():
    transform = GaussianNoise(prob=1, std_range=(0.01, 0.03))
    img = np.full((128, 128), 128, np.uint8)
    np.random.seed(0)
    stds = [(transform(dict(img=img))['img'] - 128.).std() / 255
            for _ in range(40)]
    assert 0.01 * 0.95 < min(stds) and max(stds) < 0.03 * 1.05
    assert np.mean(stds) == pytest.approx(0.02, abs=0.003)


def test_noise_is_reproducible_under_a_seed():
    img = np.full((32, 32), 1000, np.uint16)
    transform = GaussianNoise(prob=1)
    runs = []
    for seed in (3, 3, 4):
        np.random.seed(seed)
        runs.append(transform(dict(img=img))['img'])
    np.testing.assert_array_equal(runs[0], runs[1])
    assert (runs[0] != runs[2]).any()
