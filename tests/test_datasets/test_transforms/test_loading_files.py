"""Image files as displayed (EXIF orientation), truncated and corrupt files,
and what ``on_error='skip'`` catches."""
import logging
from pathlib import Path

import cv2
import numpy as np
import pydicom
import pytest
from mmengine.logging import MMLogger
from PIL import Image, ImageOps
from pydicom.encaps import encapsulate, generate_fragments
from pydicom.uid import RLELossless

from mmdet_famo.datasets.converters.source_files import read_image_size
from mmdet_famo.datasets.image_files import read_display_size
from mmdet_famo.datasets.transforms import LoadRadiograph, RadiographError
from mmdet_famo.datasets import radiograph_reader
from tests.dicom_factory import write_dicom

RAW = dict(clip_limit=None, output='uint16')
#: A structure drawn on the displayed image: x1, y1, x2, y2 (exclusive).
MARKER = (10, 5, 30, 20)
#: The Pillow transposition each EXIF orientation asks of a viewer.
DISPLAY = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
#: Its inverse, to store a displayed image under an orientation.
STORE = {
    **DISPLAY, 6: Image.Transpose.ROTATE_90,
    8: Image.Transpose.ROTATE_270
}
FORMATS = [('jpg', np.uint8), ('png', np.uint8), ('png', np.uint16),
           ('tif', np.uint8), ('tif', np.uint16)]


def load(path, **kwargs) -> dict:
    return LoadRadiograph(**kwargs)(dict(img_path=str(path)))


def displayed(dtype) -> np.ndarray:
    """60 x 90 dark gradient with a bright rectangle at :data:`MARKER`."""
    image = np.tile(np.linspace(0, 60, 90), (60, 1))
    x1, y1, x2, y2 = MARKER
    image[y1:y2, x1:x2] = 250
    scale = 257 if dtype == np.uint16 else 1
    return (np.rint(image) * scale).astype(dtype)


def write_oriented(path: Path, display: np.ndarray, orientation: int) -> Path:
    """Store ``display`` turned so that a viewer applying EXIF
    ``orientation`` shows ``display``; the tag is written by Pillow."""
    image = Image.fromarray(display)
    if orientation in STORE:
        image = image.transpose(STORE[orientation])
    exif = Image.Exif()
    exif[0x0112] = orientation
    image.save(path, exif=exif)
    return path


@pytest.mark.parametrize('orientation', range(1, 9))
@pytest.mark.parametrize('suffix, dtype', FORMATS)
def test_images_are_read_as_displayed(tmp_path, suffix, dtype, orientation):
    display = displayed(dtype)
    path = write_oriented(tmp_path / f'o{orientation}.{suffix}', display,
                          orientation)
    # The file is stored turned (unless 1); Pillow's viewer turns JPEG and
    # PNG back (TIFF: Pillow 13 gets orientations 5-8 wrong, see
    # test_pillow_turns_tiffs_wrong).
    reference = display if suffix == 'tif' else np.asarray(
        ImageOps.exif_transpose(Image.open(path)))
    assert reference.shape == display.shape
    # The converters' size check and the loader see the displayed image.
    assert read_display_size(str(path)) == (90, 60)
    assert read_image_size(path) == (90, 60)
    img = load(path, **RAW)['img']
    assert img.shape == (60, 90)
    scale = 1 if dtype == np.uint16 else 257
    if suffix == 'jpg':  # lossy: the marker must be where the box says
        x1, y1, x2, y2 = MARKER
        inside = img[y1:y2, x1:x2] / scale
        outside = np.delete(img, np.s_[y1 - 2:y2 + 2], axis=0) / scale
        assert inside.mean() > 240 and outside.max() < 100
        assert np.abs(img / scale - reference).max() <= 8
    else:
        assert np.array_equal(img, display.astype(np.uint16) * scale)
        assert np.array_equal(reference, display)
    # The default (CLAHE, RGB) output is turned alike.
    assert load(path)['img'].shape == (60, 90, 3)


