"""LoadRadiograph as a transform: real and compressed files, PNG/JPEG,
DICOM facts, bad input and skipping."""
import logging

import cv2
import numpy as np
import pydicom
import pytest
from mmcv.transforms import Compose
from mmengine.logging import MMLogger
from pydicom.encaps import encapsulate
from pydicom.pixels import get_decoder
from pydicom.uid import JPEG2000Lossless, JPEGBaseline8Bit, RLELossless

from mmdet.registry import TRANSFORMS
from mmdet_famo.datasets.transforms import LoadRadiograph, RadiographError
from tests.dicom_factory import pydicom_test_file, write_dicom

RAW = dict(clip_limit=None, output='uint16')


def load(path, **kwargs) -> dict:
    return LoadRadiograph(**kwargs)(dict(img_path=str(path)))


def phantom(shape=(48, 64), high=4095, seed=0) -> np.ndarray:
    values = np.random.default_rng(seed).integers(0, high + 1, shape)
    return values.astype(np.uint16 if high > 255 else np.uint8)


@pytest.mark.parametrize(
    'compressed, uncompressed',
    [
        ('RG1_J2KR.dcm', 'RG1_UNCR.dcm'),  # CR, MONOCHROME1, 15 bits
        ('RG3_J2KR.dcm', 'RG3_UNCR.dcm'),  # CR, MONOCHROME1, 10 bits
        ('MR_small_RLE.dcm', 'MR_small.dcm'),
        ('MR_small_jpeg_ls_lossless.dcm', 'MR_small.dcm'),
    ])
def test_lossless_real_files_equal_their_uncompressed_twin(
        compressed, uncompressed):
    expected = load(pydicom_test_file(uncompressed), **RAW)['img']
    assert np.ptp(expected) > 0
    assert np.array_equal(
        load(pydicom_test_file(compressed), **RAW)['img'], expected)


@pytest.mark.parametrize('syntax', [JPEG2000Lossless, RLELossless])
def test_lossless_written_files_equal_their_uncompressed_twin(
        tmp_path, syntax):
    stored = phantom()
    plain = write_dicom(tmp_path / 'plain.dcm', stored, BitsStored=12)
    packed = write_dicom(tmp_path / 'packed.dcm',
                         stored,
                         BitsStored=12,
                         TransferSyntaxUID=syntax)
    assert pydicom.dcmread(packed).file_meta.TransferSyntaxUID == syntax
    assert np.array_equal(load(packed)['img'], load(plain)['img'])


def test_jpeg_baseline(tmp_path):
    content = cv2.GaussianBlur(phantom(high=255), (5, 5), 0)
    _, jpeg = cv2.imencode('.jpg', content)
    path = write_dicom(tmp_path / 'baseline.dcm', content)
    ds = pydicom.dcmread(path)
    ds.file_meta.TransferSyntaxUID = JPEGBaseline8Bit
    ds.PixelData = encapsulate([jpeg.tobytes()])
    ds.save_as(path)
    decoded = cv2.imdecode(jpeg, cv2.IMREAD_UNCHANGED).astype(int) * 257
    got = load(path, **RAW)['img'].astype(int)
    assert np.abs(got - decoded).max() <= 257  # decoders differ by <= 1


def test_missing_decoder_names_file_syntax_and_package(tmp_path, monkeypatch):
    path = write_dicom(tmp_path / 'j2k.dcm',
                       phantom(),
                       BitsStored=12,
                       TransferSyntaxUID=JPEG2000Lossless)
    monkeypatch.setattr(get_decoder(JPEG2000Lossless), '_available', {})
    with pytest.raises(RadiographError) as error:
        load(path)
    message = str(error.value)
    assert str(path) in message
    assert 'JPEG 2000 Image Compression (Lossless Only)' in message
    assert 'pip install pylibjpeg pylibjpeg-openjpeg' in message


