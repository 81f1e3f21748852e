from .best_operating_points_hook import BestOperatingPointsHook
from .radiograph_visualization_hook import RadiographVisualizationHook
from .random_state_hook import RandomStateHook

__all__ = [
    'BestOperatingPointsHook', 'RadiographVisualizationHook',
    'RandomStateHook'
]
