"""The Markdown report and the console summary of a model comparison.

Tables follow the paper: Table 1 per fracture and per image, Table 2 per
case, Table 3 the paired tests, Table 4 by body part. A figure that cannot
be computed reads "n/a" with the reason.
"""
import math
from typing import List, Sequence

from .evaluation_run import EvaluationRun
from .paired_statistics import (BOOTSTRAP, DELONG_ONE_SIDED, DELONG_TWO_SIDED,
                                MCNEMAR, Comparison, ComparisonRow, Estimate,
                                GroupComparison, PairedTest, headline_test,
                                holm_across_groups)
from .panels import Panel

REPORT_FILE = 'report.md'
HIT_CRITERIA = {
    'iou': 'IoU',
    'iosmall': 'intersection over the smaller box',
    'centre': 'predicted centre inside the fracture box'
}
MCNEMAR_METHODS = {
    'exact': 'exact binomial',
    'chi2': 'chi-square, continuity-corrected'
}


def format_value(value: float) -> str:
    return f'{value:.3f}'


def format_pvalue(pvalue: float) -> str:
    """Three decimals, or two significant digits below 0.001."""
    return f'{pvalue:.3f}' if pvalue >= 0.001 else f'{pvalue:.1e}'


def format_estimate(estimate: Estimate) -> str:
    """'0.850 [0.702, 0.943] (34/40)'; 'n/a (reason)' for nan."""
    if math.isnan(estimate.value):
        return f'n/a ({estimate.reason})'
    text = format_value(estimate.value)
    if not math.isnan(estimate.ci_low):
        text += f' [{format_value(estimate.ci_low)}, ' \
            f'{format_value(estimate.ci_high)}]'
    if estimate.total is not None:
        text += f' ({estimate.successes}/{estimate.total})'
    if estimate.reason:
        text += f' ({estimate.reason})'
    return text


def format_difference(row: ComparisonRow) -> str:
    return 'n/a' if math.isnan(row.difference) else f'{row.difference:+.3f}'


def format_test(test: PairedTest) -> str:
    """'0.012', or 'n/a (reason)'."""
    if math.isnan(test.pvalue):
        return f'n/a ({test.reason})'
    return format_pvalue(test.pvalue)


def render_report(comparison: Comparison,
                  panels: Sequence[Panel],
                  roc_files: Sequence[str],
                  note: str = '') -> str:
    """The Markdown report.

    Args:
        comparison (Comparison): The computed comparison.
        panels (Sequence[Panel]): Written panels, linked from the report.
        roc_files (Sequence[str]): The per-image and per-case ROC PNGs,
            relative to the report.
        note (str): A line shown prominently at the top, e.g. that the data
            are synthetic phantoms.

    Returns:
        str: The report's text.
    """
    a, b = (run.name for run in comparison.runs)
    overall = comparison.overall
    lines = [f'# {a} vs {b}: fracture detection on the same test set', '']
    if note:
        lines += [f'> **{note}**', '']
    lines += _header(comparison)
    lines += [
        '## Table 1. Per-fracture and per-image results', '',
        *_estimates_table([*overall.rows['fracture'], *overall.rows['image']],
                          a, b), '', *_fractured_images_section(comparison),
        '## Table 2. Per-case results', '',
        *_estimates_table(overall.rows['case'], a, b), '',
        '## Table 3. Paired tests', '',
        'DeLong compares the AUCs on the same images or cases; the '
        f'one-sided test rejects "{a} is not better than {b}" (the paper '
        'tested the hypothesis that FAMO performs worse than the control). '
        'McNemar compares the two models\' correct calls on the fractured '
        '(sensitivity) or fracture-free (specificity) images or cases. '
        'The paired bootstrap draws the test set\'s images with replacement, '
        'the same draw for both models, and recomputes both AP50s; its '
        'p-value is twice the smaller share of differences on either side '
        'of 0 (each count plus one over the draws plus one, so never 0), '
        'and it gives the AP50s\' intervals in Table 1.', '',
        *_tests_table([
            *overall.rows['fracture'], *overall.rows['image'],
            *overall.rows['case']
        ], a, b),
        ''
    ]
    lines += _body_part_section(comparison.body_parts, a, b)
    lines += _box_shape_section(comparison.box_shapes, a, b)
    lines += ['## ROC curves', '']
    for file, level in zip(roc_files, ('image', 'case')):
        lines += [f'![Per-{level} ROC curves of {a} and {b}]({file})', '']
    lines += _panel_section(panels, comparison, a, b)
    return '\n'.join(lines).rstrip() + '\n'


