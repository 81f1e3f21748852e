"""Agreement between readers: kappa, intraclass correlation, specific
agreement, mask overlap, and the cluster jackknife of their intervals.

The paper checks its gold standard before using it (Methods, "Data
labeling", Table 6): two radiologists' labels agreed excellently in most
body parts, fairly to well at the elbow. These are the statistics behind
such a table, for binary ratings (fracture present or not) by two or more
readers, counts of fractures per image and matched outlines.

Point estimates of kappa come from the kept libraries (scikit-learn's
``cohen_kappa_score``, statsmodels' ``fleiss_kappa``). Their intervals, and
those of specific agreement and mean Dice, come from a jackknife that leaves
out one whole cluster at a time (a case: the views of one study are not
independent), computed on per-item count features; the closed forms used on
the summed counts are tested to equal the libraries.
"""
from typing import Callable, Dict, NamedTuple, Sequence, Tuple

import numpy as np
from pycocotools import mask as mask_utils
from scipy.stats import f as f_distribution
from scipy.stats import t as t_distribution
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import aggregate_raters, fleiss_kappa

NAN = float('nan')

#: Interpretation bands of kappa and ICC: (lower bound, name), ascending.
#: Cicchetti (1994), Psychol. Assess. 6:284, is the scale whose words the
#: paper uses ("excellent", "fair to good"); Landis & Koch (1977),
#: Biometrics 33:159, the other common one.
AGREEMENT_BANDS: Dict[str, Tuple[Tuple[float, str], ...]] = {
    'cicchetti':
    ((-np.inf, 'poor'), (0.40, 'fair'), (0.60, 'good'), (0.75, 'excellent')),
    'landis-koch':
    ((-np.inf, 'poor'), (0.0, 'slight'), (0.21, 'fair'), (0.41, 'moderate'),
     (0.61, 'substantial'), (0.81, 'almost perfect')),
}
#: Full names of the scales, for reports.
BAND_SCALE_NAMES = {
    'cicchetti': 'Cicchetti (1994)',
    'landis-koch': 'Landis and Koch (1977)'
}


def agreement_band(value: float, scale: str = 'cicchetti') -> str:
    """The name of the band of :data:`AGREEMENT_BANDS` ``[scale]`` that
    holds ``value`` (a kappa or an ICC); '' for nan."""
    if scale not in AGREEMENT_BANDS:
        raise ValueError(f'scale must be one of {sorted(AGREEMENT_BANDS)}, '
                         f'got {scale!r}')
    if np.isnan(value):
        return ''
    name = ''
    for lower, band in AGREEMENT_BANDS[scale]:
        if value >= lower:
            name = band
    return name


def _binary_ratings(ratings: np.ndarray) -> np.ndarray:
    """(n items, R readers) ratings as a checked int array of 0 and 1."""
    ratings = np.asarray(ratings)
    if ratings.ndim != 2 or ratings.shape[1] < 2:
        raise ValueError('ratings must be (items, readers) with at least 2 '
                         f'readers, got shape {ratings.shape}')
    if not np.isin(ratings, (0, 1)).all():
        raise ValueError('ratings must be 0 or 1')
    return ratings.astype(int)


def percent_agreement(ratings: np.ndarray) -> Tuple[int, int]:
    """Items on which every reader gives the same rating.

    Args:
        ratings (np.ndarray): (n, R) 0/1 ratings of n items by R readers.

    Returns:
        tuple[int, int]: The number of such items and n (a binomial
        proportion; see ``proportion_confidence_interval``).
    """
    ratings = _binary_ratings(ratings)
    unanimous = (ratings == ratings[:, :1]).all(axis=1)
    return int(unanimous.sum()), len(ratings)


