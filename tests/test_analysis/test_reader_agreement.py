"""Reader agreement (the paper's Table 6): hand-built readers with known
figures, matching, bad inputs, and the tool end to end on phantom readers
with planted disagreement."""
import csv
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import aggregate_raters, fleiss_kappa

from mmdet_famo.analysis.reader_agreement import (AgreementSettings,
                                                  compute_agreement,
                                                  load_readers,
                                                  match_instances)
from mmdet_famo.datasets.coco_builder import CocoBuilder, DatasetRecordError
from mmdet_famo.evaluation.functional.agreement import icc_two_way_random
from mmdet_famo.phantom import PhantomConfig, generate_phantom_dataset
from mmdet_famo.phantom.readers import ReaderDisagreement, simulate_reader

REPO = Path(__file__).resolve().parents[2]
TOOL = REPO / 'tools' / 'analysis' / 'reader_agreement.py'
SIZE = 32
# (case, body part, view) of the 8 images
IMAGES = [(f'c{case}', part, view)
          for case, part in ((1, 'wrist'), (2, 'wrist'), (3, 'elbow'),
                             (4, 'elbow')) for view in ('ap', 'lateral')]
# squares (x, y, side) each reader outlines, by image index
READER_A = {0: [(10, 10, 8)], 1: [(4, 4, 6)], 4: [(2, 2, 6), (20, 20, 8)]}
# image 0: the square shifted 2 px (Dice 0.75, IoU 0.6); image 1 missed;
# image 4: one of two, identical; image 6: a false finding
READER_B = {0: [(12, 10, 8)], 4: [(20, 20, 8)], 6: [(5, 20, 5)]}


def build_reader(squares, images=IMAGES, rename=None):
    builder = CocoBuilder()
    for index, (case, part, view) in enumerate(images):
        file_name = (rename or {}).get(index, f'{case}/{view}.png')
        image_id = builder.add_image(file_name,
                                     SIZE,
                                     SIZE,
                                     case_id=case,
                                     patient_id=f'p{case}',
                                     body_part=part,
                                     view=view)
        for x, y, side in squares.get(index, []):
            mask = np.zeros((SIZE, SIZE), bool)
            mask[y:y + side, x:x + side] = True
            builder.add_mask(image_id, mask, record=f'{file_name}')
    return builder.to_dict()


def write(path, coco):
    path.write_text(json.dumps(coco))
    return str(path)


@pytest.fixture
def two_readers(tmp_path):
    return [
        write(tmp_path / 'reader_a.json', build_reader(READER_A)),
        write(tmp_path / 'reader_b.json', build_reader(READER_B))
    ]


def group(report, kind, name):
    return next(g for g in report.groups if g.kind == kind and g.name == name)


def test_figures_of_hand_built_readers(two_readers):
    report = compute_agreement(load_readers(two_readers))
    assert report.readers.names == ['reader_a', 'reader_b']
    overall = group(report, 'all', 'all').statistics
    image_a = [1, 1, 0, 0, 1, 0, 0, 0]
    image_b = [1, 0, 0, 0, 1, 0, 1, 0]
    assert overall['image_agreement'].value == pytest.approx(6 / 8)
    assert overall['image_kappa'].value == pytest.approx(
        cohen_kappa_score(image_a, image_b))
    # cases c1..c4: A (1, 0, 1, 0), B (1, 0, 1, 1)
    assert overall['case_agreement'].value == pytest.approx(3 / 4)
    assert overall['case_kappa'].value == pytest.approx(
        cohen_kappa_score([1, 0, 1, 0], [1, 0, 1, 1]))
    # 2 matched pairs of 4 + 3 outlines; Dice (0.75 + 1) / 2, IoU (0.6 + 1)/2
    assert overall['lesion_agreement'].value == pytest.approx(4 / 7)
    assert overall['dice'].value == pytest.approx(0.875)
    assert overall['iou'].value == pytest.approx(0.8)
    counts = np.array([[1, 1], [1, 0], [0, 0], [0, 0], [2, 1], [0, 0], [0, 1],
                       [0, 0]])
    assert overall['count_icc'].value == pytest.approx(
        icc_two_way_random(counts).value)
    # wrist images: A (1, 1, 0, 0), B (1, 0, 0, 0): p_o 3/4, p_e 1/2
    wrist = group(report, 'body_part', 'wrist')
    assert wrist.statistics['image_kappa'].value == pytest.approx(0.5)
    assert (wrist.num_images, wrist.num_cases, wrist.fractures) == \
        (4, 2, (2, 1))
    assert np.isnan(group(report, 'view', 'ap').statistics['case_kappa'].value)
    for estimate in overall.values():
        if not np.isnan(estimate.ci_low):
            assert estimate.ci_low <= estimate.value <= estimate.ci_high