def _fractured_images_section(comparison: Comparison) -> List[str]:
    """Table 1's per-fracture rows on the fractured images alone, as
    benchmarks whose test sets hold no fracture-free image measure them."""
    a, b = (run.name for run in comparison.runs)
    group = comparison.fractured_images
    return [
        f'### On the {group.num_images} fractured images alone', '',
        'The same boxes, without the fracture-free images: their false '
        'boxes no longer lower precision. This is the AP of detection '
        'benchmarks whose test sets hold fractured images only (such as '
        'FracAtlas\'s own split); Table 1\'s is the one a clinic meets.', '',
        *_estimates_table(group.rows['fracture'], a, b), ''
    ]


def _header(comparison: Comparison) -> List[str]:
    runs = comparison.runs
    images, cases = runs[0].images, runs[0].cases
    settings = comparison.settings
    labels = images['has_fracture'] == 1
    case_labels = cases['has_fracture'] == 1
    parts = sorted(set(images['body_part']))
    part_counts = ', '.join(
        f"{part} {int((images['body_part'] == part).sum())}" for part in parts)
    lines = [
        '## What was compared', '', f'| | {runs[0].name} | {runs[1].name} |',
        '|---|---|---|', '| Test run | ' + ' | '.join(f'`{run.directory}`'
                                                      for run in runs) + ' |',
        '| Definite operating point | ' +
        ' | '.join(_threshold_source(run, 'definite') for run in runs) + ' |',
        '| Suspected operating point | ' +
        ' | '.join(_threshold_source(run, 'suspected') for run in runs) +
        ' |',
        '| Hit rule | ' + ' | '.join(f'{HIT_CRITERIA.get(c, c)} >= {t}'
                                     for c, t in (run.hit_rule
                                                  for run in runs)) + ' |', '',
        f'Test set: {len(labels)} images ({int(labels.sum())} with fractures, '
        f'{int((~labels).sum())} without) in {len(case_labels)} cases '
        f'({int(case_labels.sum())} with fractures, '
        f'{int((~case_labels).sum())} without), '
        f"{int(images['n_fractures'].sum())} fractures; images per body "
        f'part: {part_counts}.', '',
        f'{settings.confidence_level:.0%} intervals: '
        f"{'Clopper-Pearson' if settings.ci_method == 'exact' else 'Wilson'}"
        ' for proportions (with their counts), DeLong for AUCs, the '
        'percentiles of a bootstrap over the images for AP50. AP: COCO '
        '101-point interpolation over every box, overlap by '
        f'{HIT_CRITERIA[settings.ap_criterion]}. Sensitivity, specificity '
        "and precision are at each model's own definite operating point, "
        'chosen on the validation set; an image is a true positive when a '
        'box at the threshold hits one of its fractures, a case when one of '
        'its fractured views is (Thian et al. 2019). The AUCs and their '
        'DeLong tests use the same localised score (only boxes that hit a '
        'fracture count on a fractured image), so each operating point '
        'lies on the reported curve; the AUC of the highest box score, '
        'wherever the box lies, is shown apart, without tests. '
        f'"{runs[0].name} − {runs[1].name}" is the difference of the point '
        'values.', ''
    ]
    if len({run.hit_rule for run in runs}) > 1:
        lines += [
            '**Warning:** the two runs used different hit rules: their '
            'sensitivities, specificities and precisions do not compare.', ''
        ]
    for run in runs:
        if run.points is None:
            lines += [
                f'**Note:** {run.name}\'s run had no operating point (no '
                'threshold chosen on the validation set): its sensitivity, '
                'specificity and precision are n/a. Test with tools/test.py '
                '--threshold-file.', ''
            ]
        elif run.points.definite.method != 'given' and \
                'loaded_from' not in run.threshold_info:
            lines += [
                f"**Warning:** {run.name}'s operating points were chosen "
                'on this test set itself: its sensitivity and specificity '
                'are optimistic. Choose them on the validation set and pass '
                'tools/test.py --threshold-file.', ''
            ]
    return lines