def kappa(ratings: np.ndarray) -> float:
    """Chance-corrected agreement of binary ratings: Cohen's kappa for two
    readers (``sklearn.metrics.cohen_kappa_score``), Fleiss' kappa for more
    (``statsmodels.stats.inter_rater.fleiss_kappa``).

    Args:
        ratings (np.ndarray): (n, R) 0/1 ratings of n items by R readers.

    Returns:
        float: Kappa; nan when it is undefined (no item, or every rating
        the same: chance agreement is then 1).
    """
    ratings = _binary_ratings(ratings)
    if len(ratings) == 0 or (ratings == ratings.flat[0]).all():
        return NAN
    if ratings.shape[1] == 2:
        return float(
            cohen_kappa_score(ratings[:, 0], ratings[:, 1], labels=[0, 1]))
    table, _ = aggregate_raters(ratings, n_cat=2)
    return float(fleiss_kappa(table, method='fleiss'))


def kappa_features(ratings: np.ndarray) -> np.ndarray:
    """Per-item counts from which :func:`kappa_from_sums` computes kappa:
    summed over any subset of the items they give its kappa.

    Two readers: the item's cell of the 2 x 2 table, one-hot
    ``(n00, n01, n10, n11)``. More: ``(1, positives, pairs of readers that
    agree)``.

    Args:
        ratings (np.ndarray): (n, R) 0/1 ratings.

    Returns:
        np.ndarray: (n, 4) or (n, 3) float counts.
    """
    ratings = _binary_ratings(ratings)
    num_readers = ratings.shape[1]
    if num_readers == 2:
        return np.eye(4)[2 * ratings[:, 0] + ratings[:, 1]]
    positives = ratings.sum(axis=1)
    negatives = num_readers - positives
    agreeing_pairs = (positives * (positives - 1) + negatives *
                      (negatives - 1)) / 2
    return np.stack([np.ones(len(ratings)), positives, agreeing_pairs],
                    axis=1).astype(np.float64)


def kappa_from_sums(sums: np.ndarray, num_readers: int) -> np.ndarray:
    """Kappa from summed :func:`kappa_features`, vectorised over subsets.

    Cohen: ``(p_o - p_e) / (1 - p_e)`` with ``p_e`` from each reader's own
    marginals. Fleiss: ``(P - P_e) / (1 - P_e)``, ``P`` the share of
    agreeing reader pairs, ``P_e = p^2 + (1 - p)^2`` from the pooled share
    of positive ratings ``p``.

    Args:
        sums (np.ndarray): (..., F) summed features, one row per subset.
        num_readers (int): R.

    Returns:
        np.ndarray: (...) kappas; nan where undefined (``p_e = 1``).
    """
    sums = np.asarray(sums, dtype=np.float64)
    with np.errstate(divide='ignore', invalid='ignore'):
        if num_readers == 2:
            total = sums.sum(axis=-1)
            n00, n01, n10, n11 = np.moveaxis(sums, -1, 0) / total
            observed = n00 + n11
            first, second = n10 + n11, n01 + n11
            expected = first * second + (1 - first) * (1 - second)
        else:
            items, positives, agreeing_pairs = np.moveaxis(sums, -1, 0)
            observed = agreeing_pairs / (items * num_readers *
                                         (num_readers - 1) / 2)
            share = positives / (items * num_readers)
            expected = share**2 + (1 - share)**2
        undefined = ~(expected < 1 - 1e-12)
        return np.where(undefined, np.nan,
                        (observed - expected) / (1 - expected))


def specific_agreement(matched_pairs: int, instances: int) -> float:
    """Proportion of specific (positive) agreement on lesions,
    ``2 * matched / (n_A + n_B)``: the F1 score of one reader's outlines
    against the other's, symmetric in the two.

    Args:
        matched_pairs (int): Pairs of instances matched between readers
            (summed over reader pairs for more than two readers).
        instances (int): ``n_A + n_B``, every instance of each reader of
            the pair(s).

    Returns:
        float: In [0, 1]; nan when neither reader outlined anything.
    """
    return 2 * matched_pairs / instances if instances else NAN


class MaskOverlap(NamedTuple):
    """Overlap of two instance masks, in pixels and as ratios."""
    dice: float
    iou: float
    intersection: float
    area_a: float
    area_b: float


