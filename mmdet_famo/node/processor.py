"""Process studies once they are complete: one worker, one model.

A modality sends a study's views one by one, on one association or several,
and never says that it has finished. The node therefore runs a study once no
new image of it has arrived for ``idle_seconds``, with the model loaded once
(:class:`~mmdet_famo.apis.RadiographPredictor`), in one worker thread: the
receiving threads keep accepting images meanwhile. A round is the package's
ordinary inference (:func:`~mmdet_famo.apis.infer_radiographs`) over the
study's spooled images, so the node's verdicts are ``tools/infer.py``'s.
"""
import logging
import os
import os.path as osp
import threading
import time
from typing import Callable, List, Optional

import pydicom

from mmdet_famo.apis import RadiographPredictor, infer_radiographs
from mmdet_famo.apis.private_logging import (identifiers_kept_out_of_logs,
                                             identifying_values, scrub)
from .spool import Spool

LOGGER = logging.getLogger('mmdet_famo.node')


class StudyProcessor:
    """The worker that runs the detector on studies gone idle.

    Args:
        spool (Spool): The node's spool.
        predictor (RadiographPredictor): The detector, loaded once.
        infer_options (dict): Keyword arguments of
            :func:`~mmdet_famo.apis.infer_radiographs` (thresholds, DICOM
            outputs, batch size), as ``tools/infer.py`` passes them; every
            ``*.dcm`` it writes is a result to send.
        idle_seconds (float): How long a study must go without a new image
            before it is processed.
        on_results (callable, optional): Called with the study key once its
            results are queued (the sender's wake-up).
        poll_seconds (float): How often idle studies are looked for.
    """

    def __init__(self,
                 spool: Spool,
                 predictor: RadiographPredictor,
                 infer_options: dict,
                 idle_seconds: float,
                 on_results: Optional[Callable[[str], None]] = None,
                 poll_seconds: float = 0.2) -> None:
        self.spool = spool
        self.predictor = predictor
        self.infer_options = infer_options
        self.idle_seconds = idle_seconds
        self.on_results = on_results
        self.poll_seconds = poll_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run,
                                        name='famo-processor',
                                        daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop after the study in progress, if any."""
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            key = self.spool.next_due(self.idle_seconds)
            if key is None:
                self._stop.wait(self.poll_seconds)
                continue
            self.process(key)

    def process(self, key: str) -> None:
        """Run one round of ``key`` and queue its results. Files that
        cannot be read are skipped (logged by their pseudonymous name), and a
        result that cannot be built loses no other (the SR goes out without
        a presentation state that failed); an unexpected error fails the
        round: the study is marked 'failed' with the error's type and
        message, without identifiers, and is not run again until a new image
        of it comes. Warnings raised meanwhile (pydicom's about odd values
        in the images, say) are logged without the study's identifiers."""
        round_, work = self.spool.begin_round(key)
        start = time.perf_counter()
        headers = self._headers(key)
        try:
            with identifiers_kept_out_of_logs(headers, key):
                report = infer_radiographs(self.predictor,
                                           [self.spool.images_dir(key)],
                                           work,
                                           overlays=False,
                                           **self.infer_options)
        except Exception as error:  # keep serving the other studies
            reason = (f'{type(error).__name__}: '
                      f'{scrub(str(error), identifying_values(headers))}')
            self.spool.fail_round(key, round_, reason)
            LOGGER.error(
                '%s: round %d failed (%s); marked failed, it runs again '
                'when a new image of the study comes', key, round_, reason)
            return
        self.spool.commit_round(key, round_)
        summary = report['summary']
        LOGGER.info(
            '%s: round %d processed in %.1f s: %d images, %d positive, '
            '%d failed', key, round_,
            time.perf_counter() - start, summary['images'],
            summary['positive_images'], summary['failures'])
        if self.on_results is not None:
            self.on_results(key)

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
