from .cpu_distributed import configure_cpu_distributed
from .lr_scaling import learning_rate_scale, log_learning_rate_scaling
from .plain_config_text import plain_config_text
from .safe_checkpoint import allow_mmengine_checkpoints

__all__ = [
    'allow_mmengine_checkpoints', 'configure_cpu_distributed',
    'learning_rate_scale', 'log_learning_rate_scaling', 'plain_config_text'
]