def test_fleiss_kappa_for_three_readers(tmp_path, two_readers):
    third = write(tmp_path / 'reader_c.json', build_reader(READER_A))
    report = compute_agreement(load_readers(two_readers + [third]))
    ratings = np.array([[1, 1, 1], [1, 0, 1], [0, 0, 0], [0, 0, 0], [1, 1, 1],
                        [0, 0, 0], [0, 1, 0], [0, 0, 0]])
    assert report.kappa_name == "Fleiss' kappa"
    assert group(report, 'all', 'all').statistics['image_kappa'].value == \
        pytest.approx(fleiss_kappa(aggregate_raters(ratings)[0]))
    # three reader pairs: A-B 2 of 4 + 3, A-C 4 of 4 + 4, B-C 2 of 3 + 4
    assert group(report, 'all', 'all').statistics['lesion_agreement'].value \
        == pytest.approx(2 * 8 / 22)


def test_matching_takes_the_most_pairs_whatever_the_reader_order():
    # a1 overlaps b1 and b2; a2 only b1: the greedy choice a1-b1 would
    # leave a2 alone; the best matching pairs a1-b2 and a2-b1
    boxes_a = np.array([[0, 0, 10, 10], [0, 6, 10, 16]])
    boxes_b = np.array([[0, 2, 10, 12], [0, 0, 10, 8]])
    assert sorted((i, j) for i, j, _ in match_instances(boxes_a, boxes_b)) \
        == [(0, 1), (1, 0)]
    assert sorted((j, i) for i, j, _ in match_instances(boxes_b, boxes_a)) \
        == [(0, 1), (1, 0)]
    far = np.array([[30, 30, 40, 40]])
    assert match_instances(boxes_a, far) == []
    assert match_instances(np.zeros((0, 4)), boxes_b) == []


def test_image_in_one_reader_only_is_named(tmp_path, two_readers):
    fewer = build_reader(READER_B, IMAGES[:6])
    path = write(tmp_path / 'fewer.json', fewer)
    with pytest.raises(DatasetRecordError) as error:
        load_readers([two_readers[0], path])
    message = str(error.value)
    assert '2 image(s) only in' in message and 'fewer.json' in message
    assert "c4/ap.png" in message and "c4/lateral.png" in message


def test_different_image_sets_name_both_sides(tmp_path, two_readers):
    renamed = build_reader(READER_B, rename={7: 'other/scan.png'})
    path = write(tmp_path / 'renamed.json', renamed)
    with pytest.raises(DatasetRecordError) as error:
        load_readers([two_readers[0], path])
    assert "c4/lateral.png" in str(error.value)
    assert "other/scan.png" in str(error.value)


def test_duplicate_file_names_are_named(tmp_path, two_readers):
    coco = build_reader(READER_B)
    coco['images'][3]['file_name'] = coco['images'][2]['file_name']
    path = write(tmp_path / 'duplicate.json', coco)
    with pytest.raises(DatasetRecordError,
                       match=r"duplicate\.json: 1 file name\(s\) listed more "
                       r"than once: 'c2/ap.png' \(images 3, 4\)"):
        load_readers([two_readers[0], path])


def test_differing_case_metadata_is_named(tmp_path, two_readers):
    coco = build_reader(READER_B)
    coco['images'][5]['body_part'] = 'hand'
    path = write(tmp_path / 'metadata.json', coco)
    with pytest.raises(DatasetRecordError,
                       match="'c3/lateral.png': body_part 'elbow' vs 'hand'"):
        load_readers([two_readers[0], path])


def test_broken_files_are_named(tmp_path, two_readers):
    with pytest.raises(DatasetRecordError, match='at least two'):
        load_readers(two_readers[:1])
    with pytest.raises(DatasetRecordError, match='same file'):
        load_readers([two_readers[0], two_readers[0]])
    coco = build_reader(READER_B)
    coco['annotations'][0]['segmentation'] = {'counts': 'x', 'size': [5, 5]}
    path = write(tmp_path / 'broken.json', coco)
    with pytest.raises(DatasetRecordError,
                       match=r'broken\.json: annotation 1 of \'c1/ap.png\''):
        load_readers([two_readers[0], path])
    (tmp_path / 'not_json.json').write_text('{')
    with pytest.raises(DatasetRecordError, match='not_json.json: not JSON'):
        load_readers([two_readers[0], str(tmp_path / 'not_json.json')])


