import csv
import json
import os.path as osp
import pickle
import warnings

import numpy as np
import pytest
import torch
from mmengine.evaluator import Evaluator
from mmengine.structures import InstanceData
from scipy.stats import binomtest
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import roc_auc_score

from mmdet.registry import METRICS
from mmdet.structures import DetDataSample
from mmdet.structures.bbox import HorizontalBoxes
from mmdet_famo.evaluation.functional import box_average_precision
from mmdet_famo.evaluation.metrics import FractureCaseMetric
from mmdet_famo.evaluation import run_files
from mmdet_famo.evaluation.run_files import (DETECTIONS_FILE, METRICS_FILE,
                                             OPERATING_THRESHOLD_FILE,
                                             PER_CASE_SCORES_FILE,
                                             PER_IMAGE_SCORES_FILE,
                                             ROC_CASE_FILE, ROC_IMAGE_FILE)


def data_sample(img_id, gt_bboxes, pred_bboxes, scores, **metainfo):
    """A test-time data sample, as the model returns it."""
    sample = DetDataSample(
        metainfo=dict(img_id=img_id, img_path=f'img_{img_id}.dcm', **metainfo))
    gt_bboxes = torch.tensor(gt_bboxes, dtype=torch.float32).reshape(-1, 4)
    sample.gt_instances = InstanceData(
        bboxes=HorizontalBoxes(gt_bboxes),
        labels=torch.zeros(len(gt_bboxes), dtype=torch.long))
    sample.pred_instances = InstanceData(
        bboxes=torch.tensor(pred_bboxes, dtype=torch.float32).reshape(-1, 4),
        scores=torch.tensor(scores, dtype=torch.float32).reshape(-1),
        labels=torch.zeros(len(scores), dtype=torch.long))
    return sample


THIN_FRACTURE = [[10., 10., 110., 20.]]
# case, body part, view, fractures, predicted boxes, scores; the comments
# give the outcome at threshold 0.5, hits by intersection over smaller box
# yapf: disable
HAND_BUILT = [
    # hit (IoU only 1/3) and a duplicate of the same fracture: image TP
    ('A', 'wrist', 'ap', THIN_FRACTURE,
     [[10., 5., 110., 35.], [12., 8., 108., 22.]], [.9, .6]),
    # fracture-free with a box >= t: image FP (its case A is still a TP)
    ('A', 'wrist', 'lateral', [], [[200., 200., 220., 220.]], [.7]),
    # a box >= t that misses the fracture: not a TP, localised score 0
    ('B', 'wrist', 'ap', [[10., 10., 50., 50.]], [[300., 300., 320., 320.]],
     [.8]),
    # fracture-free, box below t: TN
    ('B', 'wrist', 'lateral', [], [[0., 0., 5., 5.]], [.4]),
    # fracture-free without boxes: TN, score 0
    ('C', 'hand', 'ap', [], [], []),
    ('C', 'hand', 'lateral', [], [[0., 0., 5., 5.]], [.3]),
    # a hit below t: FN, localised score .45
    ('D', 'hand', 'ap', [[0., 0., 10., 10.]], [[0., 0., 10., 10.]], [.45]),
    # fracture-free with a box >= t: FP
    ('E', 'hand', 'ap', [], [[0., 0., 5., 5.]], [.55]),
]
# yapf: enable


def hand_built_samples():
    return [
        data_sample(
            i + 1,
            gts,
            preds,
            scores,
            case_id=case,
            body_part=body_part,
            view=view,
            patient_id=f'p{case}')
        for i, (case, body_part, view, gts, preds,
                scores) in enumerate(HAND_BUILT)
    ]


def evaluate(samples, **kwargs):
    kwargs.setdefault('breakdown', True)
    evaluator = Evaluator(FractureCaseMetric(**kwargs))
    evaluator.process(samples)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        return evaluator.evaluate(len(samples))


def read_csv(path):
    with open(path, newline='') as file:
        return {row[next(iter(row))]: row for row in csv.DictReader(file)}


def test_registered_and_checks_arguments():
    assert METRICS.get('FractureCaseMetric') is FractureCaseMetric
    with pytest.raises(ValueError, match='hit_criterion'):
        FractureCaseMetric(hit_criterion='giou')
    with pytest.raises(ValueError, match='threshold_method'):
        FractureCaseMetric(threshold_method='f1')
    with pytest.raises(ValueError, match=r'\(0, 1\]'):
        FractureCaseMetric(hit_thr=0)


