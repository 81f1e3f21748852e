"""tools/infer.py: arguments, exit status, console output."""
import importlib.util
import json
import shutil
from pathlib import Path

import pytest

TOOL = Path(__file__).parents[2] / 'tools' / 'infer.py'


@pytest.fixture(scope='module')
def infer_tool():
    spec = importlib.util.spec_from_file_location('infer_tool', TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def study(phantoms, tmp_path):
    """One phantom study (two views) in a folder of its own."""
    folder = tmp_path / 'in'
    shutil.copytree(phantoms.root / 'PH0001', folder)
    return folder


def test_all_good_exits_0_and_prints_the_summary(infer_tool, model_files,
                                                 study, tmp_path, capfd):
    (tmp_path / 'val').mkdir()
    (tmp_path / 'val' / 'operating_threshold.json').write_text(
        json.dumps(dict(threshold=0.25, method='youden')))

    status = infer_tool.main([
        model_files.config, model_files.checkpoint,
        str(study), '--out-dir',
        str(tmp_path / 'out'), '--threshold-file',
        str(tmp_path / 'val'), '--batch-size', '2', '--no-overlays'
    ])

    out, err = capfd.readouterr()
    report = json.loads((tmp_path / 'out' / 'report.json').read_text())
    assert status == 0
    assert report['threshold']['value'] == 0.25
    assert report['threshold']['source'].endswith('operating_threshold.json')
    assert report['summary']['images'] == 2
    assert '2 images in 1 cases: 2 positive images (2 definite), 1 positive ' \
        'cases (1 definite), 0 failures' in out
    assert not (tmp_path / 'out' / 'overlays').exists()
    assert 'PH0001' not in out + err  # the folder names hold patient ids


def test_a_failed_file_exits_1(infer_tool, model_files, study, tmp_path):
    (study / 'broken.dcm').write_bytes(b'\0' * 200)

    status = infer_tool.main([
        model_files.config, model_files.checkpoint,
        str(study), '--out-dir',
        str(tmp_path / 'out'), '--threshold', '0.5'
    ])

    report = json.loads((tmp_path / 'out' / 'report.json').read_text())
    assert status == 1
    assert report['summary']['images'] == 2
    failure, = report['failures']
    assert failure['input'] == 'image-0001'
    assert len(list((tmp_path / 'out' / 'overlays').iterdir())) == 2


def test_two_operating_points_and_dicom_results(infer_tool, model_files,
                                                study, tmp_path, capfd):
    points = dict(suspected=dict(threshold=0.2,
                                 method='sensitivity',
                                 target=0.95,
                                 source='validation set'),
                  definite=dict(threshold=0.9,
                                method='youden',
                                target=None,
                                source='validation set'))
    (tmp_path / 'operating_threshold.json').write_text(
        json.dumps(dict(threshold=0.9, operating_points=points)))

    status = infer_tool.main([
        model_files.config, model_files.checkpoint,
        str(study), '--out-dir',
        str(tmp_path / 'out'), '--threshold-file',
        str(tmp_path / 'operating_threshold.json'), '--sr',
        '--presentation-state', '--no-overlays'
    ])

    out, _ = capfd.readouterr()
    report = json.loads((tmp_path / 'out' / 'report.json').read_text())
    assert status == 0
    assert report['operating_points'] == dict(
        suspected=dict(points['suspected'], level='suspected'),
        definite=dict(points['definite'], level='definite'))
    levels = {box['level'] for image in report['cases'][0]['images']
              for box in image['boxes']}
    assert levels == {'suspected'}  # the random model scores about 0.57
    case, = report['cases']
    assert case['level'] == 'suspected' and case['positive']
    assert report['summary']['definite_cases'] == 0
    assert case['structured_report'] == ['structured_report/case-0001.dcm']
    assert all((tmp_path / 'out' / path).is_file()
               for path in report['dicom_files'])
    assert 'suspected >= 0.2, definite >= 0.9' in out


@pytest.mark.parametrize('arguments, message', [
    (['--threshold', '0.5', '--suspected-threshold', '0.6'],
     '--suspected-threshold must be in [0, --threshold]'),
    (['--threshold-file', 'x.json', '--suspected-threshold', '0.1'],
     '--suspected-threshold goes with --threshold'),
    (['--threshold', '1.5'], '--threshold must be in'),
    (['--threshold', 'nan'], '--threshold must be in'),
    ([], 'one of the arguments --threshold-file --threshold is required'),
    (['--threshold', '0.5', '--threshold-file', 'x.json'], 'not allowed with'),
    (['--threshold-file', 'missing/'], 'does not exist'),
    (['--threshold', '0.5', '--batch-size', '0'], 'at least 1'),
])
def test_usage_errors_exit_2(infer_tool, model_files, tmp_path, capsys,
                             arguments, message):
    with pytest.raises(SystemExit) as exit_info:
        infer_tool.main([
            model_files.config, model_files.checkpoint,
            str(tmp_path), '--out-dir',
            str(tmp_path / 'out'), *arguments
        ])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_a_missing_checkpoint_is_a_usage_error(infer_tool, model_files,
                                               tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        infer_tool.main([
            model_files.config,
            str(tmp_path / 'missing.pth'),
            str(tmp_path), '--out-dir',
            str(tmp_path / 'out'), '--threshold', '0.5'
        ])
    assert exit_info.value.code == 2
    assert 'is not a file' in capsys.readouterr().err
