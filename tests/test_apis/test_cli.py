"""The model arguments shared by tools/infer.py and tools/dicom_node.py."""
import argparse

import pytest

from mmdet_famo.apis.cli import add_model_arguments, check_model_arguments
from mmdet_famo.evaluation.operating_points import (given_operating_points,
                                                    save_operating_points)


@pytest.fixture
def model_files(tmp_path):
    config, checkpoint = tmp_path / 'model.py', tmp_path / 'model.pth'
    config.write_text('')
    checkpoint.write_bytes(b'')
    return [str(config), str(checkpoint)]


def parse(argv):
    parser = argparse.ArgumentParser()
    add_model_arguments(parser)
    args = parser.parse_args(argv)
    check_model_arguments(parser, args)
    return args


def test_given_thresholds_become_both_points(model_files):
    args = parse(model_files + ['--threshold', '0.6',
                                '--suspected-threshold', '0.25'])
    assert (args.points.suspected.threshold,
            args.points.definite.threshold) == (0.25, 0.6)
    one = parse(model_files + ['--threshold', '0.6']).points
    assert one.suspected.threshold == one.definite.threshold == 0.6


def test_threshold_file_gives_its_points(model_files, tmp_path):
    path = tmp_path / 'operating_threshold.json'
    save_operating_points(str(path), given_operating_points(0.7, 0.2))
    points = parse(model_files + ['--threshold-file', str(tmp_path)]).points
    assert (points.suspected.threshold,
            points.definite.threshold) == (0.2, 0.7)


@pytest.mark.parametrize('extra', [
    ['--threshold', '1.5'],
    ['--threshold', '0.5', '--suspected-threshold', '0.6'],
    ['--threshold', '0.5', '--batch-size', '0'],
    ['--threshold-file', 'missing.json'],
])
def test_bad_arguments_are_usage_errors(model_files, extra, capsys):
    with pytest.raises(SystemExit) as error:
        parse(model_files + extra)
    assert error.value.code == 2


def test_suspected_threshold_does_not_go_with_a_file(model_files, tmp_path):
    path = tmp_path / 'operating_threshold.json'
    save_operating_points(str(path), given_operating_points(0.7))
    with pytest.raises(SystemExit):
        parse(model_files + ['--threshold-file', str(path),
                             '--suspected-threshold', '0.1'])


def test_missing_checkpoint_is_a_usage_error(model_files, capsys):
    with pytest.raises(SystemExit):
        parse([model_files[0], 'nowhere.pth', '--threshold', '0.5'])
    assert 'nowhere.pth is not a file' in capsys.readouterr().err
