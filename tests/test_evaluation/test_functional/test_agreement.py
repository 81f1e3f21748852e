"""Agreement statistics against hand-worked tables, published values and
the kept libraries (scikit-learn, statsmodels, pycocotools)."""
import numpy as np
import pytest
from pycocotools import mask as mask_utils
from scipy.stats import t as t_distribution
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import (aggregate_raters, cohens_kappa,
                                           fleiss_kappa)

from mmdet_famo.evaluation.functional.agreement import (
    agreement_band, cluster_jackknife_interval, icc_two_way_random, kappa,
    kappa_features, kappa_from_sums, mask_overlap, percent_agreement,
    segmentation_rle, specific_agreement)


def ratings_from_table(table):
    """Two readers' 0/1 ratings with the 2 x 2 table ``table[a][b]``."""
    rows = []
    for a in (0, 1):
        for b in (0, 1):
            rows += [(a, b)] * table[a][b]
    return np.array(rows)


def correlated_ratings(rng,
                       num_items,
                       num_readers,
                       prevalence=0.4,
                       agreement=0.7):
    first = (rng.random(num_items) < prevalence).astype(int)
    others = (rng.random((num_items, num_readers - 1)) < prevalence)
    keep = rng.random((num_items, num_readers - 1)) < agreement
    return np.column_stack([first, np.where(keep, first[:, None], others)])


def test_cohen_kappa_of_a_2x2_table_worked_by_hand():
    # 20 both negative, 5 A-/B+, 10 A+/B-, 15 both positive (n = 50):
    # p_o = 35/50 = 0.7; A positive 25/50, B positive 20/50;
    # p_e = 0.5 * 0.4 + 0.5 * 0.6 = 0.5; kappa = (0.7 - 0.5) / 0.5 = 0.4
    ratings = ratings_from_table([[20, 5], [10, 15]])
    assert percent_agreement(ratings) == (35, 50)
    assert kappa(ratings) == pytest.approx(0.4)
    sums = kappa_features(ratings).sum(axis=0)
    np.testing.assert_array_equal(sums, [20, 5, 10, 15])
    assert kappa_from_sums(sums, 2) == pytest.approx(0.4)


def test_fleiss_kappa_of_three_readers_worked_by_hand():
    # positives per item 3, 0, 2, 1: agreeing reader pairs 3, 3, 1, 1 of 3
    # each, P = 8/12 = 2/3; p = 6/12, P_e = 1/2; kappa = (2/3 - 1/2) / (1/2)
    ratings = np.array([[1, 1, 1], [0, 0, 0], [1, 1, 0], [0, 0, 1]])
    assert kappa(ratings) == pytest.approx(1 / 3)
    assert kappa_from_sums(kappa_features(ratings).sum(0), 3) == \
        pytest.approx(1 / 3)
    assert percent_agreement(ratings) == (2, 4)


@pytest.mark.parametrize('seed', range(5))
def test_kappa_equals_sklearn_and_statsmodels(seed):
    rng = np.random.default_rng(seed)
    two = correlated_ratings(rng, 60, 2)
    assert kappa(two) == pytest.approx(cohen_kappa_score(two[:, 0], two[:, 1]))
    table = np.histogram2d(two[:, 0], two[:, 1], bins=2)[0]
    assert kappa(two) == pytest.approx(cohens_kappa(table).kappa)
    assert kappa_from_sums(kappa_features(two).sum(0), 2) == \
        pytest.approx(kappa(two))
    for num_readers in (3, 5):
        many = correlated_ratings(rng, 60, num_readers)
        reference = fleiss_kappa(aggregate_raters(many, n_cat=2)[0])
        assert kappa(many) == pytest.approx(reference)
        assert kappa_from_sums(kappa_features(many).sum(0), num_readers) \
            == pytest.approx(reference)


