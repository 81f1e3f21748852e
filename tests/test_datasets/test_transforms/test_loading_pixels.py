"""LoadRadiograph's pixel values, step by step, against hand-computed
values, OpenCV and scikit-image."""
import cv2
import numpy as np
import pydicom
import pytest
from pydicom import Dataset
from skimage.exposure import equalize_adapthist

from mmdet_famo.datasets.transforms import LoadRadiograph
from mmdet_famo.datasets.transforms.radiograph_pixels import (display_levels,
                                                              equalize,
                                                              to_uint16)
from tests.dicom_factory import pydicom_test_file, write_dicom

RAW = dict(clip_limit=None, output='uint16')  # no CLAHE, 16-bit output


def load(path, **kwargs) -> np.ndarray:
    return LoadRadiograph(**kwargs)(dict(img_path=str(path)))['img']


def to_16_bits(values, lo, hi) -> np.ndarray:
    """The documented linear map of [lo, hi] onto 0..65535."""
    return np.rint(
        (np.asarray(values, float) - lo) * 65535 / (hi - lo)).astype(np.uint16)


def phantom(shape=(48, 64), low=100, high=3955, seed=0) -> np.ndarray:
    """Smooth 12-bit content plus noise, spanning exactly [low, high]."""
    y, x = np.mgrid[0:shape[0], 0:shape[1]]
    smooth = np.sin(x / 9.0) * np.cos(
        y / 13.0) + 0.3 * np.random.default_rng(seed).normal(size=shape)
    values = low + (smooth - smooth.min()) / np.ptp(smooth) * (high - low)
    return np.rint(values).astype(np.uint16)


@pytest.mark.parametrize('signed, expected', [
    (False, [5, 4095, 2048, 2047]),
    (True, [5, -1, -2048, 2047]),
])
def test_bits_stored_are_masked_and_sign_extended(tmp_path, signed, expected):
    # Words with junk above Bits Stored (12), e.g. overlay bits.
    words = np.array([[0xF005, 0x0FFF, 0x0800, 0x07FF]], dtype=np.uint16)
    path = write_dicom(tmp_path / 'masked.dcm',
                       np.array([expected], np.int16 if signed else np.uint16),
                       BitsStored=12,
                       PixelData=words.tobytes())
    lo = -2048 if signed else 0
    assert load(path, **RAW).tolist() == to_16_bits([expected], lo,
                                                    lo + 4095).tolist()


def test_rescale_is_applied_exactly(tmp_path):
    hounsfield = np.array([[-1024, -100, 0, 40, 240, 1000]], dtype=np.int16)
    stored = hounsfield + 1024
    ds = pydicom.dcmread(
        write_dicom(tmp_path / 'ct.dcm',
                    stored.astype(np.uint16),
                    BitsStored=12,
                    RescaleSlope=1,
                    RescaleIntercept=-1024))
    levels = display_levels(ds)
    np.testing.assert_array_equal(levels, np.arange(4096) - 1024.0)
    # A window in Hounsfield units only works if the rescale was applied:
    # LINEAR, centre 40, width 400, output range the rescaled stored range.
    path = write_dicom(tmp_path / 'ct_window.dcm',
                       stored.astype(np.uint16),
                       BitsStored=12,
                       RescaleSlope=1,
                       RescaleIntercept=-1024,
                       WindowCenter=40,
                       WindowWidth=400)
    windowed = np.clip((hounsfield - 39.5) / 399 + 0.5, 0, 1)
    assert load(path, apply_voi=True,
                **RAW).tolist() == to_16_bits(windowed, 0, 1).tolist()


def test_real_ct_rescale():
    ds = pydicom.dcmread(pydicom_test_file('CT_small.dcm'))
    stored = ds.pixel_array
    levels = display_levels(ds)
    np.testing.assert_array_equal(levels[stored.astype(int) + 32768],
                                  stored * 1.0 - 1024)


def modality_lut_item(first_mapped: int, data) -> Dataset:
    item = Dataset()
    item.add_new('LUTDescriptor', 'US', [len(data), first_mapped, 16])
    item.add_new('LUTData', 'US', [int(v) for v in data])
    item.ModalityLUTType = 'US'
    return item