def test_image_and_case_rules(tmp_path):
    metrics = evaluate(
        hand_built_samples(), score_thr=0.5, output_dir=str(tmp_path))
    m = {key[len('fracture/'):]: value for key, value in metrics.items()}
    assert m['threshold'] == 0.5
    # images: positives 1, 3, 7 (TP: 1); negatives 2, 4, 5, 6, 8 (FP: 2, 8)
    assert (m['image_num_positive'], m['image_num_negative']) == (3, 5)
    assert m['image_sensitivity'] == pytest.approx(1 / 3)
    assert m['image_specificity'] == pytest.approx(3 / 5)
    # highest box: positives .9 .8 .45; negatives .7 .4 none .3 .55
    assert m['image_max_score_auc'] == pytest.approx(13 / 15)
    # localised (the default): positives .9, none (no hit), .45; the two
    # images without a box that counts tie
    assert m['image_auc'] == pytest.approx(8.5 / 15)
    # cases: A TP, B FN (its lateral box cannot count), D FN, C TN, E FP
    assert (m['case_num_positive'], m['case_num_negative']) == (3, 2)
    assert m['case_sensitivity'] == pytest.approx(1 / 3)
    assert m['case_specificity'] == pytest.approx(1 / 2)
    # highest box: positives A .9, B .8, D .45; negatives C .3, E .55
    assert m['case_max_score_auc'] == pytest.approx(5 / 6)
    # localised: positives .9, none, .45
    assert m['case_auc'] == pytest.approx(3 / 6)

    images = read_csv(tmp_path / PER_IMAGE_SCORES_FILE)
    assert images['3']['max_box_score'] == '0.800000011920929'
    assert (images['3']['localised_score'], images['3']['predicted_positive'],
            images['3']['tp_at_threshold'],
            images['3']['n_false_boxes']) == ('0.0', '1', '0', '1')
    assert (images['1']['tp_at_threshold'],
            images['1']['n_fractures_detected'],
            images['1']['n_false_boxes']) == ('1', '1', '1')
    assert images['2']['fp_at_threshold'] == '1'
    assert images['5']['max_box_score'] == '0.0'
    assert images['7']['localised_score'] == '0.44999998807907104'
    assert images['7']['tp_at_threshold'] == '0'
    assert images['8']['patient_id'] == 'pE'
    cases = read_csv(tmp_path / PER_CASE_SCORES_FILE)
    assert sorted(cases) == ['A', 'B', 'C', 'D', 'E']
    assert (cases['B']['has_fracture'], cases['B']['localised_score'],
            cases['B']['predicted_positive'],
            cases['B']['tp_at_threshold']) == ('1', '0.0', '1', '0')
    assert (cases['A']['n_images'], cases['A']['tp_at_threshold'],
            cases['A']['fp_at_threshold']) == ('2', '1', '0')
    assert cases['E']['fp_at_threshold'] == '1'
    assert cases['C']['max_box_score'] == '0.30000001192092896'


def test_fracture_level(tmp_path):
    m = evaluate(hand_built_samples(), score_thr=0.5)
    # kept boxes: .9 TP, .6 duplicate FP, .7, .8, .55 FP; 3 fractures
    assert m['fracture/box_precision'] == pytest.approx(1 / 5)
    assert m['fracture/box_sensitivity'] == pytest.approx(1 / 3)
    # IoU ranking: .9 FP (IoU 1/3), .8 FP, .7 FP, .6 TP (duplicate, IoU
    # .69), .55 FP, .45 TP, .4 FP, .3 FP: precision 1/3 up to recall 2/3
    assert m['fracture/box_AP50'] == pytest.approx(67 / 3 / 101)
    # hits: .9 TP, then FPs .8 .7 .6 .55, TP .45, FPs: over 8 images
    expected_froc = [1 / 3, 1 / 3, 2 / 3, 2 / 3, 2 / 3, 2 / 3, 2 / 3]
    assert [
        m[f'fracture/froc@{fps}']
        for fps in ('0.125', '0.25', '0.5', '1', '2', '4', '8')
    ] == pytest.approx(expected_froc)
    assert m['fracture/froc_mean'] == pytest.approx(np.mean(expected_froc))
    # with IoU as hit criterion the .9 box (IoU 1/3) no longer hits, the
    # duplicate (.6, IoU .69) does: image 1's localised score drops to .6
    m = evaluate(hand_built_samples(), score_thr=0.5, hit_criterion='iou')
    assert m['fracture/box_precision'] == pytest.approx(1 / 5)
    assert m['fracture/image_auc'] == pytest.approx(7.5 / 15)


