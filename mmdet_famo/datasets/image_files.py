"""Read PNG, JPEG and TIFF radiographs as they are displayed.

A camera or scanner may store an image turned or mirrored and say so in its
EXIF Orientation tag (0x0112); viewers show it turned back, and the boxes of
a data set are drawn on what the viewer shows. OpenCV's ``IMREAD_UNCHANGED``
(the only mode that keeps 16 bits) ignores the tag, and Pillow applies it
only on request (``ImageOps.exif_transpose``) except to TIFFs. Every reader of
the package goes through this module so that all of them see the same
image: :func:`read_raster` (pixels, for ``LoadRadiograph`` and through it the
browse tool, inference and the comparison panels) and
:func:`read_display_size` (the converters' size checks, from the header).

Where the tag is found: JPEG, its APP1 Exif segment; PNG, its eXIf chunk
(before or after the image data); TIFF, its first IFD; other formats, what
Pillow's ``getexif`` finds. A missing tag or a value outside 1..8 means 1,
as in ``exif_transpose``. Pixels are decoded as stored and turned here, by
one function (:func:`orient`), for every format: Pillow 13 turns TIFFs
itself and gets orientations 5 to 8 wrong, and OpenCV 5 fails on them.

Truncated files are refused: OpenCV decodes a JPEG without its end marker,
filling the missing rows with grey, and says so only on stderr.
"""
import io
import struct
from contextlib import contextmanager
from typing import BinaryIO, Iterator, Optional, Tuple

import cv2
import numpy as np
import pydicom.errors
from PIL import Image, UnidentifiedImageError

#: What third-party readers (pydicom and its pixel plugins, Pillow, OpenCV)
#: raise on a file they cannot read or decode: I/O and format errors
#: (OSError, EOFError, ``struct.error``, Pillow's SyntaxError on a malformed
#: header, pydicom's InvalidDicomError), bad values (ValueError, also raised by
#: numpy when data are short), decoder failures (RuntimeError, raised by
#: pydicom when every pixel plugin fails; ``cv2.error``) and Pillow's
#: DecompressionBombError. They are caught only around those readers' calls
#: (:func:`reading`); anything else, and anything our own code raises,
#: propagates.
READ_ERRORS = (OSError, EOFError, ValueError, RuntimeError, SyntaxError,
               struct.error, cv2.error, pydicom.errors.InvalidDicomError,
               Image.DecompressionBombError)

ORIENTATION_TAG = 0x0112
PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'
JPEG_START = b'\xff\xd8'
JPEG_END = b'\xff\xd9'


