"""Patient-level stratified split and the leakage checker."""
from collections import Counter

import numpy as np
import pytest

from mmdet_famo.datasets.coco_builder import (CocoBuilder, DatasetRecordError,
                                              subset_coco)
from mmdet_famo.datasets.splits import (Leak, find_leakage,
                                        fracture_enriched_subset,
                                        normalise_ratios, patient_strata,
                                        split_by_patient)

BODY_PARTS = ('wrist', 'ankle', 'knee', 'shoulder')
MAX_IMAGES_PER_PATIENT = 6


def synthetic_coco(num_patients=400, seed=1):
    """Patients with one or two cases of 1-3 views; about 40 % of cases
    fractured; one body part per patient."""
    rng = np.random.default_rng(seed)
    builder = CocoBuilder()
    for patient in range(num_patients):
        part = BODY_PARTS[rng.integers(len(BODY_PARTS))]
        for case in range(int(rng.integers(1, 3))):
            fractured = rng.random() < 0.4
            for view in range(int(rng.integers(1, 4))):
                image_id = builder.add_image(
                    f'{patient}/{case}/{view}.png',
                    32,
                    32,
                    case_id=f'{patient}-{case}',
                    patient_id=f'P{patient}',
                    body_part=part)
                if fractured:
                    builder.add_polygons(image_id, [[1, 1, 9, 1, 9, 4]], 'r')
    return builder.to_dict()


def test_no_patient_in_two_splits_and_every_image_once():
    coco = synthetic_coco()
    splits = split_by_patient(coco, dict(train=0.7, val=0.1, test=0.2), 0)
    assert find_leakage(splits) == []
    ids = [
        image['id'] for split in splits.values() for image in split['images']
    ]
    assert sorted(ids) == [image['id'] for image in coco['images']]
    for split in splits.values():
        image_ids = {image['id'] for image in split['images']}
        assert {a['image_id'] for a in split['annotations']} <= image_ids
    assert sum(len(s['annotations'])
               for s in splits.values()) == len(coco['annotations'])


def test_each_stratum_is_split_by_the_ratios():
    coco = synthetic_coco()
    ratios = dict(train=0.7, val=0.1, test=0.2)
    splits = split_by_patient(coco, ratios, seed=3)
    strata = patient_strata(coco)
    total = Counter(strata[image['patient_id']] for image in coco['images'])
    assert len(total) == 2 * len(BODY_PARTS)
    for name, share in ratios.items():
        got = Counter(strata[image['patient_id']]
                      for image in splits[name]['images'])
        for stratum, count in total.items():
            # dealt in one run, a stratum's share is off by at most about
            # two patients' images
            assert abs(got[stratum] - share * count) <= \
                2 * MAX_IMAGES_PER_PATIENT, (name, stratum)
        assert abs(len(splits[name]['images']) -
                   share * len(coco['images'])) <= MAX_IMAGES_PER_PATIENT


def test_strata_are_majority_body_part_and_any_fracture():
    builder = CocoBuilder()
    for name, part in (('a', 'hand'), ('b', 'wrist'), ('c', 'wrist')):
        builder.add_image(name, 10, 10, 'c1', 'p1', part)
    image_id = builder.add_image('d', 10, 10, 'c2', 'p2', 'knee')
    builder.add_image('e', 10, 10, 'c3', 'p2', 'knee')
    builder.add_polygons(image_id, [[1, 1, 5, 1, 5, 5]], 'r')
    assert patient_strata(builder.to_dict()) == {
        'p1': ('wrist', False),
        'p2': ('knee', True)
    }


def test_seeded_and_zero_share():
    coco = synthetic_coco(num_patients=60)
    ratios = dict(train=0.8, val=0.0, test=0.2)
    first = split_by_patient(coco, ratios, seed=5)
    assert first == split_by_patient(coco, ratios, seed=5)
    assert first != split_by_patient(coco, ratios, seed=6)
    assert first['val']['images'] == []


def test_ratios_are_normalised_and_checked():
    assert normalise_ratios(dict(train=7, val=1, test=2)) == pytest.approx(
        dict(train=0.7, val=0.1, test=0.2))
    for bad in (dict(train=1,
                     test=-0.1), dict(train=0), {}, dict(all=0.5, test=0.5)):
        with pytest.raises(ValueError):
            normalise_ratios(bad)


def test_leakage_of_patients_cases_and_files_is_reported():
    coco = synthetic_coco(num_patients=20)
    clean = split_by_patient(coco, dict(train=0.5, test=0.5), seed=0)
    train_ids = [image['id'] for image in clean['train']['images']]
    test_ids = [image['id'] for image in clean['test']['images']]
    # one train image (and with it its patient and case) also in test
    leaked = subset_coco(coco, test_ids + train_ids[:1])
    leaky = dict(train=clean['train'], test=leaked)
    moved = clean['train']['images'][0]
    assert find_leakage(leaky) == [
        Leak('patient_id', moved['patient_id'], ('train', 'test')),
        Leak('case_id', moved['case_id'], ('train', 'test')),
        Leak('file_name', moved['file_name'], ('train', 'test')),
    ]
    assert str(find_leakage(leaky, keys=[
        'case_id'
    ])[0]) == (f"case_id '{moved['case_id']}' is in train, test")
    # a patient spread over two splits through different cases
    other = dict(
        images=[dict(moved, id=999, case_id='new', file_name='new.png')],
        annotations=[],
        categories=coco['categories'])
    assert find_leakage(dict(train=clean['train'], extra=other)) == [
        Leak('patient_id', moved['patient_id'], ('train', 'extra'))
    ]


def test_leakage_check_needs_the_keys():
    coco = synthetic_coco(num_patients=2)
    del coco['images'][0]['patient_id']
    with pytest.raises(
            DatasetRecordError, match="split 'a': image 1 .*"
            'has no patient_id'):
        find_leakage(dict(a=coco, b=coco))


def test_fracture_enriched_subset_keeps_every_fracture():
    """Every fractured image and the asked number of fracture-free ones,
    in file order, the draw fixed by the seed."""
    coco = dict(
        images=[dict(id=i, file_name=f'{i}.png') for i in range(10)],
        annotations=[dict(id=1, image_id=2), dict(id=2, image_id=7),
                     dict(id=3, image_id=7)],
        categories=[dict(id=1, name='fracture')])
    subset = fracture_enriched_subset(coco, 3, seed=1)
    ids = [image['id'] for image in subset['images']]
    assert ids == sorted(ids) and len(ids) == 5 and {2, 7} <= set(ids)
    assert len(subset['annotations']) == 3
    assert fracture_enriched_subset(coco, 3, seed=1) == subset
    assert [image['id'] for image in fracture_enriched_subset(
        coco, 8)['images']] == list(range(10))
    with pytest.raises(ValueError, match='9 fracture-free .* the 8'):
        fracture_enriched_subset(coco, 9)
