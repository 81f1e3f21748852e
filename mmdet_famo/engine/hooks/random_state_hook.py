# Copyright (c) mmdet-famo contributors. All rights reserved.
import random
from typing import Optional

import numpy as np
import torch
from mmengine.dist import all_gather_object, get_rank, get_world_size
from mmengine.hooks import Hook
from mmengine.logging import MMLogger

from mmdet.registry import HOOKS


def random_states() -> dict:
    """The states of this process's python, numpy, torch and CUDA RNGs."""
    return dict(
        python=random.getstate(),
        numpy=np.random.get_state(),
        torch=torch.get_rng_state(),
        cuda=(torch.cuda.get_rng_state_all()
              if torch.cuda.is_available() else None))


@HOOKS.register_module()
class RandomStateHook(Hook):
    """Save the random generators' states in checkpoints, restore on resume.

    mmengine reseeds every generator when a run starts, so a resumed training
    draws other random numbers than the uninterrupted one would have: the RPN
    and RoI samplers (torch), and transforms run in the main process (numpy,
    ``random``). With this hook, a training killed mid-way and resumed with
    ``--resume`` ends with the same weights as an uninterrupted run in
    deterministic mode.

    Only rank 0 saves checkpoints, so every process's states are gathered at
    the end of each training epoch (a point all ranks reach, before the
    ``CheckpointHook`` saves) and rank 0 writes them all. A checkpoint saved
    elsewhere (iteration-based saving) holds them only in a single-process
    run. A resume with another number of processes keeps the fresh seeds and
    says so.
    """

    priority = 'LOW'  # after_train_epoch runs before CheckpointHook's

    def __init__(self) -> None:
        self._gathered: Optional[list] = None
        self._gathered_at = -1

    def after_train_epoch(self, runner) -> None:
        self._gathered = all_gather_object(random_states())
        self._gathered_at = runner.iter

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if self._gathered_at == runner.iter:
            checkpoint['random_states'] = self._gathered
        elif get_world_size() == 1:
            checkpoint['random_states'] = [random_states()]

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if not runner._resume:  # loading weights only (load_from)
            return
        states = checkpoint.get('random_states')
        if states is None or len(states) != get_world_size():
            MMLogger.get_current_instance().warning(
                'The checkpoint holds no random states for '
                f'{get_world_size()} processes: the resumed run draws other '
                'random numbers than an uninterrupted one.')
            return
        state = states[get_rank()]
        random.setstate(state['python'])
        np.random.set_state(state['numpy'])
        torch.set_rng_state(state['torch'])
        if state['cuda'] is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state['cuda'])
