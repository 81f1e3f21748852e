"""GRAZPEDWRI-DX converter on a fixture in GRAZPEDWRI-DX's layout."""
import json
import numpy as np
import pytest

from mmdet_famo.datasets.coco_builder import (DatasetRecordError,
                                              check_fracture_coco)
from mmdet_famo.datasets import FractureDataset
from mmdet_famo.datasets.converters import convert_grazpedwri

AP, LATERAL, OBLIQUE = ('0012_0000000001_01_WRI-L1_M010',
                        '0012_0000000001_01_WRI-L2_M010',
                        '0030_0000000002_02_WRI-R3_F008')


def test_images_cases_views_and_fracture_boxes(grazpedwri_root):
    coco = convert_grazpedwri(grazpedwri_root, progress=False)
    check_fracture_coco(coco, 'converted')
    assert [(i['file_name'], i['width'], i['height'], i['case_id'],
             i['patient_id'], i['body_part'], i['view'])
            for i in coco['images']] == [
                (f'{AP}.png', 100, 80, '12_1', '12', 'wrist', 'ap'),
                (f'{LATERAL}.png', 100, 80, '12_1', '12', 'wrist', 'lateral'),
                (f'{OBLIQUE}.png', 100, 80, '30_2', '30', 'wrist', 'oblique'),
            ]
    # '3 0.5 0.5 0.2 0.25' on 100x80: x 40..60, y 30..50; the overlapping
    # '3 0.55 0.5 0.2 0.05': x 45..65, y 38..42; the text box is dropped
    # (the lateral view has no label file, the oblique one text only: both
    # are kept, fracture-free)
    assert [a['image_id'] for a in coco['annotations']] == [1, 1]
    np.testing.assert_allclose([a['bbox'] for a in coco['annotations']],
                               [[40, 30, 20, 20], [45, 38, 20, 4]])
    np.testing.assert_allclose(coco['annotations'][0]['segmentation'],
                               [[40, 30, 60, 30, 60, 50, 40, 50]])


def test_unknown_class_is_named(grazpedwri_root):
    label = grazpedwri_root / 'labels' / f'{OBLIQUE}.txt'
    label.write_text('8 0.9 0.9 0.1 0.1\n12 0.5 0.5 0.1 0.1\n')
    with pytest.raises(
            DatasetRecordError,
            match=f'{OBLIQUE}.txt: line 2 has unknown category 12'):
        convert_grazpedwri(grazpedwri_root, progress=False)


def test_box_outside_the_image_is_named(grazpedwri_root):
    label = grazpedwri_root / 'labels' / f'{OBLIQUE}.txt'
    label.write_text('3 0.95 0.5 0.2 0.1\n')  # x up to 1.05 of the width
    with pytest.raises(
            DatasetRecordError,
            match=f'{OBLIQUE}.txt: line 1: polygon .*outside'):
        convert_grazpedwri(grazpedwri_root, progress=False)


def test_malformed_label_line_is_named(grazpedwri_root):
    label = grazpedwri_root / 'labels' / f'{OBLIQUE}.txt'
    label.write_text('3 0.5 0.5 0.2\n')
    with pytest.raises(
            DatasetRecordError, match=f'{OBLIQUE}.txt: line 1 is not "class'):
        convert_grazpedwri(grazpedwri_root, progress=False)


def test_image_without_csv_row_is_named(grazpedwri_root):
    extra = grazpedwri_root / 'images' / 'stray.png'
    extra.write_bytes((grazpedwri_root / 'images' / f'{AP}.png').read_bytes())
    with pytest.raises(DatasetRecordError, match='no row for image stray.png'):
        convert_grazpedwri(grazpedwri_root, progress=False)


def test_fracture_class_must_exist(grazpedwri_root):
    with pytest.raises(DatasetRecordError, match="no class 'fractur'"):
        convert_grazpedwri(grazpedwri_root, 'fractur', progress=False)


def test_boxes_are_marked_box_only_and_reach_the_pipeline(grazpedwri_root):
    coco = convert_grazpedwri(grazpedwri_root, progress=False)
    assert [a['box_only'] for a in coco['annotations']] == [True, True]
    ann_file = grazpedwri_root / 'all.json'
    ann_file.write_text(json.dumps(coco))
    dataset = FractureDataset(
        ann_file=str(ann_file),
        data_prefix=dict(img=str(grazpedwri_root / 'images') + '/'),
        pipeline=[])
    flags = {
        info['img_path'].rsplit('/', 1)[1]: info['box_only']
        for info in (dataset.get_data_info(i) for i in range(len(dataset)))
    }
    assert sorted(flags.values()) == [False, False, True]
    assert flags['0012_0000000001_01_WRI-L1_M010.png'] is True
