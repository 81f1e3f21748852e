"""Per-fracture, per-image and per-case evaluation of a fracture detector.

The paper (section "Evaluation") evaluates three levels and follows Thian et
al. 2019 (Radiology: AI) for the two upper ones: an image is a true positive
only if one of its predicted boxes is a true positive, a case (a study of
several projection views) if any of its views has one.
"""
import csv
import os
import os.path as osp
import warnings
from contextlib import contextmanager
from typing import Callable, Dict, Iterator, List, Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.fileio import dump, load
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import roc_curve

from mmdet.registry import METRICS
from mmdet.structures.bbox import get_box_tensor
from ..operating_points import DEFINITE_METHODS as THRESHOLD_METHODS
from ..operating_points import read_threshold_file
from ..functional import (CI_METHODS, COCO_IOU_THRS, FROC_FPS_PER_IMAGE,
                          OVERLAP_CRITERIA,
                          auc_confidence_interval, average_precision,
                          froc_sensitivity, match_detections,
                          proportion_confidence_interval,
                          specificity_threshold, youden_threshold)

#: Per-image or per-case arrays, by column name.
Table = Dict[str, np.ndarray]

#: Files written into ``output_dir``; the model comparison tool reads them.
PER_IMAGE_SCORES_FILE = 'per_image_scores.csv'
PER_CASE_SCORES_FILE = 'per_case_scores.csv'
DETECTIONS_FILE = 'detections.json'
OPERATING_THRESHOLD_FILE = 'operating_threshold.json'
ROC_IMAGE_FILE = 'roc_image.png'
ROC_CASE_FILE = 'roc_case.png'
#: Columns of the two score tables.
PER_IMAGE_COLUMNS = ('img_id', 'img_path', 'case_id', 'patient_id',
                     'body_part', 'view', 'has_fracture', 'n_fractures',
                     'n_boxes', 'image_score', 'localised_score',
                     'predicted_positive', 'tp_at_threshold',
                     'fp_at_threshold', 'n_fractures_detected',
                     'n_false_boxes')
PER_CASE_COLUMNS = ('case_id', 'patient_id', 'body_part', 'n_images',
                    'has_fracture', 'n_fractures', 'case_score',
                    'case_localised_score', 'predicted_positive',
                    'tp_at_threshold', 'fp_at_threshold')


