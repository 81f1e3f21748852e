"""The node's spool: received images, study states and results on disk.

Everything the node has acknowledged or still has to send lies here, so a
restart loses nothing. Layout under the spool root::

    salt                      random, created once: keys studies and images
    studies/<key>/state.json  the study's state (below)
    studies/<key>/images/     the received instances, <hash>.dcm
    studies/<key>/work-r<N>/  processing round N, in progress
    studies/<key>/results-r<N>/  round N's results; the *.dcm are the outbox
    studies/<key>/sent/       results sent (moved out of the outbox)
    studies/<key>/refused/    results the destination refused for good

A study is named by ``key``, ``study-`` and a salted SHA-256 of its
StudyInstanceUID: opaque, stable across restarts, and the only name that
reaches the logs or the folder names (no UID, no patient identifier).

States: ``receiving`` (images arrive; processed once none has come for the
idle time) -> ``processing`` (one round of inference into ``work-r<N>``) ->
``done`` (``work-r<N>`` renamed ``results-r<N>``: one atomic rename commits
the round, so its results are queued exactly once), or ``failed`` (the round
raised: its reason is kept in the state, its partial work deleted, and it
is not run again by itself). A new image arriving during or after
processing opens round N + 1 over all the study's images, after a failure
too; a resent image (same SOP Instance UID) opens nothing. At start-up, a
study left ``processing`` is either committed (its results folder exists)
or run again from scratch (its partial work folder is deleted).

Every file is written atomically (temporary hidden file, fsync,
``os.replace``, fsync of the folder) before the caller acknowledges it.
"""
import hashlib
import json
import os
import os.path as osp
import secrets
import shutil
import threading
import time
from dataclasses import asdict, dataclass
from typing import Dict, List, Optional, Tuple

STATE_FILE = 'state.json'
IMAGES_DIR = 'images'
SENT_DIR = 'sent'
REFUSED_DIR = 'refused'
RECEIVING, PROCESSING, DONE, FAILED = ('receiving', 'processing', 'done',
                                       'failed')


