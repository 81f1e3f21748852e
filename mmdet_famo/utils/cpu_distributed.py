"""Distributed training and testing on machines without CUDA.

mmengine 0.10.7's ``pytorch`` launcher calls ``torch.cuda.set_device``, which
a CPU build of torch lacks, and wraps the model in DDP with
``device_ids=[LOCAL_RANK]``, which DDP refuses for a CPU module. For CPU
runs (tests of ``tools/dist_train.sh``, debugging on a laptop) we initialise
the process group ourselves with the gloo backend, so the runner skips its
own initialisation, and wrap the model with ``device_ids=None``. Machines
with CUDA are left to mmengine unchanged.
"""
import torch
import torch.distributed as dist
from mmengine.config import Config


def configure_cpu_distributed(cfg: Config, launcher: str) -> None:
    """Make ``cfg`` run under ``launcher`` with gloo when CUDA is absent."""
    if launcher != 'pytorch' or torch.cuda.is_available():
        return
    cfg.env_cfg.dist_cfg = dict(backend='gloo')
    if not dist.is_initialized():
        dist.init_process_group(backend='gloo')
    cfg.model_wrapper_cfg = dict(
        type='MMDistributedDataParallel',
        device_ids=None,
        broadcast_buffers=False,
        find_unused_parameters=cfg.get('find_unused_parameters', False))
