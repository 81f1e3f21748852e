"""The CSV files of a reader agreement analysis: every statistic with its
interval, every image's fracture counts per reader, every matched pair and
unmatched outline."""
import csv
import io
from typing import List, Sequence

from ..datasets.coco_builder import CASE_KEYS
from ..evaluation.functional.agreement import agreement_band
from .agreement_statistics import BANDED, STATISTICS, ReaderAgreement

SUMMARY_CSV = 'agreement.csv'
RATINGS_CSV = 'per_image_ratings.csv'
MATCHES_CSV = 'matched_fractures.csv'


def summary_rows(report: ReaderAgreement) -> List[dict]:
    """``agreement.csv``: one row per group and statistic."""
    rows = []
    for group in report.groups:
        for key, level, what in STATISTICS:
            estimate = group.statistics[key]
            rows.append(
                dict(group_kind=group.kind,
                     group=group.name,
                     images=group.num_images,
                     cases=group.num_cases,
                     level=level,
                     statistic=key,
                     description=what,
                     value=estimate.value,
                     ci_low=estimate.ci_low,
                     ci_high=estimate.ci_high,
                     interval=estimate.method,
                     band=agreement_band(estimate.value,
                                         report.settings.band_scale)
                     if key in BANDED else '',
                     n=estimate.n,
                     note=estimate.reason))
    return rows


def rating_rows(report: ReaderAgreement) -> List[dict]:
    """``per_image_ratings.csv``: every image's fractures per reader."""
    readers = report.readers
    counts = readers.counts
    return [
        dict({key: image[key]
              for key in ('file_name', ) + CASE_KEYS}, **{
                  f'fractures_{name}': int(n)
                  for name, n in zip(readers.names, row)
              }) for image, row in zip(readers.images, counts)
    ]


def match_rows(report: ReaderAgreement) -> List[dict]:
    """``matched_fractures.csv``: every matched pair and unmatched
    outline, by pair of readers."""
    names = report.readers.names
    rows = []
    for pair in report.pairs:
        image = report.readers.images[pair.image]
        rows.append(
            dict(file_name=image['file_name'],
                 case_id=image['case_id'],
                 body_part=image['body_part'],
                 view=image['view'],
                 reader_a=names[pair.reader_a],
                 reader_b=names[pair.reader_b],
                 annotation_a=''
                 if pair.annotation_a is None else pair.annotation_a,
                 annotation_b=''
                 if pair.annotation_b is None else pair.annotation_b,
                 box_overlap=pair.box_overlap,
                 dice=pair.dice,
                 iou=pair.iou))
    return rows


def csv_text(rows: Sequence[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]) if rows else [])
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()
