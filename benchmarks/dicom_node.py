"""The DICOM node under load: 4 concurrent senders, N studies of 3 views at
2048 x 2560, against bare inference of the same images.

What is measured, on the loopback interface with the main job's demo config
(random weights: timing does not depend on them):

- the node: a :class:`~mmdet_famo.node.DicomNode` receiving the studies
  from ``--senders`` pynetdicom SCUs at once (each sends its studies one
  after another, as modalities do), processing them in its one worker and
  sending the SR and presentation states to a pynetdicom Storage SCP;
- the reference: ``infer_radiographs`` with the same outputs (SR and
  presentation state) on the same files, study by study, nothing else
  running ("bare inference").

Printed: studies per minute of both; per study the latency from its last
image acknowledged to its last result received (median and max), and the
ratios to the bare time of a study (median of two passes, before and after
the node's run, so that both see the same machine load; in a worker thread
as the node's). The node waits ``--idle-seconds`` after
a study's last image before processing it (it cannot know the study is
complete), and studies arriving together queue for the one worker, so the
latency is given for the study that did not queue (the minimum), the median
and the maximum, each also without the idle wait; the throughput ratio is
the node's wall time over the bare time of all studies plus one idle wait.

Run from the repository root::

    python benchmarks/dicom_node.py [--studies 8] [--idle-seconds 1]

and, with the studies arriving no faster than the node takes them (each
sender starting a study every ``--pace`` seconds, the senders staggered:
a study every pace / 4 seconds)::

    python benchmarks/dicom_node.py --studies 8 --pace 25
"""
import argparse
import multiprocessing
import os
import os.path as osp
import shutil
import statistics
import sys
import tempfile
import threading
import time
from typing import Dict, List

import pydicom
import torch
from pydicom.uid import generate_uid
from pynetdicom import AE, StoragePresentationContexts, evt
from pynetdicom.presentation import build_context

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from inference_latency import (  # noqa: E402
    DEMO_CONFIG,
    save_random_checkpoint)
from mmdet_famo.apis import (  # noqa: E402
    RadiographPredictor,
    find_radiographs,
    infer_radiographs)
from mmdet_famo.node import (  # noqa: E402
    DicomDestination,
    DicomNode,
    NodeSettings)
from mmdet_famo.phantom import (  # noqa: E402
    PhantomConfig,
    generate_phantom_dataset)

COMMAND = 'python benchmarks/dicom_node.py'
HOST = '127.0.0.1'
VIEWS = 3


def make_studies(folder: str, num_studies: int, height: int,
                 width: int) -> List[List[str]]:
    """``num_studies`` studies of ``VIEWS`` phantom views each, in a folder
    per study: three rendered views, copied under new patient, study,
    series and instance UIDs."""
    generate_phantom_dataset(
        osp.join(folder, 'phantoms'),
        PhantomConfig(num_patients=2, height=height, width=width))
    views, _ = find_radiographs([osp.join(folder, 'phantoms', 'images')])
    views = [pydicom.dcmread(path) for path in views[:VIEWS]]
    studies = []
    for number in range(num_studies):
        study_dir = osp.join(folder, 'studies', f'{number:03d}')
        os.makedirs(study_dir)
        study_uid, series_uid = generate_uid(), generate_uid()
        paths = []
        for view, ds in enumerate(views):
            ds.PatientID = f'BENCH{number:03d}'
            ds.StudyInstanceUID, ds.SeriesInstanceUID = study_uid, series_uid
            ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = \
                generate_uid()
            paths.append(osp.join(study_dir, f'{view}.dcm'))
            ds.save_as(paths[-1], enforce_file_format=True)
        studies.append(paths)
    shutil.rmtree(osp.join(folder, 'phantoms'))
    return studies


class Destination:
    """A Storage SCP noting when each study's results arrive."""

    def __init__(self) -> None:
        self.arrivals: Dict[str, List[float]] = {}
        self.lock = threading.Lock()
        ae = AE(ae_title='PACS')
        ae.supported_contexts = StoragePresentationContexts
        self.server = ae.start_server(
            (HOST, 0),
            block=False,
            evt_handlers=[(evt.EVT_C_STORE, self.store)])
        self.port = self.server.server_address[1]

    def store(self, event: evt.Event) -> int:
        study = event.dataset.StudyInstanceUID
        with self.lock:
            self.arrivals.setdefault(study, []).append(time.perf_counter())
        return 0x0000


