"""Phantoms read back through LoadRadiograph: pixels (MONOCHROME1 too),
tags, masks and boxes."""
from collections import defaultdict

import numpy as np
import pytest
from mmengine.registry import init_default_scope

from mmdet.registry import DATASETS
from mmdet_famo.datasets.converters import view_from_view_position
from mmdet_famo.datasets.transforms import LoadRadiograph
from mmdet_famo.phantom import (ANATOMIES, PhantomConfig, PixelEncoding,
                                RadiographTags, generate_phantom_dataset,
                                render_radiograph, write_radiograph_dicom)

TAGS = RadiographTags(
    patient_id='PH0001',
    study_instance_uid='1.2.826.0.1.3680043.8.498.10',
    series_instance_uid='1.2.826.0.1.3680043.8.498.11',
    sop_instance_uid='1.2.826.0.1.3680043.8.498.12',
    body_part='KNEE',
    view_position='RL',
    laterality='R',
    pixel_spacing_mm=0.4)


def load(path, **kwargs):
    return LoadRadiograph(**kwargs)(dict(img_path=str(path)))


@pytest.fixture(scope='module')
def radiograph():
    return render_radiograph(
        np.random.default_rng(0), 160, 128, ANATOMIES['knee'], 1)


@pytest.mark.parametrize('encoding', [
    PixelEncoding('MONOCHROME1', 16, 1.0, 0.0),
    PixelEncoding('MONOCHROME1', 12, 0.5, -1024.0),
    PixelEncoding('MONOCHROME2', 14, 2.0, -100.0),
])
def test_pixels_read_back_as_rendered(tmp_path, radiograph, encoding):
    """Without CLAHE the loader's output is a linear image of the rendering
    whatever the encoding: MONOCHROME1 is inverted back, rescale undone."""
    path = tmp_path / 'view.dcm'
    write_radiograph_dicom(path, radiograph.image, TAGS, encoding)
    loaded = load(path, clip_limit=None, output='float32')['img']
    assert loaded.shape == radiograph.image.shape
    assert np.corrcoef(loaded.ravel(), radiograph.image.ravel())[0, 1] > 0.999


def test_monochrome1_shows_bone_bright_like_monochrome2(tmp_path, radiograph):
    images = {}
    for photometric in ('MONOCHROME1', 'MONOCHROME2'):
        path = tmp_path / f'{photometric}.dcm'
        write_radiograph_dicom(path, radiograph.image, TAGS,
                               PixelEncoding(photometric, 12))
        images[photometric] = load(path)['img']  # CLAHE, RGB uint8
    first, second = images['MONOCHROME1'], images['MONOCHROME2']
    assert first.shape == (160, 128, 3) and first.dtype == np.uint8
    assert np.abs(first.astype(int) - second.astype(int)).max() <= 1
    bone = radiograph.image > np.percentile(radiograph.image, 90)
    air = radiograph.image < np.percentile(radiograph.image, 10)
    assert first[bone].mean() > first[air].mean() + 100


@pytest.fixture(scope='module')
def phantom_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('phantom')
    generate_phantom_dataset(
        root, PhantomConfig(num_patients=6, height=160, width=128, seed=4))
    return root


def test_tags_read_back_as_stated(phantom_root):
    init_default_scope('mmdet')
    dataset = DATASETS.build(
        dict(
            type='FractureDataset',
            data_root=str(phantom_root),
            ann_file='annotations/all.json',
            data_prefix=dict(img='images/'),
            pipeline=[]))
    studies = defaultdict(set)
    photometrics = set()
    for index in range(len(dataset)):
        info = dataset.get_data_info(index)
        meta = load(info['img_path'])['radiograph_meta']
        assert meta['patient_id'] == info['patient_id']
        assert meta['body_part_examined'] == info['body_part'].upper()
        assert view_from_view_position(meta['view_position']) == info['view']
        assert meta['modality'] in ('DX', 'CR')
        assert (meta['laterality'] in ('L', 'R')) == (
            info['body_part'] != 'pelvis')
        assert meta['imager_pixel_spacing'][0] == \
            meta['imager_pixel_spacing'][1]
        studies[info['case_id']].add(meta['study_instance_uid'])
        photometrics.add(meta['photometric_interpretation'])
    assert all(len(uids) == 1 for uids in studies.values())
    assert photometrics == {'MONOCHROME1', 'MONOCHROME2'}


def test_masks_and_boxes_sit_on_dark_fracture_gaps(phantom_root):
    """Through the training pipeline: boxes as in the COCO file, masks of
    the image's size, and each mask holds a gap darker than the bone it
    cuts."""
    init_default_scope('mmdet')
    dataset = DATASETS.build(
        dict(
            type='FractureDataset',
            data_root=str(phantom_root),
            ann_file='annotations/all.json',
            data_prefix=dict(img='images/'),
            pipeline=[
                dict(type='LoadRadiograph', clip_limit=None, output='float32'),
                dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
            ]))
    checked = 0
    for index in range(len(dataset)):
        results = dataset[index]
        info = dataset.get_data_info(index)
        expected = [instance['bbox'] for instance in info['instances']]
        np.testing.assert_allclose(results['gt_bboxes'].numpy().reshape(-1, 4),
                                   np.reshape(expected, (-1, 4)))
        image = results['img']
        for mask, box in zip(results['gt_masks'].masks, expected):
            assert mask.shape == image.shape
            ys, xs = np.nonzero(mask)
            assert [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1] == box
            inside = image[mask.astype(bool)]
            assert np.percentile(inside, 5) < np.percentile(inside, 95) - 0.1
            checked += 1
    assert checked > 0