def test_body_part_and_view_breakdown():
    m = evaluate(hand_built_samples(), score_thr=0.5)
    # wrist images 1-4: positives 1 (TP), 3; negatives 2 (FP), 4
    assert m['fracture/wrist/image_sensitivity'] == pytest.approx(1 / 2)
    assert m['fracture/wrist/image_specificity'] == pytest.approx(1 / 2)
    # hand images 5-8: positive 7 (FN); negatives 5, 6, 8 (FP)
    assert m['fracture/hand/image_sensitivity'] == 0
    assert m['fracture/hand/image_specificity'] == pytest.approx(2 / 3)
    assert m['fracture/hand/box_sensitivity'] == 0
    # hand cases C (TN), D (FN), E (FP)
    assert m['fracture/hand/case_specificity'] == pytest.approx(1 / 2)
    # wrist cases A, B both positive: no specificity
    assert np.isnan(m['fracture/wrist/case_specificity'])
    assert np.isnan(m['fracture/wrist/case_auc'])
    # lateral views: no fracture at all
    assert np.isnan(m['fracture/view_lateral/image_sensitivity'])
    assert np.isnan(m['fracture/view_lateral/box_AP50'])
    assert m['fracture/view_lateral/image_specificity'] == pytest.approx(2 / 3)
    assert m['fracture/view_ap/image_sensitivity'] == pytest.approx(1 / 3)


def test_missing_class_warns_once_per_evaluation():
    evaluator = Evaluator(FractureCaseMetric(score_thr=0.5))
    evaluator.process(hand_built_samples())
    with pytest.warns(UndefinedMetricWarning) as caught:
        evaluator.evaluate(8)
    undefined = [w for w in caught if w.category is UndefinedMetricWarning]
    assert len(undefined) == 1
    message = str(undefined[0].message)
    assert 'ROC AUC is undefined with 2 positives and 0 negatives; ' \
        'returning nan (wrist cases)' in message, message
    assert 'AP is undefined' in message
    assert 'lateral view fractures' in message


def test_confidence_intervals():
    exact = evaluate(hand_built_samples(), score_thr=0.5)
    wilson = evaluate(
        hand_built_samples(),
        score_thr=0.5,
        ci_method='wilson',
        confidence_level=0.9)
    for m, method, level in ((exact, 'exact', 0.95), (wilson, 'wilson', 0.9)):
        for key, successes, total in (('image_sensitivity', 1,
                                       3), ('image_specificity', 3, 5),
                                      ('box_precision', 1, 5)):
            ci = binomtest(successes, total).proportion_ci(level, method)
            assert m[f'fracture/{key}_ci_low'] == pytest.approx(ci.low)
            assert m[f'fracture/{key}_ci_high'] == pytest.approx(ci.high)
    assert exact['fracture/image_auc_ci_low'] < 13 / 15 < exact[
        'fracture/image_auc_ci_high']


