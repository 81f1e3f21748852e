import math
import warnings

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from mmdet_famo.analysis import StatisticsSettings, compare_runs
from mmdet_famo.analysis.paired_statistics import (BOOTSTRAP,
                                                   DELONG_ONE_SIDED,
                                                   DELONG_TWO_SIDED, MCNEMAR,
                                                   ComparisonRow, Estimate,
                                                   GroupComparison,
                                                   PairedTest,
                                                   holm_across_groups)
from mmdet_famo.evaluation.functional import (mcnemar_test, paired_delong_test,
                                              shown_scores)


@pytest.fixture(scope='module')
def comparison(two_runs):
    return compare_runs((two_runs.a.directory, two_runs.b.directory),
                        ('A', 'B'))


def rows_by_key(group):
    return {row.key: row for rows in group.rows.values() for row in rows}


def same(value, expected):
    return (math.isnan(value) and math.isnan(expected)) or \
        value == pytest.approx(expected, rel=1e-12, abs=1e-12)


def assert_equals_metric(rows, metrics, prefix=''):
    for row in rows.values():
        for estimate, model_metrics in zip(row.estimates, metrics):
            key = prefix + row.key
            assert same(estimate.value, model_metrics[key]), key
            if f'{key}_ci_low' in model_metrics:
                assert same(estimate.ci_low, model_metrics[f'{key}_ci_low'])
                assert same(estimate.ci_high, model_metrics[f'{key}_ci_high'])


def test_each_model_equals_the_metric(two_runs, comparison):
    metrics = (two_runs.a.metrics, two_runs.b.metrics)
    overall = rows_by_key(comparison.overall)
    assert len(overall) == 12  # 4 per fracture, 4 per image, 4 per case
    assert_equals_metric(overall, metrics)
    assert [group.name
            for group in comparison.body_parts] == ['ankle', 'hand', 'wrist']
    for group in comparison.body_parts:
        assert_equals_metric(rows_by_key(group), metrics, f'{group.name}/')
    # and the metric is not trivially nan or constant here
    assert 0 < overall['image_auc'].estimates[0].value < 1
    assert overall['image_auc'].estimates[0].value != \
        overall['image_auc'].estimates[1].value


def test_images_by_hand(two_runs, comparison):
    """Sensitivity, specificity and AUC from the hand-built truth."""
    labels = two_runs.labels
    rows = rows_by_key(comparison.overall)
    for estimate, run in zip(rows['image_auc'].estimates,
                             (two_runs.a, two_runs.b)):
        assert estimate.value == pytest.approx(
            roc_auc_score(labels, shown_scores(run.localised)))
    true_positive = two_runs.a.localised[labels] >= two_runs.threshold
    sensitivity = rows['image_sensitivity'].estimates[0]
    assert (sensitivity.successes, sensitivity.total) == (true_positive.sum(),
                                                          labels.sum())
    assert rows['image_auc'].difference == pytest.approx(
        roc_auc_score(labels, shown_scores(two_runs.a.localised)) -
        roc_auc_score(labels, shown_scores(two_runs.b.localised)))


def case_arrays(two_runs, run):
    """Per case, from the hand-built truth: label, score, true positive,
    correct on a fracture-free case."""
    cases = list(dict.fromkeys(two_runs.case_ids))
    labels, scores, true_positive, true_negative = [], [], [], []
    for case in cases:
        views = two_runs.case_ids == case
        fractured = two_runs.labels[views]
        labels.append(fractured.any())
        # localised: only fractured views count for a fractured case
        counted = fractured if fractured.any() else np.ones_like(fractured)
        scores.append(run.localised[views][counted].max())
        true_positive.append((run.localised[views][fractured]
                              >= two_runs.threshold).any())
        true_negative.append((run.scores[views] < two_runs.threshold).all())
    return tuple(map(np.array, (labels, scores, true_positive, true_negative)))


def test_pvalues_equal_the_functional_tests(two_runs, comparison):
    rows = rows_by_key(comparison.overall)
    labels = two_runs.labels
    a, b = two_runs.a, two_runs.b
    tests = {test.name: test for test in rows['image_auc'].tests}
    expected = paired_delong_test(labels, a.localised, b.localised)
    assert tests[DELONG_TWO_SIDED].pvalue == expected.pvalue
    assert tests[DELONG_TWO_SIDED].statistic == expected.z
    assert tests[DELONG_ONE_SIDED].pvalue == paired_delong_test(
        labels, a.localised, b.localised, 'greater').pvalue
    # one-sided against 'A is not better': half the two-sided p when A's
    # AUC is larger, one minus that when it is smaller
    assert tests[DELONG_ONE_SIDED].pvalue == pytest.approx(
        expected.pvalue / 2 if expected.z > 0 else 1 - expected.pvalue / 2)
    # the highest box score's AUC is shown apart, without tests
    assert rows['image_max_score_auc'].tests == ()
    assert rows['image_max_score_auc'].estimates[0].value == pytest.approx(
        roc_auc_score(labels, shown_scores(a.scores)))

    sensitivity, = rows['image_sensitivity'].tests
    expected = mcnemar_test(a.localised[labels] >= two_runs.threshold,
                            b.localised[labels] >= two_runs.threshold)
    assert sensitivity.name == MCNEMAR
    assert (sensitivity.pvalue, sensitivity.only_a_correct,
            sensitivity.only_b_correct) == (expected.pvalue,
                                            expected.only_a_correct,
                                            expected.only_b_correct)
    assert expected.only_a_correct + expected.only_b_correct > 0
    specificity, = rows['image_specificity'].tests
    assert specificity.pvalue == mcnemar_test(
        a.scores[~labels] < two_runs.threshold, b.scores[~labels]
        < two_runs.threshold).pvalue

    case_labels, scores_a, tp_a, tn_a = case_arrays(two_runs, a)
    _, scores_b, tp_b, tn_b = case_arrays(two_runs, b)
    tests = {test.name: test for test in rows['case_auc'].tests}
    assert tests[DELONG_TWO_SIDED].pvalue == paired_delong_test(
        case_labels, scores_a, scores_b).pvalue
    assert rows['case_sensitivity'].tests[0].pvalue == mcnemar_test(
        tp_a[case_labels], tp_b[case_labels]).pvalue
    assert rows['case_specificity'].tests[0].pvalue == mcnemar_test(
        tn_a[~case_labels], tn_b[~case_labels]).pvalue


