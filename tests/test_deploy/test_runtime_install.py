"""The runtime install on a fresh virtual environment: the package and its
``runtime`` extra from the package registry, without torch, MMCV or
MMDetection, set up in a timed step; then the DICOM node on the exported
model, fed phantoms through a watched folder, sends what the PyTorch model
finds."""
import configparser
import os
import shutil
import signal
import subprocess
import sys
import time
import venv
from pathlib import Path
from types import SimpleNamespace

import pydicom
import pytest

from .test_backends import assert_same_dicom

pytestmark = pytest.mark.heavy

ROOT = Path(__file__).resolve().parents[2]
#: Thresholds of the briefly trained model (tests/test_deploy/conftest.py).
SUSPECTED, DEFINITE = '0.06', '0.08'


def runtime_requirements() -> list:
    """The ``runtime`` extra of setup.cfg."""
    parser = configparser.ConfigParser()
    parser.read(ROOT / 'setup.cfg')
    return parser['options.extras_require']['runtime'].split()


#: The environment of the runtime extra that tools/setup_env.sh builds.
PREBUILT_ENV = Path(sys.prefix) / 'runtime-env'


@pytest.fixture(scope='module')
def runtime_env(tmp_path_factory):
    """An environment of the ``runtime`` extra alone (wheels only, no
    compiler) with the package installed from the checkout without its
    dependencies: ``python`` and the ``env`` to run it with.

    The requirements' environment is the one ``tools/setup_env.sh`` built,
    if it holds the extra as it stands in setup.cfg (the package then goes
    to a folder of its own on ``PYTHONPATH``); otherwise a new one is built
    here, as docs/deployment.md builds it."""
    requirements = runtime_requirements()
    start = time.perf_counter()
    stamp = PREBUILT_ENV / 'requirements.txt'
    prebuilt = stamp.is_file() and stamp.read_text().split() == requirements
    if prebuilt:
        python = str(PREBUILT_ENV / 'bin' / 'python')
        target = tmp_path_factory.mktemp('runtime_package')
        commands = [[python, '-m', 'pip', 'install', '--quiet', '--no-deps',
                     '--target', str(target), str(ROOT)]]
        env = dict(os.environ, PYTHONPATH=str(target))
    else:
        folder = tmp_path_factory.mktemp('runtime_env')
        venv.create(folder, with_pip=True)
        python = str(folder / 'bin' / 'python')
        pip = [python, '-m', 'pip', 'install', '--quiet']
        commands = [pip + ['--no-deps', str(ROOT)],
                    pip + ['--only-binary', ':all:'] + requirements]
        env = dict(os.environ)
    env.pop('PYTHONHOME', None)
    for command in commands:
        result = subprocess.run(command, capture_output=True, text=True,
                                timeout=900)
        assert result.returncode == 0, result.stderr[-3000:]
    print(f'\nruntime install: {time.perf_counter() - start:.0f} s ('
          + ('the package, beside ' + str(PREBUILT_ENV) if prebuilt else
             'a new environment, the package and the extra') + ')')
    return SimpleNamespace(python=python, env=env)


#: Not installed by the runtime extra: the training stack, and what only
#: evaluation and analysis use (SciPy, scikit-learn, statsmodels and
#: pycocotools), which no runtime module imports.
ABSENT = ('torch', 'mmcv', 'mmdet', 'scipy', 'sklearn', 'statsmodels',
          'pycocotools')
#: Installed (MMEngine requires it) but not imported by the runtime modules.
NOT_IMPORTED = ABSENT + ('matplotlib', )


def test_runtime_env_lacks_the_training_stack(runtime_env):
    """torch, MMCV, MMDetection and the evaluation's statistics packages
    are absent, the runtime modules import (from the installed package,
    outside the repository) and none of them, nor matplotlib, is
    imported."""
    python, env = runtime_env.python, runtime_env.env
    for package in ABSENT:
        result = subprocess.run([python, '-c', f'import {package}'],
                                capture_output=True, cwd='/', env=env)
        assert result.returncode != 0, f'{package} is installed'
    script = (
        'import sys, mmdet_famo.node, mmdet_famo.apis, mmdet_famo.apis.cli, '
        'mmdet_famo.deploy.runtime, mmdet_famo.datasets.radiograph_reader; '
        "print(mmdet_famo.__file__); print(sorted({m.split('.')[0] for m in "
        f'sys.modules}} & {set(NOT_IMPORTED)!r}))')
    result = subprocess.run([python, '-c', script],
                            capture_output=True,
                            text=True,
                            cwd='/',
                            env=env)
    assert result.returncode == 0, result.stderr
    location, heavy = result.stdout.split('\n')[:2]
    assert not location.startswith(str(ROOT))
    assert heavy == '[]'