def bad_files(tmp_path) -> dict:
    """Case -> (path of a bad file, words its error must contain)."""
    good = write_dicom(tmp_path / 'good.dcm', phantom(), BitsStored=12)
    truncated = tmp_path / 'truncated.dcm'
    truncated.write_bytes(good.read_bytes()[:-1000])
    no_pixels = pydicom.dcmread(good)
    del no_pixels.PixelData
    no_pixels.save_as(tmp_path / 'no_pixels.dcm')
    text = tmp_path / 'notes.dcm'
    text.write_text('not a radiograph')
    colour_png = tmp_path / 'colour.png'
    cv2.imwrite(
        str(colour_png),
        np.dstack([phantom(high=255)] * 2 + [phantom(high=255, seed=1)]))
    cases = {
        'not DICOM': (text, 'neither DICOM'),
        'missing': (tmp_path / 'missing.dcm', 'cannot open'),
        'truncated': (truncated, 'less than expected'),
        'no Pixel Data': (tmp_path / 'no_pixels.dcm', 'no Pixel Data'),
        'frames': (write_dicom(tmp_path / 'frames.dcm',
                               np.zeros((2, 8, 8), np.uint16)), '2 frames'),
        'RGB': (write_dicom(tmp_path / 'rgb.dcm',
                            np.zeros((8, 8, 3), np.uint8),
                            PhotometricInterpretation='RGB'), 'colour'),
        'YBR': (write_dicom(tmp_path / 'ybr.dcm',
                            np.zeros((8, 8, 3), np.uint8),
                            PhotometricInterpretation='YBR_FULL'), 'colour'),
        'zero-sized': (write_dicom(tmp_path / 'empty.dcm', phantom(),
                                   Rows=0), 'zero-sized'),
        'bit depth': (write_dicom(tmp_path / 'deep.dcm',
                                  phantom(),
                                  BitsAllocated=32), 'unsupported bit depth'),
        'colour PNG': (colour_png, 'colour image'),
    }
    return cases


@pytest.mark.parametrize('case', [
    'not DICOM', 'missing', 'truncated', 'no Pixel Data', 'frames', 'RGB',
    'YBR', 'zero-sized', 'bit depth', 'colour PNG'
])
def test_bad_input_raises_naming_file_and_reason(tmp_path, case):
    path, words = bad_files(tmp_path)[case]
    with pytest.raises(RadiographError, match=words) as error:
        load(path)
    assert str(error.value).startswith(f'{path}: ')
    assert isinstance(error.value, ValueError)


@pytest.mark.parametrize(
    'name, words',
    [
        ('SC_rgb.dcm', 'colour'),
        ('MR_truncated.dcm', 'less than expected'),
        ('no_meta.dcm', 'neither DICOM'),
        ('JPEG-lossy.dcm', 'JPEG Extended'),  # no installed decoder reads it
    ])
def test_bad_real_files(name, words):
    path = pydicom_test_file(name)
    with pytest.raises(RadiographError, match=words) as error:
        load(path)
    assert path in str(error.value)


class Records(logging.Handler):

    def __init__(self) -> None:
        super().__init__()
        self.records = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_skip_logs_counts_and_returns_none(tmp_path):
    bad = write_dicom(tmp_path / 'frames.dcm',
                      np.zeros((2, 8, 8), np.uint16),
                      PatientID='PID-4711',
                      PatientName='Doe^Jane')
    good = write_dicom(tmp_path / 'good.dcm', phantom(), PatientID='PID-4711')
    transform = LoadRadiograph(on_error='skip')
    logger = MMLogger.get_current_instance()
    records = Records()
    logger.addHandler(records)
    try:
        assert transform(dict(img_path=str(bad))) is None
        assert transform(dict(img_path=str(tmp_path / 'gone.png'))) is None
        assert transform(dict(img_path=str(good)))['img'].shape == (48, 64, 3)
    finally:
        logger.removeHandler(records)
    assert transform.num_skipped == 2
    messages = [r.getMessage() for r in records.records]
    assert [r.levelno for r in records.records] == [logging.WARNING] * 2
    assert str(bad) in messages[0] and '2 frames' in messages[0]
    assert 'gone.png' in messages[1]
    assert not any('4711' in m or 'Doe' in m for m in messages)


