"""Exact and near-duplicate radiographs: planted copies are found, distinct
phantoms are not, and splits keep each group of copies together."""
import hashlib
import json

import cv2
import numpy as np
import pytest

from mmdet_famo.datasets.coco_builder import (CocoBuilder, DatasetRecordError,
                                              subset_coco)
from mmdet_famo.datasets.duplicates import (FINGERPRINT_KEY,
                                            MAX_PHASH_DISTANCE, PHASH_SIZE,
                                            DuplicatePair, add_fingerprints,
                                            check_duplicates, duplicate_groups,
                                            find_duplicate_leaks,
                                            find_duplicates, fingerprint_file,
                                            fingerprint_pixels,
                                            leave_out_unreadable,
                                            unreadable_images)
from mmdet_famo.datasets.splits import find_leakage, split_by_patient
from mmdet_famo.phantom import (ANATOMIES, PixelEncoding, RadiographTags,
                                render_radiograph, write_radiograph_dicom)
from tests.test_datasets.test_converter_tools import run_tool


def phantom(seed, part='wrist', height=160, width=128):
    """A fracture-free phantom radiograph in [0, 1]."""
    return render_radiograph(
        np.random.default_rng([5, seed]), height, width, ANATOMIES[part],
        0).image


def to_uint8(image):
    return np.rint(np.clip(image, 0, 1) * 255).astype(np.uint8)


def tags(patient, index):
    return RadiographTags(
        patient_id=patient,
        study_instance_uid=f'1.2.9.{index}',
        series_instance_uid=f'1.2.9.{index}.1',
        sop_instance_uid=f'1.2.9.{index}.1.1',
        body_part='WRIST',
        view_position='AP',
        laterality='L',
        pixel_spacing_mm=0.2)


def jpeg(path, image8, quality):
    assert cv2.imwrite(str(path), image8, [cv2.IMWRITE_JPEG_QUALITY, quality])


@pytest.fixture
def planted(tmp_path):
    """Files of 6 distinct phantoms (a-f, of 3 body parts) and planted
    copies; returns the folder and the expected groups of file names."""
    originals = {
        name: phantom(seed, part)
        for seed, (name, part) in enumerate([('a', 'wrist'), (
            'b', 'wrist'), ('c', 'knee'), ('d', 'knee'), ('e', 'pelvis'),
                                             ('f', 'ankle')])
    }
    files = {}

    def add(name, writer):
        writer(tmp_path / name)
        files[name] = tmp_path / name

    # a: a DICOM file, and the same pixels under another patient and UIDs
    add('a.dcm', lambda p: write_radiograph_dicom(p, originals['a'], tags(
        'P1', 1), PixelEncoding(bits_stored=12)))
    add('a_other_tags.dcm', lambda p: write_radiograph_dicom(
        p, originals['a'], tags('P9', 2),
        PixelEncoding(bits_stored=12, rescale_intercept=-1024)))
    # b: a 16-bit PNG, the same pixels in a TIFF, and a copy 90 % the size
    b16 = np.rint(originals['b'] * 65535).astype(np.uint16)
    add('b.png', lambda p: cv2.imwrite(str(p), b16))
    add('b_copy.tif', lambda p: cv2.imwrite(str(p), b16))
    add('b_resized.png', lambda p: cv2.imwrite(
        str(p), cv2.resize(b16, (115, 144), interpolation=cv2.INTER_AREA)))
    # c: a JPEG re-encoded at quality 40 and 95
    add('c_q95.jpg', lambda p: jpeg(p, to_uint8(originals['c']), 95))
    add('c_q40.jpg', lambda p: jpeg(p, to_uint8(originals['c']), 40))
    # d: contrast-shifted copies (linear window, and gamma 0.85)
    add('d.png', lambda p: cv2.imwrite(str(p), to_uint8(originals['d'])))
    add('d_window.png', lambda p: cv2.imwrite(
        str(p), to_uint8(originals['d'] * 0.7 + 0.2)))
    add('d_gamma.png', lambda p: cv2.imwrite(
        str(p), to_uint8(originals['d']**0.85)))
    # e and f: different radiographs, no copies
    add('e.png', lambda p: cv2.imwrite(str(p), to_uint8(originals['e'])))
    add('f.jpg', lambda p: jpeg(p, to_uint8(originals['f']), 90))
    expected = [['a.dcm', 'a_other_tags.dcm'],
                ['b.png', 'b_copy.tif', 'b_resized.png'],
                ['c_q40.jpg', 'c_q95.jpg'],
                ['d.png', 'd_gamma.png', 'd_window.png']]
    return files, expected