def test_modality_lut_sequence(tmp_path):
    # A non-linear LUT for stored values 1000..1999; outside it clamps.
    lut = np.rint(np.linspace(0, 1, 1000)**2 * 60000 + 500)
    stored = np.array([[0, 1000, 1500, 1999, 4095]], dtype=np.uint16)
    path = write_dicom(tmp_path / 'mlut.dcm',
                       stored,
                       BitsStored=12,
                       ModalityLUTSequence=[modality_lut_item(1000, lut)])
    expected = lut[np.clip(stored.astype(int) - 1000, 0, 999)]
    assert load(path, **RAW).tolist() == to_16_bits(expected, lut.min(),
                                                    lut.max()).tolist()


def test_real_modality_lut_sequence():
    path = pydicom_test_file('mlut_18.dcm')
    ds = pydicom.dcmread(path)
    item = ds.ModalityLUTSequence[0]
    count, first_mapped, _ = item.LUTDescriptor
    lut = np.asarray(item.LUTData, float)
    index = np.clip(ds.pixel_array.astype(int) - first_mapped, 0, count - 1)
    assert np.array_equal(load(path, **RAW),
                          to_16_bits(lut[index], lut.min(), lut.max()))


@pytest.mark.parametrize('function', ['LINEAR', 'SIGMOID'])
def test_voi_window(tmp_path, function):
    stored = np.arange(0, 4096, 7, dtype=np.uint16).reshape(1, -1)
    path = write_dicom(tmp_path / 'window.dcm',
                       stored,
                       BitsStored=12,
                       WindowCenter=1500,
                       WindowWidth=1000,
                       VOILUTFunction=function)
    every = np.arange(4096.0)  # every representable stored value
    if function == 'LINEAR':  # PS3.3 C.11.2.1.2.1, output range 0..4095
        window = np.clip((every - 1499.5) / 999 + 0.5, 0, 1) * 4095
    else:  # PS3.3 C.11.2.1.3.1
        window = 4095 / (1 + np.exp(-4 * (every - 1500) / 1000))
    expected = to_16_bits(window[stored], window.min(), window.max())
    assert np.array_equal(load(path, apply_voi=True, **RAW), expected)
    # VOI is off by default: the window is ignored.
    assert np.array_equal(load(path, **RAW), to_16_bits(stored, 0, 4095))


def test_real_voi_lut_sequence():
    path = pydicom_test_file('vlut_04.dcm')
    ds = pydicom.dcmread(path)
    lut = np.asarray(ds.VOILUTSequence[0].LUTData, float)
    assert ds.VOILUTSequence[0].LUTDescriptor[1] == 0  # stored = index
    expected = to_16_bits(lut[ds.pixel_array], lut.min(), lut.max())
    assert np.array_equal(load(path, apply_voi=True, **RAW), expected)


@pytest.mark.parametrize('kwargs', [
    dict(),
    RAW,
    dict(output='float32'),
    dict(clip_limit=3.0, tile_grid_size=(4, 2), output='uint16'),
])
def test_monochrome1_equals_inverted_monochrome2_twin(tmp_path, kwargs):
    stored = phantom()
    mono2 = write_dicom(tmp_path / 'mono2.dcm', stored, BitsStored=12)
    mono1 = write_dicom(tmp_path / 'mono1.dcm',
                        4095 - stored,
                        BitsStored=12,
                        PhotometricInterpretation='MONOCHROME1')
    assert np.array_equal(load(mono1, **kwargs), load(mono2, **kwargs))


def test_real_monochrome1_twin(tmp_path):
    """RG3 (computed radiography, MONOCHROME1, 10 bits) against a
    MONOCHROME2 copy with inverted pixels."""
    path = pydicom_test_file('RG3_UNCR.dcm')
    stored = pydicom.dcmread(path).pixel_array
    twin = write_dicom(tmp_path / 'rg3_mono2.dcm',
                       1023 - stored,
                       BitsStored=10)
    assert np.array_equal(load(path), load(twin))
    assert np.array_equal(load(path, **RAW),
                          to_16_bits(1023 - stored, 0, 1023))


