"""The node's spool: received images, study states and results on disk.

Everything the node has acknowledged or still has to send lies here, so a
restart loses nothing. Layout under the spool root::

    salt                      random, created once: keys studies and images
    studies/<key>/state.json  the study's state (below)
    studies/<key>/images/     the received instances, <hash>.dcm
    studies/<key>/work-r<N>/  processing round N, in progress
    studies/<key>/results-r<N>/  round N's results; the *.dcm are the outbox
    studies/<key>/sent/       results sent (moved out of the outbox)
    studies/<key>/dead-letters/  results the destination refused or could
                              not take, each with a .json saying why

A study is named by ``key``, ``study-`` and 12 hex digits of a salted
SHA-256 of its StudyInstanceUID: opaque, stable across restarts, and the
only name that reaches the logs or the folder names (no UID, no patient
identifier). The full StudyInstanceUID is kept in the study's state, inside
the spool, and checked on every image: should two studies' hashes share
their first 12 digits, the second gets a longer key instead of joining the
first study.

States: ``receiving`` (images arrive; processed once none has come for the
idle time) -> ``processing`` (one round of inference into ``work-r<N>``) ->
``done`` (``work-r<N>`` renamed ``results-r<N>``: one atomic rename commits
the round, so its results are queued exactly once), or ``failed`` (the round
raised: its reason is kept in the state, its partial work deleted, and it
is not run again by itself). A round that hit an ``OSError`` (a full disk)
is not failed but set back to ``receiving`` and run again after a back-off.
A new image arriving during or after processing opens round N + 1 over all
the study's images, after a failure too, whose structured report replaces
the latest committed round's (the state keeps that SR's UIDs, read from the
round's results when it is committed: :meth:`Spool.replaced_reports`); a
resent identical instance opens
nothing; a resent instance with other content replaces the copy and is
processed as a new one. At start-up, a study left ``processing`` is either
committed (its results folder exists) or run again from scratch (its
partial work folder is deleted).

Write order, so that an acknowledged image is always processed: a new image
first changes the study's state on disk (``receiving``, or ``reopened``
while processing), then is written, then acknowledged. A crash between the
two leaves a study that will run again, never an image on disk that no
round will look at; and a study is not started while one of its images is
being written. Every file is written with
:func:`~mmdet_famo.atomic_files.write_atomically` (hidden temporary file,
fsync, ``os.replace``, fsync of the folder); temporary files a crash left
are deleted at start-up.
"""
import hashlib
import json
import logging
import os
import os.path as osp
import secrets
import shutil
import threading
import time
from dataclasses import asdict, dataclass, field, replace
from typing import Callable, Dict, List, Optional, Set, Tuple

import pydicom
from pydicom.errors import InvalidDicomError

from mmdet_famo.atomic_files import (remove_partial_files, sync_folder,
                                     write_atomically)

LOGGER = logging.getLogger('mmdet_famo.node')
STATE_FILE = 'state.json'
IMAGES_DIR = 'images'
SENT_DIR = 'sent'
DEAD_LETTERS_DIR = 'dead-letters'
RECEIVING, PROCESSING, DONE, FAILED = ('receiving', 'processing', 'done',
                                       'failed')
#: What the state keeps of a round's structured report: what an item of
#: the next one's Predecessor Documents Sequence names (PS3.3 C.17.2.1).
REPORT_UIDS = ('SOPClassUID', 'SOPInstanceUID', 'SeriesInstanceUID',
               'StudyInstanceUID')
#: Hex digits of a study key; longer ones are used on a collision.
KEY_LENGTHS = (12, 24, 64)