def test_operating_points_chosen_on_validation_and_reused(tmp_path):
    val_dir = tmp_path / 'val'
    val = evaluate(hand_built_samples(), choose_operating_points=True,
                   target_sensitivity=0.6, output_dir=str(val_dir))
    # Youden on localised image scores: positives .9, none, .45; negatives
    # .7 .4 none .3 .55; t = .9 gives 1/3 + 1 - 1, the best; the default
    # method also takes the cases' J, and they agree here
    assert val['fracture/threshold'] == pytest.approx(0.9)
    # sensitivity >= .6 first at .45 (2/3), the highest such score
    assert val['fracture/suspected_threshold'] == pytest.approx(0.45)
    assert val['fracture/suspected_image_sensitivity'] == pytest.approx(2 / 3)
    # at .45 the negatives .7 and .55 are positive: specificity 3/5
    assert val['fracture/suspected_image_specificity'] == pytest.approx(3 / 5)
    saved = json.loads((val_dir / OPERATING_THRESHOLD_FILE).read_text())
    assert saved['threshold'] == val['fracture/threshold']
    assert saved['operating_points']['definite']['method'] == \
        'image_case_youden'
    assert saved['operating_points']['suspected']['target'] == 0.6

    for threshold_file in (str(val_dir),
                           str(val_dir / OPERATING_THRESHOLD_FILE)):
        test = evaluate(
            hand_built_samples()[:5],
            threshold_file=threshold_file,
            output_dir=str(tmp_path / 'test'))
        assert test['fracture/threshold'] == val['fracture/threshold']
        assert test['fracture/suspected_threshold'] == pytest.approx(0.45)
    reused = json.loads(
        (tmp_path / 'test' / OPERATING_THRESHOLD_FILE).read_text())
    assert reused['loaded_from'] == str(val_dir / OPERATING_THRESHOLD_FILE)

    m = evaluate(
        hand_built_samples(),
        choose_operating_points=True,
        threshold_method='specificity',
        target_specificity=0.8)
    # specificity >= .8 needs t above .55 (4/5 negatives below): t = .7
    assert m['fracture/threshold'] == pytest.approx(0.7, abs=1e-6)


# the smallest case that tells the per-image rules apart: a fractured image
# whose only box (.3) misses, a fractured image without boxes, a
# fracture-free image with one box (.4), a fracture-free image without boxes
MINIMAL_CASE = [
    ([[0., 0., 10., 10.]], [[50., 50., 60., 60.]], [.3]),
    ([[0., 0., 10., 10.]], [], []),
    ([], [[0., 0., 10., 10.]], [.4]),
    ([], [], []),
]


def minimal_case():
    return [
        data_sample(i + 1, gts, preds, scores)
        for i, (gts, preds, scores) in enumerate(MINIMAL_CASE)
    ]


@pytest.mark.parametrize('score_thr', [0., .1, .3, .4])
def test_minimal_case_at_given_thresholds(score_thr):
    m = evaluate(minimal_case(), score_thr=score_thr)
    assert m['fracture/image_sensitivity'] == 0
    assert m['fracture/image_specificity'] == pytest.approx(1 / 2)


def test_minimal_case_never_chooses_zero():
    m = evaluate(minimal_case(), choose_operating_points=True)
    # the only real localised score is .4, the fracture-free image's box
    assert m['fracture/threshold'] == pytest.approx(.4)
    assert m['fracture/image_sensitivity'] == 0
    assert m['fracture/image_specificity'] == pytest.approx(1 / 2)


def test_a_test_run_without_threshold_reports_no_operating_point(tmp_path):
    metric = FractureCaseMetric(output_dir=str(tmp_path))
    metric.process({}, [s.to_dict() for s in hand_built_samples()])
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        summary = metric.compute_metrics(metric.results)
    # the threshold-free summary only: AP and AUCs, nothing fitted here
    assert sorted(summary) == ['box_AP50', 'box_mAP', 'case_auc',
                               'image_auc']
    saved = json.loads((tmp_path / OPERATING_THRESHOLD_FILE).read_text())
    assert saved['threshold'] is None and 'threshold_file' in saved['reason']
    every = json.loads((tmp_path / METRICS_FILE).read_text())
    assert 'froc@1' in every and not any('sensitivity' in key
                                         for key in every if 'froc' not in key)


def test_summary_is_short_and_breakdowns_go_to_the_file(tmp_path):
    metric = FractureCaseMetric(score_thr=.5, output_dir=str(tmp_path))
    metric.process({}, [s.to_dict() for s in hand_built_samples()])
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        summary = metric.compute_metrics(metric.results)
    assert set(summary) == {
        'box_mAP', 'box_AP50', 'threshold', 'suspected_threshold',
        'image_sensitivity', 'image_specificity', 'image_auc',
        'case_sensitivity', 'case_specificity', 'case_auc'
    }
    every = json.loads((tmp_path / METRICS_FILE).read_text())
    assert every['wrist/image_sensitivity'] == pytest.approx(1 / 2)
    assert every['image_auc'] == summary['image_auc']


