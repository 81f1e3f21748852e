import csv
import dataclasses
import json
import shutil

import numpy as np
import pytest

from mmdet_famo.analysis import align_to, load_evaluation_run
from mmdet_famo.evaluation.run_files import (
    DETECTIONS_FILE, PER_CASE_SCORES_FILE, PER_IMAGE_SCORES_FILE)


def test_reads_what_the_metric_wrote(two_runs):
    run = load_evaluation_run(two_runs.a.directory, 'A')
    assert run.images['img_id'].tolist() == [
        str(i) for i in range(1,
                              len(two_runs.images) + 1)
    ]
    np.testing.assert_allclose(run.images['max_box_score'], two_runs.a.scores)
    np.testing.assert_allclose(run.images['localised_score'],
                               two_runs.a.localised)
    assert run.images['has_fracture'].tolist() == two_runs.labels.tolist()
    assert run.cases['n_fractures'].dtype.kind == 'i'  # written as '1.0'
    fractured = int(np.flatnonzero(two_runs.labels)[0])
    np.testing.assert_array_equal(run.detections[fractured]['gt_bboxes'],
                                  two_runs.a.records[fractured]['gt_bboxes'])
    assert run.threshold == two_runs.threshold
    assert run.hit_rule == ('iosmall', 0.5)


def test_align_puts_the_other_run_in_order(two_runs):
    reference = load_evaluation_run(two_runs.a.directory, 'A')
    run = load_evaluation_run(two_runs.b.directory, 'B')
    shuffled = dataclasses.replace(
        run,
        images={
            key: values[::-1]
            for key, values in run.images.items()
        },
        cases={
            key: values[::-1]
            for key, values in run.cases.items()
        },
        detections=run.detections[::-1])
    aligned = align_to(reference, shuffled)
    for key, values in run.images.items():
        np.testing.assert_array_equal(aligned.images[key], values)
    assert aligned.cases['case_id'].tolist() == run.cases['case_id'].tolist()
    assert aligned.detections[3]['pred_scores'] is run.detections[3][
        'pred_scores']


@pytest.fixture
def run_copy(two_runs, tmp_path):
    """A copy of run B's folder to break."""
    directory = tmp_path / 'b'
    shutil.copytree(two_runs.b.directory, directory)
    return directory


def edit_csv(path, edit):
    with open(path, newline='') as file:
        rows = list(csv.DictReader(file))
    header = list(rows[0])
    rows = [row for row in map(edit, rows) if row is not None]
    with open(path, 'w', newline='') as file:
        writer = csv.DictWriter(file, header)
        writer.writeheader()
        writer.writerows(rows)


def mismatch(two_runs, directory):
    reference = load_evaluation_run(two_runs.a.directory, 'FAMO')
    return align_to(reference, load_evaluation_run(str(directory), 'Base'))


def test_different_images_fail(two_runs, run_copy):
    edit_csv(run_copy / PER_IMAGE_SCORES_FILE, lambda row: None
             if row['img_id'] == '3' else row)
    with pytest.raises(
            ValueError,
            match=r'not evaluated on the same test set: 1 image ids only in '
            r"FAMO \['3'\], 0 only in Base \[\]"):
        mismatch(two_runs, run_copy)


@pytest.mark.parametrize('column, value', [('case_id', 'other'),
                                           ('img_path', 'elsewhere.png'),
                                           ('body_part', 'knee')])
def test_different_metadata_fails(two_runs, run_copy, column, value):
    edit_csv(
        run_copy / PER_IMAGE_SCORES_FILE,
        lambda row: dict(row, **{column: value})
        if row['img_id'] == '4' else row)
    original = two_runs.images[3][column]
    with pytest.raises(
            ValueError,
            match=f'{column} differs for 1 of 26 images, e.g. image 4: '
            f"'{original}' vs '{value}'"):
        mismatch(two_runs, run_copy)


def test_different_fracture_boxes_fail(two_runs, run_copy):
    path = run_copy / DETECTIONS_FILE
    detections = json.loads(path.read_text())
    fractured = int(np.flatnonzero(two_runs.labels)[1])
    detections['images'][fractured]['gt_bboxes'] = [[0., 0., 5., 5.]]
    path.write_text(json.dumps(detections))
    with pytest.raises(
            ValueError,
            match=r'fracture boxes differ on 1 of 26 images .* e\.g\. '
            rf"images \['{fractured + 1}'\]"):
        mismatch(two_runs, run_copy)


def test_different_cases_fail(two_runs, run_copy):
    edit_csv(
        run_copy / PER_CASE_SCORES_FILE, lambda row: dict(row, case_id='lost')
        if row['case_id'] == 'hand6' else row)
    with pytest.raises(ValueError, match=r"1 case ids only in FAMO \['hand6'"):
        mismatch(two_runs, run_copy)


def test_broken_folders_name_the_file(two_runs, run_copy, tmp_path):
    with pytest.raises(FileNotFoundError, match='is not a folder'):
        load_evaluation_run(str(tmp_path / 'nowhere'), 'B')
    (run_copy / DETECTIONS_FILE).unlink()
    with pytest.raises(FileNotFoundError, match=DETECTIONS_FILE):
        load_evaluation_run(str(run_copy), 'B')
    (run_copy / PER_CASE_SCORES_FILE).write_text('case_id,body_part\n')
    with pytest.raises(ValueError, match='missing columns'):
        load_evaluation_run(str(run_copy), 'B')
    edit_csv(run_copy / PER_IMAGE_SCORES_FILE,
             lambda row: dict(row, n_boxes='two'))
    with pytest.raises(
            ValueError,
            match=f'{PER_IMAGE_SCORES_FILE}: column n_boxes holds a value '
            'that is not int'):
        load_evaluation_run(str(run_copy), 'B')
