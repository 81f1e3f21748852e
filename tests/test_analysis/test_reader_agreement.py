"""Reader agreement (the paper's Table 6) written out: the tool end to end
on phantom readers with planted disagreement, and nothing written on bad
input."""
import csv
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image
from sklearn.metrics import cohen_kappa_score

from mmdet_famo.phantom import PhantomConfig, generate_phantom_dataset
from mmdet_famo.phantom.readers import ReaderDisagreement, simulate_reader
from tests.reader_factory import IMAGES, READER_B, build_reader, write

REPO = Path(__file__).resolve().parents[2]
TOOL = REPO / 'tools' / 'analysis' / 'reader_agreement.py'


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
