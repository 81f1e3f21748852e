"""The phantom data set: layout, DICOM tags matching the COCO records,
cases, masks and boxes, patient split, reproducibility."""
import json
from collections import defaultdict

import numpy as np
import pydicom
import pytest
from pycocotools import mask as mask_utils

from mmdet_famo.datasets.coco_builder import check_fracture_coco
from mmdet_famo.datasets.converters import view_from_view_position
from mmdet_famo.datasets.splits import find_leakage
from mmdet_famo.phantom import PhantomConfig, generate_phantom_dataset


@pytest.fixture(scope='module')
def phantom(tmp_path_factory):
    out_dir = tmp_path_factory.mktemp('phantom')
    config = PhantomConfig(num_patients=12, height=160, width=128, seed=3)
    coco, splits = generate_phantom_dataset(out_dir, config)
    return out_dir, coco, splits


def read_json(path):
    return json.loads(path.read_text())


def test_files_and_annotation_files(phantom):
    out_dir, coco, splits = phantom
    assert read_json(out_dir / 'annotations' / 'all.json') == coco
    for name in ('train', 'val', 'test'):
        assert read_json(out_dir / 'annotations' / f'{name}.json') == \
            splits[name]
    check_fracture_coco(coco, 'all.json')
    files = sorted(
        p.relative_to(out_dir / 'images').as_posix()
        for p in (out_dir / 'images').rglob('*'))
    dicoms = [name for name in files if name.endswith('.dcm')]
    assert dicoms == sorted(image['file_name'] for image in coco['images'])
    for image in coco['images']:
        assert image['file_name'] == (f'{image["patient_id"]}/'
                                      f'{image["case_id"]}/{image["view"]}'
                                      '.dcm')
        assert (image['width'], image['height']) == (128, 160)


def test_split_by_patient_covers_every_image_once(phantom):
    _, coco, splits = phantom
    assert find_leakage(splits) == []
    ids = sorted(i['id'] for split in splits.values() for i in split['images'])
    assert ids == [image['id'] for image in coco['images']]


def test_cases_are_two_or_three_views_of_one_patient_and_body_part(phantom):
    _, coco, _ = phantom
    cases = defaultdict(list)
    for image in coco['images']:
        cases[image['case_id']].append(image)
    for views in cases.values():
        assert [v['view']
                for v in views] in (['ap',
                                     'lateral'], ['ap', 'lateral', 'oblique'])
        assert len({(v['patient_id'], v['body_part']) for v in views}) == 1


def test_dicom_tags_match_the_records(phantom):
    out_dir, coco, _ = phantom
    study_uids = defaultdict(set)
    photometrics, bits, rescales, sop_uids = set(), set(), set(), set()
    for image in coco['images']:
        ds = pydicom.dcmread(out_dir / 'images' / image['file_name'])
        assert ds.PatientID == image['patient_id']
        assert ds.BodyPartExamined == image['body_part'].upper()
        assert view_from_view_position(ds.ViewPosition) == image['view']
        assert (ds.Rows, ds.Columns) == (image['height'], image['width'])
        assert ds.Modality in ('DX', 'CR')
        assert (ds.ImageLaterality != 'U') == (image['body_part'] != 'pelvis')
        study_uids[image['case_id']].add(ds.StudyInstanceUID)
        sop_uids.add(ds.SOPInstanceUID)
        photometrics.add(ds.PhotometricInterpretation)
        bits.add(ds.BitsStored)
        rescales.add((float(ds.RescaleSlope), float(ds.RescaleIntercept)))
        assert ds.pixel_array.max() < 2**ds.BitsStored
    # one StudyInstanceUID per case, distinct between cases
    assert all(len(uids) == 1 for uids in study_uids.values())
    assert len(set.union(*study_uids.values())) == len(study_uids)
    assert len(sop_uids) == len(coco['images'])
    assert photometrics == {'MONOCHROME1', 'MONOCHROME2'}
    assert bits <= {12, 14, 16} and len(bits) > 1
    assert len(rescales) > 1


def test_boxes_are_the_tight_extent_of_the_masks(phantom):
    _, coco, _ = phantom
    assert coco['annotations']
    for annotation in coco['annotations']:
        mask = mask_utils.decode(annotation['segmentation'])
        ys, xs = np.nonzero(mask)
        assert annotation['bbox'] == [
            xs.min(),
            ys.min(),
            xs.max() + 1 - xs.min(),
            ys.max() + 1 - ys.min()
        ]
        assert annotation['area'] == mask.sum()


