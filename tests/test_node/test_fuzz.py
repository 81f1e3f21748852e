"""Hostile input: 500 mutated instances sent to the node over the network
(truncated, with wrong element lengths, Rows x Columns far beyond any
radiograph, without Pixel Data, with a data set that is not its SOP
class's) each get a refusal status; nothing of them reaches the spool, the
node keeps serving, and its memory stays bounded (no decompression bomb).

The mutated data sets are sent as raw bytes (pynetdicom's chunked sending
from a file: only the file meta is parsed by the sender), so that the node
decodes them itself.
"""
import random
import resource
import struct
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pynetdicom import AE, _config
from pynetdicom.presentation import build_context

from mmdet_famo.node import Spool, StorageReceiver
from tests.dicom_factory import write_dicom
from .loopback import HOST, NO_DELAY

MUTANTS = 500
KINDS = ('truncated', 'wrong length', 'huge', 'no pixel data', 'disagree')


def base_file(folder: Path) -> Path:
    pixels = (np.arange(64 * 64) % 4096).astype(np.uint16).reshape(64, 64)
    return write_dicom(folder / 'base.dcm',
                       pixels,
                       SOPInstanceUID=pydicom.uid.generate_uid(),
                       PatientID='FUZZ')


def dataset_offset(path: Path) -> int:
    """Where the data set starts, after the preamble and file meta."""
    with open(path, 'rb') as file:
        pydicom.filereader.read_preamble(file, False)
        pydicom.filereader._read_file_meta_info(file)
        return file.tell()


def element_offsets(data: bytes) -> list:
    """The offsets and sizes of the length fields of the top-level elements
    of an explicit VR little endian data set (2 bytes, or 4 for OB, OW,
    SQ, UT... as PS3.5 7.1.2 has it)."""
    offsets, position = [], 0
    while position + 8 <= len(data):
        group, element = struct.unpack_from('<HH', data, position)
        vr = data[position + 4:position + 6]
        if vr in (b'OB', b'OW', b'UN', b'SQ', b'UT', b'OF', b'UC', b'UR'):
            length = struct.unpack_from('<I', data, position + 8)[0]
            offsets.append((position + 8, 4))
            position += 12 + length
        else:
            length = struct.unpack_from('<H', data, position + 6)[0]
            offsets.append((position + 6, 2))
            position += 8 + length
    return offsets


def mutate(base: Path, kind: str, number: int, folder: Path,
           rng: random.Random) -> Path:
    """One mutant of ``base`` of ``kind``, with a new SOP Instance UID."""
    ds = pydicom.dcmread(base)
    uid = pydicom.uid.generate_uid()
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = uid
    if kind == 'huge':
        ds.Rows, ds.Columns = rng.choice([(65535, 65535), (40000, 30000),
                                          (20000, 64), (64, 17000)])
    elif kind == 'no pixel data':
        del ds.PixelData
    elif kind == 'disagree':  # a DX SOP class over another data set
        choice = rng.randrange(3)
        if choice == 0:
            ds.Modality = rng.choice(['CT', 'MR', 'US', 'NM'])
        elif choice == 1:
            ds.NumberOfFrames = rng.choice([2, 50, 1000])
        else:
            ds.BitsAllocated = rng.choice([1, 32, 64])
    path = folder / f'{number:04d}.dcm'
    ds.save_as(path, enforce_file_format=True)
    if kind in ('truncated', 'wrong length'):
        raw = bytearray(path.read_bytes())
        start = dataset_offset(path)
        if kind == 'truncated':
            raw = raw[:rng.randrange(start + 1, len(raw) - 1)]
        else:
            # not the last element's (Pixel Data): pydicom reads a length
            # beyond the end as "to the end", the same data set
            offset, size = rng.choice(
                element_offsets(bytes(raw[start:]))[:-1])
            value = rng.choice([0xFFFF, 0x7FFF, 0xFFFFFFF0, 1, 3])
            raw[start + offset:start + offset + size] = (
                value % 2**(8 * size)).to_bytes(size, 'little')
        path.write_bytes(bytes(raw))
    return path


@pytest.fixture
def chunked_sending():
    """pynetdicom sends a file's data set bytes as they are."""
    previous = _config.STORE_SEND_CHUNKED_DATASET
    _config.STORE_SEND_CHUNKED_DATASET = True
    yield
    _config.STORE_SEND_CHUNKED_DATASET = previous


# pydicom warns, rightly, about the mutated values it decodes.
@pytest.mark.filterwarnings(
    'ignore:The value length .* exceeds the maximum length:UserWarning')
@pytest.mark.filterwarnings('ignore:Invalid value for VR:UserWarning')
def test_mutated_instances_are_refused_and_the_node_keeps_serving(
        tmp_path, chunked_sending):
    rng = random.Random(0)
    base = base_file(tmp_path)
    mutants = [(kind, mutate(base, kind, number, tmp_path, rng))
               for number in range(MUTANTS)
               for kind in [KINDS[number % len(KINDS)]]]
    spool = Spool(str(tmp_path / 'spool'))
    scp = StorageReceiver(spool, 'FAMO')
    port = scp.start(HOST, 0)
    memory_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    statuses = {}
    try:
        ae = AE(ae_title='FUZZER')
        ae.requested_contexts = [  # the files' transfer syntax
            build_context(
                pydicom.dcmread(base).SOPClassUID,
                pydicom.uid.ExplicitVRLittleEndian)
        ]
        assoc = None
        for kind, path in mutants:
            if assoc is None or not assoc.is_established:
                assoc = ae.associate(HOST, port, ae_title='FAMO',
                                     evt_handlers=NO_DELAY)
                assert assoc.is_established  # the node still answers
            try:
                response = assoc.send_c_store(path)
                status = response.get('Status', 'no response')
            except Exception as error:  # the sender could not even send it
                status = f'not sent ({type(error).__name__})'
            statuses.setdefault(kind, []).append(status)
        if assoc.is_established:
            assoc.release()
        # the node keeps serving: the intact instance is taken
        assoc = ae.associate(HOST, port, ae_title='FAMO',
                             evt_handlers=NO_DELAY)
        assert assoc.send_c_store(base).Status == 0x0000
        assoc.release()
    finally:
        scp.stop()
    memory_growth = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss -
                     memory_before) * 1024
    sent = {
        kind: [s for s in found if isinstance(s, int)]
        for kind, found in statuses.items()
    }
    assert sum(map(len, statuses.values())) == MUTANTS
    assert all(len(found) >= 50 for found in sent.values()), statuses
    for kind, found in sent.items():  # every one refused, none taken
        assert 0x0000 not in found, (kind, found)
        assert set(found) <= {0xA900, 0xC000}, (kind, set(found))
    assert set(sent['huge']) == {0xA900}
    assert set(sent['no pixel data']) == {0xA900}
    assert memory_growth < 200 * 2**20  # 65535 x 65535 x 2 bytes: 8 GiB
    # only the intact instance reached the spool
    [key] = spool.keys()
    assert spool.state(key).images == 1
