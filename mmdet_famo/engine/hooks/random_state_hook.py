# Copyright (c) mmdet-famo contributors. All rights reserved.
import random

import numpy as np
import torch
from mmengine.dist import all_gather_object, get_rank, get_world_size
from mmengine.hooks import Hook
from mmengine.logging import MMLogger

from mmdet.registry import HOOKS


@HOOKS.register_module()
class RandomStateHook(Hook):
    """Save the random generators' states in checkpoints, restore on resume.

    mmengine reseeds every generator when a run starts, so a resumed training
    draws other random numbers than the uninterrupted one would have: the RPN
    and RoI samplers (torch), and transforms run in the main process (numpy,
    ``random``). With this hook, a training killed mid-way and resumed with
    ``--resume`` ends with the same weights as an uninterrupted run in
    deterministic mode. Each rank's states are kept (gathered on saving); a
    resume with another number of processes keeps the fresh seeds and says
    so.
    """

    priority = 'VERY_LOW'

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        states = dict(
            python=random.getstate(),
            numpy=np.random.get_state(),
            torch=torch.get_rng_state(),
            cuda=(torch.cuda.get_rng_state_all()
                  if torch.cuda.is_available() else None))
        checkpoint['random_states'] = all_gather_object(states)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        states = checkpoint.get('random_states')
        if not runner._resume or states is None:
            return
        if len(states) != get_world_size():
            MMLogger.get_current_instance().warning(
                f'The checkpoint holds random states of {len(states)} '
                f'processes, this run has {get_world_size()}: they are not '
                'restored, so the resumed run draws other random numbers.')
            return
        state = states[get_rank()]
        random.setstate(state['python'])
        np.random.set_state(state['numpy'])
        torch.set_rng_state(state['torch'])
        if state['cuda'] is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state['cuda'])