@METRICS.register_module()
class FractureCaseMetric(BaseMetric):
    """Fracture detection metric at the fracture, image and case level.

    **Per fracture.** COCO AP (101-point interpolation, the greedy COCO
    matching: of several detections of one fracture, the highest scoring is
    the true positive and the others are false positives) at each of
    ``ap_thrs`` and averaged over IoU 0.50:0.95 (``box_mAP``), under
    ``ap_criterion``. At the operating threshold, precision (true positive
    boxes over kept boxes, the paper's substitute for specificity) and
    sensitivity (fractures matched by a kept box), and FROC: sensitivity at
    ``froc_fps`` false positives per image (duplicates count as false
    positives).

    **Per image.** The image score is its highest box score (0 without
    boxes). The *localised* score of a fractured image counts only boxes
    that hit one of its fractures; a fracture-free image keeps its image
    score, every box on it being false. At threshold t a fractured image is
    a true positive iff a box scoring >= t hits a fracture, a fracture-free
    image a false positive iff any box scores >= t, i.e. both iff the
    localised score is >= t: sensitivity and specificity are a point of the
    localised ROC. ROC AUC is reported for both scores.

    **Per case** (images grouped by ``case_id``). A case is positive if any
    view has a fracture and a true positive if any of its fractured views
    is; its score is the highest image score of its views, its localised
    score the highest localised score of its fractured views (of all views
    for a fracture-free case).

    All of it also per body part (fracture, image, case) and per view
    (fracture, image; a case spans views), when the data holds more than
    one. Proportions get exact (Clopper-Pearson) or Wilson intervals, AUCs
    DeLong intervals; a group without positives or negatives gives nan with
    a warning. AP equals pycocotools' COCOeval (ties ranked in image-id
    order, no cap on boxes per image beyond the model's ``max_per_img``).

    **Metric names** (after the prefix): ``threshold``, ``box_mAP``,
    ``box_AP50``..., ``box_precision``, ``box_sensitivity``, ``froc@0.125``
    ... ``froc@8``, ``froc_mean``, ``{image,case}_num_positive``,
    ``_num_negative``, ``_sensitivity``, ``_specificity``, ``_auc``,
    ``_localised_auc``; proportions and AUCs with ``_ci_low`` and
    ``_ci_high``. Breakdowns repeat them under ``{body_part}/`` and
    ``view_{view}/``, e.g. ``fracture/wrist/case_auc``.

    **Overlap criteria.** AP uses IoU >= 0.5 by default, as COCO, so that
    the numbers compare with the literature. The per-fracture operating
    point, the image and case rules and FROC ask "does a box point at this
    fracture?", for which the default is intersection over the smaller box
    >= 0.5: the tight box of a thin oblique fracture (paper, Fig. 6) loses
    most of its IoU when a prediction is a little wider or shifted across
    its thin side (a 100x10 box and a centred 100x30 prediction have IoU
    0.33), while at least half of the smaller box still lies inside the
    other. Its weakness is a very large box that contains a fracture;
    ``'centre'`` (the predicted centre inside the fracture box) is the
    alternative.

    **Operating threshold.** ``score_thr`` fixes it; else ``threshold_file``
    (an ``operating_threshold.json`` written by a validation run, or its
    folder) supplies it; else it is chosen on the evaluated images' localised
    image scores by ``threshold_method`` and saved. Choose it on the
    validation set and pass ``threshold_file`` to the test evaluator: it is
    never to be fitted on the test set.

    Args:
        ap_thrs (Sequence[float]): Overlap thresholds with an AP each
            (``box_AP50``...). Defaults to (0.5, 0.75).
        ap_criterion (str): Overlap criterion of AP, one of 'iou',
            'iosmall', 'centre'. Defaults to 'iou'.
        hit_criterion (str): Overlap criterion of a hit. Defaults to
            'iosmall'.
        hit_thr (float): Overlap threshold of a hit. Defaults to 0.5.
        score_thr (float, optional): Fixed operating threshold.
        threshold_file (str, optional): JSON file (or its folder) with the
            operating threshold of a validation run.
        threshold_method (str): 'youden' or 'specificity', used when neither
            ``score_thr`` nor ``threshold_file`` is given. Defaults to
            'youden'.
        target_specificity (float): Image specificity aimed at by the
            'specificity' method. Defaults to 0.9.
        ci_method (str): 'exact' (Clopper-Pearson) or 'wilson'.
        confidence_level (float): Level of every interval. Defaults to 0.95.
        froc_fps (Sequence[float]): False positives per image at which FROC
            sensitivity is reported. Defaults to 1/8 ... 8.
        output_dir (str, optional): Folder for ``per_image_scores.csv``,
            ``per_case_scores.csv``, ``detections.json`` (boxes and scores
            per image, for side-by-side panels and recomputing AP),
            ``operating_threshold.json``, ``roc_image.png`` and
            ``roc_case.png``; nothing is written if None. Files are replaced
            whole, never left half-written.
        collect_device (str): 'cpu' or 'gpu', for collecting results across
            ranks. Defaults to 'cpu'.
        prefix (str, optional): Prefix of the metric names. Defaults to
            'fracture'.
        collect_dir (str, optional): Folder for collecting results when
            ``collect_device`` is 'cpu'.
    """

    default_prefix: Optional[str] = 'fracture'

    def __init__(self,
                 ap_thrs: Sequence[float] = (0.5, 0.75),
                 ap_criterion: str = 'iou',
                 hit_criterion: str = 'iosmall',
                 hit_thr: float = 0.5,
                 score_thr: Optional[float] = None,
                 threshold_file: Optional[str] = None,
                 threshold_method: str = 'youden',
                 target_specificity: float = 0.9,
                 ci_method: str = 'exact',
                 confidence_level: float = 0.95,
                 froc_fps: Sequence[float] = FROC_FPS_PER_IMAGE,
                 output_dir: Optional[str] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 collect_dir: Optional[str] = None) -> None:
        super().__init__(
            collect_device=collect_device,
            prefix=prefix,
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
        if threshold_method not in THRESHOLD_METHODS:
            raise ValueError(f'threshold_method must be one of '
                             f'{THRESHOLD_METHODS}, got {threshold_method!r}')
        if ci_method not in CI_METHODS:
            raise ValueError(f'ci_method must be one of {CI_METHODS}, got '
                             f'{ci_method!r}')
        self.ap_thrs = tuple(float(thr) for thr in ap_thrs)
        self.ap_criterion = ap_criterion
        self.hit_criterion = hit_criterion
        self.hit_thr = float(hit_thr)
        self.score_thr = score_thr
        self.threshold_file = threshold_file
        self.threshold_method = threshold_method
        self.target_specificity = target_specificity
        self.ci_method = ci_method
        self.confidence_level = confidence_level
        self.froc_fps = tuple(froc_fps)
        self.output_dir = output_dir

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """Keep each image's metadata, fracture boxes and predictions.

        Args:
            data_batch (dict): A batch of data from the dataloader (unused).
            data_samples (Sequence[dict]): Data samples with ``img_id``,
                ``gt_instances.bboxes`` in original-image coordinates,
                ``pred_instances`` (bboxes, scores) and optionally
                ``img_path``, ``case_id``, ``patient_id``, ``body_part`` and
                ``view`` in the metainfo. Every predicted box counts as a
                fracture box (the dataset has the one class).
        """
        for data_sample in data_samples:
            img_id = data_sample['img_id']
            img_path = data_sample.get('img_path') or str(img_id)
            gt = data_sample.get('gt_instances', {})
            if 'bboxes' not in gt:
                raise ValueError(
                    f'{img_path}: the data sample has no gt_instances.bboxes;'
                    ' the test pipeline needs LoadAnnotations(with_bbox=True)')
            pred = data_sample['pred_instances']
            pred_bboxes = _boxes_array(pred['bboxes'], 'predicted', img_path)
            pred_scores = _as_numpy(pred['scores']).reshape(-1)
            if len(pred_scores) != len(pred_bboxes):
                raise ValueError(f'{img_path}: {len(pred_bboxes)} predicted '
                                 f'boxes but {len(pred_scores)} scores')
            self.results.append(
                dict(
                    img_id=img_id,
                    img_path=img_path,
                    case_id=_or_default(data_sample.get('case_id'), img_id),
                    patient_id=_or_default(data_sample.get('patient_id'), ''),
                    body_part=str(
                        _or_default(data_sample.get('body_part'), 'unknown')),
                    view=str(_or_default(data_sample.get('view'), 'unknown')),
                    gt_bboxes=_boxes_array(gt['bboxes'], 'ground-truth',
                                           img_path),
                    pred_bboxes=pred_bboxes,
                    pred_scores=pred_scores))

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """Compute all levels and write the output files.

        Args:
            results (list): The records of :meth:`process`, from all ranks.

        Returns:
            dict[str, float]: The metrics.
        """
        records = sorted(results, key=lambda record: record['img_id'])
        seen = set()
        for record in records:
            if record['img_id'] in seen:
                raise ValueError(f"image id {record['img_id']} "
                                 f"({record['img_path']}) was evaluated twice")
            seen.add(record['img_id'])
        images = self._score_images(records)
        cases = _group_cases(records, images)
        threshold, threshold_info = self._operating_threshold(images)

        metrics = {'threshold': float(threshold)}
        with _warnings_about('fractures'):
            metrics.update(self._box_metrics(images, threshold))
        with _warnings_about('images'):
            metrics.update(self._binary_metrics('image', images, threshold))
        with _warnings_about('cases'):
            metrics.update(self._binary_metrics('case', cases, threshold))
        groups = [(f'{part}/', f'{part} ', images['body_part'] == part)
                  for part in _breakdown(images['body_part'])]
        groups += [(f'view_{view}/', f'{view} view ', images['view'] == view)
                   for view in _breakdown(images['view'])]
        for key_prefix, subject, selected in groups:
            with _warnings_about(f'{subject}fractures'):
                box_metrics = self._box_metrics(images, threshold, selected)
            with _warnings_about(f'{subject}images'):
                image_metrics = self._binary_metrics('image', images,
                                                     threshold, selected)
            metrics.update({
                key_prefix + name: value
                for name, value in (*box_metrics.items(),
                                    *image_metrics.items())
            })
        for part in _breakdown(cases['body_part']):
            with _warnings_about(f'{part} cases'):
                in_part = cases['body_part'] == part
                metrics.update({
                    f'{part}/{name}': value
                    for name, value in self._binary_metrics(
                        'case', cases, threshold, in_part).items()
                })
        if self.output_dir is not None:
            self._write_outputs(records, images, cases, threshold,
                                threshold_info)
        return metrics

    def _score_images(self, records: List[dict]) -> Table:
        """Match every image's boxes once; return per-image and per-box
        arrays (boxes concatenated in image order)."""
        ap_thrs = np.r_[COCO_IOU_THRS, self.ap_thrs]
        num_images = len(records)
        num_boxes = np.array([len(r['pred_scores']) for r in records], int)
        scores = np.concatenate([np.zeros(0)] +
                                [r['pred_scores'] for r in records])
        ap_is_tp = _match_all(records, ap_thrs, self.ap_criterion)
        hit_is_tp = _match_all(records, [self.hit_thr], self.hit_criterion)[0]
        box_image = np.repeat(np.arange(num_images), num_boxes)
        num_fractures = np.array([len(r['gt_bboxes']) for r in records], int)
        has_fracture = num_fractures > 0

        image_score = np.zeros(num_images)
        np.maximum.at(image_score, box_image, scores)
        # the highest box hitting a fracture is always matched (no box above
        # it hit anything), so matched boxes give the localised score
        localised_score = np.zeros(num_images)
        np.maximum.at(localised_score, box_image[hit_is_tp], scores[hit_is_tp])
        localised_score[~has_fracture] = image_score[~has_fracture]
        return dict(
            labels=has_fracture,
            num_fractures=num_fractures,
            scores=image_score,
            localised_scores=localised_score,
            body_part=np.array([r['body_part'] for r in records], dtype=str),
            view=np.array([r['view'] for r in records], dtype=str),
            box_image=box_image,
            box_scores=scores,
            box_ap_is_tp=ap_is_tp,
            box_hit_is_tp=hit_is_tp)

    def _operating_threshold(self, images: Table):
        """The threshold and a record of where it came from."""
        info = dict(
            score='image localised score (positive if >= threshold)',
            hit_criterion=self.hit_criterion,
            hit_thr=self.hit_thr)
        if self.score_thr is not None:
            return float(self.score_thr), dict(
                threshold=float(self.score_thr), method='fixed', **info)
        if self.threshold_file is not None:
            return self._load_threshold(info)
        labels, scores = images['labels'], images['localised_scores']
        with _warnings_about('operating threshold'):
            if self.threshold_method == 'youden':
                threshold = youden_threshold(labels, scores)
            else:
                threshold = specificity_threshold(labels, scores,
                                                  self.target_specificity)
        warnings.warn('the operating threshold was chosen on the evaluated '
                      'images: right for the validation set; evaluate the '
                      'test set with threshold_file=')
        return threshold, dict(
            threshold=threshold,
            method=self.threshold_method,
            target_specificity=(self.target_specificity
                                if self.threshold_method == 'specificity' else
                                None),
            num_images=len(labels),
            num_positive=int(labels.sum()),
            num_negative=int((~labels).sum()),
            **info)

    def _load_threshold(self, info: dict):
        points, saved = read_threshold_file(self.threshold_file)
        threshold = points.definite.threshold
        for key in ('hit_criterion', 'hit_thr'):
            if saved.get(key, info[key]) != info[key]:
                warnings.warn(f'{saved["loaded_from"]} was chosen with '
                              f'{key}={saved[key]!r}, this metric uses '
                              f'{info[key]!r}')
        return threshold, saved

    def _box_metrics(
            self,
            images: Table,
            threshold: float,
            selected: Optional[np.ndarray] = None) -> Dict[str, float]:
        """Per-fracture metrics of the selected images (all if None)."""
        if selected is None:
            selected = np.ones(len(images['labels']), bool)
        in_selection = selected[images['box_image']]
        scores = images['box_scores'][in_selection]
        num_fractures = int(images['num_fractures'][selected].sum())
        ap_is_tp = images['box_ap_is_tp'][:, in_selection]
        aps = average_precision(scores, ap_is_tp, num_fractures)
        metrics = {'box_mAP': float(aps[:len(COCO_IOU_THRS)].mean())}
        for thr, ap in zip(self.ap_thrs, aps[len(COCO_IOU_THRS):]):
            metrics[f'box_AP{round(thr * 100)}'] = float(ap)

        hit_is_tp = images['box_hit_is_tp'][in_selection]
        kept = scores >= threshold
        num_tp = int(hit_is_tp[kept].sum())
        metrics.update(
            self._proportion('box_precision', num_tp, int(kept.sum()),
                             threshold))
        metrics.update(
            self._proportion('box_sensitivity', num_tp, num_fractures,
                             threshold))
        sensitivities = froc_sensitivity(scores, hit_is_tp, num_fractures,
                                         int(selected.sum()), self.froc_fps)
        for fps, sensitivity in zip(self.froc_fps, sensitivities):
            metrics[f'froc@{fps:g}'] = float(sensitivity)
        metrics['froc_mean'] = float(np.mean(sensitivities))
        return metrics

    def _binary_metrics(
            self,
            level: str,
            table: Table,
            threshold: float,
            selected: Optional[np.ndarray] = None) -> Dict[str, float]:
        """Sensitivity, specificity and AUCs of images or cases."""
        labels, scores = table['labels'], table['scores']
        localised = table['localised_scores']
        if selected is not None:
            labels, scores = labels[selected], scores[selected]
            localised = localised[selected]
        positive = localised >= threshold
        metrics = {
            f'{level}_num_positive': int(labels.sum()),
            f'{level}_num_negative': int((~labels).sum())
        }
        metrics.update(
            self._proportion(f'{level}_sensitivity',
                             int((labels & positive).sum()), int(labels.sum()),
                             threshold))
        metrics.update(
            self._proportion(f'{level}_specificity',
                             int((~labels & ~positive).sum()),
                             int((~labels).sum()), threshold))
        named_scores = dict(auc=scores, localised_auc=localised)
        for name, level_scores in named_scores.items():
            auc, low, high = auc_confidence_interval(labels, level_scores,
                                                     self.confidence_level)
            metrics[f'{level}_{name}'] = auc
            metrics[f'{level}_{name}_ci_low'] = low
            metrics[f'{level}_{name}_ci_high'] = high
        return metrics

    def _proportion(self, name: str, successes: int, total: int,
                    threshold: float) -> Dict[str, float]:
        """A proportion at the operating threshold with its interval; nan
        when the threshold or the denominator is missing."""
        if total == 0:
            warnings.warn(
                f'{name} is undefined, its denominator is 0; '
                'returning nan', UndefinedMetricWarning)
        if total == 0 or np.isnan(threshold):
            value = low = high = float('nan')
        else:
            value = successes / total
            low, high = proportion_confidence_interval(successes, total,
                                                       self.confidence_level,
                                                       self.ci_method)
        return {name: value, f'{name}_ci_low': low, f'{name}_ci_high': high}

    def _write_outputs(self, records: List[dict], images: Table, cases: Table,
                       threshold: float, threshold_info: dict) -> None:
        """Write the score tables, detections, threshold and ROC plots."""
        os.makedirs(self.output_dir, exist_ok=True)
        box_image = images['box_image']
        kept = images['box_scores'] >= threshold
        hit = images['box_hit_is_tp']
        image_columns = dict(
            {
                key: [r[key] for r in records]
                for key in ('img_id', 'img_path', 'case_id', 'patient_id',
                            'body_part', 'view')
            },
            has_fracture=images['labels'].astype(int),
            n_fractures=images['num_fractures'],
            n_boxes=np.bincount(box_image, minlength=len(records)),
            image_score=images['scores'],
            localised_score=images['localised_scores'],
            n_fractures_detected=np.bincount(
                box_image[kept & hit], minlength=len(records)),
            n_false_boxes=np.bincount(
                box_image[kept & ~hit], minlength=len(records)),
            **_outcomes(images, threshold))
        case_columns = dict(
            case_id=cases['case_id'],
            patient_id=cases['patient_id'],
            body_part=cases['body_part'],
            n_images=cases['num_images'],
            has_fracture=cases['labels'].astype(int),
            n_fractures=cases['num_fractures'],
            case_score=cases['scores'],
            case_localised_score=cases['localised_scores'],
            **_outcomes(cases, threshold))
        detections = dict(
            bbox_format='xyxy, original image pixels',
            threshold=threshold,
            images=[
                dict(
                    img_id=r['img_id'],
                    img_path=r['img_path'],
                    case_id=r['case_id'],
                    patient_id=r['patient_id'],
                    body_part=r['body_part'],
                    view=r['view'],
                    gt_bboxes=r['gt_bboxes'].tolist(),
                    pred_bboxes=r['pred_bboxes'].tolist(),
                    pred_scores=r['pred_scores'].tolist()) for r in records
            ])

        def output(name: str) -> str:
            return osp.join(self.output_dir, name)

        _write_atomically(
            output(PER_IMAGE_SCORES_FILE),
            lambda path: _write_csv(path, PER_IMAGE_COLUMNS, image_columns))
        _write_atomically(
            output(PER_CASE_SCORES_FILE),
            lambda path: _write_csv(path, PER_CASE_COLUMNS, case_columns))
        _write_atomically(
            output(DETECTIONS_FILE),
            lambda path: _write_json(path, detections))
        _write_atomically(
            output(OPERATING_THRESHOLD_FILE),
            lambda path: _write_json(path, threshold_info, indent=2))
        for name, level, table in ((ROC_IMAGE_FILE, 'image', images),
                                   (ROC_CASE_FILE, 'case', cases)):
            _write_atomically(
                output(name),
                lambda path: self._plot_roc(path, level, table, threshold))

    def _plot_roc(self, path: str, level: str, table: Table,
                  threshold: float) -> None:
        """ROC curves of the highest box score and of the localised score,
        with the operating point, and of each body part."""
        from matplotlib.figure import Figure

        figure = Figure(figsize=(5.5, 5.5), dpi=100)
        axes = figure.subplots()
        labels = table['labels']
        curves = [('highest box score', labels, table['scores'], '-', 2.),
                  ('localised score', labels, table['localised_scores'], '--',
                   2.)]
        for body_part in _breakdown(table['body_part']):
            in_part = table['body_part'] == body_part
            curves.append((body_part, labels[in_part],
                           table['scores'][in_part], '-', 1.))
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            for name, curve_labels, scores, style, width in curves:
                auc, low, high = auc_confidence_interval(
                    curve_labels, scores, self.confidence_level)
                if np.isnan(auc):
                    continue
                fpr, tpr, _ = roc_curve(curve_labels, scores)
                axes.plot(
                    fpr,
                    tpr,
                    style,
                    linewidth=width,
                    label=f'{name}: AUC {auc:.3f} [{low:.3f}, {high:.3f}]')
        if labels.any() and (~labels).any() and not np.isnan(threshold):
            outcomes = _outcomes(table, threshold)
            axes.plot(
                outcomes['fp_at_threshold'].sum() / (~labels).sum(),
                outcomes['tp_at_threshold'].sum() / labels.sum(),
                'o',
                color='black',
                label=f'operating point (threshold {threshold:.3g})')
        axes.plot((0, 1), (0, 1), ':', color='grey', linewidth=1)
        axes.set(
            xlim=(0, 1),
            ylim=(0, 1.01),
            xlabel='1 - specificity',
            ylabel='sensitivity',
            title=f'Per-{level} ROC ({labels.sum()} with fracture, '
            f'{(~labels).sum()} without)')
        if axes.get_legend_handles_labels()[0]:
            axes.legend(loc='lower right', fontsize='small')
        figure.savefig(path, format='png')


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


def _match_all(records: List[dict], thrs: Sequence[float],
               criterion: str) -> np.ndarray:
    """(T, N) true-positive flags of all images' boxes, image by image."""
    return np.concatenate(
        [np.zeros((len(thrs), 0), bool)] + [
            match_detections(r['pred_bboxes'], r['pred_scores'],
                             r['gt_bboxes'], thrs, criterion) for r in records
        ],
        axis=1)


def _group_cases(records: List[dict], images: Table) -> Table:
    """Per-case arrays: a case is positive if any view has a fracture."""
    case_index: Dict[object, int] = {}
    image_case = np.array([
        case_index.setdefault(r['case_id'], len(case_index)) for r in records
    ], int)
    num_cases = len(case_index)
    labels = np.zeros(num_cases, bool)
    np.logical_or.at(labels, image_case, images['labels'])
    scores = np.zeros(num_cases)
    np.maximum.at(scores, image_case, images['scores'])
    # only a fractured view can make a positive case a true positive
    evidence = images['localised_scores'].copy()
    evidence[~images['labels'] & labels[image_case]] = -np.inf
    localised_scores = np.full(num_cases, -np.inf)
    np.maximum.at(localised_scores, image_case, evidence)
    body_parts: List[set] = [set() for _ in range(num_cases)]
    patient_ids = [''] * num_cases
    for record, case in zip(records, image_case):
        body_parts[case].add(record['body_part'])
        patient_ids[case] = patient_ids[case] or record['patient_id']
    return dict(
        case_id=list(case_index),
        patient_id=patient_ids,
        body_part=np.array(['+'.join(sorted(parts)) for parts in body_parts],
                           dtype=str),
        num_images=np.bincount(image_case, minlength=num_cases),
        num_fractures=np.bincount(
            image_case, images['num_fractures'], minlength=num_cases),
        labels=labels,
        scores=scores,
        localised_scores=localised_scores)


def _outcomes(table: Table, threshold: float) -> Table:
    """0/1 outcomes of images or cases at the threshold: any box passes it;
    a true positive (a passing box hits a fracture); a false positive (a
    passing box without a fracture)."""
    positive = table['localised_scores'] >= threshold
    return dict(
        predicted_positive=(table['scores'] >= threshold).astype(int),
        tp_at_threshold=(table['labels'] & positive).astype(int),
        fp_at_threshold=(~table['labels'] & positive).astype(int))


def _breakdown(groups: np.ndarray) -> List[str]:
    """The groups to report separately: none when there is only one."""
    names = np.unique(groups).tolist()
    return names if len(names) > 1 else []


@contextmanager
def _warnings_about(subject: str) -> Iterator[None]:
    """Re-emit the warnings raised inside once each, naming ``subject``."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        yield
    for message, category in dict.fromkeys(
        (str(warning.message), warning.category) for warning in caught):
        warnings.warn(f'{subject}: {message}', category, stacklevel=3)


def _write_csv(path: str, names: Sequence[str],
               columns: Dict[str, Sequence]) -> None:
    """Write ``columns`` as a CSV table with the columns ``names``."""
    with open(path, 'w', newline='') as file:
        writer = csv.writer(file)
        writer.writerow(names)
        writer.writerows(zip(*(columns[name] for name in names)))


def _write_json(path: str, obj, indent: Optional[int] = None) -> None:
    """Write ``obj`` (numpy values allowed) as JSON, encoded in one go: the
    C encoder is many times faster than streaming ``json.dump``."""
    with open(path, 'w') as file:
        file.write(dump(obj, file_format='json', indent=indent))


def _write_atomically(path: str, write: Callable[[str], None]) -> None:
    """Write through a temporary file, so that a failure leaves the previous
    file intact."""
    partial = f'{path}.partial'
    try:
        write(partial)
        os.replace(partial, path)
    finally:
        if osp.exists(partial):
            os.remove(partial)