class RadiographError(ValueError):
    """A radiograph that cannot be loaded; the message names the file."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f'{path}: {reason}')
        self.path = path
        self.reason = reason


@contextmanager
def reading(path: str, problem: str) -> Iterator[None]:
    """Turn a :data:`READ_ERRORS` error raised inside the block (a reader's
    call on ``path``) into :class:`RadiographError` ``'{problem} ({error})'``.
    """
    try:
        yield
    except READ_ERRORS as error:
        raise RadiographError(path, f'{problem} ({error})') from error


def orient(image: np.ndarray, orientation: int) -> np.ndarray:
    """``image`` (H x W or H x W x C, as stored) as displayed under EXIF
    ``orientation``: the transposition ``ImageOps.exif_transpose`` applies
    (2 mirror, 3 turn 180 degrees, 4 flip, 5 transpose, 6 turn 90 degrees
    clockwise, 7 transverse, 8 turn 90 degrees anticlockwise; 1 or
    anything else: unchanged)."""
    if orientation == 2:
        return cv2.flip(image, 1)
    if orientation == 3:
        return cv2.rotate(image, cv2.ROTATE_180)
    if orientation == 4:
        return cv2.flip(image, 0)
    if orientation == 5:
        return cv2.transpose(image)
    if orientation == 6:
        return cv2.rotate(image, cv2.ROTATE_90_CLOCKWISE)
    if orientation == 7:
        return cv2.rotate(cv2.transpose(image), cv2.ROTATE_180)
    if orientation == 8:
        return cv2.rotate(image, cv2.ROTATE_90_COUNTERCLOCKWISE)
    return image


def exif_orientation(exif: Optional[bytes]) -> int:
    """The Orientation of an EXIF block (TIFF structure, with or without
    the ``Exif\\0\\0`` prefix); 1 without a block or tag."""
    if not exif:
        return 1
    parsed = Image.Exif()
    parsed.load(exif)
    return int(parsed.get(ORIENTATION_TAG) or 1)


def read_orientation(path: str, exif: Optional[bytes]) -> int:
    """:func:`exif_orientation`, a malformed EXIF block being a
    :class:`RadiographError` (the orientation of the boxes is unknown)."""
    with reading(path, 'unreadable EXIF block'):
        return exif_orientation(exif)


def jpeg_header(file: BinaryIO) -> Tuple[Optional[bytes], Optional[int]]:
    """The Exif block of a JPEG's APP1 segment and the offset at which its
    first scan (SOS) starts, None where the file ends first. Segments are
    skipped by their lengths, so a thumbnail inside APP1 is never mistaken
    for the image."""
    file.seek(2)
    exif = None
    while True:
        marker = file.read(2)
        while marker[1:] == b'\xff':  # fill bytes before a marker
            marker = marker[1:] + file.read(1)
        if len(marker) < 2:
            return exif, None
        if marker[0] != 0xFF:
            raise ValueError(f'corrupt JPEG header: no marker at byte '
                             f'{file.tell() - 2}')
        if marker[1] == 0xDA:
            return exif, file.tell()
        if marker[1] == 0x01 or 0xD0 <= marker[1] <= 0xD7:
            continue  # markers without a length
        length = int.from_bytes(file.read(2), 'big')
        segment = file.read(max(length - 2, 0))
        if marker[1] == 0xE1 and exif is None and segment.startswith(
                b'Exif\x00\x00'):
            exif = segment


def png_chunks(file: BinaryIO) -> Tuple[Optional[bytes], bool]:
    """The eXIf chunk of a PNG wherever it lies, and whether the chunks run
    to IEND (False: the file is truncated). Reads chunk headers only."""
    file.seek(len(PNG_SIGNATURE))
    exif = None
    while True:
        head = file.read(8)
        if len(head) < 8:
            return exif, False
        length, kind = struct.unpack('>I4s', head)
        if kind == b'IEND':
            return exif, True
        if kind == b'eXIf':
            exif = file.read(length)
            file.seek(4, io.SEEK_CUR)
        else:
            file.seek(length + 4, io.SEEK_CUR)


def untagged_tiff(data: bytes) -> Tuple[int, bytes]:
    """The Orientation of a TIFF's first IFD and the file with it set to 1,
    which Pillow decodes as stored. A BigTIFF or a TIFF without the tag is
    returned as it is, with orientation 1."""
    order = '<' if data[:2] == b'II' else '>'
    magic, offset = struct.unpack(order + 'HI', data[2:8])
    if magic != 42:
        return 1, data
    (entries, ) = struct.unpack(order + 'H', data[offset:offset + 2])
    for entry in range(offset + 2, offset + 2 + 12 * entries, 12):
        tag, kind = struct.unpack(order + 'HH', data[entry:entry + 4])
        if tag == ORIENTATION_TAG and kind == 3:  # SHORT, in the entry
            value = struct.unpack(order + 'H', data[entry + 8:entry + 10])[0]
            return value, (data[:entry + 8] + struct.pack(order + 'H', 1) +
                           data[entry + 10:])
    return 1, data


def read_display_size(path: str) -> Tuple[int, int]:
    """``(width, height)`` of an image file as displayed, from its header
    (Pillow's, and the JPEG segments or PNG chunk headers for the
    orientation); no pixel is decoded. :class:`RadiographError` if the file
    cannot be opened or is no image Pillow identifies."""
    with reading(path, 'unreadable image'), open(path, 'rb') as file:
        with Image.open(file) as image:
            width, height = image.size
            if image.format == 'JPEG':
                orientation = exif_orientation(jpeg_header(file)[0])
            elif image.format == 'PNG':
                orientation = exif_orientation(png_chunks(file)[0])
            elif image.format == 'TIFF':
                # Pillow's size is turned already, the IFD's is not.
                width, height = image.tag_v2[256], image.tag_v2[257]
                orientation = image.tag_v2.get(ORIENTATION_TAG, 1)
            else:
                orientation = image.getexif().get(ORIENTATION_TAG, 1)
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


def decode_raster(path: str, data: bytes) -> np.ndarray:
    """The pixels of the image file ``path`` (contents ``data``) as
    displayed, as decoded: H x W or H x W x C, BGR order for colour.

    JPEG and PNG decode with OpenCV (8 and 16 bits, fast) and are turned by
    :func:`orient`; a JPEG whose first scan is not followed by an
    end-of-image marker, or a PNG that ends before IEND, is refused as
    truncated. TIFF decodes with Pillow, which refuses truncated strips,
    from the file with its orientation set to 1 (:func:`untagged_tiff`), and
    is turned by :func:`orient`. Other formats OpenCV reads are turned by
    the orientation Pillow finds.
    """
    file = io.BytesIO(data)
    if data.startswith(JPEG_START):
        with reading(path, 'corrupt JPEG'):
            exif, scan = jpeg_header(file)
        orientation = read_orientation(path, exif)
        if scan is None or data.rfind(JPEG_END, scan) < 0:
            raise RadiographError(
                path, 'truncated JPEG: no end-of-image marker (FFD9) after '
                'its image data')
    elif data.startswith(PNG_SIGNATURE):
        with reading(path, 'corrupt PNG'):
            exif, complete = png_chunks(file)
        orientation = read_orientation(path, exif)
        if not complete:
            raise RadiographError(path,
                                  'truncated PNG: its chunks end before IEND')
    else:
        try:
            image = Image.open(file)
        except UnidentifiedImageError as error:
            raise RadiographError(
                path, "neither DICOM (no 'DICM' at byte 128) nor an image "
                'file Pillow or OpenCV can read') from error
        if image.format == 'TIFF':
            with reading(path, 'cannot decode this TIFF image'):
                orientation, stored = untagged_tiff(data)
                pixels = np.asarray(Image.open(io.BytesIO(stored)))
            # Pillow gives big-endian TIFFs' 16-bit pixels as they are.
            return orient(pixels.astype(pixels.dtype.newbyteorder('=')),
                          orientation)
        with reading(path, f'cannot decode this {image.format} image'):
            orientation = image.getexif().get(ORIENTATION_TAG, 1)
    with reading(path, 'cannot decode this image'):
        pixels = cv2.imdecode(np.frombuffer(data, np.uint8),
                              cv2.IMREAD_UNCHANGED)
    if pixels is None:
        raise RadiographError(path, 'OpenCV cannot decode this image')
    return orient(pixels, orientation)


def read_raster(path: str) -> np.ndarray:
    """An 8- or 16-bit greyscale radiograph (PNG, JPEG, TIFF...) as
    displayed (see :func:`decode_raster`), H x W uint8 or uint16.

    Three equal colour channels (common in FracAtlas' JPEGs) count as grey.
    :class:`RadiographError` naming the file and the problem if it cannot be
    opened or decoded, is truncated, colour, empty, or of another depth.
    """
    with reading(path, 'cannot open'), open(path, 'rb') as file:
        data = file.read()
    image = decode_raster(path, data)
    if image.ndim == 3:
        if image.shape[2] == 1:
            image = image[..., 0]
        else:
            grey = grey_channel(image)
            if grey is None:
                raise RadiographError(
                    path, f'colour image ({image.shape[2]} channels that '
                    'differ); radiographs must be greyscale')
            image = grey
    if image.dtype not in (np.uint8, np.uint16) or image.size == 0:
        raise RadiographError(
            path, f'unsupported image ({image.dtype}, shape {image.shape}); '
            '8- or 16-bit greyscale is supported')
    return image


def grey_channel(image: np.ndarray) -> Optional[np.ndarray]:
    """The first channel of an H x W x C image if its channels are three and
    equal, else None."""
    if image.shape[2] != 3:
        return None
    first, second, third = cv2.split(image)
    if cv2.norm(first, second, cv2.NORM_INF) or cv2.norm(
            first, third, cv2.NORM_INF):
        return None
    return first
