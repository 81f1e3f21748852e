"""DICOM folder + instance segmentations converter."""
import json

import cv2
import numpy as np
import pytest
from pycocotools import mask as mask_utils

from mmdet_famo.datasets.coco_builder import (DatasetRecordError,
                                              check_fracture_coco)
from mmdet_famo.datasets.converters import (convert_dicom_folder,
                                            view_from_view_position)

AP, LATERAL, PELVIS = 'p1/s1/ap.dcm', 'p1/s1/lat.dcm', 'p2/s7/x.dcm'


def write_coco(path, images, annotations, categories=None):
    path.write_text(
        json.dumps(
            dict(
                images=images,
                annotations=annotations,
                categories=categories or [{
                    'id': 5,
                    'name': 'Fracture'
                }, {
                    'id': 6,
                    'name': 'cast'
                }])))
    return path


def test_tags_become_case_metadata_and_unannotated_files_negatives(dicom_dir):
    coco = convert_dicom_folder(dicom_dir, progress=False)
    check_fracture_coco(coco, 'converted')
    assert [(i['file_name'], i['width'], i['height'], i['case_id'],
             i['patient_id'], i['body_part'], i['view'])
            for i in coco['images']] == [
                (AP, 64, 48, '1.2.3.1', 'P1', 'wrist', 'ap'),
                (LATERAL, 64, 48, '1.2.3.1', 'P1', 'wrist', 'lateral'),
                (PELVIS, 64, 48, '1.2.3.7', 'P2', 'pelvis', 'ap'),
            ]
    assert coco['annotations'] == []


def test_coco_polygons_and_rle_give_boxes_records_override_tags(
        dicom_dir, tmp_path):
    rle_mask = np.zeros((48, 64), np.uint8)
    rle_mask[10:13, 5:25] = 1  # rows 10..12, columns 5..24
    rle = mask_utils.encode(np.asfortranarray(rle_mask))
    rle['counts'] = rle['counts'].decode()
    square = [10, 10, 30, 10, 30, 30, 10, 30]
    overlapping = [20.5, 20, 40, 22, 35, 40.25]
    coco_file = write_coco(
        tmp_path / 'seg.json',
        images=[
            dict(id=1, file_name=LATERAL, width=64, height=48),
            dict(id=2, file_name=PELVIS, case_id='visit-3', view='pa'),
        ],
        annotations=[
            dict(id=11, image_id=1, category_id=5, segmentation=[square]),
            dict(id=12, image_id=1, category_id=5, segmentation=[overlapping]),
            dict(id=13, image_id=1, category_id=6, segmentation=[square]),
            dict(id=14, image_id=2, category_id=5, segmentation=rle),
        ])
    coco = convert_dicom_folder(dicom_dir, coco_file, progress=False)
    images = {i['file_name']: i for i in coco['images']}
    assert (images[PELVIS]['case_id'], images[PELVIS]['patient_id'],
            images[PELVIS]['view']) == ('visit-3', 'P2', 'pa')
    boxes = [(a['image_id'], a['bbox']) for a in coco['annotations']]
    assert boxes == [
        (images[LATERAL]['id'], [10.0, 10.0, 20.0, 20.0]),
        (images[LATERAL]['id'], [20.5, 20.0, 19.5, 20.25]),
        (images[PELVIS]['id'], [5.0, 10.0, 20.0, 3.0]),
    ]  # the 'cast' outline is dropped, the overlapping fracture kept


def test_one_mask_image_per_instance(dicom_dir, tmp_path):
    masks = tmp_path / 'masks'
    (masks / 'p1' / 's1').mkdir(parents=True)
    first = np.zeros((48, 64), np.uint8)
    first[30:33, 2:60] = 255
    second = np.zeros((48, 64), np.uint8)
    second[25:40, 20:30] = 1
    cv2.imwrite(str(masks / 'p1' / 's1' / 'ap_0.png'), first)
    cv2.imwrite(str(masks / 'p1' / 's1' / 'ap_1.png'), second)
    coco = convert_dicom_folder(dicom_dir, mask_dir=masks, progress=False)
    assert [(a['image_id'], a['bbox'], a['area'])
            for a in coco['annotations']] == [
                (1, [2.0, 30.0, 58.0, 3.0], 3 * 58),
                (1, [20.0, 25.0, 10.0, 15.0], 15 * 10),
            ]