@pytest.mark.parametrize('orientation', [5, 6, 7, 8])
def test_pillow_turns_tiffs_wrong(tmp_path, orientation):
    """Why TIFFs are decoded untagged and turned by us: the TIFF holds the
    stored pixels and the tag, and Pillow 13's own turn is not the display.
    Should Pillow be fixed, this test fails and can go."""
    display = displayed(np.uint8)
    path = write_oriented(tmp_path / 'turned.tif', display, orientation)
    stored = np.asarray(Image.fromarray(display).transpose(STORE[orientation]))
    with Image.open(path) as image:
        tags = image.tag_v2
        on_disk = np.frombuffer(path.read_bytes(),
                                np.uint8,
                                count=tags[256] * tags[257],
                                offset=tags[273][0]).reshape(
                                    tags[257], tags[256])
        assert tags[0x0112] == orientation
        assert not np.array_equal(np.asarray(image), display)
    assert np.array_equal(on_disk, stored)


def test_png_exif_after_the_image_data(tmp_path):
    """The eXIf chunk may follow IDAT; it still counts."""
    path = write_oriented(tmp_path / 'first.png', displayed(np.uint8), 6)
    data = path.read_bytes()
    start = data.index(b'eXIf') - 4
    length = int.from_bytes(data[start:start + 4], 'big')
    chunk = data[start:start + 12 + length]
    rest = data[:start] + data[start + len(chunk):]
    end = rest.index(b'IEND') - 4
    moved = tmp_path / 'moved.png'
    moved.write_bytes(rest[:end] + chunk + rest[end:])
    assert rest.index(b'IDAT') < end
    assert read_display_size(str(moved)) == (90, 60)
    assert np.array_equal(
        load(moved, **RAW)['img'],
        displayed(np.uint8).astype(np.uint16) * 257)


def jpeg_bytes(shape=(300, 400), seed=0) -> bytes:
    noise = np.random.default_rng(seed).integers(0, 256, shape, np.uint8)
    return cv2.imencode('.jpg', cv2.GaussianBlur(noise, (9, 9),
                                                 0))[1].tobytes()


def png_bytes(shape=(300, 400), seed=0) -> bytes:
    noise = np.random.default_rng(seed).integers(0, 4096, shape, np.uint16)
    return cv2.imencode('.png', noise)[1].tobytes()