def mask_overlap(rle_a: dict, rle_b: dict) -> MaskOverlap:
    """Dice ``2|A n B| / (|A| + |B|)`` and IoU ``|A n B| / |A u B|`` of two
    COCO RLE masks of one image (pycocotools; see
    :func:`segmentation_rle`).

    Returns:
        MaskOverlap: Dice and IoU are 0 when both masks are empty.
    """
    intersection = float(
        mask_utils.area(mask_utils.merge([rle_a, rle_b], intersect=True)))
    area_a, area_b = float(mask_utils.area(rle_a)), float(
        mask_utils.area(rle_b))
    union = area_a + area_b - intersection
    return MaskOverlap(dice=2 * intersection /
                       (area_a + area_b) if union else 0.,
                       iou=intersection / union if union else 0.,
                       intersection=intersection,
                       area_a=area_a,
                       area_b=area_b)


def segmentation_rle(segmentation, height: int, width: int) -> dict:
    """One COCO RLE of a COCO segmentation: polygons (merged), uncompressed
    RLE (list counts) or compressed RLE (string or bytes counts).

    Raises:
        ValueError: If it is none of these or its size is not the image's.
    """
    if isinstance(segmentation, list):
        if not segmentation:
            raise ValueError('empty polygon list')
        return mask_utils.merge(
            mask_utils.frPyObjects(segmentation, height, width))
    if not isinstance(segmentation, dict) or 'counts' not in segmentation:
        raise ValueError('segmentation is neither polygons nor RLE')
    if list(segmentation.get('size', ())) != [height, width]:
        raise ValueError(f'RLE size {segmentation.get("size")} differs from '
                         f'the image size {[height, width]}')
    if isinstance(segmentation['counts'], list):
        return mask_utils.frPyObjects(segmentation, height, width)
    return segmentation


class IntraclassCorrelation(NamedTuple):
    """ICC(2,1) of an (n targets, k raters) table, with its mean squares."""
    value: float
    ci_low: float
    ci_high: float
    ms_targets: float  #: between-targets mean square (BMS)
    ms_raters: float  #: between-raters mean square (JMS)
    ms_error: float  #: residual mean square (EMS)


def icc_two_way_random(
        ratings: np.ndarray,
        confidence_level: float = 0.95) -> IntraclassCorrelation:
    """ICC(2,1): two-way random effects, absolute agreement, one rater
    (Shrout & Fleiss 1979, Psychol. Bull. 86:420; McGraw & Wong 1996's
    ICC(A,1)), from the two-way ANOVA without replication::

        ICC = (BMS - EMS) / (BMS + (k - 1) EMS + k (JMS - EMS) / n)

    with the interval of Shrout & Fleiss (their eq. 6, Satterthwaite's
    degrees of freedom ``v``, F quantiles at ``(n - 1, v)``).

    Args:
        ratings (np.ndarray): (n, k) ratings (e.g. fracture counts) of n
            targets by the same k raters, no missing values.
        confidence_level (float): Defaults to 0.95.

    Returns:
        IntraclassCorrelation: nan value and bounds when fewer than 2
        targets, or when every rating is the same (no variance).
    """
    ratings = np.asarray(ratings, dtype=np.float64)
    if ratings.ndim != 2 or ratings.shape[1] < 2:
        raise ValueError('ratings must be (targets, raters) with at least 2 '
                         f'raters, got shape {ratings.shape}')
    num_targets, num_raters = ratings.shape
    if num_targets < 2 or np.ptp(ratings) == 0:
        return IntraclassCorrelation(*[NAN] * 6)
    grand_mean = ratings.mean()
    ss_targets = num_raters * ((ratings.mean(axis=1) - grand_mean)**2).sum()
    ss_raters = num_targets * ((ratings.mean(axis=0) - grand_mean)**2).sum()
    ss_error = ((ratings - grand_mean)**2).sum() - ss_targets - ss_raters
    ms_targets = ss_targets / (num_targets - 1)
    ms_raters = ss_raters / (num_raters - 1)
    ms_error = max(ss_error, 0.) / ((num_targets - 1) * (num_raters - 1))
    n, k = num_targets, num_raters
    icc = (ms_targets - ms_error) / (ms_targets + (k - 1) * ms_error + k *
                                     (ms_raters - ms_error) / n)

    alpha = 1 - confidence_level
    raters_f = ms_raters / ms_error if ms_error > 0 else np.inf
    if icc >= 1 or not np.isfinite(raters_f):
        low = high = float(icc)
    else:
        spread = n * (1 + (k - 1) * icc) - k * icc
        dof = ((k - 1) * (n - 1) * (k * icc * raters_f + spread)**2 /
               ((n - 1) * k**2 * icc**2 * raters_f**2 + spread**2))
        f_upper = f_distribution.ppf(1 - alpha / 2, n - 1, dof)
        f_lower = f_distribution.ppf(1 - alpha / 2, dof, n - 1)
        common = k * ms_raters + (k * n - k - n) * ms_error
        low = n * (ms_targets - f_upper * ms_error) / (f_upper * common +
                                                       n * ms_targets)
        high = n * (f_lower * ms_targets -
                    ms_error) / (common + n * f_lower * ms_targets)
    return IntraclassCorrelation(float(icc), float(low), float(high),
                                 float(ms_targets), float(ms_raters),
                                 float(ms_error))


