from .average_precision import (COCO_IOU_THRS, RECALL_THRS, average_precision,
                                box_average_precision)
from .box_matching import (OVERLAP_CRITERIA, match_detections,
                           match_to_fractures, pairwise_overlaps)
from .froc import FROC_FPS_PER_IMAGE, froc_curve, froc_sensitivity
from .proportions import (CI_METHODS, McNemarResult, mcnemar_test,
                          proportion_confidence_interval)
from .roc import (DelongTestResult, auc_confidence_interval,
                  delong_auc_variance, paired_delong_test, roc_auc)
from .fracture_levels import (SCORE_WITHOUT_BOX, LevelScores, case_scores,
                              highest_scores, image_scores, is_case_positive,
                              is_image_positive, outcomes, shown_score,
                              shown_scores)
from .thresholds import (image_case_youden_threshold, sensitivity_threshold,
                         specificity_threshold, youden_threshold)

__all__ = [
    'OVERLAP_CRITERIA', 'pairwise_overlaps', 'match_detections',
    'match_to_fractures', 'RECALL_THRS',
    'COCO_IOU_THRS', 'average_precision', 'box_average_precision',
    'FROC_FPS_PER_IMAGE', 'froc_curve', 'froc_sensitivity', 'roc_auc',
    'delong_auc_variance', 'auc_confidence_interval', 'DelongTestResult',
    'paired_delong_test', 'CI_METHODS', 'proportion_confidence_interval',
    'McNemarResult', 'mcnemar_test', 'youden_threshold',
    'image_case_youden_threshold',
    'specificity_threshold', 'sensitivity_threshold', 'SCORE_WITHOUT_BOX',
    'LevelScores', 'highest_scores', 'image_scores', 'case_scores',
    'outcomes', 'is_image_positive', 'is_case_positive', 'shown_score',
    'shown_scores'
]