def test_every_fracture_records_its_lines_orientation(phantom):
    _, coco, splits = phantom
    for annotation in coco['annotations']:
        orientation = annotation['fracture_orientation']
        assert 0 <= orientation < 180
        mask = mask_utils.decode(annotation['segmentation'])
        ys, xs = np.nonzero(mask)
        _, axes = np.linalg.eigh(np.cov(np.stack([xs, ys]).astype(float)))
        axis_x, axis_y = axes[:, -1]  # the mask's long axis
        angle = np.degrees(np.arctan2(-axis_y, axis_x)) % 180
        gap = abs(angle - orientation) % 180
        assert min(gap, 180 - gap) < 10, annotation['id']
    split_annotations = [a for s in splits.values() for a in s['annotations']]
    assert all('fracture_orientation' in a for a in split_annotations)


def test_about_half_the_cases_are_fracture_free_and_fractures_show(tmp_path):
    config = PhantomConfig(num_patients=60, height=128, width=128, seed=0)
    coco, _ = generate_phantom_dataset(tmp_path, config)
    fractured_images = {a['image_id'] for a in coco['annotations']}
    cases = defaultdict(list)
    for image in coco['images']:
        cases[image['case_id']].append(image['id'] in fractured_images)
    free = [not any(views) for views in cases.values()]
    assert 0.35 < np.mean(free) < 0.65
    # in a fractured case most views show the fracture
    shown = [np.mean(views) for views in cases.values() if any(views)]
    assert np.mean(shown) > 0.75
    assert {image['body_part']
            for image in coco['images']} == set(config.body_parts)


def test_same_seed_same_files_and_larger_sets_extend_smaller(tmp_path):
    small = PhantomConfig(num_patients=3, height=128, width=128, seed=9)
    large = PhantomConfig(num_patients=5, height=128, width=128, seed=9)
    coco_a, _ = generate_phantom_dataset(tmp_path / 'a', small)
    coco_b, _ = generate_phantom_dataset(tmp_path / 'b', small)
    coco_c, _ = generate_phantom_dataset(tmp_path / 'c', large)
    assert coco_a == coco_b
    for image in coco_a['images']:
        name = image['file_name']
        assert (tmp_path / 'a' / 'images' /
                name).read_bytes() == (tmp_path / 'c' / 'images' /
                                       name).read_bytes()
    assert coco_c['images'][:len(coco_a['images'])] == coco_a['images']
    other, _ = generate_phantom_dataset(
        tmp_path / 'd',
        PhantomConfig(num_patients=3, height=128, width=128, seed=10))
    assert other != coco_a


def test_first_patient_continues_a_set_with_other_patients(tmp_path):
    # patients 3-4 on their own are the last two of a 5-patient set: the
    # same files under the same ids, none shared with patients 0-2
    full = PhantomConfig(num_patients=5, height=128, width=128, seed=9)
    head = PhantomConfig(num_patients=3, height=128, width=128, seed=9)
    tail = PhantomConfig(
        num_patients=2, first_patient=3, height=128, width=128, seed=9)
    coco_full, _ = generate_phantom_dataset(tmp_path / 'full', full)
    coco_head, _ = generate_phantom_dataset(tmp_path / 'head', head)
    coco_tail, _ = generate_phantom_dataset(tmp_path / 'tail', tail)
    assert {image['patient_id']
            for image in coco_tail['images']} == {'PH0004', 'PH0005'}
    assert not {image['case_id'] for image in coco_head['images']} & {
        image['case_id'] for image in coco_tail['images']}
    for image in coco_tail['images']:
        name = image['file_name']
        assert (tmp_path / 'tail' / 'images' / name).read_bytes() == (
            tmp_path / 'full' / 'images' / name).read_bytes()
    with pytest.raises(ValueError, match='first_patient'):
        PhantomConfig(first_patient=-1)


def test_config_is_checked():
    with pytest.raises(ValueError, match='unknown body parts'):
        PhantomConfig(body_parts=('tail', ))
    with pytest.raises(ValueError, match='at least 96 px'):
        PhantomConfig(width=64)
