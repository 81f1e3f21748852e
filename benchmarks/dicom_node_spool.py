"""The cost of the DICOM node sender's scan of its outbox, with many studies
finished and delivered in the spool.

A spool of ``--studies`` studies that are done and delivered (their state,
a results folder emptied by sending, a sent result), plus one study with
two results queued, is written straight to disk; then
:meth:`mmdet_famo.node.Spool.outbox` is timed: its first call after the
spool is opened, and then its steady state (the median of ``--repeats``
calls), which the sender pays at each pass (about once a second while idle).

Run from the repository root::

    python benchmarks/dicom_node_spool.py [--studies 10000]
"""
import argparse
import json
import os
import os.path as osp
import statistics
import sys
import tempfile
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
from mmdet_famo.node import Spool, StudyState  # noqa: E402

COMMAND = 'python benchmarks/dicom_node_spool.py'


def write_spool(root: str, num_studies: int) -> None:
    """``num_studies`` delivered studies and one with two results queued,
    as the node leaves them (without the images: the scan never opens
    them)."""
    studies = osp.join(root, 'studies')
    now = time.time()
    for number in range(num_studies + 1):
        study = osp.join(studies, f'study-{number:012x}')
        pending = number == num_studies
        state = StudyState(state='done',
                           last_image=now - num_studies + number,
                           images=2,
                           study_instance_uid=f'1.2.3.{number}',
                           delivered=0. if pending else now - 1)
        for folder in ('results-r1/structured_report',
                       'results-r1/presentation_state', 'sent'):
            os.makedirs(osp.join(study, folder))
        with open(osp.join(study, 'state.json'), 'w') as file:
            json.dump(state.__dict__, file)
        results = ('results-r1/structured_report/sr.dcm',
                   'results-r1/presentation_state/pr.dcm')
        for name in (results if pending else
                     ('sent/r1-structured_report-sr.dcm', )):
            with open(osp.join(study, name), 'wb') as file:
                file.write(b'DICM')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--studies', type=int, default=10000)
    parser.add_argument('--repeats', type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as root:
        start = time.perf_counter()
        write_spool(root, args.studies)
        print(f'{args.studies} delivered studies and 1 pending written in '
              f'{time.perf_counter() - start:.1f} s')
        start = time.perf_counter()
        spool = Spool(root)
        opened = time.perf_counter() - start
        start = time.perf_counter()
        queued = spool.outbox()
        first = time.perf_counter() - start
        assert len(queued) == 2, queued
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            assert len(spool.outbox()) == 2
            times.append(time.perf_counter() - start)
        print(f'spool opened in {opened:.2f} s; outbox: first call '
              f'{1000 * first:.1f} ms, then median '
              f'{1000 * statistics.median(times):.2f} ms '
              f'(max {1000 * max(times):.2f} ms) for 2 results queued')
        print(f'command: {COMMAND} --studies {args.studies}')


if __name__ == '__main__':
    main()