def _threshold_source(run: EvaluationRun, level: str) -> str:
    """A point's threshold, how and where it was chosen."""
    if run.points is None:
        return 'none'
    text = getattr(run.points, level).describe()
    if 'loaded_from' in run.threshold_info:
        text += f", read from `{run.threshold_info['loaded_from']}`"
    return text


def _estimates_table(rows: Sequence[ComparisonRow], a: str,
                     b: str) -> List[str]:
    lines = [f'| Measure | {a} | {b} | {a} − {b} |', '|---|---|---|---|']
    for row in rows:
        lines.append(f'| {row.label} | {format_estimate(row.estimates[0])} | '
                     f'{format_estimate(row.estimates[1])} | '
                     f'{format_difference(row)} |')
    return lines


def _test_name(test: PairedTest, row: ComparisonRow, a: str) -> str:
    if test.name == DELONG_ONE_SIDED:
        return f'{test.name} (H0: {a} not better)'
    if test.name == MCNEMAR and row.estimates[0].total is not None:
        return f'{test.name} ({row.estimates[0].total} pairs)'
    return test.name


def _test_details(test: PairedTest, a: str, b: str) -> str:
    if math.isnan(test.pvalue):
        return ''
    if test.name == BOOTSTRAP:
        low, high = test.difference_interval
        return (f'{test.method}; {a} − {b} interval '
                f'[{low:+.3f}, {high:+.3f}]')
    if test.name == MCNEMAR:
        return (f'{MCNEMAR_METHODS.get(test.method, test.method)}; '
                f'{test.only_a_correct} right only by {a}, '
                f'{test.only_b_correct} only by {b}')
    return f'z = {test.statistic:.3f}'


def _tests_table(rows: Sequence[ComparisonRow], a: str, b: str) -> List[str]:
    lines = ['| Measure | Test | p-value | Details |', '|---|---|---|---|']
    for row in rows:
        for test in row.tests:
            lines.append(f'| {row.label} | {_test_name(test, row, a)} | '
                         f'{format_test(test)} | '
                         f'{_test_details(test, a, b)} |')
    return lines


def _body_part_section(groups: Sequence[GroupComparison], a: str,
                       b: str) -> List[str]:
    lines = ['## Table 4. By body part', '']
    if not groups:
        return lines + [
            'The test set holds a single body part: Tables 1-3 are its '
            'results.', ''
        ]
    lines += [
        'p-values: DeLong two-sided (one-sided, H0: '
        f'{a} not better) for AUCs, McNemar for sensitivity and '
        'specificity, the paired bootstrap for AP50. Holm p: the two-sided '
        'p-value adjusted by Holm\'s method over the body parts with a '
        f'p-value for the same measure (at most {len(groups)}), the figure '
        'to read before calling any one body part different. A case whose '
        'views '
        'show different body parts is counted under the combined name '
        '(e.g. hand+wrist).', ''
    ]
    adjusted = holm_across_groups(groups)
    for group in groups:
        lines += [
            f'### {group.name} ({group.num_images} images, '
            f'{group.num_cases} cases)', '',
            f'| Measure | {a} | {b} | {a} − {b} | p | Holm p |',
            '|---|---|---|---|---|---|'
        ]
        for level_rows in group.rows.values():
            for row in level_rows:
                holm = adjusted.get((group.name, row.key))
                lines.append(
                    f'| {row.label} | {format_estimate(row.estimates[0])} | '
                    f'{format_estimate(row.estimates[1])} | '
                    f'{format_difference(row)} | {_short_tests(row)} | '
                    f'{"—" if holm is None else format_pvalue(holm)} |')
        lines.append('')
    return lines


