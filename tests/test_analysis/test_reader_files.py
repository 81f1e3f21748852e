"""Reading the readers' files: every bad input is named, file and record,
before any figure is computed."""
import pytest

from mmdet_famo.analysis.reader_files import load_readers
from mmdet_famo.datasets.coco_builder import DatasetRecordError
from tests.reader_factory import IMAGES, READER_B, build_reader, write


def test_image_in_one_reader_only_is_named(tmp_path, two_readers):
    fewer = build_reader(READER_B, IMAGES[:6])
    path = write(tmp_path / 'fewer.json', fewer)
    with pytest.raises(DatasetRecordError) as error:
        load_readers([two_readers[0], path])
    message = str(error.value)
    assert '2 image(s) only in' in message and 'fewer.json' in message
    assert "c4/ap.png" in message and "c4/lateral.png" in message


def test_different_image_sets_name_both_sides(tmp_path, two_readers):
    renamed = build_reader(READER_B, rename={7: 'other/scan.png'})
    path = write(tmp_path / 'renamed.json', renamed)
    with pytest.raises(DatasetRecordError) as error:
        load_readers([two_readers[0], path])
    assert "c4/lateral.png" in str(error.value)
    assert "other/scan.png" in str(error.value)


def test_duplicate_file_names_are_named(tmp_path, two_readers):
    coco = build_reader(READER_B)
    coco['images'][3]['file_name'] = coco['images'][2]['file_name']
    path = write(tmp_path / 'duplicate.json', coco)
    with pytest.raises(DatasetRecordError,
                       match=r"duplicate\.json: 1 file name\(s\) listed more "
                       r"than once: 'c2/ap.png' \(images 3, 4\)"):
        load_readers([two_readers[0], path])


def test_differing_case_metadata_is_named(tmp_path, two_readers):
    coco = build_reader(READER_B)
    coco['images'][5]['body_part'] = 'hand'
    path = write(tmp_path / 'metadata.json', coco)
    with pytest.raises(DatasetRecordError,
                       match="'c3/lateral.png': body_part 'elbow' vs 'hand'"):
        load_readers([two_readers[0], path])


def test_broken_files_are_named(tmp_path, two_readers):
    with pytest.raises(DatasetRecordError, match='at least two'):
        load_readers(two_readers[:1])
    with pytest.raises(DatasetRecordError, match='same file'):
        load_readers([two_readers[0], two_readers[0]])
    coco = build_reader(READER_B)
    coco['annotations'][0]['segmentation'] = {'counts': 'x', 'size': [5, 5]}
    path = write(tmp_path / 'broken.json', coco)
    with pytest.raises(DatasetRecordError,
                       match=r'broken\.json: annotation 1 of \'c1/ap.png\''):
        load_readers([two_readers[0], path])
    (tmp_path / 'not_json.json').write_text('{')
    with pytest.raises(DatasetRecordError, match='not_json.json: not JSON'):
        load_readers([two_readers[0], str(tmp_path / 'not_json.json')])