def test_inversion_does_not_stretch(tmp_path):
    """Inverted over the stored-bit range, not the image's min/max."""
    stored = np.array([[1000, 1050, 1100]], dtype=np.uint16)
    path = write_dicom(tmp_path / 'narrow.dcm',
                       stored,
                       BitsStored=12,
                       PhotometricInterpretation='MONOCHROME1')
    assert load(path, **RAW).tolist() == to_16_bits(4095 - stored, 0,
                                                    4095).tolist()


@pytest.mark.parametrize(
    'photometric, shape, inverted',
    [
        ('MONOCHROME2', 'IDENTITY', False),
        ('MONOCHROME2', 'INVERSE', True),
        ('MONOCHROME1', 'INVERSE', True),  # one inversion, as DICOM requires
        ('MONOCHROME1', 'IDENTITY', True),
    ])
def test_presentation_lut_shape(tmp_path, photometric, shape, inverted):
    stored = np.array([[0, 1000, 4095]], dtype=np.uint16)
    path = write_dicom(tmp_path / 'shape.dcm',
                       stored,
                       BitsStored=12,
                       PhotometricInterpretation=photometric,
                       PresentationLUTShape=shape)
    displayed = 4095 - stored if inverted else stored
    assert load(path, **RAW).tolist() == to_16_bits(displayed, 0,
                                                    4095).tolist()


@pytest.mark.parametrize('clip_limit, tiles', [(2.0, (8, 8)), (3.0, (4, 2))])
def test_clahe_equals_opencv(tmp_path, clip_limit, tiles):
    # Levels 100, 115 ... 3955: a clip limit of a few counts per level on
    # 16 x 20 pixel tiles; 3855 * 17 = 65535, so the stretch is exact.
    levels = (phantom(shape=(128, 160)) - 100) // 15
    stored = (100 + 15 * levels).astype(np.uint16)
    path = write_dicom(tmp_path / 'clahe.dcm', stored, BitsStored=12)
    stretched = (stored - 100) * 17
    assert stored.min() == 100 and stored.max() == 3955
    occupied = len(np.unique(stored))
    expected = cv2.createCLAHE(clipLimit=clip_limit * 65536 / occupied,
                               tileGridSize=tiles).apply(
                                   stretched.astype(np.uint16))
    got = load(path,
               clip_limit=clip_limit,
               tile_grid_size=tiles,
               output='uint16')
    assert np.array_equal(got, expected)