def test_kappa_is_nan_when_every_rating_is_the_same():
    assert np.isnan(kappa(np.zeros((5, 2), int)))
    assert np.isnan(kappa(np.ones((5, 3), int)))
    assert np.isnan(
        kappa_from_sums(kappa_features(np.ones((5, 2), int)).sum(0), 2))
    with pytest.raises(ValueError, match='0 or 1'):
        kappa(np.array([[0, 2], [1, 1]]))
    with pytest.raises(ValueError, match='at least 2 readers'):
        kappa(np.zeros((4, 1), int))


def test_icc_against_shrout_and_fleiss_1979():
    # Shrout & Fleiss (1979), Psychol. Bull. 86:420, Table 2: 6 targets,
    # 4 judges. Their Table 3: BMS 11.24, JMS 32.49, EMS 1.02; Table 4:
    # ICC(2,1) = .29. The interval [0.019, 0.76] is R psych::ICC's on the
    # same data (its documented example).
    ratings = np.array([[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6],
                        [10, 5, 6, 9], [6, 2, 4, 7]])
    icc = icc_two_way_random(ratings)
    assert icc.ms_targets == pytest.approx(11.24, abs=0.005)
    assert icc.ms_raters == pytest.approx(32.49, abs=0.005)
    assert icc.ms_error == pytest.approx(1.02, abs=0.005)
    assert icc.value == pytest.approx(0.29, abs=0.005)
    assert icc.ci_low == pytest.approx(0.019, abs=0.0005)
    assert icc.ci_high == pytest.approx(0.76, abs=0.005)


def test_icc_worked_by_hand():
    # targets (1, 2, 3) rated (1, 2, 3) and (2, 3, 4): grand mean 2.5,
    # SS targets = 2 * (1 + 0 + 1) = 4, MS 2; SS raters = 3 * 2 * 0.25 =
    # 1.5, MS 1.5; SS total = 5.5, SS error 0;
    # ICC = (2 - 0) / (2 + 0 + 2 * 1.5 / 3) = 2/3
    icc = icc_two_way_random(np.array([[1, 2], [2, 3], [3, 4]]))
    assert icc.value == pytest.approx(2 / 3)
    assert icc_two_way_random(np.array([[1, 1], [3, 3], [0, 0]])).value == \
        pytest.approx(1.)
    assert np.isnan(icc_two_way_random(np.zeros((4, 2))).value)
    assert np.isnan(icc_two_way_random(np.ones((1, 3))).value)


def test_icc_interval_holds_the_estimate():
    rng = np.random.default_rng(0)
    truth = rng.poisson(1.0, 40)
    ratings = np.column_stack([truth, truth + rng.integers(-1, 2, 40),
                               truth]).clip(0)
    icc = icc_two_way_random(ratings)
    assert icc.ci_low < icc.value < icc.ci_high


def test_specific_agreement():
    # 3 matched pairs, reader A outlined 4 fractures and reader B 5
    assert specific_agreement(3, 4 + 5) == pytest.approx(6 / 9)
    assert np.isnan(specific_agreement(0, 0))


def square_rle(x, y, size, shape=(12, 12)):
    mask = np.zeros(shape, np.uint8)
    mask[y:y + size, x:x + size] = 1
    return mask_utils.encode(np.asfortranarray(mask))


def test_dice_and_iou_of_hand_made_masks():
    # two 4 x 4 squares offset by 2 px in x: 8 px in common, 24 in the union
    overlap = mask_overlap(square_rle(1, 1, 4), square_rle(3, 1, 4))
    assert overlap.intersection == 8
    assert overlap.dice == pytest.approx(2 * 8 / (16 + 16))
    assert overlap.iou == pytest.approx(8 / 24)
    same = mask_overlap(square_rle(1, 1, 4), square_rle(1, 1, 4))
    assert (same.dice, same.iou) == (1., 1.)
    apart = mask_overlap(square_rle(0, 0, 3), square_rle(6, 6, 3))
    assert (apart.dice, apart.iou) == (0., 0.)


