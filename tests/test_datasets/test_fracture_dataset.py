"""FractureDataset: case metadata to the data samples, negatives kept,
broken records named, plain COCO read."""
import logging

import cv2
import numpy as np
import pytest
from mmengine.fileio import dump
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope

from mmdet.registry import DATASETS
from mmdet_famo.datasets import FractureDataset
from mmdet_famo.datasets.coco_builder import CocoBuilder

CASE_KEYS = ('case_id', 'patient_id', 'body_part', 'view')
META_KEYS = ('img_id', 'img_path', 'ori_shape', 'img_shape') + CASE_KEYS


@pytest.fixture
def data_root(tmp_path):
    """Three PNG images: a transverse fracture given as a mask, two
    overlapping polygons (both 64x48), and a fracture-free view of the
    second case (64x64)."""
    (tmp_path / 'images').mkdir()
    builder = CocoBuilder()
    for name, height in (('a.png', 48), ('b.png', 48), ('c.png', 64)):
        cv2.imwrite(
            str(tmp_path / 'images' / name),
            np.full((height, 64), 128, np.uint8))
    first = builder.add_image('a.png', 64, 48, 'case1', 'pat1', 'wrist', 'ap')
    mask = np.zeros((48, 64), bool)
    mask[20:23, 10:40] = True
    builder.add_mask(first, mask, 'a')
    second = builder.add_image('b.png', 64, 48, 'case2', 'pat2', 'knee',
                               'lateral')
    builder.add_polygons(second, [[5, 5, 30, 5, 30, 30, 5, 30]], 'b1')
    builder.add_polygons(second, [[20, 20, 50, 20, 50, 40]], 'b2')
    builder.add_image('c.png', 64, 64, 'case2', 'pat2', 'knee', 'ap')
    dump(builder.to_dict(), str(tmp_path / 'all.json'))
    return tmp_path


def dataset_cfg(data_root, **kwargs):
    cfg = dict(
        type='FractureDataset',
        data_root=str(data_root),
        ann_file='all.json',
        data_prefix=dict(img='images/'),
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
            dict(type='PackDetInputs', meta_keys=META_KEYS)
        ])
    return dict(cfg, **kwargs)


def file_names(dataset):
    return [
        dataset.get_data_info(i)['img_path'].split('/')[-1]
        for i in range(len(dataset))
    ]


def build(cfg):
    init_default_scope('mmdet')
    return DATASETS.build(cfg)


def test_case_metadata_reaches_the_data_samples(data_root):
    dataset = build(dataset_cfg(data_root))
    assert isinstance(dataset, FractureDataset)
    assert dataset.metainfo['classes'] == ('fracture', )
    samples = [dataset[i]['data_samples'] for i in range(len(dataset))]
    assert [(s.case_id, s.patient_id, s.body_part, s.view)
            for s in samples] == [('case1', 'pat1', 'wrist', 'ap'),
                                  ('case2', 'pat2', 'knee', 'lateral'),
                                  ('case2', 'pat2', 'knee', 'ap')]
    first, second, negative = samples
    # the box of the RLE mask: columns 10..39, rows 20..22
    np.testing.assert_allclose(first.gt_instances.bboxes.numpy(),
                               [[10, 20, 40, 23]])
    assert first.gt_instances.masks.masks[0].sum() == 3 * 30
    # two overlapping instances, both kept
    np.testing.assert_allclose(second.gt_instances.bboxes.numpy(),
                               [[5, 5, 30, 30], [20, 20, 50, 40]])
    assert len(negative.gt_instances) == 0


@pytest.mark.parametrize('filter_cfg', [
    None,
    dict(filter_empty_gt=True, min_size=32),
    dict(filter_empty_gt=False, min_size=32),
])
def test_fracture_free_images_are_kept_for_training(data_root, filter_cfg):
    dataset = build(dataset_cfg(data_root, filter_cfg=filter_cfg))
    assert file_names(dataset) == ['a.png', 'b.png', 'c.png']


