"""Small copies of the public data sets' layouts and a DICOM folder, built in
``tmp_path`` (the tests never read ../shared).  Every image is a different
phantom render, so that none is a duplicate of another."""
import csv
import json

import cv2
import numpy as np
import pytest
import yaml

from mmdet_famo.phantom import (ANATOMIES, PixelEncoding, RadiographTags,
                                render_radiograph, write_radiograph_dicom)

FRACATLAS_COLUMNS = ('image_id', 'hand', 'leg', 'hip', 'shoulder', 'mixed',
                     'hardware', 'multiscan', 'fractured', 'fracture_count',
                     'frontal', 'lateral', 'oblique')


def phantom_pixels(seed, height, width, dtype=np.uint8):
    """A fracture-free wrist phantom (``height x width``) scaled to the full
    range of ``dtype``; float images stay in [0, 1]."""
    image = render_radiograph(
        np.random.default_rng(seed), height, width, ANATOMIES['wrist'],
        0).image
    if np.dtype(dtype).kind == 'f':
        return image
    return np.rint(image * np.iinfo(dtype).max).astype(dtype)


def write_csv(path, header, rows, bom=False):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(
            path, 'w', newline='',
            encoding='utf-8-sig' if bom else 'utf-8') as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)


@pytest.fixture
def fracatlas_root(tmp_path):
    """FracAtlas layout: IMG1 (hand, frontal) with two overlapping fractures,
    IMG2 (hand+shoulder, mixed; lateral) with one, IMG3 (leg, frontal and
    lateral) and IMG4 (hip, oblique) fracture-free; IMG1 is RGB 60x50, the
    others grey 40x30."""
    root = tmp_path / 'FracAtlas'
    images = {
        'Fractured/IMG1.jpg':
        np.repeat(phantom_pixels(1, 50, 60)[..., None], 3, axis=2),
        'Fractured/IMG2.jpg': phantom_pixels(2, 30, 40),
        'Non_fractured/IMG3.jpg': phantom_pixels(3, 30, 40),
        'Non_fractured/IMG4.jpg': phantom_pixels(4, 30, 40),
    }
    for name, pixels in images.items():
        (root / 'images' / name).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(root / 'images' / name), pixels)
    coco = {
        'info': {
            'description': 'my-project-name'
        },
        'images': [
            {
                'id': 7,
                'width': 60,
                'height': 50,
                'file_name': 'IMG1.jpg'
            },
            {
                'id': 9,
                'width': 40,
                'height': 30,
                'file_name': 'IMG2.jpg'
            },
        ],
        'annotations': [
            {
                'id': 1,
                'image_id': 7,
                'category_id': 0,
                'iscrowd': 0,
                'segmentation':
                [[10.5, 12.25, 30.0, 11.0, 28.0, 20.5, 12.0, 22.0]],
                'bbox': [0, 0, 1, 1],
                'area': 1.0
            },
            {
                'id': 2,
                'image_id': 7,
                'category_id': 0,
                'iscrowd': 0,
                'segmentation': [[20.0, 15.0, 45.75, 16.0, 40.0, 33.0]],
                'bbox': [0, 0, 1, 1],
                'area': 1.0
            },
            {
                'id': 3,
                'image_id': 9,
                'category_id': 0,
                'iscrowd': 0,
                'segmentation': [[1.0, 2.0, 39.5, 2.0, 39.5, 6.0, 1.0, 6.0]],
                'bbox': [0, 0, 1, 1],
                'area': 1.0
            },
        ],
        'categories': [{
            'id': 0,
            'name': 'fractured'
        }],
    }
    coco_path = root / 'Annotations' / 'COCO JSON' / \
        'COCO_fracture_masks.json'
    coco_path.parent.mkdir(parents=True)
    coco_path.write_text(json.dumps(coco))
    write_csv(root / 'dataset.csv', FRACATLAS_COLUMNS, [
        ('IMG1.jpg', 1, 0, 0, 0, 0, 0, 0, 1, 2, 1, 0, 0),
        ('IMG2.jpg', 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 1, 0),
        ('IMG3.jpg', 0, 1, 0, 0, 0, 0, 1, 0, 0, 1, 1, 0),
        ('IMG4.jpg', 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1),
    ])
    split_dir = root / 'Utilities' / 'Fracture Split'
    write_csv(split_dir / 'train.csv', ['image_id'], [['IMG1.jpg']])
    write_csv(split_dir / 'valid.csv', ['image_id'], [['IMG2.jpg']])
    write_csv(split_dir / 'test.csv', ['image_id'], [])
    return root


