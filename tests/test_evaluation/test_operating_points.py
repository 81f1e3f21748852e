"""The operating-point file: chosen, saved, read strictly."""
import json
import math

import numpy as np
import pytest

from mmdet_famo.evaluation.operating_points import (
    OPERATING_THRESHOLD_FILE, OperatingPoint, OperatingPoints,
    choose_operating_points, given_operating_points, load_operating_points,
    read_threshold_file, save_operating_points)


def test_level_of_and_invariant():
    points = given_operating_points(.6, suspected=.2, source='--threshold')
    assert [points.level_of(s) for s in (.1, .2, .59, .6, .9)] == \
        [None, 'suspected', 'suspected', 'definite', 'definite']
    assert given_operating_points(.5).suspected.threshold == .5
    with pytest.raises(ValueError, match='above the definite'):
        given_operating_points(.2, suspected=.6)
    with pytest.raises(ValueError, match='finite'):
        OperatingPoint('definite', math.nan, 'given', None, 'x')
    with pytest.raises(ValueError, match='needs a target'):
        OperatingPoint('suspected', .1, 'sensitivity', None, 'x')


def test_chosen_on_real_scores():
    labels = np.array([1, 1, 1, 1, 0, 0, 0, 0], bool)
    scores = np.array([.9, .8, .3, -np.inf, .7, .2, .1, -np.inf])
    points = choose_operating_points(labels, scores, target_sensitivity=.75)
    # Youden: t = .8 gives 2/4 + 1 - 1 = .5, t = .3 gives 3/4 + 2/4 ...
    # J(.8) = .5, J(.7) = .25, J(.3) = .5, J(.2) = .25: the higher, .8
    assert points.definite.threshold == .8
    assert (points.definite.method, points.definite.target) == ('youden',
                                                                None)
    # sensitivity >= 3/4 first at .3 (the highest such)
    assert points.suspected.threshold == .3
    # 100% sensitivity is out of reach (a positive without a box): the
    # lowest real score, with a warning
    with pytest.warns(UserWarning, match='no box score reaches'):
        points = choose_operating_points(labels, scores, target_sensitivity=1)
    assert points.suspected.threshold == .1
    # the definite point already reaches the target: suspected = definite
    points = choose_operating_points(labels, scores, 'specificity', .25,
                                     target_specificity=.5)
    assert points.definite.threshold == .2
    assert points.suspected.threshold == .2


def test_saved_and_loaded(tmp_path):
    points = choose_operating_points(
        np.array([1, 0, 1, 0], bool), np.array([.9, .4, .6, .1]),
        source='validation set')
    path = tmp_path / OPERATING_THRESHOLD_FILE
    save_operating_points(str(path), points, hit_thr=.5)
    assert json.loads(path.read_text())['threshold'] == .6
    for where in (tmp_path, path):
        assert load_operating_points(str(where)) == points
    loaded, record = read_threshold_file(str(tmp_path))
    assert record['loaded_from'] == str(path) and record['hit_thr'] == .5


def test_a_single_threshold_file_of_an_earlier_version(tmp_path):
    path = tmp_path / 'old.json'
    path.write_text('{"threshold": 0.4, "method": "specificity", '
                    '"target_specificity": 0.9}')
    points = load_operating_points(str(path))
    assert points.suspected.threshold == points.definite.threshold == .4
    assert points.definite.target == .9


@pytest.mark.parametrize('content, message', [
    ('{"threshold": NaN}', 'no operating threshold could be chosen'),
    ('{"threshold": null, "reason": "no boxes"}', 'no boxes'),
    ('{"method": "youden"}', 'no "threshold"'),
    ('not json', 'not valid JSON'),
    ('{"threshold": 0.5, "operating_points": {"definite": {}}}',
     'invalid operating points'),
    ('{"threshold": 0.5, "operating_points": {"suspected": {"threshold": '
     '0.7, "method": "given", "target": null, "source": ""}, "definite": '
     '{"threshold": 0.5, "method": "given", "target": null, "source": ""}}}',
     'above the definite'),
])
def test_bad_files_are_refused_naming_the_file(tmp_path, content, message):
    path = tmp_path / 'bad.json'
    path.write_text(content)
    with pytest.raises(ValueError, match=message) as error:
        load_operating_points(str(path))
    assert 'bad.json' in str(error.value)
    with pytest.raises(FileNotFoundError, match='missing.json'):
        load_operating_points(str(tmp_path / 'missing.json'))


def test_nothing_chosen_is_saved_with_the_reason(tmp_path):
    path = tmp_path / OPERATING_THRESHOLD_FILE
    with pytest.warns(Warning):
        assert choose_operating_points(np.ones(3, bool), [.1, .2, .3]) is None
    save_operating_points(str(path), None, reason='no fracture-free images')
    with pytest.raises(ValueError, match='no fracture-free images'):
        load_operating_points(str(path))
    assert isinstance(
        OperatingPoints(*given_operating_points(.5)), OperatingPoints)