def wait_for(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


def test_node_on_phantoms_sends_pytorch_findings(runtime_env, famo_model,
                                                 phantom_root, tmp_path):
    """The node of the runtime install, on the exported model, writes per
    study the structured report, presentation state and Secondary
    Captures that tools/infer.py writes with the PyTorch model."""
    python, env = runtime_env.python, runtime_env.env
    studies = sorted((phantom_root / 'images').glob('PH000[12]/*'))
    files = sorted(p for study in studies for p in study.rglob('*.dcm'))
    assert len(studies) >= 2 and files
    watch, out, spool = tmp_path / 'watch', tmp_path / 'out', \
        tmp_path / 'spool'
    watch.mkdir()
    log = (tmp_path / 'node.log').open('w')
    node = subprocess.Popen([
        python,
        str(ROOT / 'tools' / 'dicom_node.py'), famo_model.onnx, '--spool',
        str(spool), '--watch',
        str(watch), '--out-dir',
        str(out), '--threshold', DEFINITE, '--suspected-threshold',
        SUSPECTED, '--secondary-capture', '--idle-seconds', '1', '--threads',
        '1'
    ],
                            stdout=log,
                            stderr=subprocess.STDOUT,
                            cwd=str(tmp_path),
                            env=env)
    try:
        for number, path in enumerate(files):
            shutil.copy(path, watch / f'{number:03d}.dcm')
        num_studies = len({pydicom.dcmread(f).StudyInstanceUID
                           for f in files})
        assert wait_for(
            lambda: len(list(out.rglob('*structured_report*.dcm'))) ==
            num_studies and len(list(out.rglob('*.dcm'))) >= num_studies * 2
            + len(files), 180), (tmp_path / 'node.log').read_text()[-3000:]
        # the last results of a round may still be on their way: wait
        # until no file has come for 3 s
        counts = []
        assert wait_for(
            lambda: counts.append(len(list(out.rglob('*.dcm')))) or
            len(counts) > 15 and len(set(counts[-15:])) == 1, 60)
    finally:
        node.send_signal(signal.SIGTERM)
        node.wait(timeout=60)
    inputs = tmp_path / 'inputs'
    inputs.mkdir()
    for number, path in enumerate(files):
        shutil.copy(path, inputs / f'{number:03d}.dcm')
    expected_dir = tmp_path / 'pytorch'
    subprocess.run([
        sys.executable, 'tools/infer.py', famo_model.config,
        famo_model.checkpoint,
        str(inputs), '--out-dir',
        str(expected_dir), '--threshold', DEFINITE, '--suspected-threshold',
        SUSPECTED, '--sr', '--presentation-state', '--secondary-capture',
        '--no-overlays'
    ],
                   check=True,
                   capture_output=True,
                   cwd=str(ROOT),
                   env=dict(os.environ, OMP_NUM_THREADS='1'))

    def by_key(folder):
        found = {}
        for path in folder.rglob('*.dcm'):
            ds = pydicom.dcmread(path)
            if ds.Modality == 'OT':
                key = ('OT', ds.SourceImageSequence[0].
                       ReferencedSOPInstanceUID)
            elif ds.Modality == 'PR':  # one per display group
                key = ('PR', ) + tuple(
                    sorted(image.ReferencedSOPInstanceUID
                           for series in ds.ReferencedSeriesSequence
                           for image in series.ReferencedImageSequence))
            else:
                key = (ds.Modality, ds.StudyInstanceUID)
            assert key not in found, key
            found[key] = path
        return found

    sent, expected = by_key(out), by_key(expected_dir)
    assert sent.keys() == expected.keys()
    assert sum(key[0] == 'SR' for key in sent) == num_studies
    for key, path in expected.items():
        # Instance Numbers follow the order the files came in, which
        # differs between the node's spool and the tool's folder.
        assert_same_dicom(path, sent[key], ignored=('InstanceNumber', ))
