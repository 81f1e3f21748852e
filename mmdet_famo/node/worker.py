"""The loop the node's background threads share (processor, sender, folder
watcher): start, stop, wake up early, and survive any error.

A worker repeats :meth:`Worker.step`, which does one pass and says how long
to wait before the next. An exception ends the pass, never the thread: it
is logged (by type and, for an ``OSError``, its system message: no file
name, which may hold identifiers) and the next pass comes after a delay
that doubles with each failure in a row, up to ``max_delay``. A full disk
thus slows the node down instead of silently stopping one of its threads
while the receiver keeps acknowledging images.
"""
import logging
import threading
from typing import Optional

LOGGER = logging.getLogger('mmdet_famo.node')


def describe_error(error: BaseException) -> str:
    """An error's type and, for an ``OSError``, its system message (e.g.
    'OSError: No space left on device'), without the file name or message
    text, which may name a patient's file."""
    if isinstance(error, OSError) and error.strerror:
        return f'{type(error).__name__}: {error.strerror}'
    return type(error).__name__


class Worker:
    """A daemon thread that repeats :meth:`step` until stopped.

    Args:
        name (str): The thread's name, also used in the log.
        initial_delay (float): Wait after a first failed pass, seconds.
        max_delay (float): Longest wait after failed passes, seconds.
    """

    def __init__(self,
                 name: str,
                 initial_delay: float = 1.,
                 max_delay: float = 60.) -> None:
        self.name = name
        self.initial_delay = initial_delay
        self.max_delay = max_delay
        self.failures = 0
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: Optional[threading.Thread] = None

    def step(self) -> float:
        """Do one pass; return how long to wait before the next, seconds
        (:meth:`wake` cuts the wait short)."""
        raise NotImplementedError

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run,
                                        name=self.name,
                                        daemon=True)
        self._thread.start()

    def wake(self, *_) -> None:
        """Start the next pass now instead of after the wait."""
        self._wake.set()

    def stop(self) -> None:
        """Stop after the pass in progress."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def is_alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                wait = self.step()
                self.failures = 0
            except Exception as error:  # keep the thread: next pass later
                self.failures += 1
                wait = min(self.initial_delay * 2**(self.failures - 1),
                           self.max_delay)
                LOGGER.error('%s: pass failed (%s); next try in %.1f s',
                             self.name, describe_error(error), wait)
            if wait > 0:
                self._wake.wait(wait)