def write_atomically(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` so that it is there in full or not at
    all, and on disk (fsync) when this returns."""
    folder = osp.dirname(path)
    partial = osp.join(folder, f'.partial-{secrets.token_hex(8)}')
    with open(partial, 'wb') as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())
    os.replace(partial, path)
    sync_folder(folder)


def sync_folder(folder: str) -> None:
    """fsync a folder, so that a rename or new entry in it is durable."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


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
    """
    state: str = RECEIVING
    round: int = 1
    images: int = 0
    last_image: float = 0.
    reopened: bool = False
    reason: str = ''


class Spool:
    """The node's on-disk spool (see the module); safe to use from the
    receiving threads, the processor and the sender at once.

    Args:
        root (str): Spool folder (created).
    """

    def __init__(self, root: str) -> None:
        self.root = root
        self.studies_dir = osp.join(root, 'studies')
        os.makedirs(self.studies_dir, exist_ok=True)
        self._lock = threading.Lock()
        self._salt = self._load_salt()
        self._states: Dict[str, StudyState] = {}
        for key in sorted(os.listdir(self.studies_dir)):
            path = osp.join(self.studies_dir, key, STATE_FILE)
            if osp.isfile(path):
                with open(path) as file:
                    self._states[key] = StudyState(**json.load(file))
            elif osp.isdir(self.images_dir(key)):  # stopped before its state
                images = len(os.listdir(self.images_dir(key)))
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
        """The opaque name of a study: ``study-`` and 12 hex digits."""
        return f'study-{self._hash(study_instance_uid)[:12]}'

    def study_dir(self, key: str) -> str:
        return osp.join(self.studies_dir, key)

    def images_dir(self, key: str) -> str:
        return osp.join(self.studies_dir, key, IMAGES_DIR)

    def state(self, key: str) -> StudyState:
        """A copy of the study's state."""
        with self._lock:
            return StudyState(**asdict(self._states[key]))

    def keys(self) -> List[str]:
        with self._lock:
            return list(self._states)

    def _save(self, key: str) -> None:
        write_atomically(osp.join(self.study_dir(key), STATE_FILE),
                         json.dumps(asdict(self._states[key])).encode())

    def store_image(self, study_instance_uid: str, sop_instance_uid: str,
                    encoded: bytes) -> Tuple[str, bool]:
        """Write one received instance (DICOM Part 10 bytes) durably.

        Returns:
            tuple[str, bool]: The study key, and whether the instance is new
            (False for one resent: it replaces the copy, opening nothing).
        """
        key = self.study_key(study_instance_uid)
        images = self.images_dir(key)
        os.makedirs(images, exist_ok=True)
        path = osp.join(images, f'{self._hash(sop_instance_uid)[:20]}.dcm')
        new = not osp.exists(path)
        write_atomically(path, encoded)
        with self._lock:
            state = self._states.setdefault(key, StudyState())
            if new:
                state.images += 1
                state.last_image = time.time()
                if state.state == PROCESSING:
                    state.reopened = True
                elif state.state in (DONE, FAILED):
                    state.state, state.round = RECEIVING, state.round + 1
                    state.reason = ''
            elif state.state == RECEIVING:
                state.last_image = time.time()
            self._save(key)
        return key, new

    def next_due(self, idle_seconds: float) -> Optional[str]:
        """The study to process next: the one receiving whose last image is
        oldest, if none has come for ``idle_seconds``; else None."""
        now = time.time()
        with self._lock:
            waiting = [(state.last_image, key)
                       for key, state in self._states.items()
                       if state.state == RECEIVING and now -
                       state.last_image >= idle_seconds]
        return min(waiting)[1] if waiting else None

    def begin_round(self, key: str) -> Tuple[int, str]:
        """Mark the study processing; an empty work folder for its round.

        Returns:
            tuple[int, str]: The round and its work folder.
        """
        with self._lock:
            state = self._states[key]
            state.state = PROCESSING
            self._save(key)
            work = self._round_dir(key, 'work', state.round)
        shutil.rmtree(work, ignore_errors=True)
        os.makedirs(work)
        return state.round, work

    def commit_round(self, key: str, round_: int) -> None:
        """Queue round ``round_``'s results (one rename) and end the round:
        'done', or the next round if new images came meanwhile."""
        work = self._round_dir(key, 'work', round_)
        if osp.isdir(work):
            os.replace(work, self._round_dir(key, 'results', round_))
            sync_folder(self.study_dir(key))
        with self._lock:
            state = self._states[key]
            if state.reopened:
                state.state, state.round = RECEIVING, state.round + 1
                state.reopened = False
            else:
                state.state = DONE
            self._save(key)

    def fail_round(self, key: str, round_: int, reason: str) -> None:
        """End round ``round_`` as failed with ``reason`` (no identifiers):
        its partial work is deleted and the study stays 'failed' until a new
        image opens the next round, so that an image that always fails is
        not run again at every start."""
        shutil.rmtree(self._round_dir(key, 'work', round_), ignore_errors=True)
        with self._lock:
            state = self._states[key]
            if state.reopened:  # new images came: they may fix it
                state.state, state.round = RECEIVING, state.round + 1
                state.reopened = False
            else:
                state.state, state.reason = FAILED, reason
            self._save(key)

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
                self._states[key].state = RECEIVING
                self._states[key].last_image = time.time()
                self._save(key)
            if state.state == PROCESSING:
                again.append(key)
        return again

    def _round_dir(self, key: str, stage: str, round_: int) -> str:
        return osp.join(self.study_dir(key), f'{stage}-r{round_}')

    def outbox(self) -> List[Tuple[str, str]]:
        """The results still to send, as (study key, file), oldest study
        first, in file order within a study."""
        with self._lock:
            order = sorted(self._states,
                           key=lambda k: self._states[k].last_image)
        queued = []
        for key in order:
            study = self.study_dir(key)
            rounds = sorted((int(name.split('-r')[1]), name)
                            for name in os.listdir(study)
                            if name.startswith('results-r'))
            for _, name in rounds:
                for root, dirs, files in os.walk(osp.join(study, name)):
                    dirs.sort()
                    queued.extend((key, osp.join(root, file))
                                  for file in sorted(files)
                                  if file.endswith('.dcm'))
        return queued

    def mark_sent(self, key: str, path: str) -> None:
        """Move a sent result out of the outbox."""
        self._move_result(key, path, SENT_DIR)

    def mark_refused(self, key: str, path: str) -> None:
        """Move a result the destination refused for good out of the
        outbox."""
        self._move_result(key, path, REFUSED_DIR)

    def _move_result(self, key: str, path: str, folder: str) -> None:
        study = self.study_dir(key)
        target = osp.join(study, folder)
        os.makedirs(target, exist_ok=True)
        relative = osp.relpath(path, study).replace(os.sep, '-')
        os.replace(path, osp.join(target, relative))
        sync_folder(target)