def test_box_shape_and_orientation_breakdown():
    elongated = [[0., 0., 90., 10.]]  # 9:1
    squarish = [[0., 0., 20., 16.]]
    samples = [
        # elongated fracture, horizontal, found (.9)
        data_sample(1, elongated, elongated, [.9],
                    fracture_orientations=[3.]),
        # elongated fracture, vertical by annotation, missed; a squarish
        # false box .8
        data_sample(2, elongated, [[200., 200., 220., 216.]], [.8],
                    fracture_orientations=[90.]),
        # squarish oblique fracture found at .6, below the threshold .7
        data_sample(3, squarish, squarish, [.6],
                    fracture_orientations=[135.]),
    ]
    m = evaluate(samples, score_thr=.7)
    assert m['fracture/aspect_elongated/num_fractures'] == 2
    assert m['fracture/aspect_elongated/box_sensitivity'] == pytest.approx(.5)
    # elongated bin: the squarish false box .8 is not counted: AP 1 at
    # recall 1/2
    assert m['fracture/aspect_elongated/box_AP50'] == pytest.approx(51 / 101)
    assert m['fracture/aspect_squarish/box_sensitivity'] == 0
    # squarish bin: .8 FP, then .6 TP: precision 1/2 over all recall
    assert m['fracture/aspect_squarish/box_AP50'] == pytest.approx(.5)
    assert m['fracture/orientation_near-horizontal/box_sensitivity'] == 1
    assert m['fracture/orientation_near-vertical/box_sensitivity'] == 0
    assert m['fracture/orientation_oblique/num_fractures'] == 1
    # without orientations there is no orientation breakdown
    m = evaluate(hand_built_samples(), score_thr=.5)
    assert not any('orientation_' in key for key in m)
    assert 'fracture/aspect_elongated/box_AP50' in m


def test_bad_threshold_file(tmp_path):
    with pytest.raises(FileNotFoundError, match='missing.json'):
        evaluate(
            hand_built_samples(),
            threshold_file=str(tmp_path / 'missing.json'))
    broken = tmp_path / 'broken.json'
    broken.write_text('{"method": "youden"}')
    with pytest.raises(ValueError, match='broken.json'):
        evaluate(hand_built_samples(), threshold_file=str(broken))


def test_output_files_feed_the_comparison(tmp_path):
    m = evaluate(hand_built_samples(), score_thr=0.5, output_dir=str(tmp_path))
    for name in (PER_IMAGE_SCORES_FILE, PER_CASE_SCORES_FILE, DETECTIONS_FILE,
                 OPERATING_THRESHOLD_FILE, ROC_IMAGE_FILE, ROC_CASE_FILE):
        assert (tmp_path / name).stat().st_size > 0
    assert not list(tmp_path.glob('*.partial'))
    assert (tmp_path / ROC_IMAGE_FILE).read_bytes()[:4] == b'\x89PNG'
    images = read_csv(tmp_path / PER_IMAGE_SCORES_FILE)
    labels = [int(row['has_fracture']) for row in images.values()]
    assert roc_auc_score(
        labels,
        [float(row['localised_score'])
         for row in images.values()]) == pytest.approx(m['fracture/image_auc'])
    detections = json.loads((tmp_path / DETECTIONS_FILE).read_text())
    assert [d['img_id'] for d in detections['images']] == list(range(1, 9))
    recomputed = box_average_precision(
        [np.array(d['pred_bboxes']) for d in detections['images']],
        [np.array(d['pred_scores']) for d in detections['images']],
        [np.array(d['gt_bboxes']) for d in detections['images']], [0.5])
    assert recomputed[0] == pytest.approx(m['fracture/box_AP50'])


def test_metric_ap_equals_cocoeval(coco_reference):
    rng = np.random.default_rng(1)
    gts, preds, scores = [], [], []
    for _ in range(12):
        case = coco_reference.random_case(rng)
        gts += case[0]
        preds += case[1]
        scores += case[2]
    samples = [
        data_sample(i + 1, coco_reference.xywh_to_xyxy(gt),
                    coco_reference.xywh_to_xyxy(pred), score)
        for i, (gt, pred, score) in enumerate(zip(gts, preds, scores))
    ]
    # the float32 round trip of the data samples, as COCO would see it
    gts = [s.gt_instances.bboxes.tensor.double().numpy() for s in samples]
    preds = [s.pred_instances.bboxes.double().numpy() for s in samples]
    scores = [s.pred_instances.scores.double().numpy() for s in samples]
    precision = coco_reference.cocoeval_precision(
        [np.hstack([g[:, :2], g[:, 2:] - g[:, :2]]) for g in gts],
        [np.hstack([p[:, :2], p[:, 2:] - p[:, :2]]) for p in preds], scores)
    m = evaluate(samples[::-1], score_thr=0.5)
    assert m['fracture/box_mAP'] == pytest.approx(precision.mean(), abs=1e-6)
    assert m['fracture/box_AP50'] == pytest.approx(
        precision[0].mean(), abs=1e-6)
    assert m['fracture/box_AP75'] == pytest.approx(
        precision[5].mean(), abs=1e-6)


