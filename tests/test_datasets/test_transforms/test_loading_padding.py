"""Pixel Padding Value (0028,0120) and Pixel Padding Range Limit (0028,0121):
padding stays out of the stretch and of CLAHE's histograms and comes out at
the darkest value (PS3.3 C.7.5.1.1.2)."""
import numpy as np
import pydicom
import pytest

from mmdet_famo.datasets.transforms import LoadRadiograph, RadiographError
from mmdet_famo.datasets.transforms.radiograph_pixels import (fill_padding,
                                                              padding_mask)
from tests.dicom_factory import write_dicom

WINDOW = np.s_[16:64, 20:84]  # where the anatomy lies in an 80 x 100 image


def load(path, **kwargs) -> np.ndarray:
    return LoadRadiograph(**kwargs)(dict(img_path=str(path)))['img']


def anatomy(shape=(48, 64), seed=0) -> np.ndarray:
    """Smooth 12-bit content spanning 600..3500."""
    y, x = np.mgrid[0:shape[0], 0:shape[1]]
    smooth = np.sin(x / 9.0) * np.cos(
        y / 13.0) + 0.3 * np.random.default_rng(seed).normal(size=shape)
    return np.rint(600 +
                   (smooth - smooth.min()) / np.ptp(smooth) * 2900).astype(
                       np.uint16)


def framed(padding: np.ndarray) -> np.ndarray:
    """:func:`anatomy` at :data:`WINDOW` in a border of ``padding`` values
    (an 80 x 100 array, or a scalar)."""
    image = np.broadcast_to(np.asarray(padding, np.uint16), (80, 100)).copy()
    image[WINDOW] = anatomy()
    return image


@pytest.mark.parametrize('output', ['uint16', 'rgb_uint8', 'float32'])
@pytest.mark.parametrize(
    'padding, tags',
    [
        (0, dict(PixelPaddingValue=0)),
        (4095, dict(PixelPaddingValue=4095)),  # brighter than the anatomy
        # A range, given either way round: every value in it is padding.
        ('range', dict(PixelPaddingValue=0, PixelPaddingRangeLimit=300)),
        ('range', dict(PixelPaddingValue=300, PixelPaddingRangeLimit=0)),
    ])
def test_border_padding_is_left_out_exactly(tmp_path, output, padding, tags):
    """The anatomy comes out as it does without its border; the border is
    the darkest value."""
    values = np.random.default_rng(1).integers(
        0, 301, (80, 100)) if padding == 'range' else padding
    padded = write_dicom(tmp_path / 'padded.dcm',
                         framed(values),
                         BitsStored=12,
                         **tags)
    alone = write_dicom(tmp_path / 'alone.dcm', anatomy(), BitsStored=12)
    img = load(padded, output=output)
    assert np.array_equal(img[WINDOW], load(alone, output=output))
    border = np.ones((80, 100), bool)
    border[WINDOW] = False
    assert (img[border] == 0).all()
    # Without the tag the border enters the stretch and the histograms.
    untagged = write_dicom(tmp_path / 'untagged.dcm',
                           framed(values),
                           BitsStored=12)
    assert not np.array_equal(
        load(untagged, output=output)[WINDOW], img[WINDOW])


def test_monochrome1_padding_stays_darkest(tmp_path):
    """MONOCHROME1 padding (here at the stored value shown black, 4095)
    gives what the inverted MONOCHROME2 twin gives: padding at 0."""
    mono2 = write_dicom(tmp_path / 'mono2.dcm',
                        framed(0),
                        BitsStored=12,
                        PixelPaddingValue=0)
    mono1 = write_dicom(tmp_path / 'mono1.dcm',
                        4095 - framed(0),
                        BitsStored=12,
                        PhotometricInterpretation='MONOCHROME1',
                        PixelPaddingValue=4095)
    for kwargs in (dict(output='uint16'), dict(clip_limit=None,
                                               output='uint16')):
        expected = load(mono2, **kwargs)
        assert np.array_equal(load(mono1, **kwargs), expected)
        assert expected[0, 0] == 0


def test_padding_without_clahe_is_zero_and_the_rest_unchanged(tmp_path):
    image = framed(0)
    path = write_dicom(tmp_path / 'raw.dcm',
                       image,
                       BitsStored=12,
                       PixelPaddingValue=0)
    got = load(path, clip_limit=None, output='uint16')
    expected = np.rint(image.astype(float) * 65535 / 4095).astype(np.uint16)
    assert np.array_equal(got, expected)  # padding at 0 maps to 0 anyway
    ten = write_dicom(tmp_path / 'ten.dcm',
                      framed(1000),
                      BitsStored=12,
                      PixelPaddingValue=1000)
    got = load(ten, clip_limit=None, output='uint16')
    assert (got[:16] == 0).all() and np.array_equal(got[WINDOW],
                                                    expected[WINDOW])


def test_interior_padding_does_not_depend_on_its_value(tmp_path):
    """Padding inside the anatomy's box (a hole): filled from its nearest
    anatomy for CLAHE, so its stored value changes nothing, and it comes
    out at 0."""
    outputs = []
    for value in (0, 4000):
        image = framed(value)
        image[30:40, 40:60] = value
        path = write_dicom(tmp_path / f'hole{value}.dcm',
                           image,
                           BitsStored=12,
                           PixelPaddingValue=value)
        outputs.append(load(path, output='uint16'))
    assert np.array_equal(outputs[0], outputs[1])
    assert (outputs[0][30:40, 40:60] == 0).all()
    assert outputs[0][WINDOW].max() > 60000


def test_fill_padding_takes_the_nearest_value():
    image = np.array([[1, 2, 3, 4], [5, 0, 0, 8], [9, 10, 11, 12]], np.uint16)
    padding = image == 0
    filled = fill_padding(image, padding)
    assert filled[~padding].tolist() == image[~padding].tolist()
    assert filled[1, 1] in (2, 5, 10) and filled[1, 2] in (3, 8, 11)


def test_padding_mask_follows_the_standard(tmp_path):
    stored = np.array([[0, 5, 10, 11, 4095]], np.uint16)
    ds = pydicom.dcmread(
        write_dicom(tmp_path / 'mask.dcm',
                    stored,
                    BitsStored=12,
                    PixelPaddingValue=10,
                    PixelPaddingRangeLimit=5))
    assert padding_mask(ds,
                        stored).tolist() == [[False, True, True, False, False]]
    del ds.PixelPaddingRangeLimit
    assert padding_mask(
        ds, stored).tolist() == [[False, False, True, False, False]]
    ds.PixelPaddingValue = 7  # no pixel holds it
    assert padding_mask(ds, stored) is None
    del ds.PixelPaddingValue
    assert padding_mask(ds, stored) is None


def test_signed_padding(tmp_path):
    image = framed(0).astype(np.int16) - 2048
    path = write_dicom(tmp_path / 'signed.dcm',
                       image,
                       BitsStored=12,
                       PixelPaddingValue=-2048)
    assert pydicom.dcmread(path).PixelPaddingValue == -2048
    alone = write_dicom(tmp_path / 'alone.dcm',
                        anatomy().astype(np.int16) - 2048,
                        BitsStored=12)
    img = load(path, output='uint16')
    assert np.array_equal(img[WINDOW], load(alone, output='uint16'))
    assert img[0, 0] == 0


def test_all_padding_is_an_error(tmp_path):
    path = write_dicom(tmp_path / 'blank.dcm',
                       np.zeros((8, 8), np.uint16),
                       PixelPaddingValue=0)
    with pytest.raises(RadiographError, match='every pixel is padding'):
        load(path)