@dataclass
class StudyState:
    """The persistent state of one study.

    Args:
        state (str): 'receiving', 'processing', 'done' or 'failed'.
        round (int): The processing round, from 1.
        images (int): Images received.
        last_image (float): Wall time (``time.time()``) of the last new
            image.
        reopened (bool): A new image came while round ``round`` was being
            processed: round + 1 follows.
        reason (str): Why round ``round`` failed ('' unless 'failed').
        study_instance_uid (str): The study's StudyInstanceUID, which its
            key is checked against ('' in spools of earlier versions).
        retries (int): Rounds that hit an ``OSError`` in a row.
        not_before (float): Wall time before which the study is not run
            (the back-off after an ``OSError``).
        delivered (float): Wall time its outbox was last found empty with
            the study at rest ('done' or 'failed'); 0 while results may be
            queued. Retention counts from it.
        reports (list[dict]): The SOP Class, SOP Instance, Series and Study
            UIDs (:data:`REPORT_UIDS`) of the structured reports of the
            latest round committed with one: what the next round's report
            replaces.
    """
    state: str = RECEIVING
    round: int = 1
    images: int = 0
    last_image: float = 0.
    reopened: bool = False
    reason: str = ''
    study_instance_uid: str = ''
    retries: int = 0
    not_before: float = 0.
    delivered: float = 0.
    reports: List[Dict[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class DeadLetter:
    """A result set aside: the destination refused it or could not take it.

    Args:
        key (str): The study key.
        path (str): The file, in ``dead-letters/``.
        reason (str): Why (a status, 'no presentation context', ...).
        origin (str): Where it was in the outbox, relative to the study's
            folder (where re-queueing puts it back).
    """
    key: str
    path: str
    reason: str
    origin: str


class Spool:
    """The node's on-disk spool (see the module); safe to use from the
    receiving threads, the processor and the sender at once.

    Args:
        root (str): Spool folder (created).
        retry_delay (float): Wait before a round that hit an ``OSError``
            runs again, doubled at each such round in a row, seconds.
        max_retry_delay (float): Longest such wait, seconds.
    """

    def __init__(self,
                 root: str,
                 retry_delay: float = 1.,
                 max_retry_delay: float = 60.) -> None:
        self.root = root
        self.retry_delay = retry_delay
        self.max_retry_delay = max_retry_delay
        self.studies_dir = osp.join(root, 'studies')
        os.makedirs(self.studies_dir, exist_ok=True)
        remove_partial_files(root)
        self._lock = threading.Lock()
        self._salt = self._load_salt()
        self._states: Dict[str, StudyState] = {}
        self._writing: Dict[str, int] = {}  # images being written, by key
        # studies whose outbox may hold results: the sender's scan looks at
        # these only, not at every study kept
        self._pending: Set[str] = set()
        self._changes: Dict[str, int] = {}  # results added, by key
        #: Called with a study's state when its results were all delivered.
        self.on_delivered: Optional[Callable[[StudyState], None]] = None
        for key in sorted(os.listdir(self.studies_dir)):
            path = osp.join(self.studies_dir, key, STATE_FILE)
            images = (len(os.listdir(self.images_dir(key))) if osp.isdir(
                self.images_dir(key)) else 0)
            if osp.isfile(path):
                with open(path) as file:
                    state = StudyState(**json.load(file))
                state.images = images  # a crash may come between the two
                if not images and state.round == 1 and not any(
                        name.startswith('results-r')
                        for name in os.listdir(self.study_dir(key))):
                    # stopped between the state of its first image and the
                    # image: nothing was acknowledged
                    shutil.rmtree(self.study_dir(key))
                    continue
                self._states[key] = state
                if not state.delivered:
                    self._pending.add(key)
            elif images:  # stopped before its state: an earlier version
                self._states[key] = StudyState(images=images,
                                               last_image=time.time())

    def _load_salt(self) -> bytes:
        path = osp.join(self.root, 'salt')
        if not osp.exists(path):
            write_atomically(path, secrets.token_hex(16).encode())
        with open(path, 'rb') as file:
            return file.read()

    def _hash(self, value: str) -> str:
        return hashlib.sha256(self._salt + value.encode()).hexdigest()

    def study_key(self, study_instance_uid: str) -> str:
        """The opaque name of a study: ``study-`` and 12 hex digits, or more
        where another study already has those (see the module)."""
        with self._lock:
            return self._key_of(study_instance_uid)

    def _key_of(self, study_instance_uid: str) -> str:
        digest = self._hash(study_instance_uid)
        for length in KEY_LENGTHS:
            key = f'study-{digest[:length]}'
            state = self._states.get(key)
            if state is None or state.study_instance_uid in (
                    '', study_instance_uid):
                return key
        raise RuntimeError('two StudyInstanceUIDs with one SHA-256')

    def study_dir(self, key: str) -> str:
        return osp.join(self.studies_dir, key)

    def images_dir(self, key: str) -> str:
        return osp.join(self.studies_dir, key, IMAGES_DIR)

    def state(self, key: str) -> StudyState:
        """A copy of the study's state."""
        with self._lock:
            return replace(self._states[key])

    def keys(self) -> List[str]:
        with self._lock:
            return list(self._states)

    def _set(self, key: str, state: StudyState) -> None:
        """Save ``state`` as the study's, on disk then in memory (so that a
        failed write changes neither); call with the lock held."""
        os.makedirs(self.study_dir(key), exist_ok=True)
        write_atomically(osp.join(self.study_dir(key), STATE_FILE),
                         json.dumps(asdict(state)).encode())
        self._states[key] = state

    def store_image(self, study_instance_uid: str, sop_instance_uid: str,
                    encoded: bytes) -> Tuple[str, bool]:
        """Write one received instance (DICOM Part 10 bytes) durably, in
        the order that keeps it from being left out of every round (see the
        module). The caller acknowledges it once this returns.

        Returns:
            tuple[str, bool]: The study key, and whether the instance opens
            a round (False for an identical resent copy).

        Raises:
            OSError: The spool could not be written (nothing acknowledged).
        """
        with self._lock:
            key = self._key_of(study_instance_uid)
            images = self.images_dir(key)
            os.makedirs(images, exist_ok=True)
            path = osp.join(images, f'{self._hash(sop_instance_uid)[:20]}.dcm')
            resent = osp.exists(path)
            new = not resent or _read(path) != encoded
            if resent and new:
                LOGGER.warning(
                    '%s: an instance was resent with other content; it '
                    'replaces the copy and the study is processed again', key)
            previous = self._states.get(key)
            state = replace(previous or StudyState(),
                            study_instance_uid=study_instance_uid)
            if new:
                state.images += not resent
                state.last_image = time.time()
                state.delivered = 0.
                if state.state == PROCESSING:
                    state.reopened = True
                elif state.state in (DONE, FAILED):
                    state.state, state.round = RECEIVING, state.round + 1
                    state.reason = ''
            elif state.state == RECEIVING:
                state.last_image = time.time()
            self._set(key, state)
            self._writing[key] = self._writing.get(key, 0) + 1
        try:
            if new:
                write_atomically(path, encoded)
        except OSError:
            with self._lock:
                self._undo(key, previous)
            raise
        finally:
            with self._lock:
                self._writing[key] -= 1
        return key, new

    def _undo(self, key: str, previous: Optional[StudyState]) -> None:
        """Put back the state an image that could not be written changed
        (best effort: on a full disk the changed state may stay, which
        costs one more round, never an image)."""
        if previous is None:  # its first image: forget the study
            shutil.rmtree(self.study_dir(key), ignore_errors=True)
            self._states.pop(key, None)
            return
        try:
            self._set(key, previous)
        except OSError:
            pass

    def next_due(self, idle_seconds: float) -> Optional[str]:
        """The study to process next: the one receiving whose last image is
        oldest, if none has come for ``idle_seconds`` (and its back-off is
        over); else None."""
        now = time.time()
        with self._lock:
            waiting = [
                (state.last_image, key) for key, state in self._states.items()
                if state.state == RECEIVING and now -
                state.last_image >= idle_seconds and now >= state.not_before
            ]
        return min(waiting)[1] if waiting else None

    def begin_round(self, key: str) -> Optional[Tuple[int, str]]:
        """Mark the study processing; an empty work folder for its round.

        Returns:
            tuple[int, str] | None: The round and its work folder; None if
            one of the study's images is being written (the study is due
            again once it is).
        """
        with self._lock:
            if self._writing.get(key):
                return None
            state = replace(self._states[key], state=PROCESSING)
            self._set(key, state)
            work = self._round_dir(key, 'work', state.round)
        shutil.rmtree(work, ignore_errors=True)
        os.makedirs(work)
        return state.round, work

    def commit_round(self, key: str, round_: int) -> None:
        """Queue round ``round_``'s results (every file and folder of it
        fsynced, then one rename) and end the round: 'done', or the next
        round if new images came meanwhile. The structured reports among
        the results are recorded as those the next round's replace."""
        work = self._round_dir(key, 'work', round_)
        results = self._round_dir(key, 'results', round_)
        if osp.isdir(work):
            for root, _, _ in os.walk(work, topdown=False):
                sync_folder(root)  # the files were fsynced as written
            os.replace(work, results)
            sync_folder(self.study_dir(key))
        reports = _structured_reports(results)
        with self._lock:
            state = replace(self._states[key],
                            retries=0,
                            not_before=0.,
                            delivered=0.)
            if reports:
                state.reports = reports
            if state.reopened:
                state.state, state.round = RECEIVING, state.round + 1
                state.reopened = False
            else:
                state.state = DONE
            self._set(key, state)
            self._results_added(key)

    def replaced_reports(self, key: str) -> List[pydicom.Dataset]:
        """The structured reports that the study's next round replaces
        (those of its latest round committed with one; none before its
        first, or after it was purged), as data sets holding their UIDs."""
        reports = []
        for uids in self.state(key).reports:
            report = pydicom.Dataset()
            for keyword, uid in uids.items():
                setattr(report, keyword, uid)
            reports.append(report)
        return reports

    def _results_added(self, key: str) -> None:
        """Make the sender look at the study again; call with the lock
        held."""
        self._pending.add(key)
        self._changes[key] = self._changes.get(key, 0) + 1

    def fail_round(self, key: str, round_: int, reason: str) -> None:
        """End round ``round_`` as failed with ``reason`` (no identifiers):
        its partial work is deleted and the study stays 'failed' until a new
        image opens the next round, so that an image that always fails is
        not run again at every start."""
        shutil.rmtree(self._round_dir(key, 'work', round_), ignore_errors=True)
        with self._lock:
            state = replace(self._states[key], retries=0, not_before=0.)
            if state.reopened:  # new images came: they may fix it
                state.state, state.round = RECEIVING, state.round + 1
                state.reopened = False
            else:
                state.state, state.reason = FAILED, reason
            self._set(key, state)
            self._results_added(key)  # none: to be recorded delivered

    def retry_round(self, key: str, round_: int) -> float:
        """Set round ``round_``, interrupted by an ``OSError`` (a full disk),
        back to 'receiving', to run again after a back-off that doubles with
        each such round in a row. If its results were already queued, the
        round is committed instead. The state is changed in memory even if
        it cannot be saved (a restart then runs the round again).

        Returns:
            float: The back-off, seconds (0 if committed).
        """
        if osp.isdir(self._round_dir(key, 'results', round_)):
            self.commit_round(key, round_)
            return 0.
        shutil.rmtree(self._round_dir(key, 'work', round_), ignore_errors=True)
        with self._lock:
            state = self._states[key]
            delay = min(self.retry_delay * 2**state.retries,
                        self.max_retry_delay)
            state.state, state.reopened = RECEIVING, False
            state.retries += 1
            state.not_before = time.time() + delay
            try:
                self._set(key, replace(state))
            except OSError:
                pass  # on disk it stays 'processing': run again at start
        return delay

    def recover(self) -> List[str]:
        """After a restart: commit the rounds whose results were renamed but
        not recorded, set the others left 'processing' back to 'receiving'
        (their partial work is deleted when they run again), and restart the
        idle clock of every study receiving: a modality cut off while the
        node was down gets the idle time to send the rest of its study, so
        that the study is processed once, whole.

        Returns:
            list[str]: The keys of the studies to be processed again.
        """
        again = []
        for key in self.keys():
            state = self.state(key)
            if state.state == PROCESSING and osp.isdir(
                    self._round_dir(key, 'results', state.round)):
                self.commit_round(key, state.round)
                continue
            if state.state in (DONE, FAILED):
                continue
            with self._lock:
                self._set(
                    key,
                    replace(self._states[key],
                            state=RECEIVING,
                            last_image=time.time(),
                            not_before=0.))
            if state.state == PROCESSING:
                again.append(key)
        return again

    def _round_dir(self, key: str, stage: str, round_: int) -> str:
        return osp.join(self.study_dir(key), f'{stage}-r{round_}')

    def outbox(self) -> List[Tuple[str, str]]:
        """The results still to send, as (study key, file), oldest study
        first, in file order within a study. Only the studies that may have
        some are looked at; one found with none and at rest is recorded as
        delivered (the start of its retention time) and not looked at
        again until a round or a re-queued dead letter adds results."""
        with self._lock:
            order = sorted(self._pending,
                           key=lambda k: self._states[k].last_image)
            changes = {key: self._changes.get(key, 0) for key in order}
        queued = []
        for key in order:
            study = self.study_dir(key)
            rounds = sorted((int(name.split('-r')[1]), name)
                            for name in os.listdir(study)
                            if name.startswith('results-r'))
            found = len(queued)
            for _, name in rounds:
                for root, dirs, files in os.walk(osp.join(study, name)):
                    dirs.sort()
                    queued.extend(
                        (key, osp.join(root, file)) for file in sorted(files)
                        if file.endswith('.dcm') and not file.startswith('.'))
            if len(queued) == found:
                self._delivered(key, changes[key])
        return queued

    def _delivered(self, key: str, change: int) -> None:
        """Record that the study's outbox is empty, if it is at rest and no
        results were added since it was looked at (``change``)."""
        with self._lock:
            state = self._states.get(key)
            if (state is not None and state.state in (DONE, FAILED)
                    and self._changes.get(key, 0) == change
                    and not self._writing.get(key)):
                self._set(key, replace(state, delivered=time.time()))
                self._pending.discard(key)
                if self.on_delivered is not None and state.state == DONE:
                    self.on_delivered(self._states[key])

    def purge(self, retention_seconds: float) -> List[str]:
        """Delete the studies delivered at least ``retention_seconds`` ago:
        their folder (images, results, state) and their state in memory,
        so that nothing of them stays, identifiers or not. A study with
        dead letters is kept (they wait for the operator); a new image of a
        purged study starts it afresh, as round 1.

        Returns:
            list[str]: The keys deleted.
        """
        now = time.time()
        purged = []
        with self._lock:
            due = [
                key for key, state in self._states.items()
                if state.state in (DONE, FAILED) and state.delivered
                and now - state.delivered >= retention_seconds
                and not self._writing.get(key)
            ]
            for key in due:
                if osp.isdir(osp.join(self.study_dir(key), DEAD_LETTERS_DIR)):
                    continue
                shutil.rmtree(self.study_dir(key))
                del self._states[key]
                self._pending.discard(key)
                self._changes.pop(key, None)
                purged.append(key)
        if purged:
            sync_folder(self.studies_dir)
        return purged

    def mark_sent(self, key: str, path: str) -> None:
        """Move a sent result out of the outbox."""
        self._move_result(key, path, SENT_DIR)

    def dead_letter(self, key: str, path: str, reason: str) -> str:
        """Move a result the destination refused or cannot take out of the
        outbox into ``dead-letters/``, with ``reason`` beside it (its
        ``.json``: written first, so that a crash between the two leaves the
        result queued, never a dead letter without its reason).

        Returns:
            str: The dead letter's path.
        """
        study = self.study_dir(key)
        target = osp.join(study, DEAD_LETTERS_DIR)
        os.makedirs(target, exist_ok=True)
        origin = osp.relpath(path, study)
        letter = osp.join(target, origin.replace(os.sep, '-'))
        write_atomically(
            osp.splitext(letter)[0] + '.json',
            json.dumps(dict(reason=reason, origin=origin,
                            time=time.time())).encode())
        os.replace(path, letter)
        sync_folder(target)
        return letter

    def dead_letters(self) -> List[DeadLetter]:
        """Every dead letter, by study key then file."""
        letters = []
        for key in sorted(self.keys()):
            folder = osp.join(self.study_dir(key), DEAD_LETTERS_DIR)
            if not osp.isdir(folder):
                continue
            for name in sorted(os.listdir(folder)):
                path = osp.join(folder, name)
                reason_file = osp.splitext(path)[0] + '.json'
                if name.endswith('.dcm') and osp.isfile(reason_file):
                    with open(reason_file) as file:
                        record = json.load(file)
                    letters.append(
                        DeadLetter(key, path, record['reason'],
                                   record['origin']))
        return letters

    def requeue(self, letter: DeadLetter) -> str:
        """Put a dead letter back in the outbox, where it was; returns its
        path there."""
        study = self.study_dir(letter.key)
        path = osp.join(study, letter.origin)
        os.makedirs(osp.dirname(path), exist_ok=True)
        os.replace(letter.path, path)
        sync_folder(osp.dirname(path))
        os.remove(osp.splitext(letter.path)[0] + '.json')
        folder = osp.dirname(letter.path)
        if not os.listdir(folder):
            os.rmdir(folder)  # no dead letters left: may be purged
        with self._lock:
            self._set(letter.key,
                      replace(self._states[letter.key], delivered=0.))
            self._results_added(letter.key)
        return path

    def _move_result(self, key: str, path: str, folder: str) -> None:
        study = self.study_dir(key)
        target = osp.join(study, folder)
        os.makedirs(target, exist_ok=True)
        relative = osp.relpath(path, study).replace(os.sep, '-')
        os.replace(path, osp.join(target, relative))
        sync_folder(target)


def _structured_reports(folder: str) -> List[Dict[str, str]]:
    """The UIDs (:data:`REPORT_UIDS`) of the structured reports in
    ``folder`` and below, in file order; other files are skipped, and so
    are files that cannot be read (the sender sets them aside)."""
    found = []
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            if not name.endswith('.dcm') or name.startswith('.'):
                continue
            try:
                header = pydicom.dcmread(
                    osp.join(root, name),
                    stop_before_pixels=True,
                    specific_tags=['Modality', *REPORT_UIDS])
            except (InvalidDicomError, OSError, ValueError):
                continue
            uids = {uid: str(header.get(uid, '')) for uid in REPORT_UIDS}
            if header.get('Modality') == 'SR' and all(uids.values()):
                found.append(uids)
    return found


def _read(path: str) -> bytes:
    with open(path, 'rb') as file:
        return file.read()
