from .cpu_distributed import configure_cpu_distributed
from .safe_checkpoint import allow_mmengine_checkpoints

__all__ = ['allow_mmengine_checkpoints', 'configure_cpu_distributed']
