"""A soak test of the DICOM node (not CI): many senders, the node killed
with ``kill -9`` at random moments, the destination (Orthanc) stopped and
restarted in the middle; nothing may be lost.

Setup: ``--senders`` modalities (processes) send ``--studies`` studies of
three phantom views between them, each study on one association, resent
whole until every image of it is acknowledged (as a modality does after a
broken association). ``tools/dicom_node.py`` runs as a process with a
random demo model and sends SR and presentation states to Orthanc by
C-STORE; every ``--kill-every`` seconds on average it is killed with
SIGKILL and started again on the same spool; half-way, Orthanc is stopped
for ``--pacs-down`` seconds.

Printed: images acknowledged, studies with results in Orthanc, studies
lost (acknowledged, no SR after the wait), SR versions beyond one per
study (each is a new round after a late image or a round that ran again:
documented, not lost), results refused, and the latency from a study's
last image acknowledged to its SR seen in Orthanc (percentiles, polled
every 0.5 s). Goal: 0 lost.

Run from the repository root (needs Orthanc, the Debian package)::

    python benchmarks/dicom_node_soak.py [--studies 200] [--senders 8]
"""
import argparse
import multiprocessing
import os
import os.path as osp
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List

import pydicom
from pynetdicom import AE
from pynetdicom.presentation import build_context

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from dicom_node import make_studies  # noqa: E402
from inference_latency import DEMO_CONFIG, save_random_checkpoint  # noqa
from tests.orthanc import AE_TITLE, Orthanc, missing  # noqa: E402

COMMAND = 'python benchmarks/dicom_node_soak.py'
HOST = '127.0.0.1'


def free_port() -> int:
    import socket
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def modality(port: int, studies: List[List[str]], acked) -> None:
    """Send each study until all its images are acknowledged."""
    for paths in studies:
        datasets = [pydicom.dcmread(path) for path in paths]
        while True:
            try:
                # Nagle's algorithm left on, as storescu leaves it
                # (docs/conformance.md): a modality's sending, not
                # the node's (which sets TCP_NODELAY)
                ae = AE(ae_title='MODALITY')
                ae.requested_contexts = [
                    build_context(datasets[0].SOPClassUID)
                ]
                assoc = ae.associate(HOST, port, ae_title='FAMO')
                if assoc.is_established:
                    statuses = [
                        assoc.send_c_store(ds).get('Status')
                        for ds in datasets
                    ]
                    assoc.release()
                    if statuses == [0] * len(datasets):
                        acked.put((datasets[0].StudyInstanceUID,
                                   len(datasets), time.time()))
                        break
            except Exception:  # the node died mid-association
                pass
            time.sleep(1.)


def start_node(args, checkpoint: str, spool: str, port: int, pacs_port: int,
               log) -> subprocess.Popen:
    return subprocess.Popen([
        sys.executable,
        osp.join(ROOT, 'tools', 'dicom_node.py'), args.config, checkpoint,
        '--spool', spool, '--bind', HOST, '--port',
        str(port), '--destination', f'{AE_TITLE}@{HOST}:{pacs_port}',
        '--threshold', '0.5', '--idle-seconds',
        str(args.idle_seconds), '--retry-max-seconds', '2',
        '--min-free-space', '0', '--retention-hours', 'inf'
    ],
                            stdout=log,
                            stderr=subprocess.STDOUT,
                            env=dict(os.environ, OMP_NUM_THREADS='1'))