def test_segmentation_rle_reads_polygons_and_both_rle_forms():
    mask = np.zeros((12, 10), np.uint8)
    mask[2:6, 3:9] = 1
    compressed = mask_utils.encode(np.asfortranarray(mask))
    as_text = dict(compressed, counts=compressed['counts'].decode('ascii'))
    # uncompressed RLE: column-major run lengths, starting with 0s
    flat = mask.ravel(order='F')
    changes = np.flatnonzero(np.diff(flat)) + 1
    runs = np.diff(np.r_[0, changes, flat.size]).tolist()
    if flat[0]:
        runs.insert(0, 0)
    uncompressed = dict(size=[12, 10], counts=runs)
    for segmentation in (compressed, as_text, uncompressed):
        rle = segmentation_rle(segmentation, 12, 10)
        np.testing.assert_array_equal(mask_utils.decode(rle), mask)
    polygon = segmentation_rle([[3, 2, 9, 2, 9, 6, 3, 6]], 12, 10)
    assert mask_overlap(polygon, compressed).iou > 0.7
    with pytest.raises(ValueError, match='differs from the image size'):
        segmentation_rle(compressed, 10, 12)
    with pytest.raises(ValueError, match='neither polygons nor RLE'):
        segmentation_rle('nonsense', 12, 10)


def test_cluster_jackknife_against_a_hand_loop_over_sklearn():
    rng = np.random.default_rng(3)
    ratings = correlated_ratings(rng, 48, 2)
    clusters = np.repeat(np.arange(16), 3)
    interval = cluster_jackknife_interval(
        kappa_features(ratings), clusters,
        lambda sums: kappa_from_sums(sums, 2))
    estimate = cohen_kappa_score(ratings[:, 0], ratings[:, 1])
    left_out = np.array(
        [cohen_kappa_score(*ratings[clusters != c].T) for c in range(16)])
    std_error = np.sqrt(15 / 16 * ((left_out - left_out.mean())**2).sum())
    half_width = t_distribution.ppf(0.975, 15) * std_error
    assert interval.std_error == pytest.approx(std_error)
    assert interval.ci_low == pytest.approx(estimate - half_width)
    assert interval.ci_high == pytest.approx(min(estimate + half_width, 1.))
    assert interval.num_clusters == 16


def test_cluster_jackknife_is_close_to_the_analytic_interval():
    # independent items, large n: the jackknife and statsmodels' asymptotic
    # standard error of Cohen's kappa agree closely
    ratings = correlated_ratings(np.random.default_rng(5), 600, 2)
    interval = cluster_jackknife_interval(
        kappa_features(ratings), np.arange(600),
        lambda sums: kappa_from_sums(sums, 2))
    analytic = cohens_kappa(np.histogram2d(*ratings.T, bins=2)[0])
    assert interval.std_error == pytest.approx(analytic.std_kappa, rel=0.1)


def test_cluster_jackknife_undefined_cases():
    ratings = np.array([[1, 1], [0, 0], [0, 0], [1, 0]])
    statistic = lambda sums: kappa_from_sums(sums, 2)  # noqa: E731
    one_cluster = cluster_jackknife_interval(kappa_features(ratings), [0] * 4,
                                             statistic)
    assert np.isnan(one_cluster.ci_low) and one_cluster.num_clusters == 1
    # leaving out the only case with positives leaves kappa undefined
    undefined = cluster_jackknife_interval(kappa_features(ratings),
                                           [0, 1, 1, 0], statistic)
    assert np.isnan(undefined.ci_low)


@pytest.mark.parametrize('value,scale,band',
                         [(0.39, 'cicchetti', 'poor'),
                          (0.40, 'cicchetti', 'fair'),
                          (0.6, 'cicchetti', 'good'),
                          (0.75, 'cicchetti', 'excellent'),
                          (-0.2, 'cicchetti', 'poor'),
                          (-0.01, 'landis-koch', 'poor'),
                          (0.1, 'landis-koch', 'slight'),
                          (0.5, 'landis-koch', 'moderate'),
                          (0.7, 'landis-koch', 'substantial'),
                          (0.81, 'landis-koch', 'almost perfect'),
                          (float('nan'), 'cicchetti', '')])
def test_agreement_bands(value, scale, band):
    assert agreement_band(value, scale) == band