def test_results_from_several_ranks():
    samples = [s.to_dict() for s in hand_built_samples()]
    single = FractureCaseMetric(score_thr=0.5)
    single.process({}, samples)
    rank_0, rank_1 = FractureCaseMetric(score_thr=0.5), FractureCaseMetric(
        score_thr=0.5)
    rank_0.process({}, samples[::2])
    rank_1.process({}, samples[1::2])
    # what collect_results gathers must survive pickling, in any order
    gathered = pickle.loads(pickle.dumps(rank_1.results + rank_0.results))
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        expected = single.compute_metrics(single.results)
        merged = single.compute_metrics(gathered)
    assert merged.keys() == expected.keys()
    np.testing.assert_array_equal(
        list(merged.values()), list(expected.values()))
    with pytest.raises(ValueError, match='twice'):
        single.compute_metrics(single.results + single.results[:1])


def test_no_predictions_and_no_metadata(tmp_path):
    samples = [
        data_sample(i, [[0., 0., 10., 10.]] if i % 2 else [], [], [])
        for i in range(6)
    ]
    m = evaluate(samples, score_thr=0.5, output_dir=str(tmp_path))
    assert m['fracture/box_AP50'] == 0
    assert m['fracture/image_auc'] == 0.5
    assert m['fracture/image_sensitivity'] == 0
    assert m['fracture/image_specificity'] == 1
    assert m['fracture/case_num_positive'] == 3  # each image its own case
    assert np.isnan(m['fracture/box_precision'])  # no box kept
    images = read_csv(tmp_path / PER_IMAGE_SCORES_FILE)
    assert {row['body_part'] for row in images.values()} == {'unknown'}
    assert not any(key.startswith('fracture/unknown/') for key in m)


def test_no_images_at_all(tmp_path):
    metric = FractureCaseMetric(choose_operating_points=True,
                                output_dir=str(tmp_path))
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        m = metric.compute_metrics([])
    assert 'threshold' not in m and np.isnan(m['image_auc'])
    assert osp.exists(tmp_path / PER_IMAGE_SCORES_FILE)


def test_bad_data_samples_name_the_image():
    metric = FractureCaseMetric()
    sample = data_sample(3, [], [[0., 0., 1., 1.]], [.5]).to_dict()
    sample['pred_instances']['bboxes'] = torch.zeros(1, 5)
    with pytest.raises(ValueError, match=r'img_3.dcm: predicted boxes'):
        metric.process({}, [sample])
    sample = data_sample(3, [[5., 5., 1., 1.]], [], []).to_dict()
    with pytest.raises(ValueError, match=r'img_3.dcm: ground-truth boxes'):
        metric.process({}, [sample])
    sample = data_sample(3, [], [], []).to_dict()
    del sample['gt_instances']
    with pytest.raises(ValueError, match='LoadAnnotations'):
        metric.process({}, [sample])


def test_failed_write_keeps_previous_files(tmp_path, monkeypatch):
    evaluate(hand_built_samples(), score_thr=0.5, output_dir=str(tmp_path))
    previous = (tmp_path / ROC_CASE_FILE).read_bytes()

    def broken_plot(path, *args):
        with open(path, 'wb') as file:
            file.write(b'half a PNG')
        raise OSError('disk full')

    monkeypatch.setattr(run_files, 'plot_roc', broken_plot)
    with pytest.raises(OSError, match='disk full'):
        evaluate(hand_built_samples(), score_thr=0.3, output_dir=str(tmp_path))
    assert (tmp_path / ROC_CASE_FILE).read_bytes() == previous
    assert not list(tmp_path.glob('*.partial'))