def sr_count(orthanc: Orthanc, study_uid: str) -> int:
    try:
        found = orthanc.post('/tools/find',
                             dict(Level='Instance',
                                  Query=dict(StudyInstanceUID=study_uid,
                                             Modality='SR')))
    except Exception:  # Orthanc restarting
        return -1
    return len(found)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--config', default=DEMO_CONFIG)
    parser.add_argument('--studies', type=int, default=200)
    parser.add_argument('--senders', type=int, default=8)
    parser.add_argument('--height', type=int, default=640)
    parser.add_argument('--width', type=int, default=512)
    parser.add_argument('--idle-seconds', type=float, default=2.)
    parser.add_argument('--kill-every', type=float, default=20.)
    parser.add_argument('--pacs-down', type=float, default=10.)
    parser.add_argument('--wait', type=float, default=600.)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    reason = missing()
    if reason:
        sys.exit(f'needs Orthanc: {reason}')
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = osp.join(tmp, 'model.pth')
        save_random_checkpoint(args.config, checkpoint)
        studies = make_studies(tmp, args.studies, args.height, args.width)
        orthanc = Orthanc(Path(tmp) / 'orthanc').start()
        port, log = free_port(), open(osp.join(tmp, 'node.log'), 'w')
        spool = osp.join(tmp, 'spool')
        node = start_node(args, checkpoint, spool, port, orthanc.dicom_port,
                          log)
        time.sleep(15.)  # the model loads
        acked: multiprocessing.Queue = multiprocessing.Queue()
        senders = [
            multiprocessing.Process(target=modality,
                                    args=(port, studies[i::args.senders],
                                          acked))
            for i in range(args.senders)
        ]
        start = time.time()
        for sender in senders:
            sender.start()
        last_image: Dict[str, float] = {}
        images = kills = 0
        next_kill = time.time() + rng.expovariate(1 / args.kill_every)
        pacs_restarted = False
        delivered: Dict[str, float] = {}
        while len(delivered) < args.studies and \
                time.time() - start < args.wait:
            while not acked.empty():
                uid, count, when = acked.get()
                last_image[uid] = when
                images += count
            if time.time() >= next_kill:
                node.send_signal(signal.SIGKILL)
                node.wait()
                kills += 1
                node = start_node(args, checkpoint, spool, port,
                                  orthanc.dicom_port, log)
                next_kill = time.time() + rng.expovariate(
                    1 / args.kill_every)
            if not pacs_restarted and len(last_image) >= args.studies // 2:
                orthanc.stop()
                time.sleep(args.pacs_down)
                orthanc.start()
                pacs_restarted = True
            for uid in set(last_image) - set(delivered):
                if sr_count(orthanc, uid) > 0:
                    delivered[uid] = time.time()
            time.sleep(0.5)
        for sender in senders:
            sender.terminate()
        time.sleep(2 * args.idle_seconds + 5)  # late rounds, if any
        versions = sum(
            max(sr_count(orthanc, uid) - 1, 0) for uid in delivered)
        node.send_signal(signal.SIGTERM)
        node.wait(30)
        orthanc.stop()
        log.close()
        text = Path(tmp, 'node.log').read_text()
        latencies = sorted(delivered[uid] - last_image[uid]
                           for uid in delivered)
        lost = sorted(set(last_image) - set(delivered))
        print(f'{args.studies} studies of 3 views ({args.height} x '
              f'{args.width}), {args.senders} senders, {kills} kill -9, '
              f'Orthanc down {args.pacs_down:.0f} s once '
              f'({"done" if pacs_restarted else "not reached"}), '
              f'{time.time() - start:.0f} s')
        print(f'  images acknowledged: {images} (studies: '
              f'{len(last_image)} of {args.studies})')
        print(f'  studies with an SR in Orthanc: {len(delivered)}; lost '
              f'(acknowledged, no SR): {len(lost)}')
        print(f'  SR versions beyond one per study: {versions}; dead '
              f"letters logged: {text.count('is a dead letter')}")
        if latencies:
            quantiles = statistics.quantiles(latencies, n=20) \
                if len(latencies) > 1 else latencies * 19
            print(f'  latency last image -> SR in Orthanc: median '
                  f'{statistics.median(latencies):.1f} s, p90 '
                  f'{quantiles[17]:.1f} s, max {latencies[-1]:.1f} s')
        print(f'command: {COMMAND} --studies {args.studies} --senders '
              f'{args.senders}')


if __name__ == '__main__':
    main()
