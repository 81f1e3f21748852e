"""The figure of a reader agreement analysis: per-image and per-case kappa
with their intervals by body part, over the interpretation bands."""
import io

import numpy as np

from ..evaluation.functional.agreement import AGREEMENT_BANDS, BAND_SCALE_NAMES
from .agreement_statistics import ReaderAgreement

FIGURE_FILE = 'kappa_by_body_part.png'


def plot_kappa_by_body_part(report: ReaderAgreement) -> bytes:
    """PNG of per-image and per-case kappa with intervals by body part
    (and overall, on top), over the interpretation bands."""
    from matplotlib.figure import Figure

    groups = [g for g in report.groups if g.kind == 'all']
    groups += [g for g in report.groups if g.kind == 'body_part']
    series = (('image_kappa', 'tab:blue', 'per image', -0.15),
              ('case_kappa', 'tab:orange', 'per case', 0.15))
    table = {
        key:
        np.array([(g.statistics[key].value, g.statistics[key].ci_low,
                   g.statistics[key].ci_high) for g in groups])
        for key, _, _, _ in series
    }
    lowest = np.nanmin(
        [np.nanmin(t) if np.isfinite(t).any() else 0. for t in table.values()])
    low_end = min(-0.2, np.floor(lowest * 10) / 10 - 0.05)
    figure = Figure(figsize=(7, 0.45 * len(groups) + 2), dpi=100)
    axes = figure.subplots()
    positions = len(groups) - 1 - np.arange(len(groups))  # 'all' on top
    bands = AGREEMENT_BANDS[report.settings.band_scale]
    for (lower, name), shade in zip(bands, np.linspace(0.96, 0.80,
                                                       len(bands))):
        upper = next((b for b, _ in bands if b > lower), 1.02)
        start = max(lower, low_end)
        axes.axvspan(start, upper, color=str(shade), zorder=0)
        axes.text((start + upper) / 2,
                  len(groups) - 0.45,
                  name,
                  ha='center',
                  va='bottom',
                  fontsize=8,
                  color='0.3')
    for key, colour, label, offset in series:
        values, lows, highs = table[key].T
        has_ci = ~np.isnan(lows)
        axes.errorbar(values[has_ci],
                      positions[has_ci] + offset,
                      xerr=[
                          values[has_ci] - lows[has_ci],
                          highs[has_ci] - values[has_ci]
                      ],
                      fmt='o',
                      color=colour,
                      capsize=3,
                      label=f'{label}')
        no_ci = ~has_ci & ~np.isnan(values)
        axes.plot(values[no_ci],
                  positions[no_ci] + offset,
                  'o',
                  color=colour,
                  markerfacecolor='white',
                  label=f'{label}, no interval' if no_ci.any() else None)
        for position in positions[np.isnan(values)]:
            axes.text(0.,
                      position + offset,
                      f'{label}: n/a',
                      ha='center',
                      va='center',
                      fontsize=7,
                      color=colour)
    axes.set_yticks(positions)
    axes.set_yticklabels([('all' if g.kind == 'all' else g.name) +
                          f' ({g.num_images} img, {g.num_cases} cases)'
                          for g in groups])
    axes.set_ylim(-0.6, len(groups) - 0.05)
    axes.set_xlim(low_end, 1.02)
    axes.set_xlabel(f'{report.kappa_name} '
                    f'({report.settings.confidence_level:.0%} interval)')
    axes.set_title(
        f'Reader agreement by body part ({len(report.readers.names)}'
        f' readers); bands: '
        f'{BAND_SCALE_NAMES[report.settings.band_scale]}',
        fontsize=10)
    axes.legend(loc='upper center',
                bbox_to_anchor=(0.5, -0.1),
                ncol=2,
                fontsize=7)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format='png')
    return buffer.getvalue()