GRAZ_COLUMNS = ('filestem', 'patient_id', 'study_number', 'timehash', 'gender',
                'age', 'laterality', 'projection', 'initial_exam',
                'ao_classification', 'cast', 'diagnosis_uncertain',
                'osteopenia', 'fracture_visible', 'metal', 'pixel_spacing',
                'device_manufacturer')


@pytest.fixture
def grazpedwri_root(tmp_path):
    """GRAZPEDWRI-DX layout: patient 12 study 1 AP (100x80, two overlapping
    fractures and a text box) and lateral (no label file); patient 30 study
    2 oblique (text only); a dataset.csv row without an image."""
    root = tmp_path / 'GRAZPEDWRI-DX'
    (root / 'images').mkdir(parents=True)
    (root / 'labels').mkdir()
    stems = [
        '0012_0000000001_01_WRI-L1_M010', '0012_0000000001_01_WRI-L2_M010',
        '0030_0000000002_02_WRI-R3_F008'
    ]
    for seed, stem in enumerate(stems):
        cv2.imwrite(
            str(root / 'images' / f'{stem}.png'),
            phantom_pixels(seed, 80, 100, np.uint16))
    (root / 'labels' / f'{stems[0]}.txt').write_text(
        '8 0.1 0.1 0.1 0.05\n'
        '3 0.5 0.5 0.2 0.25\n'
        '3 0.55 0.5 0.2 0.05')  # no newline at the end, as in the originals
    (root / 'labels' / f'{stems[2]}.txt').write_text('8 0.9 0.9 0.1 0.1\n')
    (root / 'meta.yaml').write_text(
        yaml.safe_dump({
            'path': 'E:/GRAZPEDWRI-DX/data',
            'nc': 9,
            'names': {
                0: 'boneanomaly',
                1: 'bonelesion',
                2: 'foreignbody',
                3: 'fracture',
                4: 'metal',
                5: 'periostealreaction',
                6: 'pronatorsign',
                7: 'softtissue',
                8: 'text'
            }
        }))
    row = dict.fromkeys(GRAZ_COLUMNS, '')
    rows = [
        dict(
            row,
            filestem=stems[0],
            patient_id='12',
            study_number='1',
            projection='1',
            fracture_visible='1'),
        dict(
            row,
            filestem=stems[1],
            patient_id='12',
            study_number='1',
            projection='2',
            fracture_visible='1'),
        dict(
            row,
            filestem=stems[2],
            patient_id='30',
            study_number='2',
            projection='3'),
        dict(
            row,
            filestem='0031_0000000003_01_WRI-R1_F008',
            patient_id='31',
            study_number='1',
            projection='1'),
    ]
    write_csv(
        root / 'dataset.csv',
        GRAZ_COLUMNS, [[r[c] for c in GRAZ_COLUMNS] for r in rows],
        bom=True)
    return root


DICOM_SPECS = [
    # file name, patient, study, body part, view position, laterality
    ('p1/s1/ap.dcm', 'P1', '1.2.3.1', 'WRIST', 'AP', 'L'),
    ('p1/s1/lat.dcm', 'P1', '1.2.3.1', 'WRIST', 'LL', 'L'),
    ('p2/s7/x.dcm', 'P2', '1.2.3.7', 'PELVIS', 'AP', None),
]


@pytest.fixture
def dicom_dir(tmp_path):
    """Three 64x48 DICOM files of two patients (see ``DICOM_SPECS``)."""
    root = tmp_path / 'dicom'
    for index, (name, patient, study, part, view,
                side) in enumerate(DICOM_SPECS):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        tags = RadiographTags(
            patient_id=patient,
            study_instance_uid=study,
            series_instance_uid=f'{study}.{index}',
            sop_instance_uid=f'{study}.{index}.1',
            body_part=part,
            view_position=view,
            laterality=side,
            pixel_spacing_mm=0.2)
        write_radiograph_dicom(root / name,
                               phantom_pixels(index, 48, 64, np.float32),
                               tags, PixelEncoding())
    return root