@pytest.fixture(scope='module')
def tool():
    """tools/analysis/reader_agreement.py as a module, to run its main()
    in this process (the script itself runs in a subprocess below)."""
    spec = importlib.util.spec_from_file_location('reader_agreement_tool',
                                                  TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_tool(tool, *args):
    tool.main([str(arg) for arg in args])


def test_tool_writes_nothing_on_bad_input(tmp_path, two_readers):
    path = write(tmp_path / 'fewer.json', build_reader(READER_B, IMAGES[:7]))
    out_dir = tmp_path / 'out'
    result = subprocess.run([
        sys.executable,
        str(TOOL), two_readers[0], path, '--out-dir',
        str(out_dir)
    ],
                            capture_output=True,
                            text=True,
                            cwd=REPO)
    assert result.returncode != 0
    assert 'reader_agreement.py: error:' in result.stderr
    assert 'c4/lateral.png' in result.stderr
    assert not out_dir.exists()


@pytest.fixture(scope='module')
def phantom_coco(tmp_path_factory):
    config = PhantomConfig(num_patients=50,
                           height=112,
                           width=96,
                           seed=1,
                           fracture_free_fraction=0.4)
    coco, _ = generate_phantom_dataset(tmp_path_factory.mktemp('phantom'),
                                       config)
    return coco


def read_summary(out_dir):
    with open(out_dir / 'agreement.csv') as file:
        return {
            (row['group'], row['statistic']): row
            for row in csv.DictReader(file)
        }


def test_tool_end_to_end_on_phantom_readers(tmp_path, phantom_coco, tool,
                                            capsys):
    """Planted disagreement shows in the numbers: a reader who misses 30 %
    of the fractures agrees less than one who misses 5 %, and an exact copy
    agrees perfectly."""
    reference = write(tmp_path / 'reader_1.json', phantom_coco)
    paths = {}
    for name, disagreement in (('copy', ReaderDisagreement(0., 0., 0, seed=2)),
                               ('miss05',
                                ReaderDisagreement(0.05, 0., 1, seed=2)),
                               ('miss30', ReaderDisagreement(0.3,
                                                             0.,
                                                             1,
                                                             seed=2))):
        paths[name] = write(tmp_path / f'{name}.json',
                            simulate_reader(phantom_coco, 2, disagreement))
    summaries = {}
    for name, path in paths.items():
        out_dir = tmp_path / f'out_{name}'
        run_tool(tool, reference, path, '--out-dir', out_dir)
        assert f'report: {out_dir}' in capsys.readouterr().out
        summaries[name] = read_summary(out_dir)
    for key in ('image_kappa', 'case_kappa', 'lesion_agreement', 'dice',
                'count_icc'):
        assert float(summaries['copy'][('all', key)]['value']) == \
            pytest.approx(1.)
    kappas = {
        name: float(s[('all', 'image_kappa')]['value'])
        for name, s in summaries.items()
    }
    assert kappas['copy'] > kappas['miss05'] > kappas['miss30']
    # missing only (no false findings): specific agreement
    # 2 (1 - m) n / (n + (1 - m) n) = 2 (1 - m) / (2 - m), 0.82 at m = 0.3
    lesion = float(summaries['miss30'][('all', 'lesion_agreement')]['value'])
    assert lesion == pytest.approx(2 * 0.7 / 1.7, abs=0.06)
    assert float(summaries['miss30'][('all', 'dice')]['value']) < 1
    # image kappa in the CSV is sklearn's on the per-image ratings written
    out_dir = tmp_path / 'out_miss30'
    with open(out_dir / 'per_image_ratings.csv') as file:
        rows = list(csv.DictReader(file))
    first = [int(r['fractures_reader_1']) > 0 for r in rows]
    second = [int(r['fractures_miss30']) > 0 for r in rows]
    assert kappas['miss30'] == pytest.approx(cohen_kappa_score(first, second))
    assert len(rows) == len(phantom_coco['images'])

    report = (out_dir / 'reader_agreement.md').read_text()
    assert '## Table 6: reliability of the gold standard, by body part' in \
        report
    assert "Image Cohen's kappa" in report and 'Cicchetti (1994)' in report
    band = summaries['miss30'][('all', 'image_kappa')]['band']
    assert band in ('poor', 'fair', 'good', 'excellent')
    assert f"{kappas['miss30']:.2f} [" in report and band in report
    with Image.open(out_dir / 'kappa_by_body_part.png') as figure:
        assert figure.size[0] >= 600 and figure.size[1] >= 400


def test_tool_three_readers_and_landis_koch(tmp_path, phantom_coco, tool,
                                            capsys):
    readers = [write(tmp_path / 'r1.json', phantom_coco)] + [
        write(tmp_path / f'r{k}.json',
              simulate_reader(phantom_coco, k, ReaderDisagreement(seed=4)))
        for k in (2, 3)
    ]
    out_dir = tmp_path / 'out'
    run_tool(tool, *readers, '--out-dir', out_dir, '--bands', 'landis-koch',
             '--names', 'A', 'B', 'C')
    assert '3 readers' in capsys.readouterr().out
    report = (out_dir / 'reader_agreement.md').read_text()
    assert "Fleiss' kappa" in report and 'Landis and Koch (1977)' in report
    assert 'Fractures (A / B / C)' in report
    summary = read_summary(out_dir)
    assert summary[('all',
                    'image_kappa')]['band'] in ('slight', 'fair', 'moderate',
                                                'substantial',
                                                'almost perfect')


def test_settings_are_checked():
    with pytest.raises(ValueError, match='hit_criterion'):
        AgreementSettings(hit_criterion='dice')
    with pytest.raises(ValueError, match='band_scale'):
        AgreementSettings(band_scale='custom')
