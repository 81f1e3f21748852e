"""tools/fracatlas_experiment.py: the configs it compares, and the work
folder's guard against resuming with other settings."""
import importlib.util
import json
import os.path as osp

import pytest

from tests.test_configs.test_famo_configs import (FAMO_DIFFERENCE,
                                                  resolved_difference)
from .conftest import ROOT


def load_experiment():
    spec = importlib.util.spec_from_file_location(
        'fracatlas_experiment',
        osp.join(ROOT, 'tools', 'fracatlas_experiment.py'))
    experiment = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(experiment)
    return experiment


def test_each_encoder_compares_a_famo_config_with_its_baseline():
    experiment = load_experiment()
    assert sorted(experiment.MODELS) == ['lite0', 'lite1']
    for encoder, models in experiment.MODELS.items():
        famo, baseline = (osp.join(ROOT, models[name])
                          for name in ('famo', 'baseline'))
        assert resolved_difference(baseline, famo) == FAMO_DIFFERENCE
        assert encoder.replace('lite', 'effl') in osp.basename(famo)


def test_work_folder_refuses_other_settings(tmp_path):
    experiment = load_experiment()
    models = experiment.MODELS
    settings = dict(encoder='lite0', epochs=None, fracture_free=500, seed=0)
    experiment.check_settings(str(tmp_path), settings, models['lite0'])
    with open(tmp_path / 'experiment.json') as file:
        assert json.load(file) == settings
    # the same settings: go on
    experiment.check_settings(str(tmp_path), dict(settings), models['lite0'])
    with pytest.raises(SystemExit, match=f'{tmp_path} holds an experiment '
                       ".*'encoder': 'lite0'.*--restart"):
        experiment.check_settings(str(tmp_path),
                                  dict(settings, encoder='lite1'),
                                  models['lite1'])
    with open(tmp_path / 'experiment.json') as file:
        assert json.load(file) == settings  # the record is kept


def test_model_folder_of_another_config_is_refused(tmp_path):
    """A work folder from before the settings were recorded: the config
    that tools/train.py dumped beside the checkpoints names the model."""
    experiment = load_experiment()
    lite0, lite1 = (experiment.MODELS[e] for e in ('lite0', 'lite1'))
    (tmp_path / 'famo').mkdir()
    (tmp_path / 'famo' / osp.basename(lite0['famo'])).write_text('')
    settings = dict(encoder='lite1', epochs=None, fracture_free=500, seed=0)
    with pytest.raises(SystemExit, match=(
            f"{tmp_path / 'famo'} holds a training of "
            f"{osp.basename(lite0['famo'])}, not "
            f"{osp.basename(lite1['famo'])}")):
        experiment.check_settings(str(tmp_path), settings, lite1)
    assert not (tmp_path / 'experiment.json').exists()
    experiment.check_settings(str(tmp_path), dict(settings, encoder='lite0'),
                              lite0)  # its own config: go on
