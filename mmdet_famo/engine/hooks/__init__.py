from .best_operating_points_hook import BestOperatingPointsHook
from .random_state_hook import RandomStateHook

__all__ = ['BestOperatingPointsHook', 'RandomStateHook']
