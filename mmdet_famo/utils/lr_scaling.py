"""Say which learning rate ``auto_scale_lr`` trains with.

mmengine's ``Runner.scale_lr`` multiplies the optimizer's rate by
``world_size * batch_size / base_batch_size`` (the linear scaling rule,
Goyal et al., the paper's ref. 13) and logs only the ratio. The paper's
configs enable it for their 4 GPUs x 1 image, so a run on another number of
GPUs trains at another rate; :func:`log_learning_rate_scaling` logs that
rate once, before training starts, where the ratio is not 1.
"""
from typing import Optional

from mmengine.runner import Runner


def learning_rate_scale(runner: Runner) -> Optional[float]:
    """The factor ``runner.train()`` will scale the learning rate by, as
    mmengine's ``Runner.scale_lr`` computes it; None when disabled."""
    auto_scale_lr = runner.auto_scale_lr
    if not auto_scale_lr or not auto_scale_lr.get('enable', False):
        return None
    batch_size = runner.cfg.train_dataloader.batch_size
    return runner.world_size * batch_size / auto_scale_lr['base_batch_size']


def log_learning_rate_scaling(runner: Runner) -> None:
    """Log the learning rate used where ``auto_scale_lr`` changes it.

    Call before ``runner.train()``; the runner's logger writes on rank 0
    only, so a distributed run logs it once.
    """
    scale = learning_rate_scale(runner)
    if scale is None or scale == 1:
        return
    batch_size = runner.cfg.train_dataloader.batch_size
    processes = 'process' if runner.world_size == 1 else 'processes'
    message = (f'auto_scale_lr: batch size {runner.world_size * batch_size} '
               f'({runner.world_size} {processes} x {batch_size} images) '
               'against base_batch_size '
               f'{runner.auto_scale_lr["base_batch_size"]}, so the learning '
               'rate is ')
    lr = runner.cfg.get('optim_wrapper', {}).get('optimizer', {}).get('lr')
    if lr is None:
        message += f'scaled by {scale:g}'
    else:
        message += f'{lr * scale:g} ({lr:g} x {scale:g})'
    runner.logger.info(message)