def test_orphan_or_misfit_mask_is_named(dicom_dir, tmp_path):
    masks = tmp_path / 'masks'
    masks.mkdir()
    cv2.imwrite(str(masks / 'ghost_0.png'), np.ones((48, 64), np.uint8))
    with pytest.raises(
            DatasetRecordError,
            match=r"ghost_0.png: no DICOM file 'ghost.dcm'"):
        convert_dicom_folder(dicom_dir, mask_dir=masks, progress=False)
    (masks / 'ghost_0.png').unlink()
    (masks / 'p2' / 's7').mkdir(parents=True)
    cv2.imwrite(
        str(masks / 'p2' / 's7' / 'x_0.png'), np.ones((64, 48), np.uint8))
    with pytest.raises(DatasetRecordError, match='x_0.png: mask is 48x64'):
        convert_dicom_folder(dicom_dir, mask_dir=masks, progress=False)


def test_missing_image_file_is_named(dicom_dir, tmp_path):
    coco_file = write_coco(
        tmp_path / 'seg.json',
        images=[dict(id=4, file_name='p9/gone.dcm')],
        annotations=[])
    with pytest.raises(
            DatasetRecordError,
            match="image 4 has no DICOM file 'p9/gone.dcm'"):
        convert_dicom_folder(dicom_dir, coco_file, progress=False)


def test_unknown_category_and_outside_polygon_are_named(dicom_dir, tmp_path):
    images = [dict(id=1, file_name=AP)]
    coco_file = write_coco(
        tmp_path / 'seg.json', images,
        [dict(id=21, image_id=1, category_id=99, segmentation=[[1] * 6])])
    with pytest.raises(
            DatasetRecordError, match='annotation 21 has unknown category 99'):
        convert_dicom_folder(dicom_dir, coco_file, progress=False)
    write_coco(coco_file, images, [
        dict(
            id=22,
            image_id=1,
            category_id=5,
            segmentation=[[1, 1, 70, 1, 70, 9]])
    ])
    with pytest.raises(
            DatasetRecordError,
            match=r'annotation 22 \(p1/s1/ap.dcm\): polygon .*'
            'outside the 64x48 image'):
        convert_dicom_folder(dicom_dir, coco_file, progress=False)


def test_broken_dicom_is_named(dicom_dir):
    (dicom_dir / 'p2' / 'notes.dcm').write_text('not a DICOM file')
    with pytest.raises(
            DatasetRecordError, match='notes.dcm: not a readable DICOM image'):
        convert_dicom_folder(dicom_dir, progress=False)


def test_view_positions():
    assert [
        view_from_view_position(code)
        for code in ('AP', 'pa', 'LL', 'RL', 'LAT', 'RLO', 'LLO', '', None,
                     'AXIAL')
    ] == [
        'ap', 'pa', 'lateral', 'lateral', 'lateral', 'oblique', 'oblique',
        'unknown', 'unknown', 'axial'
    ]


def test_box_without_outline_is_a_box_only_instance(dicom_dir, tmp_path):
    coco_file = write_coco(
        tmp_path / 'boxes.json',
        images=[dict(id=1, file_name=LATERAL)],
        annotations=[
            dict(id=1, image_id=1, category_id=5, bbox=[4, 6, 10, 3]),
            dict(
                id=2,
                image_id=1,
                category_id=5,
                segmentation=[[10, 10, 30, 10, 30, 30]]),
        ])
    coco = convert_dicom_folder(dicom_dir, coco_file, progress=False)
    box, outline = coco['annotations']
    assert box['bbox'] == [4.0, 6.0, 10.0, 3.0] and box['box_only'] is True
    assert box['segmentation'] == [[4.0, 6.0, 14.0, 6.0, 14.0, 9.0, 4.0, 9.0]]
    assert 'box_only' not in outline
    coco_file = write_coco(
        tmp_path / 'nothing.json',
        images=[dict(id=1, file_name=LATERAL)],
        annotations=[dict(id=3, image_id=1, category_id=5)])
    with pytest.raises(
            DatasetRecordError,
            match='annotation 3 has neither a segmentation nor'):
        convert_dicom_folder(dicom_dir, coco_file, progress=False)
