"""Process studies once they are complete: one worker, one model.

A modality sends a study's views one by one, on one association or several,
and never says that it has finished. The node therefore runs a study once no
new image of it has arrived for ``idle_seconds``, with the model loaded once
(:class:`~mmdet_famo.apis.RadiographPredictor`), in one worker thread: the
receiving threads keep accepting images meanwhile. A round is the package's
ordinary inference (:func:`~mmdet_famo.apis.infer_radiographs`) over the
study's spooled images, so the node's verdicts are ``tools/infer.py``'s.

A round does not start while the spool's disk is below its free-space floor
(its results could not be written whole), and a round that hits an
``OSError`` is run again after a back-off (:meth:`.Spool.retry_round`)
instead of being failed or left 'processing'.
"""
import errno
import logging
import os
import os.path as osp
import time
from typing import Callable, List, Optional

import pydicom

from mmdet_famo.apis import BasePredictor, infer_radiographs
from mmdet_famo.apis.private_logging import (identifiers_kept_out_of_logs,
                                             identifying_values, scrub)
from .metrics import NodeMetrics
from .space import FreeSpaceFloor
from .spool import Spool
from .worker import Worker, describe_error

LOGGER = logging.getLogger('mmdet_famo.node')


class StudyProcessor(Worker):
    """The worker that runs the detector on studies gone idle.

    Args:
        spool (Spool): The node's spool.
        predictor (BasePredictor): The detector, loaded once (PyTorch or
            ONNX Runtime).
        infer_options (dict): Keyword arguments of
            :func:`~mmdet_famo.apis.infer_radiographs` (thresholds, DICOM
            outputs, batch size), as ``tools/infer.py`` passes them; every
            ``*.dcm`` it writes is a result to send.
        idle_seconds (float): How long a study must go without a new image
            before it is processed.
        on_results (callable, optional): Called with the study key once its
            results are queued (the sender's wake-up).
        poll_seconds (float): How often idle studies are looked for.
        floor (FreeSpaceFloor, optional): Start no round while the spool's
            disk has less free space than this.
        metrics (NodeMetrics, optional): Counts the rounds processed and
            failed.
    """

    def __init__(self,
                 spool: Spool,
                 predictor: BasePredictor,
                 infer_options: dict,
                 idle_seconds: float,
                 on_results: Optional[Callable[[str], None]] = None,
                 poll_seconds: float = 0.2,
                 floor: Optional[FreeSpaceFloor] = None,
                 metrics: Optional[NodeMetrics] = None) -> None:
        super().__init__('famo-processor', initial_delay=poll_seconds)
        self.metrics = metrics
        self.spool = spool
        self.predictor = predictor
        self.infer_options = infer_options
        self.idle_seconds = idle_seconds
        self.on_results = on_results
        self.poll_seconds = poll_seconds
        self.floor = floor

    def step(self) -> float:
        """Run the study due next, if any and if there is room on disk."""
        key = self.spool.next_due(self.idle_seconds)
        if key is None:
            return self.poll_seconds
        if self.floor is not None and self.floor.below(self.spool.root):
            LOGGER.warning('%s: waiting for free space (%s) to process it',
                           key, self.floor)
            return max(self.poll_seconds, 1.)
        self.process(key)
        return 0.

    def process(self, key: str) -> None:
        """Run one round of ``key`` and queue its results. Files that
        cannot be read are skipped (logged by their pseudonymous name), and a
        result that cannot be built loses no other (the SR goes out without
        a presentation state that failed); an unexpected error fails the
        round: the study is marked 'failed' with the error's type and
        message, without identifiers, and is not run again until a new image
        of it comes; an ``OSError`` (a full disk) sets it back to run again
        after a back-off. Warnings raised meanwhile (pydicom's about odd values
        in the images, say) are logged without the study's identifiers."""
        begun = self.spool.begin_round(key)
        if begun is None:  # an image of it is being written
            return
        round_, work = begun
        start, headers = time.perf_counter(), []
        try:
            headers = self._headers(key)
            with identifiers_kept_out_of_logs(headers, key):
                report = infer_radiographs(self.predictor,
                                           [self.spool.images_dir(key)],
                                           work,
                                           overlays=False,
                                           replaces=self._replaced(key),
                                           **self.infer_options)
            unwritten = _unwritten_for_lack_of_disk(report)
            if unwritten:
                raise OSError(errno.EIO, f'{unwritten} results not written')
            self.spool.commit_round(key, round_)
        except OSError as error:  # a full disk, say: not the study's fault
            delay = self.spool.retry_round(key, round_)
            LOGGER.error(
                '%s: round %d interrupted (%s); it runs again in '
                '%.1f s', key, round_, describe_error(error), delay)
            return
        except Exception as error:  # keep serving the other studies
            reason = (f'{type(error).__name__}: '
                      f'{scrub(str(error), identifying_values(headers))}')
            self.spool.fail_round(key, round_, reason)
            if self.metrics is not None:
                self.metrics.studies_failed.inc()
            LOGGER.error(
                '%s: round %d failed (%s); marked failed, it runs again '
                'when a new image of the study comes', key, round_, reason)
            return
        if self.metrics is not None:
            self.metrics.studies_processed.inc()
        summary = report['summary']
        LOGGER.info(
            '%s: round %d processed in %.1f s: %d images, %d positive, '
            '%d failed', key, round_,
            time.perf_counter() - start, summary['images'],
            summary['positive_images'], summary['failures'])
        if self.on_results is not None:
            self.on_results(key)

    def _replaced(self, key: str) -> dict:
        """The SRs this round's SR replaces, by StudyInstanceUID: those of
        the study's latest committed round, so that a study that came in
        pieces has one current version of its results."""
        reports = self.spool.replaced_reports(key)
        return {reports[0].StudyInstanceUID: reports} if reports else {}

    def _headers(self, key: str) -> List[pydicom.Dataset]:
        """The headers of the study's images (those readable): what its
        identifiers are."""
        headers = []
        folder = self.spool.images_dir(key)
        for name in sorted(os.listdir(folder)):
            try:
                headers.append(
                    pydicom.dcmread(osp.join(folder, name),
                                    stop_before_pixels=True))
            except Exception:  # unreadable: inference says so
                continue
        return headers


def _unwritten_for_lack_of_disk(report: dict) -> int:
    """How many DICOM results of a round were not written for a system
    error (``[Errno N]``: a full disk, say), which
    :func:`~mmdet_famo.apis.write_dicom_results` records in each case's
    ``dicom_errors`` and goes on: such a round is run again rather than
    committed without them."""
    return sum('[Errno ' in reason for case in report['cases']
               for reason in case.get('dicom_errors', []))
