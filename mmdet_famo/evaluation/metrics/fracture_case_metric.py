"""Per-fracture, per-image and per-case evaluation of a fracture detector.

The paper (section "Evaluation") evaluates three levels and follows Thian et
al. 2019 (Radiology: AI) for the two upper ones: an image is a true positive
only if one of its predicted boxes is a true positive, a case (a study of
several projection views) if any of its views has one. The rules live in
:mod:`..functional.fracture_levels`, the figures in :mod:`..fracture_figures`
and the output files in :mod:`..run_files`; this metric is the glue.
"""
import warnings
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger

from mmdet.registry import METRICS
from mmdet.structures.bbox import get_box_tensor
from .. import run_files
from ..fracture_figures import (FigureMaker, ScoredImages, score_images,
                                summary_table)
from ..functional import CI_METHODS, FROC_FPS_PER_IMAGE, OVERLAP_CRITERIA
from ..operating_points import (DEFINITE_METHODS, OperatingPoints,
                                choose_operating_points,
                                given_operating_points, read_threshold_file)

#: The figures returned (and so logged) unless ``breakdown=True``.
SUMMARY = ('box_mAP', 'box_AP50', 'threshold', 'suspected_threshold',
           'image_sensitivity', 'image_specificity', 'image_auc',
           'case_sensitivity', 'case_specificity', 'case_auc')
NO_OPERATING_POINT = (
    'operating-point figures (threshold, sensitivity, specificity, '
    'precision) are left out: no threshold was chosen on the validation '
    'set. Pass the validation run\'s file (tools/test.py --threshold-file '
    'FILE, or test_evaluator.threshold_file=FILE) or a threshold '
    '(score_thr=); AP, AUC and FROC are reported')