def test_planted_copies_are_found_and_distinct_images_are_not(planted):
    files, expected = planted
    names = sorted(files)
    fingerprints = {
        index: fingerprint_file(files[name])
        for index, name in enumerate(names)
    }
    pairs = find_duplicates(fingerprints)
    groups = [[names[i] for i in group] for group in duplicate_groups(pairs)]
    assert groups == expected  # e and f match nothing
    exact = {(names[p.first], names[p.second]) for p in pairs if p.exact}
    # same decoded pixels, whatever the container or the tags
    assert exact == {('a.dcm', 'a_other_tags.dcm'), ('b.png', 'b_copy.tif')}
    for pair in pairs:
        assert (pair.distance == 0) >= pair.exact
        assert pair.distance <= MAX_PHASH_DISTANCE
    # only identical hashes with max_distance=0: the exact copies remain
    strict = find_duplicates(fingerprints, max_distance=0)
    assert {(names[p.first], names[p.second])
            for p in strict} >= exact


def test_distinct_look_alike_phantoms_do_not_match():
    """Phantoms of one body part differ only in the placement of similar
    bones; the threshold must still tell them apart (the closest of these
    pairs are about 50 of 256 bits apart)."""
    fingerprints = {
        seed: fingerprint_pixels(phantom(seed, 'wrist'))
        for seed in range(100)
    }
    assert find_duplicates(fingerprints) == []
    closest = min(p.distance for p in find_duplicates(fingerprints, 256))
    assert closest > 1.3 * MAX_PHASH_DISTANCE


def test_fingerprint_is_a_hash_of_the_pixels():
    image = phantom(0)
    first = fingerprint_pixels(image)
    assert first == fingerprint_pixels(image.copy())
    shifted = image.copy()
    shifted[0, 0] += 1e-3
    assert fingerprint_pixels(shifted)['pixels'] != first['pixels']
    assert len(first['phash']) * 4 == PHASH_SIZE**2  # hex digits


def test_groups_are_connected_components():
    pairs = [
        DuplicatePair(1, 2, True, 0),
        DuplicatePair(2, 5, False, 9),
        DuplicatePair(3, 4, False, 20),
        DuplicatePair(7, 5, False, 3),
    ]
    assert duplicate_groups(pairs) == [[1, 2, 5, 7], [3, 4]]
    assert duplicate_groups([]) == []


def synthetic(num_patients=30):
    """Patients P0.. with two images each, distinct fingerprints."""
    builder = CocoBuilder()
    for patient in range(num_patients):
        for view in range(2):
            builder.add_image(f'{patient}/{view}.png', 16, 16, f'c{patient}',
                              f'P{patient}', 'wrist')
    return builder.to_dict()


def test_split_keeps_duplicate_groups_and_their_patients_together():
    coco = synthetic()
    # patient Pk holds images 2k+1 and 2k+2. P1 and P2 share a copy, P2
    # and P3 another: P1-P3 are one unit; an image of P4 copies one of P5
    groups = [[4, 5], [6, 7], [10, 11]]
    for seed in range(10):
        splits = split_by_patient(
            coco, dict(train=0.6, val=0.2, test=0.2), seed, groups)
        split_of = {
            image['patient_id']: name
            for name, split in splits.items() for image in split['images']
        }
        assert split_of['P1'] == split_of['P2'] == split_of['P3']
        assert split_of['P4'] == split_of['P5']
        assert find_leakage(splits) == []
        assert sum(len(s['images']) for s in splits.values()) == 60
    # with no groups the split is the plain patient split
    assert split_by_patient(coco, dict(a=1, b=1), 0) == split_by_patient(
        coco, dict(a=1, b=1), 0, [])
    with pytest.raises(DatasetRecordError, match='images \\[999\\]'):
        split_by_patient(coco, dict(a=1), 0, [[1, 999]])