def test_clahe_does_not_depend_on_the_encoding(tmp_path):
    """The same content as 10-bit DICOM, as 16-bit DICOM with gaps between
    levels (x64 + 32) and as a 16-bit PNG (x64) is equalised alike."""
    content = (phantom() // 4).astype(np.uint16)  # 10-bit values
    ten_bits = write_dicom(tmp_path / 'ten.dcm', content, BitsStored=10)
    gaps = write_dicom(tmp_path / 'gaps.dcm', content * 64 + 32)
    png = tmp_path / 'gaps.png'
    cv2.imwrite(str(png), content * 64)
    reference = load(ten_bits, output='uint16')
    assert np.array_equal(load(gaps, output='uint16'), reference)
    assert np.array_equal(load(png, output='uint16'), reference)


def test_clahe_is_close_to_scikit_image():
    """On RG3 (1760 x 1760 CR), clip 2.56 (scikit-image's default 0.01 in
    this unit) lands near ``equalize_adapthist``; the plain image and
    OpenCV with the clip limit applied per 65536 bins land far."""
    path = pydicom_test_file('RG3_UNCR.dcm')
    inverted = 1023 - pydicom.dcmread(path).pixel_array
    reference = equalize_adapthist(inverted / 1023, clip_limit=0.01)
    ours = load(path, clip_limit=2.56, output='float32')
    plain = load(path, clip_limit=None, output='float32')
    unscaled = cv2.createCLAHE(2.56, (8, 8)).apply(
        to_16_bits(inverted, inverted.min(), inverted.max())) / 65535

    def distance(image):
        return np.abs(image - reference).mean()

    assert distance(ours) < 0.02
    assert np.corrcoef(ours.ravel(), reference.ravel())[0, 1] > 0.99
    assert distance(plain) > 2 * distance(ours)
    assert distance(unscaled) > 3 * distance(ours)


def test_outputs(tmp_path):
    path = write_dicom(tmp_path / 'out.dcm', phantom(), BitsStored=12)
    sixteen = load(path, output='uint16')
    assert sixteen.dtype == np.uint16 and sixteen.shape == (48, 64)
    unit = load(path, output='float32')
    assert unit.dtype == np.float32 and unit.shape == (48, 64)
    np.testing.assert_allclose(unit, sixteen / 65535, rtol=1e-6)
    rgb = load(path)
    assert rgb.dtype == np.uint8 and rgb.shape == (48, 64, 3)
    expected = np.rint(sixteen.astype(float) * 255 / 65535)
    for channel in range(3):
        assert np.array_equal(rgb[..., channel], expected)


def eight_bit_radiograph(shape=(454, 373), seed=0) -> np.ndarray:
    """A FracAtlas-like 8-bit image: soft tissue, two bones, noise, a dark
    background, not spanning the full 0..255."""
    rows, columns = shape
    y, x = np.mgrid[0:rows, 0:columns].astype(float)
    tissue = np.exp(-((x - columns / 2) / (columns / 4))**2)
    bones = sum(
        np.exp(-((x - c) / (columns / 20))**2)
        for c in (0.42 * columns + 0.02 * y, 0.58 * columns - 0.01 * y))
    noise = np.random.default_rng(seed).normal(0, 0.02, shape)
    density = 0.5 * tissue + 0.8 * bones + noise
    return np.rint(8 + 230 * np.clip(density, 0, 1)).astype(np.uint8)


def sixteen_bit_path(image: np.ndarray, clip_limit: float) -> np.ndarray:
    """What LoadRadiograph computed for 8-bit sources before it used 8-bit
    CLAHE: the 16-bit stretch and the 16-bit CLAHE, in [0, 1]."""
    stretched = to_uint16(image, np.arange(256.0), 0, stretch=True)
    return equalize(stretched, clip_limit, (8, 8)) / 65535


@pytest.mark.parametrize('shape', [(454, 373), (1440, 1152)])
def test_eight_bit_clahe_matches_the_sixteen_bit_path(tmp_path, shape):
    """8-bit sources take OpenCV's 8-bit CLAHE with the same clip count per
    tile as the 16-bit path. The two differ only in where OpenCV puts the
    integer remainder of the clipped counts (one count per bin from the
    darkest bin up, a remainder below 256 in 8 bits, below 65536 in 16), so
    the 8-bit result is as close to scikit-image's CLAHE as the 16-bit one,
    closer on large tiles, and within a few grey levels of it."""
    image = eight_bit_radiograph(shape)
    path = tmp_path / 'radiograph.png'
    cv2.imwrite(str(path), image)
    ours = load(path, clip_limit=2.56, output='float32')
    reference = sixteen_bit_path(image, 2.56)
    assert np.abs(ours - reference).mean() * 255 < 2.5
    scikit = equalize_adapthist(image, clip_limit=0.01)
    distance, reference_distance = (np.abs(result - scikit).mean()
                                    for result in (ours, reference))
    assert distance < 1.1 * reference_distance
    assert distance < 0.035
    # The RGB output is the 8-bit result itself.
    rgb = load(path, clip_limit=2.56)
    assert np.array_equal(rgb[..., 0], np.rint(ours * 255))


def test_eight_bit_clip_limit_means_what_it_means_in_sixteen_bits(tmp_path):
    """Each clip limit of the 8-bit path lands nearest the 16-bit path with
    the same clip limit."""
    image = eight_bit_radiograph()
    path = tmp_path / 'radiograph.png'
    cv2.imwrite(str(path), image)
    limits = (1.0, 2.0, 4.0)
    sixteen = {c: sixteen_bit_path(image, c) for c in limits}
    for clip_limit in limits:
        ours = load(path, clip_limit=clip_limit, output='float32')
        distances = {c: np.abs(ours - s).mean() for c, s in sixteen.items()}
        assert min(distances, key=distances.get) == clip_limit