@METRICS.register_module()
class FractureCaseMetric(BaseMetric):
    """Fracture detection metric at the fracture, image and case level.

    **Per fracture.** COCO AP (101-point interpolation, the greedy COCO
    matching; equal to pycocotools) at each of ``ap_thrs`` and over IoU
    0.50:0.95 (``box_mAP``), under ``ap_criterion``; precision and
    sensitivity of the boxes at the operating points; FROC (sensitivity at
    ``froc_fps`` false positives per image); AP50 and sensitivity by the
    aspect ratio of the fracture's box and by its orientation (see
    :mod:`..functional.box_shapes`).

    **Per image and per case** (images grouped by ``case_id``): the rules of
    :mod:`..functional.fracture_levels`. The AUCs, the best-epoch selection
    (``save_best='fracture/case_auc'``) and the operating points use the
    *localised* score (a fractured image scores only through boxes that hit
    a fracture); ``*_max_score_auc`` is the AUC of the highest box score,
    wherever the box lies.

    **Operating points** (:mod:`..operating_points`): ``score_thr`` (and
    ``suspected_score_thr``) fix them; else ``threshold_file`` (an
    ``operating_threshold.json`` of a validation run, or its folder)
    supplies them; else, with ``choose_operating_points=True`` (the
    validation evaluator), they are chosen on the evaluated images'
    localised scores, among real box scores: *suspected* at
    ``target_sensitivity``, *definite* by ``threshold_method``. Otherwise
    (a test evaluator without a threshold) the operating-point figures are
    left out, with one message saying how to get them: a test set never
    fits its own threshold. ``threshold``, ``box_sensitivity``,
    ``image_sensitivity``... are at the definite point (the headline),
    ``suspected_*`` at the suspected one.

    **Output.** Returned (so logged) are a short summary (:data:`SUMMARY`)
    and, with ``breakdown=True``, every figure (intervals, FROC, per body
    part, view and box shape; names in :mod:`..fracture_figures`); a table
    of the summary with intervals is logged as ``CocoMetric`` logs COCO's.
    Undefined figures (a group without positives or negatives) are nan,
    with one warning per evaluation.

    **Overlap criteria.** AP uses IoU >= 0.5 by default, as COCO. A hit
    ("does a box point at this fracture?", for the operating points, the
    image and case rules and FROC) is by default intersection over the
    smaller box >= 0.5: the tight box of a thin oblique fracture (paper,
    Fig. 6) loses most of its IoU when a prediction is a little wider (a
    100x10 box and a centred 100x30 prediction have IoU 0.33), while half
    of the smaller box still lies inside the other. ``'centre'`` (the
    predicted centre inside the fracture box) is the alternative.

    Args:
        ap_thrs (Sequence[float]): Overlap thresholds with an AP each
            (``box_AP50``...). Defaults to (0.5, 0.75).
        ap_criterion (str): 'iou', 'iosmall' or 'centre'. Defaults to 'iou'.
        hit_criterion (str): Overlap criterion of a hit. Defaults to
            'iosmall'.
        hit_thr (float): Overlap threshold of a hit. Defaults to 0.5.
        score_thr (float, optional): Fixed definite threshold.
        suspected_score_thr (float, optional): Fixed suspected threshold,
            with ``score_thr``; defaults to ``score_thr``.
        threshold_file (str, optional): Threshold file (or its folder) of a
            validation run.
        choose_operating_points (bool): Choose the points on the evaluated
            images when neither of the above is given; right for the
            validation set only. Defaults to False.
        threshold_method (str): Definite point: 'image_case_youden' (the
            default: the threshold whose smaller of the per-image and the
            per-case Youden's J is largest, since one threshold decides
            both), 'youden' (per image only) or 'specificity'.
        target_specificity (float): Of the 'specificity' method. Defaults to
            0.9.
        target_sensitivity (float): Of the suspected point. Defaults to
            0.95.
        ci_method (str): 'exact' (Clopper-Pearson) or 'wilson'.
        confidence_level (float): Of every interval. Defaults to 0.95.
        froc_fps (Sequence[float]): FROC rates. Defaults to 1/8 ... 8.
        breakdown (bool): Return (log) every figure, not the summary only.
        output_dir (str, optional): Folder for the files of
            :mod:`..run_files`; nothing is written if None.
        collect_device (str): 'cpu' or 'gpu'. Defaults to 'cpu'.
        prefix (str, optional): Prefix of the names. Defaults to
            'fracture'.
        collect_dir (str, optional): For collecting results on the CPU.
    """

    default_prefix: Optional[str] = 'fracture'

    def __init__(self,
                 ap_thrs: Sequence[float] = (0.5, 0.75),
                 ap_criterion: str = 'iou',
                 hit_criterion: str = 'iosmall',
                 hit_thr: float = 0.5,
                 score_thr: Optional[float] = None,
                 suspected_score_thr: Optional[float] = None,
                 threshold_file: Optional[str] = None,
                 choose_operating_points: bool = False,
                 threshold_method: str = 'image_case_youden',
                 target_specificity: float = 0.9,
                 target_sensitivity: float = 0.95,
                 ci_method: str = 'exact',
                 confidence_level: float = 0.95,
                 froc_fps: Sequence[float] = FROC_FPS_PER_IMAGE,
                 breakdown: bool = False,
                 output_dir: Optional[str] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 collect_dir: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix,
                         collect_dir=collect_dir)
        for name, criterion in (('ap_criterion', ap_criterion),
                                ('hit_criterion', hit_criterion)):
            if criterion not in OVERLAP_CRITERIA:
                raise ValueError(f'{name} must be one of {OVERLAP_CRITERIA}, '
                                 f'got {criterion!r}')
        for thr in (*ap_thrs, hit_thr):
            if not 0 < thr <= 1:
                raise ValueError(f'overlap thresholds must be in (0, 1], got '
                                 f'{thr}')
        if threshold_method not in DEFINITE_METHODS:
            raise ValueError(f'threshold_method must be one of '
                             f'{DEFINITE_METHODS}, got {threshold_method!r}')
        if ci_method not in CI_METHODS:
            raise ValueError(f'ci_method must be one of {CI_METHODS}, got '
                             f'{ci_method!r}')
        self.hit_criterion = hit_criterion
        self.hit_thr = float(hit_thr)
        self.ap_thrs = tuple(float(thr) for thr in ap_thrs)
        self.ap_criterion = ap_criterion
        self.score_thr = score_thr
        self.suspected_score_thr = suspected_score_thr
        self.threshold_file = threshold_file
        self.choose_operating_points = choose_operating_points
        self.threshold_method = threshold_method
        self.target_specificity = target_specificity
        self.target_sensitivity = target_sensitivity
        self.breakdown = breakdown
        self.output_dir = output_dir
        self.figures = FigureMaker(self.ap_thrs, ap_criterion, froc_fps,
                                   confidence_level, ci_method)
        #: The threshold record of the last evaluation (read by
        #: ``BestOperatingPointsHook``).
        self.threshold_record: Optional[dict] = None

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """Keep each image's metadata, fracture boxes and predictions.

        Args:
            data_batch (dict): A batch of data from the dataloader (unused).
            data_samples (Sequence[dict]): Data samples with ``img_id``,
                ``gt_instances.bboxes`` in original-image coordinates,
                ``pred_instances`` (bboxes, scores) and optionally
                ``img_path``, ``case_id``, ``patient_id``, ``body_part``,
                ``view`` and ``fracture_orientations`` (degrees, one per
                ground-truth box) in the metainfo. Every predicted box
                counts as a fracture box (the dataset has the one class).
        """
        for sample in data_samples:
            img_id = sample['img_id']
            img_path = sample.get('img_path') or str(img_id)
            gt = sample.get('gt_instances', {})
            if 'bboxes' not in gt:
                raise ValueError(
                    f'{img_path}: the data sample has no gt_instances.bboxes;'
                    ' the test pipeline needs LoadAnnotations(with_bbox=True)')
            pred = sample['pred_instances']
            pred_bboxes = _boxes_array(pred['bboxes'], 'predicted', img_path)
            pred_scores = _as_numpy(pred['scores']).reshape(-1)
            if len(pred_scores) != len(pred_bboxes):
                raise ValueError(f'{img_path}: {len(pred_bboxes)} predicted '
                                 f'boxes but {len(pred_scores)} scores')
            gt_bboxes = _boxes_array(gt['bboxes'], 'ground-truth', img_path)
            orientations = sample.get('fracture_orientations')
            if orientations is None:
                orientations = [None] * len(gt_bboxes)
            elif len(orientations) != len(gt_bboxes):
                raise ValueError(f'{img_path}: {len(orientations)} fracture '
                                 f'orientations for {len(gt_bboxes)} boxes')
            self.results.append(
                dict(
                    img_id=img_id,
                    img_path=img_path,
                    case_id=_or_default(sample.get('case_id'), img_id),
                    patient_id=_or_default(sample.get('patient_id'), ''),
                    body_part=str(
                        _or_default(sample.get('body_part'), 'unknown')),
                    view=str(_or_default(sample.get('view'), 'unknown')),
                    gt_bboxes=gt_bboxes,
                    gt_orientations=[
                        None if o is None else float(o) for o in orientations
                    ],
                    pred_bboxes=pred_bboxes,
                    pred_scores=pred_scores))

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """Compute every figure, log the summary, write the output files.

        Args:
            results (list): The records of :meth:`process`, from all ranks.

        Returns:
            dict[str, float]: The summary, or every figure with
            ``breakdown=True``.
        """
        records = sorted(results, key=lambda record: record['img_id'])
        seen = set()
        for record in records:
            if record['img_id'] in seen:
                raise ValueError(f"image id {record['img_id']} "
                                 f"({record['img_path']}) was evaluated twice")
            seen.add(record['img_id'])
        scored = score_images(records, self.ap_thrs, self.ap_criterion,
                              self.hit_criterion, self.hit_thr)
        points, self.threshold_record = self._operating_points(scored)
        figures = self.figures.all_figures(scored, points)
        self.figures.warn_once()
        logger = MMLogger.get_current_instance()
        if points is None:
            logger.warning(NO_OPERATING_POINT)
        logger.info('\n' + summary_table(figures, points))
        if self.output_dir is not None:
            run_files.write_run(self.output_dir, scored, points, figures,
                                self.threshold_record,
                                self.figures.confidence_level)
        if self.breakdown:
            return figures
        return {key: figures[key] for key in SUMMARY if key in figures}

    def _operating_points(
            self,
            scored: ScoredImages) -> Tuple[Optional[OperatingPoints], dict]:
        """The operating points (None if there are none) and their record
        for ``operating_threshold.json``."""
        details = dict(
            score='localised score (positive if a box that counts scores '
            '>= threshold)',
            hit_criterion=self.hit_criterion,
            hit_thr=self.hit_thr)
        if self.score_thr is not None:
            points = given_operating_points(self.score_thr,
                                            self.suspected_score_thr,
                                            'score_thr in the config')
            return points, dict(points.to_record(), **details)
        if self.threshold_file is not None:
            points, saved = read_threshold_file(self.threshold_file)
            for key in ('hit_criterion', 'hit_thr'):
                if saved.get(key, details[key]) != details[key]:
                    warnings.warn(f'{saved["loaded_from"]} was chosen with '
                                  f'{key}={saved[key]!r}, this metric uses '
                                  f'{details[key]!r}')
            return points, saved
        if not self.choose_operating_points:
            return None, dict(threshold=None, operating_points=None,
                              reason='none chosen: a test run without '
                              'threshold_file', **details)
        labels = scored.images.labels
        details.update(num_images=len(labels),
                       num_positive=int(labels.sum()),
                       num_negative=int((~labels).sum()))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            points = choose_operating_points(
                labels, scored.images.localised, self.threshold_method,
                self.target_sensitivity, self.target_specificity,
                f'chosen on {len(labels)} images ({labels.sum()} with '
                'fractures) evaluated with choose_operating_points=True',
                scored.cases.labels, scored.cases.localised)
        for warning in caught:
            warnings.warn(f'operating points: {warning.message}',
                          warning.category)
        if points is None:
            return None, dict(threshold=None, operating_points=None,
                              reason='; '.join(str(w.message)
                                               for w in caught), **details)
        return points, dict(points.to_record(), **details)


def _as_numpy(data) -> np.ndarray:
    """Tensor, box structure or array as a new float64 array."""
    data = get_box_tensor(data)
    if isinstance(data, torch.Tensor):
        data = data.detach().cpu().numpy()
    return np.array(data, dtype=np.float64)  # a copy, never a view


def _boxes_array(boxes, what: str, img_path: str) -> np.ndarray:
    """(N, 4) x1y1x2y2 boxes, checked."""
    boxes = _as_numpy(boxes)
    if boxes.size == 0:
        return boxes.reshape(0, 4)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(f'{img_path}: {what} boxes must have shape (N, 4), '
                         f'got {boxes.shape}')
    if not np.isfinite(boxes).all() or (boxes[:, 2:] < boxes[:, :2]).any():
        raise ValueError(f'{img_path}: {what} boxes must be finite '
                         f'(x1, y1, x2, y2) with x2 >= x1 and y2 >= y1')
    return boxes


def _or_default(value, default):
    return default if value is None or value == '' else value