def truncated_files(tmp_path) -> dict:
    """Case -> (path of a truncated or corrupt file, words of its error)."""
    jpeg, png = jpeg_bytes(), png_bytes()
    # An APP2 segment whose payload holds an end-of-image marker, as an
    # EXIF thumbnail does: the check must skip it by its length.
    payload = b'ICC_PROFILE\x00' + b'\xff\xd9' * 8
    app2 = b'\xff\xe2' + (len(payload) + 2).to_bytes(2, 'big') + payload
    tif = tmp_path / 'whole.tif'
    Image.fromarray(
        np.random.default_rng(0).integers(0, 4096, (300, 400),
                                          np.uint16)).save(tif)
    cases = {
        'JPEG half': (jpeg[:len(jpeg) // 2], 'truncated JPEG'),
        'JPEG no end marker': (jpeg[:-2], 'truncated JPEG'),
        'JPEG marker in a segment':
        ((jpeg[:2] + app2 + jpeg[2:])[:-2], 'truncated JPEG'),
        'JPEG header only': (jpeg[:200], 'truncated JPEG'),
        'PNG half': (png[:len(png) // 2], 'truncated PNG'),
        'PNG no IEND': (png[:-12], 'truncated PNG'),
        'TIFF half': (tif.read_bytes()[:len(tif.read_bytes()) // 2],
                      'cannot decode this TIFF image'),
        'not an image': (b'\x00' * 300, 'neither DICOM'),
    }
    suffixes = dict(JPEG='.jpg', PNG='.png', TIFF='.tif')
    paths = {}
    for case, (data, words) in cases.items():
        path = tmp_path / (case.replace(' ', '_') +
                           suffixes.get(case.split()[0], '.bin'))
        path.write_bytes(data)
        paths[case] = (path, words)
    return paths


def corrupt_rle_dicom(tmp_path) -> Path:
    """An RLE Lossless DICOM whose single fragment is cut short: pydicom
    raises RuntimeError from its RLE decoder."""
    stored = np.random.default_rng(0).integers(0, 4096, (40, 50), np.uint16)
    path = write_dicom(tmp_path / 'rle.dcm',
                       stored,
                       BitsStored=12,
                       TransferSyntaxUID=RLELossless)
    ds = pydicom.dcmread(path)
    fragment = next(generate_fragments(ds.PixelData))
    ds.PixelData = encapsulate([fragment[:len(fragment) // 2]])
    ds.save_as(path)
    return path


@pytest.mark.parametrize('case', [
    'JPEG half', 'JPEG no end marker', 'JPEG marker in a segment',
    'JPEG header only', 'PNG half', 'PNG no IEND', 'TIFF half', 'not an image'
])
def test_truncated_files_raise_naming_file_and_problem(tmp_path, case):
    path, words = truncated_files(tmp_path)[case]
    with pytest.raises(RadiographError, match=words) as error:
        load(path)
    assert str(error.value).startswith(f'{path}: ')


def test_opencv_alone_reads_a_truncated_jpeg(tmp_path):
    """Why the end marker is checked: ``cv2.imread`` returns an image."""
    path = tmp_path / 'cut.jpg'
    path.write_bytes(jpeg_bytes()[:-2])
    decoded = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert decoded is not None and decoded.shape == (300, 400)


def test_corrupt_compressed_dicom(tmp_path):
    with pytest.raises(RadiographError,
                       match='cannot decode its pixel data') as error:
        load(corrupt_rle_dicom(tmp_path))
    assert isinstance(error.value.__cause__, RuntimeError)


class Records(logging.Handler):

    def __init__(self) -> None:
        super().__init__()
        self.messages = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_skip_counts_and_names_every_unreadable_file(tmp_path):
    bad = [path for path, _ in truncated_files(tmp_path).values()]
    bad.append(corrupt_rle_dicom(tmp_path))
    good = tmp_path / 'good.jpg'
    good.write_bytes(jpeg_bytes())
    transform = LoadRadiograph(on_error='skip')
    records = Records()
    logger = MMLogger.get_current_instance()
    logger.addHandler(records)
    try:
        assert all(transform(dict(img_path=str(p))) is None for p in bad)
        assert transform(dict(img_path=str(good)))['img'].shape == (300, 400,
                                                                    3)
    finally:
        logger.removeHandler(records)
    assert transform.num_skipped == len(bad)
    assert len(records.messages) == len(bad)
    for path, message in zip(bad, records.messages):
        assert str(path) in message


@pytest.mark.parametrize(
    'name, error',
    [
        ('to_uint16', TypeError),  # after decoding, on a DICOM
        ('equalize', AssertionError),  # after decoding, on a JPEG
        ('display_levels', TypeError),  # inside the reading boundary
    ])
def test_skip_never_hides_a_bug_of_ours(tmp_path, monkeypatch, name, error):
    dicom = write_dicom(tmp_path / 'fine.dcm',
                        np.zeros((8, 8), np.uint16),
                        BitsStored=12)
    jpeg = tmp_path / 'fine.jpg'
    jpeg.write_bytes(jpeg_bytes())

    def bug(*args, **kwargs):
        raise error('a bug')

    monkeypatch.setattr(radiograph_reader, name, bug)
    transform = LoadRadiograph(on_error='skip')
    with pytest.raises(error):
        transform(dict(img_path=str(jpeg if name == 'equalize' else dicom)))
    assert transform.num_skipped == 0


def test_decoder_errors_of_any_reader_are_skipped(tmp_path, monkeypatch):
    """An OpenCV failure inside the reader is a bad file, not a bug."""
    path = tmp_path / 'fine.png'
    path.write_bytes(png_bytes())

    def failing_decoder(*args, **kwargs):
        raise cv2.error('decoder failure')

    monkeypatch.setattr(cv2, 'imdecode', failing_decoder)
    transform = LoadRadiograph(on_error='skip')
    assert transform(dict(img_path=str(path))) is None
    assert transform.num_skipped == 1


def test_malformed_exif_is_an_error(tmp_path):
    """An orientation that cannot be read leaves the boxes' frame unknown."""
    payload = b'Exif\x00\x00garbage'
    app1 = b'\xff\xe1' + (len(payload) + 2).to_bytes(2, 'big') + payload
    jpeg = jpeg_bytes()
    path = tmp_path / 'bad_exif.jpg'
    path.write_bytes(jpeg[:2] + app1 + jpeg[2:])
    with pytest.raises(RadiographError, match='unreadable EXIF block'):
        load(path)


@pytest.mark.parametrize('orientation', [1, 6])
def test_big_endian_sixteen_bit_tiff(tmp_path, orientation):
    display = displayed(np.uint16)
    image = Image.fromarray(display.astype('>u2'))
    assert image.mode == 'I;16B'
    if orientation in STORE:
        image = image.transpose(STORE[orientation])
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / 'big_endian.tif'
    image.save(path, exif=exif)
    assert path.read_bytes()[:2] == b'MM'
    assert np.array_equal(load(path, **RAW)['img'], display)