def test_fracture_free_images_can_be_dropped_explicitly(data_root):
    dataset = build(
        dataset_cfg(
            data_root,
            keep_fracture_free=False,
            filter_cfg=dict(filter_empty_gt=True, min_size=32)))
    assert file_names(dataset) == ['a.png', 'b.png']
    # min_size still applies: only c.png is at least 50 px high
    dataset = build(
        dataset_cfg(
            data_root, filter_cfg=dict(filter_empty_gt=True, min_size=50)))
    assert file_names(dataset) == ['c.png']
    # evaluation never filters
    dataset = build(
        dataset_cfg(
            data_root,
            keep_fracture_free=False,
            test_mode=True,
            filter_cfg=dict(filter_empty_gt=True)))
    assert len(dataset) == 3


def test_record_without_size_or_file_is_named(data_root):
    coco = CocoBuilder()
    coco.add_image('a.png', 64, 48, 'case1', 'pat1')
    coco.add_image('gone.png', 64, 48, 'case9', 'pat9')
    coco = coco.to_dict()
    dump(coco, str(data_root / 'missing_file.json'))
    with pytest.raises(
            FileNotFoundError,
            match=r"missing_file.json: image 2 \('gone.png'\).*"
            'images/gone.png not found'):
        build(dataset_cfg(data_root, ann_file='missing_file.json'))
    del coco['images'][0]['height']
    dump(coco, str(data_root / 'no_height.json'))
    with pytest.raises(
            ValueError,
            match=r"no_height.json: image 1 \('a.png'\) lacks "
            'height'):
        build(dataset_cfg(data_root, ann_file='no_height.json'))


def test_record_without_body_part_or_view_reads_unknown(data_root):
    coco = CocoBuilder()
    coco.add_image('a.png', 64, 48, 'case1', 'pat1')
    coco = coco.to_dict()
    del coco['images'][0]['body_part'], coco['images'][0]['view']
    dump(coco, str(data_root / 'plain.json'))
    dataset = build(dataset_cfg(data_root, ann_file='plain.json'))
    info = dataset.get_data_info(0)
    assert (info['body_part'], info['view']) == ('unknown', 'unknown')


@pytest.fixture
def warnings_logged():
    """The warnings logged to mmengine's current logger meanwhile."""
    records = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = records.append
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)


def test_plain_coco_images_are_their_own_cases(data_root, warnings_logged):
    """A COCO file as MMDetection users have it: no case or patient keys,
    and an image id 0, which stays '0' (not 'unknown')."""
    plain = dict(
        images=[
            dict(id=0, file_name='a.png', width=64, height=48),
            dict(id=7, file_name='c.png', width=64, height=64, view=0),
        ],
        annotations=[
            dict(id=0, image_id=0, category_id=1, bbox=[10, 20, 30, 3],
                 segmentation=[[10, 20, 40, 20, 40, 23, 10, 23]], area=90,
                 iscrowd=0)
        ],
        categories=[dict(id=1, name='fracture')])
    dump(plain, str(data_root / 'plain_coco.json'))
    dataset = build(dataset_cfg(data_root, ann_file='plain_coco.json'))
    samples = [dataset[i]['data_samples'] for i in range(len(dataset))]
    assert [(s.img_id, s.case_id, s.patient_id, s.body_part, s.view)
            for s in samples] == [(0, 'image_0', 'image_0', 'unknown',
                                   'unknown'),
                                  (7, 'image_7', 'image_7', 'unknown', '0')]
    np.testing.assert_allclose(samples[0].gt_instances.bboxes.numpy(),
                               [[10, 20, 40, 23]])
    messages = [record.getMessage() for record in warnings_logged]
    assert len(messages) == 1
    assert 'plain_coco.json: 2 of 2 image records have no case_id' in \
        messages[0]


def test_case_id_0_is_kept_and_no_warning(data_root, warnings_logged):
    coco = CocoBuilder()
    coco.add_image('a.png', 64, 48, 0, 0, 'wrist', 'ap')
    dump(coco.to_dict(), str(data_root / 'zero.json'))
    dataset = build(dataset_cfg(data_root, ann_file='zero.json'))
    info = dataset.get_data_info(0)
    assert (info['case_id'], info['patient_id']) == ('0', '0')
    assert warnings_logged == []