def coco_of(files):
    builder = CocoBuilder()
    for index, name in enumerate(sorted(files)):
        builder.add_image(name, 1, 1, f'c{index}', f'P{index}')
    return builder.to_dict()


def test_unreadable_file_is_named_and_compared_by_its_bytes(
        planted, tmp_path):
    files, _ = planted
    (tmp_path / 'broken.png').write_bytes(b'not an image')
    coco = coco_of(list(files) + ['broken.png'])
    unreadable = add_fingerprints(coco, tmp_path, progress=False)
    assert len(unreadable) == 1 and unreadable[0].startswith('broken.png (')
    by_name = {image['file_name']: image for image in coco['images']}
    assert by_name['broken.png'][FINGERPRINT_KEY]['bytes'] == hashlib.sha256(
        b'not an image').hexdigest()
    assert 'pixels' not in by_name['broken.png'][FINGERPRINT_KEY]
    assert by_name['e.png'][FINGERPRINT_KEY]['pixels']
    assert unreadable_images(coco) == {
        by_name['broken.png']['id']: unreadable[0][len('broken.png ('):-1]
    }
    pairs = check_duplicates(coco, None, progress=False)  # stored ones
    assert len(duplicate_groups(pairs)) == 4


def test_byte_identical_unreadable_files_are_exact_duplicates(
        planted, tmp_path):  # noqa: ARG001 (planted writes c_q95.jpg)
    """Two copies of one truncated JPEG (as FracAtlas's IMG0004308 and
    IMG0004347) are grouped, so a split keeps them together; a third
    truncated file with other bytes is not."""
    cut = (tmp_path / 'c_q95.jpg').read_bytes()[:-40]
    (tmp_path / 'cut1.jpg').write_bytes(cut)
    (tmp_path / 'cut2.jpg').write_bytes(cut)
    (tmp_path / 'cut3.jpg').write_bytes(cut[:-10])
    coco = coco_of(['cut1.jpg', 'cut2.jpg', 'cut3.jpg'])
    assert len(add_fingerprints(coco, tmp_path, progress=False)) == 3
    ids = {image['file_name']: image['id'] for image in coco['images']}
    pairs = check_duplicates(coco, None, progress=False)
    assert pairs == [DuplicatePair(ids['cut1.jpg'], ids['cut2.jpg'], True, 0)]


def test_unreadable_files_are_left_out_and_listed(planted, tmp_path):
    names = list(planted[0])
    (tmp_path / 'broken.png').write_bytes(b'not an image')
    coco = coco_of(names + ['broken.png'])
    add_fingerprints(coco, tmp_path, progress=False)
    ids = {image['file_name']: image['id'] for image in coco['images']}
    readable = [ids[name] for name in names]
    splits = dict(train=subset_coco(coco, readable[:3] + [ids['broken.png']]),
                  test=subset_coco(coco, readable[3:]))
    kept, kept_splits, excluded = leave_out_unreadable(coco, splits)
    assert [image['file_name'] for image in kept['images']] == [
        image['file_name'] for image in coco['images']
        if image['file_name'] != 'broken.png'
    ]
    assert len(kept['images']) == len(names)
    # the readable images stay in their splits
    assert [i['id'] for i in kept_splits['train']['images']] == readable[:3]
    assert [i['id'] for i in kept_splits['test']['images']] == readable[3:]
    assert [(e['file_name'], e['id']) for e in excluded] == [
        ('broken.png', ids['broken.png'])
    ]
    assert 'DICOM' in excluded[0]['reason']