def test_body_part_tests_and_undefined_figures(two_runs, comparison):
    wrist = rows_by_key(comparison.body_parts[2])
    in_wrist = two_runs.body_parts == 'wrist'
    labels = two_runs.labels[in_wrist]
    assert wrist['image_auc'].tests[0].pvalue == paired_delong_test(
        labels, two_runs.a.localised[in_wrist],
        two_runs.b.localised[in_wrist]).pvalue

    ankle = rows_by_key(comparison.body_parts[0])  # fractures only
    specificity = ankle['image_specificity']
    assert all(math.isnan(e.value) for e in specificity.estimates)
    assert specificity.estimates[0].reason == 'no fracture-free images'
    assert specificity.tests[0].reason == 'no fracture-free images'
    assert ankle['case_auc'].estimates[1].reason == 'no fracture-free cases'
    assert 'needs 2 fractured and 2 fracture-free cases, got 2 and 0' == \
        ankle['case_auc'].tests[0].reason
    assert math.isnan(ankle['case_auc'].difference)
    assert not math.isnan(ankle['image_sensitivity'].estimates[0].value)


def test_settings_change_the_intervals(two_runs):
    with warnings.catch_warnings():
        warnings.simplefilter('error')  # nothing undefined is warned about
        wilson = compare_runs((two_runs.a.directory, two_runs.b.directory),
                              ('A', 'B'),
                              StatisticsSettings(0.9, 'wilson', 'iosmall'))
    rows = rows_by_key(wilson.overall)
    sensitivity = rows['image_sensitivity'].estimates[0]
    k, n = sensitivity.successes, sensitivity.total
    p, z = k / n, 1.6448536269514722
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z / (1 + z**2 / n) * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    assert (sensitivity.ci_low, sensitivity.ci_high) == pytest.approx(
        (centre - half, centre + half))


def test_box_shape_groups_equal_the_metric(two_runs, comparison):
    """Table 5's figures per bin are the metric's own (aspect ratio and
    orientation, AP50 as COCO's area ranges, sensitivity at the point)."""
    names = [group.name for group in comparison.box_shapes]
    # every fracture box is 20 x 24 (squarish); the orientations cycle
    # through 5, 170, 45 and 90 degrees
    assert names[0].startswith('aspect ratio squarish')
    assert [name.split(' (')[0] for name in names[1:]] == [
        'orientation near-horizontal', 'orientation near-vertical',
        'orientation oblique'
    ]
    for group in comparison.box_shapes:
        kind, name = group.name.split(' (')[0].rsplit(' ', 1)
        key = f"{kind.replace('aspect ratio', 'aspect')}_{name}/"
        for run, index in ((two_runs.a, 0), (two_runs.b, 1)):
            rows = {row.key: row for row in group.rows['fracture']}
            assert rows['box_AP50'].estimates[index].value == pytest.approx(
                run.metrics[key + 'box_AP50'])
            assert rows['box_sensitivity'].estimates[index].value == \
                pytest.approx(run.metrics[key + 'box_sensitivity'])
        assert f"({run.metrics[key + 'num_fractures']} fractures)" in \
            group.name


def test_holm_adjusts_each_measure_over_the_groups():
    def group(name, auc_p, ap_p):
        auc = ComparisonRow(
            'image_auc', 'Per-image AUC', (Estimate(0.8), Estimate(0.7)),
            (PairedTest(DELONG_TWO_SIDED, auc_p),
             PairedTest(DELONG_ONE_SIDED, auc_p / 2)))
        ap50 = ComparisonRow('box_AP50', 'Per-fracture AP50',
                             (Estimate(0.4), Estimate(0.3)),
                             (PairedTest(BOOTSTRAP, ap_p), ))
        precision = ComparisonRow('box_precision', 'Per-fracture precision',
                                  (Estimate(0.5), Estimate(0.4)))
        return GroupComparison(name, 10, 10, {
            'fracture': [ap50, precision],
            'image': [auc]
        })

    groups = [
        group('hand', 0.01, 0.5),
        group('leg', 0.04, math.nan),
        group('hip', 0.03, 0.02)
    ]
    adjusted = holm_across_groups(groups)
    # AUC, three tests: 0.01 x 3 = 0.03; 0.03 x 2 = 0.06; 0.04 x 1 = 0.04,
    # raised to 0.06 (step-down: never below an earlier step)
    assert adjusted['hand', 'image_auc'] == pytest.approx(0.03)
    assert adjusted['hip', 'image_auc'] == pytest.approx(0.06)
    assert adjusted['leg', 'image_auc'] == pytest.approx(0.06)
    # AP50: leg has no p-value, so two tests: 0.02 x 2, then 0.5
    assert adjusted['hip', 'box_AP50'] == pytest.approx(0.04)
    assert adjusted['hand', 'box_AP50'] == pytest.approx(0.5)
    assert ('leg', 'box_AP50') not in adjusted
    assert not any(key == 'box_precision' for _, key in adjusted)