def send_studies(port: int, studies: List[List[str]], last_image: Dict[str,
                                                                       float],
                 pace: float, delay: float) -> None:
    """One modality: after ``delay`` seconds, its studies one after
    another, a study per association, one every ``pace`` seconds at most;
    notes when each study's last image was acknowledged."""
    time.sleep(delay)
    started = None  # the previous study's start
    for paths in studies:
        if started is not None:
            time.sleep(max(0., started + pace - time.perf_counter()))
        started = time.perf_counter()
        datasets = [pydicom.dcmread(path) for path in paths]
        # Nagle's algorithm left on, as storescu leaves it
        # (docs/conformance.md): a modality's sending, not
        # the node's (which sets TCP_NODELAY)
        ae = AE(ae_title='MODALITY')
        ae.requested_contexts = [
            build_context(uid)
            for uid in sorted({ds.SOPClassUID
                               for ds in datasets})
        ]
        assoc = ae.associate(HOST, port, ae_title='FAMO')
        for ds in datasets:
            assert assoc.send_c_store(ds).Status == 0x0000
        last_image.put((datasets[0].StudyInstanceUID, time.perf_counter()))
        assoc.release()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--config', default=DEMO_CONFIG)
    parser.add_argument('--studies', type=int, default=8)
    parser.add_argument('--senders', type=int, default=4)
    parser.add_argument('--height', type=int, default=2560)
    parser.add_argument('--width', type=int, default=2048)
    parser.add_argument('--idle-seconds', type=float, default=1.)
    parser.add_argument(
        '--pace',
        type=float,
        default=0.,
        help="seconds between the starts of a sender's studies, senders "
        'staggered by pace / senders (0: all at once, back to back, more '
        'than the node can take: studies queue)')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--threads', type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    outputs = dict(points=0.5,
                   overlays=False,
                   structured_report=True,
                   presentation_state=True)

    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = osp.join(tmp, 'model.pth')
        save_random_checkpoint(args.config, checkpoint)
        studies = make_studies(tmp, args.studies, args.height, args.width)
        predictor = RadiographPredictor(args.config,
                                        checkpoint,
                                        device=args.device)
        bare: List[float] = []

        def bare_pass() -> None:
            for paths in studies:
                start = time.perf_counter()
                infer_radiographs(predictor, [osp.dirname(paths[0])],
                                  osp.join(tmp, 'bare', str(len(bare))),
                                  **outputs)
                bare.append(time.perf_counter() - start)

        def time_bare() -> None:
            """In a thread of its own, as the node's worker runs (on a
            shared CPU, torch's speed differs between the main thread and
            others)."""
            worker = threading.Thread(target=bare_pass)
            worker.start()
            worker.join()

        time_bare()  # warm-up
        bare.clear()
        time_bare()

        destination = Destination()
        node = DicomNode(
            NodeSettings(spool=osp.join(tmp, 'spool'),
                         destination=DicomDestination('PACS', HOST,
                                                      destination.port),
                         host=HOST,
                         port=0,
                         idle_seconds=args.idle_seconds,
                         poll_seconds=0.05), predictor,
            {
                key: value
                for key, value in outputs.items() if key != 'overlays'
            })
        node.start()
        queue: multiprocessing.Queue = multiprocessing.Queue()
        start = time.perf_counter()
        senders = [
            multiprocessing.Process(target=send_studies,
                                    args=(node.port, studies[i::args.senders],
                                          queue, args.pace,
                                          i * args.pace / args.senders))
            for i in range(args.senders)
        ]
        for sender in senders:
            sender.start()
        last_image = dict(queue.get() for _ in studies)
        for sender in senders:
            sender.join()
        while node.spool.outbox() or any(
                state.state != 'done'
                for state in map(node.spool.state, node.spool.keys())):
            time.sleep(0.05)
        wall = time.perf_counter() - start
        node.stop()
        destination.server.shutdown()
        time_bare()  # before and after: the same machine load

    latency = [
        max(destination.arrivals[study]) - acknowledged
        for study, acknowledged in last_image.items()
    ]
    bare_study = statistics.median(bare)
    print(f'command: {COMMAND} --config {args.config} --studies '
          f'{args.studies} --senders {args.senders} --height {args.height} '
          f'--width {args.width} --idle-seconds {args.idle_seconds} '
          f'--pace {args.pace} '
          f'--device {args.device} --threads {args.threads}')
    print(f'{args.studies} studies of {VIEWS} phantom DICOMs of '
          f'{args.height} x {args.width}, {args.senders} senders, '
          f'{args.device}, torch {torch.__version__} '
          f'({torch.get_num_threads()} threads); results: SR + presentation '
          'state per study')
    print(f'  bare inference: {bare_study:.2f} s per study (median), '
          f'{60 / bare_study:.1f} studies/min')
    all_bare = bare_study * args.studies + args.idle_seconds
    print(f'  node: {wall:.1f} s for all, {60 * args.studies / wall:.1f} '
          'studies/min; throughput ratio (node wall time / (bare time of '
          f'all + one idle wait)) {wall / all_bare:.2f}')
    for name, value in (('min, the study that did not queue',
                         min(latency)), ('median', statistics.median(latency)),
                        ('max', max(latency))):
        print(f'  latency last image -> results, {name}: {value:.2f} s; '
              f'ratio to bare {value / bare_study:.2f}, without the idle '
              f'wait {(value - args.idle_seconds) / bare_study:.2f}')
    print('  goal: ratio <= 1.2')


if __name__ == '__main__':
    main()
