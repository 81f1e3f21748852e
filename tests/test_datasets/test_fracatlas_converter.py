"""FracAtlas converter on a fixture in FracAtlas's layout."""
import csv
import json
from pathlib import Path

import pytest

from mmdet_famo.datasets.coco_builder import (DatasetRecordError,
                                              check_fracture_coco)
from mmdet_famo.datasets.converters import (convert_fracatlas,
                                            fracatlas_flag_counts,
                                            official_split)
from mmdet_famo.datasets.splits import find_leakage

COCO_FILE = ('Annotations', 'COCO JSON', 'COCO_fracture_masks.json')


def polygon_extent(polygon):
    xs, ys = polygon[0::2], polygon[1::2]
    return [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)]


def edit_source(root, edit):
    path = root.joinpath(*COCO_FILE)
    coco = json.loads(path.read_text())
    edit(coco)
    path.write_text(json.dumps(coco))


def test_images_metadata_and_boxes(fracatlas_root):
    coco = convert_fracatlas(fracatlas_root, progress=False)
    check_fracture_coco(coco, 'converted')
    images = {image['file_name']: image for image in coco['images']}
    assert list(images) == [
        'Fractured/IMG1.jpg', 'Fractured/IMG2.jpg', 'Non_fractured/IMG3.jpg',
        'Non_fractured/IMG4.jpg'
    ]
    assert [(i['width'], i['height']) for i in images.values()] == [(60, 50),
                                                                    (40, 30),
                                                                    (40, 30),
                                                                    (40, 30)]
    # no patient ids in FracAtlas: each image is its own patient and case
    assert [(i['case_id'], i['patient_id']) for i in images.values()
            ] == [(f'IMG{k}', f'IMG{k}') for k in range(1, 5)]
    assert [(i['body_part'], i['view'])
            for i in images.values()] == [('hand', 'frontal'),
                                          ('mixed', 'lateral'),
                                          ('leg', 'multiple'),
                                          ('hip', 'oblique')]

    source = json.loads(fracatlas_root.joinpath(*COCO_FILE).read_text())
    by_image = {}
    for annotation in coco['annotations']:
        by_image.setdefault(annotation['image_id'], []).append(annotation)
    first = images['Fractured/IMG1.jpg']['id']
    # the two overlapping outlines of IMG1 stay two instances, each boxed
    # by its own outline (FracAtlas's own boxes are ignored)
    assert [a['bbox'] for a in by_image[first]] == [
        polygon_extent(a['segmentation'][0]) for a in source['annotations'][:2]
    ]
    assert by_image[first][0]['bbox'] == [10.5, 11.0, 19.5, 11.0]
    assert by_image[images['Fractured/IMG2.jpg']['id']][0]['bbox'] == [
        1.0, 2.0, 38.5, 4.0
    ]
    # the fracture-free images are kept, without annotations
    for name in ('Non_fractured/IMG3.jpg', 'Non_fractured/IMG4.jpg'):
        assert images[name]['id'] not in by_image


def test_official_split_keeps_fractured_images_where_fracatlas_puts_them(
        fracatlas_root):
    coco = convert_fracatlas(fracatlas_root, progress=False)
    splits = official_split(
        fracatlas_root, coco, dict(train=0.5, val=0.0, test=0.5), seed=0)
    names = {
        split: sorted(i['file_name'] for i in content['images'])
        for split, content in splits.items()
    }
    assert 'Fractured/IMG1.jpg' in names['train']
    assert names['val'] == ['Fractured/IMG2.jpg']
    assert sorted(names['train'] + names['test']) == [
        'Fractured/IMG1.jpg', 'Non_fractured/IMG3.jpg',
        'Non_fractured/IMG4.jpg'
    ]
    assert len(names['test']) == 1  # one negative each to train and test
    assert find_leakage(splits) == []
    with pytest.raises(ValueError, match='needs ratios for'):
        official_split(fracatlas_root, coco, dict(train=1, valid=1), seed=0)


def test_missing_image_file_is_named(fracatlas_root):
    (fracatlas_root / 'images' / 'Non_fractured' / 'IMG3.jpg').unlink()
    with pytest.raises(
            DatasetRecordError,
            match='IMG3.jpg is in neither.*missing image file'):
        convert_fracatlas(fracatlas_root, progress=False)


