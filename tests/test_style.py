"""The code follows the style in setup.cfg ([flake8]): the suite fails on a
new violation instead of letting them pile up."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]


def test_flake8_finds_nothing():
    result = subprocess.run(
        [sys.executable, '-m', 'flake8', 'mmdet_famo', 'tools', 'tests',
         'benchmarks', 'configs'],
        cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