def test_dicom_facts(tmp_path):
    path = write_dicom(tmp_path / 'facts.dcm',
                       phantom(),
                       BitsStored=12,
                       StudyInstanceUID='1.2.3',
                       SeriesInstanceUID='1.2.3.4',
                       SOPInstanceUID='1.2.3.4.5',
                       PatientID='P-7',
                       BodyPartExamined='WRIST',
                       ViewPosition='PA',
                       ImageLaterality='L',
                       Laterality='R',
                       PixelSpacing=[0.1, 0.2],
                       ImagerPixelSpacing=[0.15, 0.15])
    results = load(path)
    assert results['radiograph_meta'] == dict(
        study_instance_uid='1.2.3',
        series_instance_uid='1.2.3.4',
        sop_instance_uid='1.2.3.4.5',
        patient_id='P-7',
        body_part_examined='WRIST',
        view_position='PA',
        laterality='L',
        pixel_spacing=(0.1, 0.2),
        imager_pixel_spacing=(0.15, 0.15),
        modality='DX',
        photometric_interpretation='MONOCHROME2')
    assert results['img_shape'] == results['ori_shape'] == (48, 64)


def test_absent_facts_are_none(tmp_path):
    path = write_dicom(tmp_path / 'bare.dcm',
                       phantom(),
                       Laterality='R',
                       BodyPartExamined='')
    facts = load(path)['radiograph_meta']
    assert facts['laterality'] == 'R'
    assert facts['body_part_examined'] is None
    assert facts['patient_id'] is None and facts['pixel_spacing'] is None


def test_real_computed_radiograph_facts():
    facts = load(pydicom_test_file('RG3_UNCR.dcm'), **RAW)['radiograph_meta']
    assert (facts['modality'], facts['body_part_examined'],
            facts['view_position'], facts['laterality'],
            facts['photometric_interpretation']) == ('CR', 'EXTREMITY', 'AP',
                                                     'R', 'MONOCHROME1')


@pytest.mark.parametrize('suffix, high', [('.png', 65535), ('.png', 255),
                                          ('.jpg', 255)])
def test_png_and_jpeg_take_the_dicom_path(tmp_path, suffix, high):
    content = cv2.GaussianBlur(phantom(high=high), (5, 5), 0)
    image = tmp_path / f'image{suffix}'
    # JPEGs of FracAtlas are often 3 equal channels.
    cv2.imwrite(str(image),
                cv2.merge([content] * 3) if suffix == '.jpg' else content)
    decoded = cv2.imread(str(image), cv2.IMREAD_GRAYSCALE)
    twin = write_dicom(tmp_path / 'twin.dcm',
                       content if suffix == '.png' else decoded)
    for kwargs in (dict(), RAW):
        results = load(image, **kwargs)
        assert np.array_equal(results['img'], load(twin, **kwargs)['img'])
    assert set(results['radiograph_meta'].values()) == {None}


def test_in_an_mmdet_pipeline(tmp_path):
    path = write_dicom(tmp_path / 'pipe.dcm',
                       phantom(),
                       BitsStored=12,
                       PatientID='P-1')
    pipeline = Compose([
        TRANSFORMS.build(dict(type='LoadRadiograph')),
        TRANSFORMS.build(dict(type='Resize', scale=(32, 32), keep_ratio=True)),
        TRANSFORMS.build(
            dict(type='PackDetInputs',
                 meta_keys=('img_path', 'ori_shape', 'img_shape',
                            'scale_factor', 'radiograph_meta'))),
    ])
    packed = pipeline(dict(img_path=str(path)))
    assert tuple(packed['inputs'].shape) == (3, 24, 32)
    assert packed['data_samples'].ori_shape == (48, 64)
    assert packed['data_samples'].radiograph_meta['patient_id'] == 'P-1'


@pytest.mark.parametrize(
    'kwargs',
    [dict(clip_limit=0),
     dict(output='bgr'),
     dict(on_error='ignore')])
def test_invalid_arguments(kwargs):
    with pytest.raises(ValueError):
        LoadRadiograph(**kwargs)


def test_uncalibrated_spacing_is_none(tmp_path):
    # a real CR reader's placeholder for "not calibrated" (pydicom-data's
    # RG1_UNCR): 0 mm would be no spacing, not a tiny one
    path = write_dicom(tmp_path / 'uncalibrated.dcm',
                       phantom(),
                       PixelSpacing=[0, 0],
                       ImagerPixelSpacing=[0.15, 0.15])
    facts = load(path)['radiograph_meta']
    assert facts['pixel_spacing'] is None
    assert facts['imager_pixel_spacing'] == (0.15, 0.15)
