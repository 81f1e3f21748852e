"""Metric functions of fracture detection, as pure NumPy functions.

The names are imported from their submodules on first use (PEP 562 module
``__getattr__``): the runtime install (docs/deployment.md) reads the
verdict rules of :mod:`.fracture_levels` and the operating-point file, and
must not import SciPy, scikit-learn, statsmodels or pycocotools, which the
statistics submodules need and which it does not install.
"""
from importlib import import_module

# Imported now: the function ``average_precision`` has its submodule's name,
# and must be what the package attribute holds whatever is imported first.
from .average_precision import (  # noqa: F401
    COCO_IOU_THRS, RECALL_THRS, average_precision, box_average_precision)

#: Each lazily imported public name and the submodule that defines it.
_SUBMODULE_NAMES = {
    'ap_bootstrap': ('ApBootstrapResult', 'paired_ap_bootstrap'),
    'box_matching': ('OVERLAP_CRITERIA', 'match_detections',
                     'match_to_fractures', 'pairwise_overlaps'),
    'froc': ('FROC_FPS_PER_IMAGE', 'froc_curve', 'froc_sensitivity'),
    'proportions': ('CI_METHODS', 'McNemarResult', 'mcnemar_test',
                    'proportion_confidence_interval'),
    'roc': ('DelongTestResult', 'auc_confidence_interval',
            'delong_auc_variance', 'paired_delong_test', 'roc_auc'),
    'fracture_levels': ('SCORE_WITHOUT_BOX', 'LevelScores', 'case_scores',
                        'highest_scores', 'image_scores', 'is_case_positive',
                        'is_image_positive', 'outcomes', 'shown_score',
                        'shown_scores'),
    'thresholds': ('image_case_youden_threshold', 'sensitivity_threshold',
                   'specificity_threshold', 'youden_threshold'),
}
_SUBMODULE_OF = {
    name: submodule
    for submodule, names in _SUBMODULE_NAMES.items() for name in names
}

__all__ = [
    'COCO_IOU_THRS', 'RECALL_THRS', 'average_precision',
    'box_average_precision'
] + list(_SUBMODULE_OF)


def __getattr__(name: str):
    """Import ``name`` from its submodule the first time it is asked for."""
    if name not in _SUBMODULE_OF:
        raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
    value = getattr(import_module(f'.{_SUBMODULE_OF[name]}', __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