def _box_shape_section(groups: Sequence[GroupComparison], a: str,
                       b: str) -> List[str]:
    """Table 5: per-fracture AP50 and sensitivity by the fracture box's
    aspect ratio and by the fracture's orientation (FAMO's hypothesis:
    RoI-Align distorts elongated boxes most)."""
    lines = [
        '## Table 5. By box shape and orientation', '',
        'Fractures binned by the aspect ratio of their box (elongated >= '
        '3:1, intermediate 1.5:1 to 3:1, squarish < 1.5:1) and, when '
        'annotated, by their orientation (angle to the horizontal: '
        'near-horizontal < 22.5°, oblique, near-vertical >= 67.5°). AP50 '
        'over a bin as COCO defines it for area ranges: fractures outside '
        'the bin and the detections matched to them are ignored, an '
        'unmatched detection counts in the bin of its own box (for '
        'orientation, the angle of its diagonal). Sensitivity at the '
        'definite operating point.', '',
        f'| Fractures | Measure | {a} | {b} | {a} − {b} |',
        '|---|---|---|---|---|'
    ]
    for group in groups:
        for row in group.rows['fracture']:
            lines.append(
                f'| {group.name} | {row.label} | '
                f'{format_estimate(row.estimates[0])} | '
                f'{format_estimate(row.estimates[1])} | '
                f'{format_difference(row)} |')
    return lines + ['']


def _short_tests(row: ComparisonRow) -> str:
    test = headline_test(row)
    if test is None:
        return '—'
    if test.name == DELONG_TWO_SIDED and not math.isnan(test.pvalue):
        one_sided, = (t for t in row.tests if t.name == DELONG_ONE_SIDED)
        return f'{format_test(test)} ({format_test(one_sided)})'
    return format_test(test)


def _panel_section(panels: Sequence[Panel], comparison: Comparison, a: str,
                   b: str) -> List[str]:
    lines = ['## Side-by-side panels', '']
    if not panels:
        return lines + ['No panels were drawn.', '']
    lines += [
        f'The images where {a} and {b} disagree most. Left to right: ground '
        f'truth (green), {a}, {b}; a model\'s boxes that score at least its '
        'operating threshold, yellow when the box hits a fracture, red when '
        'not, with their scores.', ''
    ]
    images = comparison.runs[0].images
    for panel in panels:
        i = panel.index
        lines += [
            f"### Image {images['img_id'][i]} ({images['body_part'][i]}, "
            f"{images['view'][i]} view, case {images['case_id'][i]})", '',
            f"`{images['img_path'][i]}`: {panel.caption}", '',
            f"![Image {images['img_id'][i]}: ground truth, {a}, {b}]"
            f'({panel.file})', ''
        ]
    return lines


def summary_lines(comparison: Comparison, note: str = '') -> List[str]:
    """A few lines for the console: the headline figures and p-values."""
    runs = comparison.runs
    a, b = (run.name for run in runs)
    overall = comparison.overall
    lines = [note] if note else []
    lines.append(f"{a} vs {b} on {len(runs[0].images['img_id'])} images, "
                 f"{len(runs[0].cases['case_id'])} cases:")
    shown = ('box_AP50', 'box_precision', 'image_sensitivity',
             'image_specificity', 'image_auc', 'case_sensitivity',
             'case_specificity', 'case_auc')
    rows = {
        row.key: row
        for level_rows in overall.rows.values()
        for row in level_rows
    }
    for key in shown:
        row = rows[key]
        values = ' vs '.join(
            'n/a' if math.isnan(e.value) else format_value(e.value)
            for e in row.estimates)
        tests = ', '.join(f'{test.name} p {format_test(test)}'
                          for test in row.tests
                          if test.name != DELONG_ONE_SIDED)
        lines.append(f'  {row.label}: {values}' +
                     (f' ({tests})' if tests else ''))
    return lines
