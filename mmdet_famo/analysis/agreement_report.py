"""The Markdown report and the terminal summary of a reader agreement
analysis: the paper's Table 6 by body part and by view, and how every
figure was computed."""
from typing import List

import numpy as np

from ..evaluation.functional.agreement import (AGREEMENT_BANDS,
                                               BAND_SCALE_NAMES,
                                               agreement_band)
from .agreement_statistics import (BANDED, STATISTICS, AgreementEstimate,
                                   GroupAgreement, ReaderAgreement)

REPORT_FILE = 'reader_agreement.md'


def format_estimate(estimate: AgreementEstimate,
                    percent: bool = False,
                    band: str = '') -> str:
    """'0.82 [0.71, 0.91] excellent', '91.2 % [86.0, 95.0]' or 'n/a'."""
    if np.isnan(estimate.value):
        return 'n/a'
    scale = 100 if percent else 1
    digits = 1 if percent else 2
    text = f'{estimate.value * scale:.{digits}f}'
    if percent:
        text += ' %'
    if np.isnan(estimate.ci_low):
        text += ' [no CI]'
    else:
        text += (f' [{estimate.ci_low * scale:.{digits}f}, '
                 f'{estimate.ci_high * scale:.{digits}f}]')
    return f'{text} {band}'.strip()


def _cell(report: ReaderAgreement, group: GroupAgreement, key: str) -> str:
    estimate = group.statistics[key]
    band = agreement_band(estimate.value, report.settings.band_scale) \
        if key in BANDED else ''
    return format_estimate(
        estimate,
        key.endswith('_agreement') and key != 'lesion_agreement', band)


def render_table(report: ReaderAgreement, kind: str) -> List[str]:
    """The Markdown table of the groups of ``kind`` ('body_part' or
    'view') and the overall row, laid out as the paper's Table 6."""
    names = ' / '.join(report.readers.names)
    header = [
        'Body part' if kind == 'body_part' else 'View', 'Images (cases)',
        f'Fractures ({names})', 'Image agreement',
        f'Image {report.kappa_name}', 'Case agreement',
        f'Case {report.kappa_name}', 'Fracture specific agreement',
        'Dice (matched)', 'IoU (matched)', 'Count ICC(2,1)'
    ]
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    rows = [g for g in report.groups if g.kind == kind]
    rows += [g for g in report.groups if g.kind == 'all']
    for group in rows:
        label = '**All**' if group.kind == 'all' else group.name
        cells = [
            label, f'{group.num_images} ({group.num_cases})', ' / '.join(
                map(str, group.fractures))
        ] + [_cell(report, group, key) for key, _, _ in STATISTICS]
        if kind == 'view' and group.kind == 'view':
            cells[5] = cells[6] = '—'
        lines.append('| ' + ' | '.join(cells) + ' |')
    return lines


def render_report(report: ReaderAgreement, note: str = '') -> str:
    """``reader_agreement.md``: the inputs, Table 6 by body part and by
    view, and how every figure was computed."""
    settings = report.settings
    readers = report.readers
    level = f'{settings.confidence_level:.0%}'
    bands = ', '.join(
        f'{name} from {lower:.2f}' if np.isfinite(lower) else name
        for lower, name in AGREEMENT_BANDS[settings.band_scale])
    overall = next(g for g in report.groups if g.kind == 'all')
    lines = ['# Reliability of the ground truth: reader agreement', '']
    if note:
        lines += [f'> **{note}**', '']
    lines += [
        f'{len(readers.names)} readers on {overall.num_images} images '
        f'({overall.num_cases} cases):', ''
    ] + [
        f'- {name}: `{path}`'
        for name, path in zip(readers.names, readers.paths)
    ] + ['']
    lines += [
        '## Table 6: reliability of the gold standard, by body part', ''
    ] + render_table(report, 'body_part')
    lines += ['', '## By view', ''] + render_table(report, 'view')
    lines += [
        '', '## How these were computed', '',
        f'- Intervals are {level}. "n/a": undefined (every rating the same, '
        'no fracture outlined or no matched pair); "no CI": fewer than 2 '
        'cases, or the statistic is undefined with one of them left out.',
        '- **Image / case agreement:** share of images (cases) on which all '
        'readers agree whether there is a fracture (an image is positive when '
        'a reader outlined at least one fracture; a case when any of its '
        f'views is); {overall.statistics["image_agreement"].method or "exact"}'
        ' interval.', f'- **{report.kappa_name}:** ' +
        ('scikit-learn `cohen_kappa_score`'
         if len(readers.names) == 2 else 'statsmodels `fleiss_kappa`') +
        '; interval from the jackknife leaving out one case at a time '
        '(Fleiss and Davies 1982), estimate -/+ t quantile x standard error '
        '(the views of a case are not independent).',
        '- **Fracture specific agreement:** outlines matched one to one when '
        f'their boxes overlap by {settings.hit_criterion} >= '
        f'{settings.hit_thr:g} (the package\'s hit rule; most pairs, then '
        'largest total overlap); 2 x matched / (outlines of both readers), '
        'the F1 of one reader against the other' +
        (', pooled over every pair of readers'
         if len(readers.names) > 2 else '') + '; case jackknife interval.',
        '- **Dice, IoU:** of the matched pairs\' masks (pycocotools), mean '
        'with a case jackknife interval.',
        '- **Count ICC(2,1):** intraclass correlation of the number of '
        'fractures each reader outlined per image, two-way random effects, '
        'absolute agreement, single reader (Shrout and Fleiss 1979), with '
        'their F-based interval.', '- **Bands** beside kappa and ICC: '
        f'{BAND_SCALE_NAMES[settings.band_scale]}: {bands}.', ''
    ]
    return '\n'.join(lines)


def summary_lines(report: ReaderAgreement) -> List[str]:
    """A few lines for the terminal: the overall figures."""
    overall = next(g for g in report.groups if g.kind == 'all')
    return [
        f'{len(report.readers.names)} readers, {overall.num_images} images, '
        f'{overall.num_cases} cases, fractures '
        f'{" / ".join(map(str, overall.fractures))}'
    ] + [
        f'  {what} ({level}): {_cell(report, overall, key)}'
        for key, level, what in STATISTICS
    ]
