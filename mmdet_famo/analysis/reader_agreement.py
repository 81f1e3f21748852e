"""How reliable is the ground truth: agreement between readers who
annotated the same images (the paper's Table 6, "Reliability of the gold
standards").

The paper used two radiologists' labels as its gold standard after checking
that they agreed, excellently in most body parts and fairly to well at the
elbow (Methods, "Data labeling"). The analysis is split by job, as the
model comparison is:

* :mod:`.reader_files` reads and checks the readers' COCO files;
* :mod:`.reader_matching` matches their outlines one to one;
* :mod:`.agreement_statistics` computes every figure with its interval;
* :mod:`.agreement_report`, :mod:`.agreement_tables` and
  :mod:`.agreement_figure` render the Markdown report, the CSV files and
  the figure, which :func:`write_agreement` writes.

This module gathers the public API that ``tools/analysis/reader_agreement.py``
uses. The statistics are described in docs/reader-agreement.md.
"""
import os
import os.path as osp
from functools import partial
from typing import Dict

from ..evaluation.file_io import write_atomically
from .agreement_figure import FIGURE_FILE, plot_kappa_by_body_part
from .agreement_report import (REPORT_FILE, format_estimate, render_report,
                               summary_lines)
from .agreement_statistics import (AgreementEstimate, AgreementSettings,
                                   GroupAgreement, ReaderAgreement,
                                   compute_agreement)
from .agreement_tables import (MATCHES_CSV, RATINGS_CSV, SUMMARY_CSV, csv_text,
                               match_rows, rating_rows, summary_rows)
from .reader_files import ReaderSet, load_readers
from .reader_matching import MatchedPair, match_instances

__all__ = [
    'AgreementEstimate', 'AgreementSettings', 'GroupAgreement', 'MatchedPair',
    'ReaderAgreement', 'ReaderSet', 'compute_agreement', 'format_estimate',
    'load_readers', 'match_instances', 'render_report', 'summary_lines',
    'write_agreement'
]


def write_agreement(report: ReaderAgreement,
                    out_dir: str,
                    note: str = '') -> Dict[str, str]:
    """Write the report, the CSV files and the figure into ``out_dir``.

    Every file is rendered before the first is written, and each is
    written through a temporary file, so a failure leaves earlier outputs
    intact.

    Returns:
        dict[str, str]: File name to path, of every file written.
    """
    contents = {
        REPORT_FILE: render_report(report, note).encode(),
        SUMMARY_CSV: csv_text(summary_rows(report)).encode(),
        RATINGS_CSV: csv_text(rating_rows(report)).encode(),
        MATCHES_CSV: csv_text(match_rows(report)).encode(),
        FIGURE_FILE: plot_kappa_by_body_part(report),
    }
    os.makedirs(out_dir, exist_ok=True)
    written = {}
    for name, data in contents.items():
        path = osp.join(out_dir, name)
        write_atomically(path, partial(_write_bytes, data))
        written[name] = path
    return written


def _write_bytes(data: bytes, path: str) -> None:
    with open(path, 'wb') as file:
        file.write(data)
