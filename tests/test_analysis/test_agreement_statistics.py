"""Agreement figures of hand-built readers, against scikit-learn's Cohen's
kappa, statsmodels' Fleiss' kappa and hand counts."""
import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import aggregate_raters, fleiss_kappa

from mmdet_famo.analysis.agreement_statistics import (AgreementSettings,
                                                      compute_agreement)
from mmdet_famo.analysis.reader_files import load_readers
from mmdet_famo.evaluation.functional.agreement import icc_two_way_random
from tests.reader_factory import READER_A, build_reader, write


def group(report, kind, name):
    return next(g for g in report.groups if g.kind == kind and g.name == name)


def test_figures_of_hand_built_readers(two_readers):
    report = compute_agreement(load_readers(two_readers))
    assert report.readers.names == ['reader_a', 'reader_b']
    overall = group(report, 'all', 'all').statistics
    image_a = [1, 1, 0, 0, 1, 0, 0, 0]
    image_b = [1, 0, 0, 0, 1, 0, 1, 0]
    assert overall['image_agreement'].value == pytest.approx(6 / 8)
    assert overall['image_kappa'].value == pytest.approx(
        cohen_kappa_score(image_a, image_b))
    # cases c1..c4: A (1, 0, 1, 0), B (1, 0, 1, 1)
    assert overall['case_agreement'].value == pytest.approx(3 / 4)
    assert overall['case_kappa'].value == pytest.approx(
        cohen_kappa_score([1, 0, 1, 0], [1, 0, 1, 1]))
    # 2 matched pairs of 4 + 3 outlines; Dice (0.75 + 1) / 2, IoU (0.6 + 1)/2
    assert overall['lesion_agreement'].value == pytest.approx(4 / 7)
    assert overall['dice'].value == pytest.approx(0.875)
    assert overall['iou'].value == pytest.approx(0.8)
    counts = np.array([[1, 1], [1, 0], [0, 0], [0, 0], [2, 1], [0, 0], [0, 1],
                       [0, 0]])
    assert overall['count_icc'].value == pytest.approx(
        icc_two_way_random(counts).value)
    # wrist images: A (1, 1, 0, 0), B (1, 0, 0, 0): p_o 3/4, p_e 1/2
    wrist = group(report, 'body_part', 'wrist')
    assert wrist.statistics['image_kappa'].value == pytest.approx(0.5)
    assert (wrist.num_images, wrist.num_cases, wrist.fractures) == \
        (4, 2, (2, 1))
    assert np.isnan(group(report, 'view', 'ap').statistics['case_kappa'].value)
    for estimate in overall.values():
        if not np.isnan(estimate.ci_low):
            assert estimate.ci_low <= estimate.value <= estimate.ci_high


def test_fleiss_kappa_for_three_readers(tmp_path, two_readers):
    third = write(tmp_path / 'reader_c.json', build_reader(READER_A))
    report = compute_agreement(load_readers(two_readers + [third]))
    ratings = np.array([[1, 1, 1], [1, 0, 1], [0, 0, 0], [0, 0, 0], [1, 1, 1],
                        [0, 0, 0], [0, 1, 0], [0, 0, 0]])
    assert report.kappa_name == "Fleiss' kappa"
    assert group(report, 'all', 'all').statistics['image_kappa'].value == \
        pytest.approx(fleiss_kappa(aggregate_raters(ratings)[0]))
    # three reader pairs: A-B 2 of 4 + 3, A-C 4 of 4 + 4, B-C 2 of 3 + 4
    assert group(report, 'all', 'all').statistics['lesion_agreement'].value \
        == pytest.approx(2 * 8 / 22)


def test_settings_are_checked():
    with pytest.raises(ValueError, match='hit_criterion'):
        AgreementSettings(hit_criterion='dice')
    with pytest.raises(ValueError, match='band_scale'):
        AgreementSettings(band_scale='custom')
