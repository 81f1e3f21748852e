"""Simulated readers of the phantoms: misses, false findings and outline
jitter as configured, seeded, and written by make_phantoms.py --readers."""
import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from mmdet_famo.datasets.coco_builder import check_fracture_coco
from mmdet_famo.evaluation.functional.agreement import (mask_overlap,
                                                        segmentation_rle)
from mmdet_famo.phantom import PhantomConfig, generate_phantom_dataset
from mmdet_famo.phantom.readers import (ReaderDisagreement, simulate_reader,
                                        write_reader_annotations)

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope='module')
def reference(tmp_path_factory):
    config = PhantomConfig(num_patients=40,
                           height=112,
                           width=96,
                           seed=5,
                           fracture_free_fraction=0.3)
    coco, _ = generate_phantom_dataset(tmp_path_factory.mktemp('ph'), config)
    return coco


def rles_by_file(coco):
    names = {image['id']: image for image in coco['images']}
    rles = {image['file_name']: [] for image in coco['images']}
    for annotation in coco['annotations']:
        image = names[annotation['image_id']]
        rles[image['file_name']].append(
            segmentation_rle(annotation['segmentation'], image['height'],
                             image['width']))
    return rles


def test_no_disagreement_copies_the_reference(reference):
    reader = simulate_reader(reference, 2, ReaderDisagreement(0., 0., 0))
    check_fracture_coco(reader, 'reader 2')
    assert [i['file_name'] for i in reader['images']] == \
        [i['file_name'] for i in reference['images']]
    for key in ('case_id', 'patient_id', 'body_part', 'view'):
        assert [i[key] for i in reader['images']] == \
            [i[key] for i in reference['images']]
    assert [a['bbox'] for a in reader['annotations']] == \
        [a['bbox'] for a in reference['annotations']]
    assert [a.get('fracture_orientation') for a in reader['annotations']] \
        == [a.get('fracture_orientation') for a in reference['annotations']]


def test_miss_rate_drops_that_share_of_fractures(reference):
    total = len(reference['annotations'])
    assert total > 50
    for miss_rate in (0.3, 1.0):
        reader = simulate_reader(reference, 2,
                                 ReaderDisagreement(miss_rate, 0., 0))
        kept = len(reader['annotations'])
        # binomial: within 4 standard deviations of (1 - m) n
        spread = 4 * np.sqrt(total * miss_rate * (1 - miss_rate))
        assert abs(kept - (1 - miss_rate) * total) <= spread
        # what is kept is exactly the reference's outlines (no jitter)
        reference_rles = rles_by_file(reference)
        for name, rles in rles_by_file(reader).items():
            for rle in rles:
                assert any(
                    mask_overlap(rle, other).iou == 1.
                    for other in reference_rles[name])


def test_every_image_gets_one_false_finding_off_the_fractures(reference):
    reader = simulate_reader(reference, 3, ReaderDisagreement(1., 1., 0))
    per_image = np.bincount([a['image_id'] for a in reader['annotations']],
                            minlength=len(reader['images']) + 1)[1:]
    assert (per_image == 1).all()
    reference_rles = rles_by_file(reference)
    overlapping = sum(
        mask_overlap(rles[0], other).intersection > 0
        for name, rles in rles_by_file(reader).items()
        for other in reference_rles[name])
    assert overlapping == 0


def test_jitter_moves_outlines_a_little(reference):
    reader = simulate_reader(reference, 2, ReaderDisagreement(0., 0., 1))
    assert len(reader['annotations']) == len(reference['annotations'])
    dice = [
        mask_overlap(a, b).dice for name, rles in rles_by_file(reader).items()
        for a, b in zip(rles,
                        rles_by_file(reference)[name])
    ]
    assert 0.4 < np.mean(dice) < 0.95
    assert min(dice) > 0


def test_seeded_and_readers_differ(reference):
    disagreement = ReaderDisagreement(0.3, 0.1, 1, seed=7)
    assert simulate_reader(reference, 2, disagreement) == \
        simulate_reader(reference, 2, disagreement)
    assert simulate_reader(reference, 2, disagreement) != \
        simulate_reader(reference, 3, disagreement)
    with pytest.raises(ValueError, match='reader 1 is the reference'):
        simulate_reader(reference, 1, disagreement)
    with pytest.raises(ValueError, match='miss_rate'):
        ReaderDisagreement(miss_rate=1.5)
    with pytest.raises(ValueError, match='jitter_px'):
        ReaderDisagreement(jitter_px=-1)


def test_write_reader_annotations(tmp_path, reference):
    paths = write_reader_annotations(tmp_path, reference, 3,
                                     ReaderDisagreement())
    assert [p.name for p in paths
            ] == ['reader_1.json', 'reader_2.json', 'reader_3.json']
    assert json.loads(paths[0].read_text()) == reference
    for path in paths[1:]:
        check_fracture_coco(json.loads(path.read_text()), str(path))


def test_make_phantoms_writes_readers(tmp_path, monkeypatch, capsys):
    spec = importlib.util.spec_from_file_location(
        'make_phantoms', REPO / 'tools' / 'misc' / 'make_phantoms.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    monkeypatch.setattr(sys, 'argv', [
        'make_phantoms.py',
        str(tmp_path), '--patients', '4', '--height', '96', '--width', '96',
        '--readers', '3', '--reader-miss-rate', '0.5'
    ])
    tool.main()
    annotations = tmp_path / 'annotations'
    assert 'reader_3.json' in capsys.readouterr().out
    assert json.loads((annotations / 'reader_1.json').read_text()) == \
        json.loads((annotations / 'all.json').read_text())
    assert (annotations / 'reader_2.json').exists()
    monkeypatch.setattr(sys, 'argv', [
        'make_phantoms.py',
        str(tmp_path / 'bad'), '--readers', '2', '--reader-miss-rate', '2'
    ])
    with pytest.raises(SystemExit, match='miss_rate must be in'):
        tool.main()
    assert not (tmp_path / 'bad').exists()


def test_masks_decode_to_the_image_size(reference):
    reader = simulate_reader(reference, 2, ReaderDisagreement(0.1, 0.5, 2))
    image = reader['images'][0]
    for annotation in reader['annotations'][:20]:
        mask = mask_utils.decode(
            segmentation_rle(annotation['segmentation'], image['height'],
                             image['width']))
        assert mask.shape == (image['height'], image['width']) and mask.any()
