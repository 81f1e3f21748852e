"""FAMO's effect against seed noise: both demo models trained with N seeds.

One demo run compares two models trained once each; its DeLong p-value
says whether the test set separates their AUCs, not whether training again
would. This benchmark runs the main job (``tools/demo.py``) N times on the
same phantom data, seeds 0..N-1 (``--seed``: initial weights, sampling and
augmentation), and reports for each headline metric each model's mean and
standard deviation across seeds, and the paired difference FAMO - baseline
(paired by seed) with a 95 % t interval across seeds; beside it, seed 0's
DeLong p-value of the two AUCs on the test set (two-sided).

    python benchmarks/famo_effect.py --seeds 3 \
        [--work-dir work_dirs/famo_effect]

Each seed's demo keeps its folder (``seed_<s>``); an interrupted benchmark
goes on where it stopped. The table is printed and written to
``WORK_DIR/famo_effect.md``.
"""
import argparse
import glob
import json
import os.path as osp
import subprocess
import sys
from typing import Dict, List

import numpy as np
from scipy import stats

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)
from mmdet_famo.evaluation.functional import paired_delong_test  # noqa: E402

#: (metric name of FractureCaseMetric, label) of the headline figures.
HEADLINE = (
    ('fracture/box_AP50', 'per-fracture AP50'),
    ('fracture/image_auc', 'per-image AUC (localised)'),
    ('fracture/case_auc', 'per-case AUC (localised)'),
    ('fracture/image_sensitivity', 'per-image sensitivity'),
    ('fracture/image_specificity', 'per-image specificity'),
    ('fracture/case_sensitivity', 'per-case sensitivity'),
    ('fracture/case_specificity', 'per-case specificity'),
)
#: AUC metric to (score table, score column) for seed 0's DeLong test.
DELONG_SCORES = {
    'fracture/image_auc': ('per_image_scores.csv', 'localised_score'),
    'fracture/case_auc': ('per_case_scores.csv', 'localised_score'),
}
MODELS = ('famo', 'baseline')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--seeds', type=int, default=3)
    parser.add_argument('--work-dir', default='work_dirs/famo_effect')
    args = parser.parse_args()
    if args.seeds < 1:
        parser.error('--seeds must be at least 1')
    return args


def test_metrics(model_dir: str) -> Dict[str, float]:
    """The metrics of the newest test run in ``model_dir`` (mmengine's
    ``<timestamp>/<timestamp>.json``)."""
    for path in sorted(glob.glob(osp.join(model_dir, '*', '*.json')),
                       reverse=True):
        with open(path) as file:
            metrics = json.load(file)
        if HEADLINE[0][0] in metrics:
            return metrics
    raise FileNotFoundError(f'{model_dir}: no test metrics '
                            '(<timestamp>/<timestamp>.json)')


def read_scores(path: str, column: str) -> Dict[str, tuple]:
    """Row key (img_id or case_id) to (has_fracture, score)."""
    import csv
    with open(path, newline='') as file:
        rows = list(csv.DictReader(file))
    key = 'img_id' if 'img_id' in rows[0] else 'case_id'
    return {
        row[key]: (int(float(row['has_fracture'])), float(row[column]))
        for row in rows
    }


def delong_pvalue(seed_dir: str, metric: str) -> float:
    """Two-sided DeLong p of FAMO against the baseline on the test set."""
    table, column = DELONG_SCORES[metric]
    famo, baseline = (read_scores(
        osp.join(seed_dir, model, 'test', table), column) for model in MODELS)
    keys = sorted(famo)
    if set(keys) != set(baseline):
        raise ValueError(f'{seed_dir}: the two test runs scored different '
                         f'{table} rows')
    labels = np.array([famo[k][0] for k in keys])
    return paired_delong_test(labels, np.array([famo[k][1] for k in keys]),
                              np.array([baseline[k][1]
                                        for k in keys])).pvalue


def t_interval(values: np.ndarray, level: float = 0.95) -> tuple:
    """Mean and two-sided t interval of the mean (nan for one value)."""
    mean = float(np.mean(values))
    if len(values) < 2:
        return mean, float('nan'), float('nan')
    half = stats.t.ppf((1 + level) / 2, len(values) - 1) * stats.sem(values)
    return mean, mean - half, mean + half


def effect_lines(results: List[Dict[str, Dict[str, float]]],
                 first_seed_dir: str) -> List[str]:
    """The Markdown table: per metric, each model's mean +- SD across
    seeds, the paired difference with its 95 % t interval, seed 0's DeLong
    p."""
    seeds = len(results)
    lines = [
        f'FAMO against the baseline over {seeds} seed(s) '
        '(mean ± SD across seeds; difference paired by seed, 95 % t '
        'interval; DeLong two-sided p of seed 0 on the test set)', '',
        '| metric | FAMO | baseline | FAMO − baseline [95 % CI] '
        '| DeLong p (seed 0) |', '|---|---|---|---|---|'
    ]
    for key, label in HEADLINE:
        values = {
            model: np.array([result[model].get(key, np.nan)
                             for result in results])
            for model in MODELS
        }
        difference, low, high = t_interval(values['famo'] -
                                           values['baseline'])
        cells = [label] + [
            f'{values[m].mean():.3f} ± {values[m].std(ddof=1):.3f}'
            if seeds > 1 else f'{values[m].mean():.3f}' for m in MODELS
        ]
        cells.append(f'{difference:+.3f} [{low:+.3f}, {high:+.3f}]'
                     if seeds > 1 else f'{difference:+.3f} (one seed)')
        cells.append(f'{delong_pvalue(first_seed_dir, key):.3g}'
                     if key in DELONG_SCORES else '')
        lines.append('| ' + ' | '.join(cells) + ' |')
    return lines


def main() -> None:
    args = parse_args()
    work_dir = osp.join(ROOT, args.work_dir)
    results = []
    for seed in range(args.seeds):
        seed_dir = osp.join(work_dir, f'seed_{seed}')
        print(f'==> seed {seed} of {args.seeds}: {seed_dir}', flush=True)
        subprocess.run([
            sys.executable,
            osp.join(ROOT, 'tools', 'demo.py'), '--work-dir', seed_dir,
            '--seed', str(seed)
        ], cwd=ROOT, check=True)
        results.append(
            {model: test_metrics(osp.join(seed_dir, model))
             for model in MODELS})
    lines = effect_lines(results, osp.join(work_dir, 'seed_0'))
    with open(osp.join(work_dir, 'famo_effect.md'), 'w') as file:
        file.write('\n'.join(lines) + '\n')
    print('\n'.join(lines))


if __name__ == '__main__':
    main()