def test_polygon_outside_the_image_is_named(fracatlas_root):

    def push_out(coco):
        coco['annotations'][2]['segmentation'][0][2] = 55.0  # IMG2 is 40 wide

    edit_source(fracatlas_root, push_out)
    with pytest.raises(
            DatasetRecordError,
            match=r'annotation 3 \(IMG2.jpg\).*outside the 40x30'):
        convert_fracatlas(fracatlas_root, progress=False)


def test_unknown_category_is_named(fracatlas_root):

    def relabel(coco):
        coco['annotations'][1]['category_id'] = 4

    edit_source(fracatlas_root, relabel)
    with pytest.raises(
            DatasetRecordError, match='annotation 2 has unknown category 4'):
        convert_fracatlas(fracatlas_root, progress=False)


def test_size_disagreement_is_named(fracatlas_root):

    def resize(coco):
        coco['images'][0]['width'] = 61

    edit_source(fracatlas_root, resize)
    with pytest.raises(
            DatasetRecordError,
            match='IMG1.jpg is 61x50 in the annotations but 60x50'):
        convert_fracatlas(fracatlas_root, progress=False)


def csv_column_sums(path, columns):
    """The number of rows with 1 in each column, read with the csv module."""
    with open(path, newline='', encoding='utf-8-sig') as f:
        rows = list(csv.DictReader(f))
    return {c: sum(row[c].strip() == '1' for row in rows) for c in columns}


FLAG_COLUMNS = ('hand', 'leg', 'hip', 'shoulder', 'mixed', 'hardware',
                'multiscan', 'frontal', 'lateral', 'oblique')


def test_every_flag_is_kept_and_the_counts_match_dataset_csv(
        fracatlas_root, tmp_path):
    # hardware on IMG4 and a second multiscan image, set by hand
    path = fracatlas_root / 'dataset.csv'
    lines = path.read_text().splitlines()
    lines[4] = 'IMG4.jpg,0,0,1,0,0,1,1,0,0,0,0,1'
    path.write_text('\n'.join(lines) + '\n')
    coco = convert_fracatlas(fracatlas_root, progress=False)
    flags = {
        i['file_name']: (i['body_part'], i['body_parts'], i['views'],
                         i['hardware'], i['multiscan'])
        for i in coco['images']
    }
    assert flags == {
        'Fractured/IMG1.jpg': ('hand', ['hand'], ['frontal'], False, False),
        # hand + shoulder + mixed: 'mixed' alone, but every flag kept
        'Fractured/IMG2.jpg':
        ('mixed', ['hand', 'shoulder', 'mixed'], ['lateral'], False, False),
        'Non_fractured/IMG3.jpg':
        ('leg', ['leg'], ['frontal', 'lateral'], False, True),
        'Non_fractured/IMG4.jpg': ('hip', ['hip'], ['oblique'], True, True),
    }
    counts = fracatlas_flag_counts(coco)
    assert counts == csv_column_sums(path, FLAG_COLUMNS)
    assert counts['hand'] == 2 and counts['multiscan'] == 2


SAMPLE = Path('/work/shared/fixtures/fracatlas-sample')


@pytest.mark.skipif(
    not SAMPLE.is_dir(), reason='the FracAtlas sample is not present')
def test_sample_flag_counts_match_its_dataset_csv(tmp_path):
    coco = convert_fracatlas(SAMPLE, progress=False)
    assert fracatlas_flag_counts(coco) == csv_column_sums(
        SAMPLE / 'dataset.csv', FLAG_COLUMNS)
    assert len(coco['images']) == 28


def test_official_split_puts_a_fracture_free_copy_with_its_original(
        fracatlas_root):
    coco = convert_fracatlas(fracatlas_root, progress=False)
    ids = {Path(i['file_name']).name: i['id'] for i in coco['images']}
    ratios = dict(train=0.5, val=0.0, test=0.5)
    for seed in range(4):
        # IMG3 (fracture-free) is a copy of IMG2 (official val split), and
        # IMG4 of IMG1 (train)
        splits = official_split(fracatlas_root, coco, ratios, seed,
                                [[ids['IMG2.jpg'], ids['IMG3.jpg']],
                                 [ids['IMG1.jpg'], ids['IMG4.jpg']]])
        names = {
            split: sorted(Path(i['file_name']).name for i in s['images'])
            for split, s in splits.items()
        }
        assert names == dict(
            train=['IMG1.jpg', 'IMG4.jpg'],
            val=['IMG2.jpg', 'IMG3.jpg'],
            test=[])