def test_leaks_across_splits_are_pairs_in_different_splits(planted, tmp_path):
    files, _ = planted
    coco = coco_of(files)
    add_fingerprints(coco, tmp_path, progress=False)
    by_name = {image['file_name']: image for image in coco['images']}

    def split(*names):
        return dict(
            images=[by_name[n] for n in names],
            annotations=[],
            categories=coco['categories'])

    leaks = find_duplicate_leaks(
        dict(
            train=split('a.dcm', 'c_q95.jpg', 'c_q40.jpg', 'e.png'),
            test=split('a_other_tags.dcm', 'f.jpg')),
        progress=False)
    assert [str(leak) for leak in leaks] == [
        f"exact duplicates: image {by_name['a.dcm']['id']} ('a.dcm') in "
        f"train and image {by_name['a_other_tags.dcm']['id']} "
        "('a_other_tags.dcm') in test"
    ]


def test_check_leakage_tool_exits_on_a_copy_across_splits(
        planted, tmp_path, monkeypatch, capsys):
    files, _ = planted
    coco = coco_of(files)
    by_name = {image['file_name']: image for image in coco['images']}
    split_files = {}
    for name, members in (('train', ['c_q95.jpg', 'e.png']),
                          ('test', ['c_q40.jpg', 'f.jpg'])):
        split_files[name] = tmp_path / f'{name}.json'
        split_files[name].write_text(
            json.dumps(
                dict(
                    images=[by_name[n] for n in members],
                    annotations=[],
                    categories=coco['categories'])))
    paths = [split_files['train'], split_files['test']]
    # no fingerprints in the records and no image folder: cannot check
    status = run_tool('check_leakage', *paths, monkeypatch=monkeypatch)
    assert 'has no fingerprint' in status and '--img-dir' in status
    assert run_tool(
        'check_leakage',
        *paths,
        '--no-duplicate-check',
        monkeypatch=monkeypatch) == 0
    capsys.readouterr()
    assert run_tool(
        'check_leakage', *paths, '--img-dir', tmp_path,
        monkeypatch=monkeypatch) == 1
    out = capsys.readouterr().out
    assert ("LEAK: near duplicates (pHash" in out
            and f"image {by_name['c_q95.jpg']['id']} ('c_q95.jpg')" in out
            and f"image {by_name['c_q40.jpg']['id']} ('c_q40.jpg')" in out)
    assert '1 duplicate image pair(s) across splits' in out


def test_converter_names_copies_and_keeps_them_in_one_split(
        fracatlas_root, monkeypatch, capsys, tmp_path):
    images = fracatlas_root / 'images'
    # IMG4 becomes a re-encoded copy of IMG3 (both fracture-free)
    img3 = cv2.imread(str(images / 'Non_fractured' / 'IMG3.jpg'), 0)
    jpeg(images / 'Non_fractured' / 'IMG4.jpg', img3, 90)
    out_dir = tmp_path / 'out'
    for seed in range(4):
        assert run_tool(
            'fracatlas_to_coco',
            fracatlas_root,
            '--out-dir',
            out_dir,
            '--ratios',
            'train=1',
            'test=1',
            '--seed',
            seed,
            monkeypatch=monkeypatch) == 0
        out = capsys.readouterr().out
        assert ('duplicate images: 0 exact and 1 near pairs' in out
                and "image 3 ('Non_fractured/IMG3.jpg') and image 4 "
                "('Non_fractured/IMG4.jpg')" in out)
        splits = {
            name: json.loads((out_dir / f'{name}.json').read_text())
            for name in ('train', 'test')
        }
        with_copies = [
            name for name, split in splits.items()
            if {i['id']
                for i in split['images']} & {3, 4}
        ]
        assert len(with_copies) == 1
        assert run_tool(
            'check_leakage',
            out_dir / 'train.json',
            out_dir / 'test.json',
            monkeypatch=monkeypatch) == 0
    everything = json.loads((out_dir / 'all.json').read_text())
    assert all(image[FINGERPRINT_KEY] for image in everything['images'])
