from .average_precision import (COCO_IOU_THRS, RECALL_THRS, average_precision,
                                box_average_precision)
from .box_matching import OVERLAP_CRITERIA, match_detections, pairwise_overlaps
from .froc import FROC_FPS_PER_IMAGE, froc_curve, froc_sensitivity
from .proportions import (CI_METHODS, McNemarResult, mcnemar_test,
                          proportion_confidence_interval)
from .roc import (DelongTestResult, auc_confidence_interval,
                  delong_auc_variance, paired_delong_test, roc_auc)
from .thresholds import (THRESHOLD_METHODS, specificity_threshold,
                         youden_threshold)

__all__ = [
    'OVERLAP_CRITERIA', 'pairwise_overlaps', 'match_detections', 'RECALL_THRS',
    'COCO_IOU_THRS', 'average_precision', 'box_average_precision',
    'FROC_FPS_PER_IMAGE', 'froc_curve', 'froc_sensitivity', 'roc_auc',
    'delong_auc_variance', 'auc_confidence_interval', 'DelongTestResult',
    'paired_delong_test', 'CI_METHODS', 'proportion_confidence_interval',
    'McNemarResult', 'mcnemar_test', 'THRESHOLD_METHODS', 'youden_threshold',
    'specificity_threshold'
]