class JackknifeInterval(NamedTuple):
    """A delete-one-cluster jackknife interval."""
    ci_low: float
    ci_high: float
    std_error: float
    num_clusters: int


def cluster_jackknife_interval(
    features: np.ndarray,
    clusters: Sequence,
    statistic: Callable[[np.ndarray], np.ndarray],
    confidence_level: float = 0.95,
    bounds: Tuple[float, float] = (-1., 1.)
) -> JackknifeInterval:
    """Interval of a statistic of summed per-item features from the
    delete-one-cluster jackknife (Fleiss and Davies 1982 for kappa).

    The statistic is recomputed with each cluster (case) left out in turn;
    with C clusters and leave-one-out values ``t_c`` of mean ``t``, the
    standard error is ``sqrt((C - 1) / C * sum (t_c - t)^2)`` and the
    interval ``estimate -/+ t_(C-1) quantile * SE``, clipped to ``bounds``.
    Unlike a percentile bootstrap it always holds the estimate, and it needs
    no resample in which kappa is undefined (all ratings alike) to be
    dropped, which biases small groups.

    Args:
        features (np.ndarray): (n, F) per-item features.
        clusters (Sequence): (n, ) cluster label of each item (the case).
        statistic (Callable): (B, F) sums to (B, ) values, nan where
            undefined.
        confidence_level (float): Defaults to 0.95.
        bounds (tuple[float, float]): Range of the statistic.

    Returns:
        JackknifeInterval: nan bounds with fewer than 2 clusters or when
        leaving out some cluster leaves the statistic undefined.
    """
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or len(features) != len(clusters):
        raise ValueError('features must be (n, F) with one cluster label '
                         f'per row, got {features.shape} and '
                         f'{len(clusters)} labels')
    if len(features) == 0:
        return JackknifeInterval(NAN, NAN, NAN, 0)
    _, cluster_index = np.unique(np.asarray(clusters), return_inverse=True)
    num_clusters = int(cluster_index.max()) + 1
    cluster_sums = np.zeros((num_clusters, features.shape[1]))
    np.add.at(cluster_sums, cluster_index, features)
    total = cluster_sums.sum(axis=0)
    estimate = float(np.asarray(statistic(total[None]))[0])
    if num_clusters < 2 or np.isnan(estimate):
        return JackknifeInterval(NAN, NAN, NAN, num_clusters)
    left_out = np.asarray(statistic(total[None] - cluster_sums), np.float64)
    if not np.isfinite(left_out).all():
        return JackknifeInterval(NAN, NAN, NAN, num_clusters)
    std_error = float(
        np.sqrt((num_clusters - 1) / num_clusters *
                ((left_out - left_out.mean())**2).sum()))
    half_width = t_distribution.ppf(0.5 + confidence_level / 2,
                                    num_clusters - 1) * std_error
    return JackknifeInterval(float(np.clip(estimate - half_width, *bounds)),
                             float(np.clip(estimate + half_width, *bounds)),
                             std_error, num_clusters)
