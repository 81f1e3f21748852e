"""Which files an inference run takes from files and folders."""
import os.path as osp

import cv2
import numpy as np

from mmdet_famo.apis import InputFailure, find_radiographs
from tests.dicom_factory import write_dicom


def test_folders_are_searched_recursively_in_sorted_order(tmp_path):
    pixels = np.zeros((8, 8), np.uint16)
    (tmp_path / 'b' / 'deep').mkdir(parents=True)
    (tmp_path / 'a').mkdir()
    (tmp_path / '.hidden').mkdir()
    write_dicom(tmp_path / 'b' / 'deep' / 'IM0001', pixels)  # no extension
    write_dicom(tmp_path / 'a' / 'lateral.dcm', pixels)
    write_dicom(tmp_path / 'a' / 'DICOMDIR', pixels)  # an index, not an image
    write_dicom(tmp_path / '.hidden' / 'x.dcm', pixels)
    cv2.imwrite(str(tmp_path / 'a' / 'ap.PNG'), pixels.astype(np.uint8))
    cv2.imwrite(str(tmp_path / 'b' / 'view.jpg'), pixels.astype(np.uint8))
    (tmp_path / 'a' / 'notes.txt').write_text('not an image')
    (tmp_path / 'b' / 'broken.dcm').write_text('claims to be DICOM')

    files, failures = find_radiographs([str(tmp_path)])

    assert failures == []
    assert [osp.relpath(f, tmp_path) for f in files] == [
        'a/ap.PNG', 'a/lateral.dcm', 'b/broken.dcm', 'b/view.jpg',
        'b/deep/IM0001'
    ]


def test_files_are_taken_as_given_once_each(tmp_path):
    text = tmp_path / 'notes.txt'
    text.write_text('not an image')
    image = write_dicom(tmp_path / 'ap.dcm', np.zeros((8, 8), np.uint16))

    files, failures = find_radiographs(
        [str(text), str(image),
         str(tmp_path / '.' / 'ap.dcm')])

    # named explicitly, a non-image is tried (and fails at loading)
    assert files == [str(text), str(image)]
    assert failures == []


def test_missing_paths_and_empty_folders_are_failures(tmp_path):
    (tmp_path / 'empty').mkdir()
    image = write_dicom(tmp_path / 'ap.dcm', np.zeros((8, 8), np.uint16))
    missing = str(tmp_path / 'missing.dcm')

    files, failures = find_radiographs(
        [missing, str(image), str(tmp_path / 'empty')])

    assert files == [str(image)]
    assert failures == [
        InputFailure(1, missing, 'no such file or folder'),
        InputFailure(3, str(tmp_path / 'empty'),
                     'a folder without DICOM, PNG or JPEG files')
    ]
