"""CocoBuilder: boxes from segmentations, record checks, the summary."""
import numpy as np
import pytest
from pycocotools import mask as mask_utils

from mmdet_famo.datasets.coco_builder import (CocoBuilder, DatasetRecordError,
                                              check_fracture_coco,
                                              summary_table)


def builder_with_image(width=100, height=80):
    builder = CocoBuilder()
    image_id = builder.add_image(
        'p1/c1/ap.dcm',
        width,
        height,
        case_id='c1',
        patient_id='p1',
        body_part='Wrist',
        view=None)
    return builder, image_id


def test_polygon_box_is_its_extent_and_area_its_pixels():
    builder, image_id = builder_with_image()
    # a triangle and a separate square in one instance
    polygons = [[10.5, 20.0, 30.0, 20.0, 30.0, 35.25],
                [40, 50, 44, 50, 44, 54, 40, 54]]
    annotation = builder.add_polygons(image_id, polygons, record='r')
    assert annotation['bbox'] == [10.5, 20.0, 33.5, 34.0]
    rle = mask_utils.merge(mask_utils.frPyObjects(polygons, 80, 100))
    assert annotation['area'] == float(mask_utils.area(rle))
    assert annotation['category_id'] == 1 and annotation['iscrowd'] == 0
    image = builder.to_dict()['images'][0]
    assert image['body_part'] == 'wrist' and image['view'] == 'unknown'


def test_overlapping_instances_are_both_kept():
    builder, image_id = builder_with_image()
    square = [10, 10, 40, 10, 40, 40, 10, 40]
    inner = [20, 20, 30, 20, 30, 30, 20, 30]
    builder.add_polygons(image_id, [square], record='a')
    builder.add_polygons(image_id, [inner], record='b')
    boxes = [a['bbox'] for a in builder.to_dict()['annotations']]
    assert boxes == [[10.0, 10.0, 30.0, 30.0], [20.0, 20.0, 10.0, 10.0]]


def test_vertices_just_outside_are_clipped_far_ones_rejected():
    builder, image_id = builder_with_image(width=100, height=80)
    annotation = builder.add_polygons(
        image_id, [[-0.6, 5, 100.4, 5, 100.4, 80.9]], record='edge')
    assert annotation['bbox'] == [0.0, 5.0, 100.0, 75.0]
    with pytest.raises(DatasetRecordError, match=r'label 7.*outside'):
        builder.add_polygons(
            image_id, [[10, 10, 120, 10, 120, 30]], record='label 7')


@pytest.mark.parametrize('polygons, reason', [
    ([], 'empty'),
    ([[1, 2, 3, 4]], 'at least 3'),
    ([[1, 2, 3, 4, 5]], 'at least 3'),
    ([[1, 1, 5, 1, 9, 1]], 'degenerate'),
    ([[1, np.nan, 5, 1, 9, 4]], 'non-finite'),
])
def test_broken_polygons_name_the_record(polygons, reason):
    builder, image_id = builder_with_image()
    with pytest.raises(DatasetRecordError, match=f'annotation 3.*{reason}'):
        builder.add_polygons(image_id, polygons, record='annotation 3')


def test_mask_becomes_rle_with_its_pixel_extent():
    builder, image_id = builder_with_image(width=50, height=40)
    mask = np.zeros((40, 50), bool)
    mask[5:9, 10:31] = True  # rows 5..8, columns 10..30
    mask[12, 3] = True
    annotation = builder.add_mask(image_id, mask, record='m')
    assert annotation['bbox'] == [3.0, 5.0, 28.0, 8.0]
    assert annotation['area'] == 4 * 21 + 1
    assert isinstance(annotation['segmentation']['counts'], str)
    decoded = mask_utils.decode(annotation['segmentation'])
    np.testing.assert_array_equal(decoded.astype(bool), mask)


def test_mask_of_wrong_size_or_empty_is_an_error():
    builder, image_id = builder_with_image(width=50, height=40)
    with pytest.raises(DatasetRecordError, match='mask.png.*50x40'):
        builder.add_mask(image_id, np.ones((50, 40), bool), 'mask.png')
    with pytest.raises(DatasetRecordError, match='mask.png: empty'):
        builder.add_mask(image_id, np.zeros((40, 50), bool), 'mask.png')


def test_image_records_are_checked():
    builder, _ = builder_with_image()
    with pytest.raises(DatasetRecordError, match='listed twice'):
        builder.add_image('p1/c1/ap.dcm', 10, 10, 'c1', 'p1')
    with pytest.raises(DatasetRecordError, match="'b.png' has no patient_id"):
        builder.add_image('b.png', 10, 10, case_id='c', patient_id='')
    with pytest.raises(DatasetRecordError, match="'c.png' has size 0x10"):
        builder.add_image('c.png', 0, 10, case_id='c', patient_id='p')


def test_check_fracture_coco_names_the_broken_record():
    builder, image_id = builder_with_image()
    builder.add_polygons(image_id, [[1, 1, 9, 1, 9, 9]], 'r')
    coco = builder.to_dict()
    check_fracture_coco(coco, 'all.json')
    del coco['images'][0]['case_id']
    with pytest.raises(
            DatasetRecordError,
            match=r"all.json: image 1 \('p1/c1/ap.dcm'\) lacks "
            'case_id'):
        check_fracture_coco(coco, 'all.json')
    coco = builder.to_dict()
    coco['annotations'][0]['category_id'] = 0
    with pytest.raises(DatasetRecordError, match='unknown category 0'):
        check_fracture_coco(coco, 'all.json')


def test_summary_counts_images_cases_patients_fractures():
    builder = CocoBuilder()
    rows = [('a1', 'c1', 'p1', 'hand', 2), ('a2', 'c1', 'p1', 'hand', 0),
            ('a3', 'c2', 'p2', 'foot', 1), ('a4', 'c3', 'p2', 'hand', 0)]
    for name, case, patient, part, fractures in rows:
        image_id = builder.add_image(name, 20, 20, case, patient, part)
        for _ in range(fractures):
            builder.add_polygons(image_id, [[1, 1, 5, 1, 5, 5]], name)
    table = summary_table({'train': builder.to_dict()})
    lines = {
        tuple(cell.strip() for cell in line.strip('|').split('|'))
        for line in table.splitlines() if line.startswith('|')
    }
    assert ('train', 'foot', '1', '0', '1', '1', '1') in lines
    assert ('train', 'hand', '3', '2', '2', '2', '2') in lines
    assert ('train', 'all', '4', '2', '3', '2', '3') in lines
