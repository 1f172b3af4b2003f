"""Top-k ranking metrics and the scorers that wrap them.

Every metric takes ``y_true``, a users x items matrix of held-out interactions
(any stored positive value counts as relevant), and ``ranked``, an
``(n_users, k)`` integer array of recommended item indices, best first, as
returned by ``predict``; ``-1`` marks an empty slot (a user with fewer
candidates than ``k``) and counts as a miss. Definitions follow the CFGAN
paper's evaluation (Chae et al., CIKM 2018), with binary relevance:

- precision@k = hits / k (empty slots included in ``k``);
- recall@k = ``hits / |truth|``;
- NDCG@k = DCG / IDCG, where DCG sums ``1 / log2(rank + 1)`` over the hits
  (ranks from 1) and IDCG is the DCG of ``min(k, |truth|)`` hits in a row;
- MRR@k = 1 / rank of the first hit, 0 without a hit;
- hit rate@k = 1 if there is a hit, else 0.

Per-user values are averaged over the users that have at least one held-out
item; the others are left out (not counted as 0), and the average is NaN,
with an :class:`~sklearn.exceptions.UndefinedMetricWarning`, when no user has
one.

Metrics beyond accuracy look at the recommendations alone (and at the
training data for popularity): catalogue coverage, intra-list diversity,
novelty and popularity bias (average recommended popularity, long-tail share,
Gini of exposure). An item's popularity is the number of training users with
a real interaction with it (generated feedback does not count).
"""

import numbers
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.preprocessing import normalize
from sklearn.utils import check_array

from ._validation import as_interactions, real_interactions

__all__ = [
    "precision_at_k",
    "recall_at_k",
    "ndcg_at_k",
    "mrr_at_k",
    "hit_rate_at_k",
    "ranking_metric_per_user",
    "catalogue_coverage",
    "intra_list_diversity",
    "novelty",
    "average_recommendation_popularity",
    "long_tail_share",
    "exposure_gini",
    "beyond_accuracy_metrics",
    "ranking_metrics",
    "make_ranking_scorer",
    "get_ranking_scorer",
    "RANKING_METRICS",
]


def _check_positive_int(value, name):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be a positive integer, got {value!r}.")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}.")
    return int(value)


def _check_ranked(ranked, n_items):
    """Validate ``ranked`` against a catalogue of ``n_items`` items."""
    ranked = np.asarray(ranked)
    if ranked.ndim != 2 or ranked.shape[1] == 0:
        raise ValueError(
            "ranked must be a 2-D (n_users, k) array of item indices with k >= 1, "
            f"got shape {ranked.shape}."
        )
    if not np.issubdtype(ranked.dtype, np.integer):
        raise TypeError(f"ranked must hold integer item indices, got dtype {ranked.dtype}.")
    if ranked.size and (ranked.min() < -1 or ranked.max() >= n_items):
        raise ValueError(
            f"ranked holds item indices outside [0, {n_items}), the catalogue of "
            f"{n_items} items; -1 is the only padding value allowed."
        )
    # A ranking lists an item once; a repeated item would count one held-out
    # item twice and push precision or recall above 1.
    ordered = np.sort(ranked, axis=1)
    if ((ordered[:, 1:] == ordered[:, :-1]) & (ordered[:, 1:] >= 0)).any():
        raise ValueError("ranked lists the same item more than once in a row.")
    return ranked.astype(np.intp, copy=False)


def _check_cutoff(k, n_ranked):
    """``k`` validated against the ``n_ranked`` columns of ``ranked``."""
    if k is None:
        return n_ranked
    k = _check_positive_int(k, "k")
    if k > n_ranked:
        raise ValueError(
            f"k={k} is larger than the {n_ranked} columns of ranked: ask the "
            f"recommender for at least {k} items."
        )
    return k


def _check_ranking(y_true, ranked):
    """Validated ``y_true`` (canonical CSR, possibly the caller's) and ``ranked``."""
    # as_interactions rejects NaN, infinite and negative values and drops
    # explicit zeros and duplicates on a copy, never on the caller's matrix.
    y_true = as_interactions(y_true, name="y_true")
    ranked = _check_ranked(ranked, y_true.shape[1])
    if ranked.shape[0] != y_true.shape[0]:
        raise ValueError(
            f"y_true has {y_true.shape[0]} users (rows) but ranked has "
            f"{ranked.shape[0]} rows: both must list the same users in the same order."
        )
    return y_true, ranked


def _hits(y_true, ranked):
    """Boolean ``ranked.shape`` matrix: is the item at each rank held out?"""
    n_users, n_items = y_true.shape
    # One int64 key per (user, item) pair turns the lookup into a set test.
    rows = np.repeat(np.arange(n_users, dtype=np.int64), np.diff(y_true.indptr))
    truth = rows * n_items + y_true.indices
    query = np.arange(n_users, dtype=np.int64)[:, None] * n_items + ranked
    # A -1 slot's key is the previous user's last item: mask it explicitly.
    return np.isin(query, truth) & (ranked >= 0)


def _per_user(y_true, ranked, k):
    """Metric values of the users with a held-out item, at cut-off ``k``."""
    n_true = np.diff(y_true.indptr)
    evaluated = n_true > 0
    hits = _hits(y_true, ranked[:, :k])[evaluated]
    n_true = n_true[evaluated]
    n_hits = hits.sum(axis=1)
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    ideal = np.concatenate([[0.0], np.cumsum(discounts)])[np.minimum(n_true, k)]
    first = hits.argmax(axis=1)  # rank - 1 of the first hit, where there is one
    has_hit = n_hits > 0
    return {
        "precision": n_hits / k,
        "recall": n_hits / n_true,
        "ndcg": (hits @ discounts) / ideal,
        "mrr": np.where(has_hit, 1.0 / (first + 1), 0.0),
        "hit_rate": has_hit.astype(np.float64),
    }


def _warn_if_undefined(y_true):
    if not y_true.nnz:
        warnings.warn(
            "No user has a held-out item in y_true: ranking metrics are undefined "
            "and NaN is returned.",
            UndefinedMetricWarning,
            stacklevel=3,
        )
        return True
    return False


def _average(name, y_true, ranked, k):
    y_true, ranked = _check_ranking(y_true, ranked)
    k = _check_cutoff(k, ranked.shape[1])
    if _warn_if_undefined(y_true):
        return float("nan")
    return float(_per_user(y_true, ranked, k)[name].mean())


def precision_at_k(y_true, ranked, k=None):
    """Share of the top-k recommendations that are held-out items: hits / k.

    Empty slots (``-1``) count as misses, so a user with fewer than ``k``
    candidates cannot reach a precision of 1.

    Parameters
    ----------
    y_true : {array-like, sparse matrix} of shape (n_users, n_items)
        Held-out interactions; every stored positive value is a relevant item.
    ranked : array-like of int, shape (n_users, n_ranked)
        Recommended item indices per user, best first; ``-1`` marks an empty
        slot. Each item appears at most once per row.
    k : int, default=None
        Cut-off, at most ``n_ranked``; ``n_ranked`` when None.

    Returns
    -------
    score : float
        Mean over the users with at least one held-out item, in [0, 1]; NaN
        (with an ``UndefinedMetricWarning``) when no user has one.
    """
    return _average("precision", y_true, ranked, k)


def recall_at_k(y_true, ranked, k=None):
    """Share of a user's held-out items found in the top k: ``hits / |truth|``.

    A user with more than ``k`` held-out items cannot reach a recall of 1.

    Parameters
    ----------
    y_true : {array-like, sparse matrix} of shape (n_users, n_items)
        Held-out interactions; every stored positive value is a relevant item.
    ranked : array-like of int, shape (n_users, n_ranked)
        Recommended item indices per user, best first; ``-1`` marks an empty
        slot. Each item appears at most once per row.
    k : int, default=None
        Cut-off, at most ``n_ranked``; ``n_ranked`` when None.

    Returns
    -------
    score : float
        Mean over the users with at least one held-out item, in [0, 1]; NaN
        (with an ``UndefinedMetricWarning``) when no user has one.
    """
    return _average("recall", y_true, ranked, k)


def ndcg_at_k(y_true, ranked, k=None):
    """Normalised discounted cumulative gain at k, with binary relevance.

    DCG sums ``1 / log2(rank + 1)`` over the hits (ranks from 1); the ideal DCG
    is that of ``min(k, |truth|)`` hits at the top, so a user with fewer
    held-out items than ``k`` scores 1 when all of them come first.

    Parameters
    ----------
    y_true : {array-like, sparse matrix} of shape (n_users, n_items)
        Held-out interactions; every stored positive value is a relevant item.
    ranked : array-like of int, shape (n_users, n_ranked)
        Recommended item indices per user, best first; ``-1`` marks an empty
        slot. Each item appears at most once per row.
    k : int, default=None
        Cut-off, at most ``n_ranked``; ``n_ranked`` when None.

    Returns
    -------
    score : float
        Mean over the users with at least one held-out item, in [0, 1]; NaN
        (with an ``UndefinedMetricWarning``) when no user has one.
    """
    return _average("ndcg", y_true, ranked, k)


def mrr_at_k(y_true, ranked, k=None):
    """Reciprocal rank of the first held-out item in the top k (0 without one).

    Parameters
    ----------
    y_true : {array-like, sparse matrix} of shape (n_users, n_items)
        Held-out interactions; every stored positive value is a relevant item.
    ranked : array-like of int, shape (n_users, n_ranked)
        Recommended item indices per user, best first; ``-1`` marks an empty
        slot. Each item appears at most once per row.
    k : int, default=None
        Cut-off, at most ``n_ranked``; ``n_ranked`` when None.

    Returns
    -------
    score : float
        Mean over the users with at least one held-out item, in [0, 1]; NaN
        (with an ``UndefinedMetricWarning``) when no user has one.
    """
    return _average("mrr", y_true, ranked, k)


def hit_rate_at_k(y_true, ranked, k=None):
    """Share of users with at least one held-out item in their top k.

    Parameters
    ----------
    y_true : {array-like, sparse matrix} of shape (n_users, n_items)
        Held-out interactions; every stored positive value is a relevant item.
    ranked : array-like of int, shape (n_users, n_ranked)
        Recommended item indices per user, best first; ``-1`` marks an empty
        slot. Each item appears at most once per row.
    k : int, default=None
        Cut-off, at most ``n_ranked``; ``n_ranked`` when None.

    Returns
    -------
    score : float
        Mean over the users with at least one held-out item, in [0, 1]; NaN
        (with an ``UndefinedMetricWarning``) when no user has one.
    """
    return _average("hit_rate", y_true, ranked, k)


def ranking_metric_per_user(y_true, ranked, k=None, metric="ndcg"):
    """One ranking metric's value for every user, NaN where it is undefined.

    The values that :func:`ndcg_at_k` and the other ``*_at_k`` functions
    average, one per row, so that they can be grouped (by user attributes,
    activity: :mod:`sklearn_agn.fairness`), compared user by user between two
    models, or averaged with weights.

    Parameters
    ----------
    y_true : {array-like, sparse matrix} of shape (n_users, n_items)
        Held-out interactions; every stored positive value is a relevant item.
    ranked : array-like of int, shape (n_users, n_ranked)
        Recommended item indices per user, best first; ``-1`` marks an empty
        slot. Each item appears at most once per row.
    k : int, default=None
        Cut-off, at most ``n_ranked``; ``n_ranked`` when None.
    metric : {"precision", "recall", "ndcg", "mrr", "hit_rate"}, default="ndcg"
        Name of the metric, a key of :data:`RANKING_METRICS`.

    Returns
    -------
    values : ndarray of shape (n_users,), dtype float64
        The metric of each user with at least one held-out item, in [0, 1];
        NaN for the others, so that ``np.nanmean(values)`` is what the
        matching ``*_at_k`` function returns. All NaN, with an
        ``UndefinedMetricWarning``, when no user has a held-out item.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_agn.metrics import ranking_metric_per_user
    >>> y_true = np.array([[1, 0, 0], [0, 0, 0], [0, 0, 1]])
    >>> ranking_metric_per_user(y_true, [[0, 1], [0, 1], [0, 1]], metric="hit_rate")
    array([ 1., nan,  0.])
    """
    if not isinstance(metric, str) or metric not in RANKING_METRICS:
        raise ValueError(
            f"Unknown ranking metric {metric!r}; choose from {sorted(RANKING_METRICS)}."
        )
    y_true, ranked = _check_ranking(y_true, ranked)
    k = _check_cutoff(k, ranked.shape[1])
    values = np.full(y_true.shape[0], np.nan)
    if not _warn_if_undefined(y_true):
        values[np.diff(y_true.indptr) > 0] = _per_user(y_true, ranked, k)[metric]
    return values


def catalogue_coverage(ranked, n_items, k=None):
    """Share of the catalogue that appears in at least one user's top k.

    Parameters
    ----------
    ranked : array-like of int, shape (n_users, n_ranked)
        Recommended item indices, best first; ``-1`` marks an empty slot.
    n_items : int
        Size of the catalogue.
    k : int, default=None
        Cut-off, at most ``n_ranked``; ``n_ranked`` when None.

    Returns
    -------
    coverage : float
        Number of distinct items recommended divided by ``n_items``, in [0, 1].
    """
    n_items = _check_positive_int(n_items, "n_items")
    ranked = _check_ranked(ranked, n_items)
    k = _check_cutoff(k, ranked.shape[1])
    top = ranked[:, :k]
    return np.unique(top[top >= 0]).size / n_items


def _top(ranked, n_items, k):
    """``ranked`` validated and cut at ``k``."""
    ranked = _check_ranked(ranked, n_items)
    return ranked[:, :_check_cutoff(k, ranked.shape[1])]


def _list_matrix(top, n_items):
    """Boolean CSR (n_users, n_items): which items each user's list holds."""
    rows, slots = np.nonzero(top >= 0)
    return sp.csr_matrix(
        (np.ones(rows.size, dtype=bool), (rows, top[rows, slots])),
        shape=(top.shape[0], n_items),
    )


def _item_popularity(X_train):
    """Number of training users with a real interaction with each item."""
    X_train = as_interactions(X_train, name="X_train")
    return np.bincount(real_interactions(X_train).indices, minlength=X_train.shape[1]), X_train


def _mean_over_lists(values, top, what):
    """Mean over users of the mean of ``values[item]`` over their list (padding left out)."""
    filled = top >= 0
    n_filled = filled.sum(axis=1)
    listed = n_filled > 0
    if not listed.any():
        warnings.warn(f"Every recommendation list is empty: {what} is undefined and NaN is "
                      "returned.", UndefinedMetricWarning, stacklevel=3)
        return float("nan")
    per_item = np.where(filled, values[np.maximum(top, 0)], 0.0)
    return float((per_item.sum(axis=1)[listed] / n_filled[listed]).mean())


def intra_list_diversity(ranked, item_features, k=None):
    """Mean pairwise cosine distance between the items of each user's top k.

    A list's diversity is the mean of ``1 - cos(f_i, f_j)`` over the ordered
    pairs of distinct items ``i, j`` in it, where ``f_i`` is item ``i``'s row
    of ``item_features`` (attributes such as genres, or a model's item
    factors); an item with all-zero features has cosine 0 with every item.
    The result is the mean over users whose list holds at least two items.

    Parameters
    ----------
    ranked : array-like of int, shape (n_users, n_ranked)
        Recommended item indices, best first; ``-1`` marks an empty slot.
    item_features : {array-like, sparse matrix} of shape (n_items, n_features)
        One row of features per item of the catalogue.
    k : int, default=None
        Cut-off, at most ``n_ranked``; ``n_ranked`` when None.

    Returns
    -------
    diversity : float
        In [0, 2] (0 when every list holds items of identical direction, 1
        for mutually orthogonal features); NaN, with an
        ``UndefinedMetricWarning``, when no list holds two items.
    """
    features = check_array(item_features, accept_sparse="csr", dtype=np.float64,
                           input_name="item_features")
    top = _top(ranked, features.shape[0], k)
    unit = normalize(features)
    # Σ_{i≠j} cos(f_i, f_j) = ||Σ_i f̂_i||² - Σ_i ||f̂_i||², without forming the pairs.
    lists = _list_matrix(top, features.shape[0]).astype(np.float64)
    sums = lists @ unit
    squared = np.asarray(sums.multiply(sums).sum(axis=1)).ravel() if sp.issparse(sums) \
        else np.einsum("ij,ij->i", sums, sums)
    has_norm = np.asarray(unit.multiply(unit).sum(axis=1)).ravel() if sp.issparse(unit) \
        else np.einsum("ij,ij->i", unit, unit)
    n_nonzero = lists @ (has_norm > 0.5)
    length = (top >= 0).sum(axis=1)
    pairs = length >= 2
    if not pairs.any():
        warnings.warn("No recommendation list holds two items: intra-list diversity is "
                      "undefined and NaN is returned.", UndefinedMetricWarning, stacklevel=2)
        return float("nan")
    length, n_pairs = length[pairs], length[pairs] * (length[pairs] - 1.0)
    return float((1.0 - (squared[pairs] - n_nonzero[pairs]) / n_pairs).mean())


def novelty(ranked, X_train, k=None):
    """Mean self-information ``-log2 p(i)`` of the recommended items.

    ``p(i)`` is the share of training users who interacted with item ``i``
    (its popularity over ``n_users``); an item nobody interacted with in
    training counts as one user's, the least an observed item can have, so
    that its self-information stays finite. Each user's list is averaged,
    then the users (lists without any item are left out) (Zhou et al., 2010).

    Parameters
    ----------
    ranked : array-like of int, shape (n_users, n_ranked)
        Recommended item indices, best first; ``-1`` marks an empty slot.
    X_train : {array-like, sparse matrix} of shape (n_train_users, n_items)
        Training interactions, the source of the popularity.
    k : int, default=None
        Cut-off, at most ``n_ranked``; ``n_ranked`` when None.

    Returns
    -------
    novelty : float
        In bits, at least 0 (only items every user interacted with);
        higher means less popular recommendations.

    References
    ----------
    .. [1] T. Zhou, Z. Kuscsik, J.-G. Liu, M. Medo, J. R. Wakeling and
       Y.-C. Zhang, "Solving the apparent diversity-accuracy dilemma of
       recommender systems", PNAS 107(10), 2010.
    """
    popularity, X_train = _item_popularity(X_train)
    top = _top(ranked, X_train.shape[1], k)
    information = -np.log2(np.maximum(popularity, 1) / X_train.shape[0])
    return _mean_over_lists(information, top, "novelty")


def average_recommendation_popularity(ranked, X_train, k=None):
    """Mean training popularity of the recommended items (ARP).

    Each user's list is averaged, then the users (lists without any item are
    left out) (Abdollahpouri et al., 2019).

    Parameters
    ----------
    ranked : array-like of int, shape (n_users, n_ranked)
        Recommended item indices, best first; ``-1`` marks an empty slot.
    X_train : {array-like, sparse matrix} of shape (n_train_users, n_items)
        Training interactions, the source of the popularity.
    k : int, default=None
        Cut-off, at most ``n_ranked``; ``n_ranked`` when None.

    Returns
    -------
    popularity : float
        Mean number of training users per recommended item.

    References
    ----------
    .. [1] H. Abdollahpouri, R. Burke and B. Mobasher, "Managing popularity
       bias in recommender systems with personalized re-ranking", FLAIRS 2019.
    """
    popularity, X_train = _item_popularity(X_train)
    top = _top(ranked, X_train.shape[1], k)
    return _mean_over_lists(popularity.astype(np.float64), top, "average popularity")


def long_tail_share(ranked, X_train, k=None, head_fraction=0.2):
    """Share of the recommended items that lie in the long tail.

    The head is the ``ceil(head_fraction * n_items)`` most popular items in
    training (ties broken towards the lower index); every other item is in
    the long tail. Each user's share is averaged over the users (lists
    without any item are left out); Abdollahpouri et al. (2019) call it APLT.

    Parameters
    ----------
    ranked : array-like of int, shape (n_users, n_ranked)
        Recommended item indices, best first; ``-1`` marks an empty slot.
    X_train : {array-like, sparse matrix} of shape (n_train_users, n_items)
        Training interactions, the source of the popularity.
    k : int, default=None
        Cut-off, at most ``n_ranked``; ``n_ranked`` when None.
    head_fraction : float in (0, 1), default=0.2
        Fraction of the catalogue, most popular first, that makes the head.

    Returns
    -------
    share : float
        In [0, 1]; higher means more long-tail recommendations.
    """
    if isinstance(head_fraction, (bool, np.bool_)) or not isinstance(head_fraction, numbers.Real):
        raise TypeError(f"head_fraction must be a float in (0, 1), got {head_fraction!r}.")
    if not 0 < head_fraction < 1:
        raise ValueError(f"head_fraction must lie in (0, 1), got {head_fraction!r}.")
    popularity, X_train = _item_popularity(X_train)
    n_items = X_train.shape[1]
    top = _top(ranked, n_items, k)
    in_tail = np.ones(n_items)
    in_tail[np.argsort(-popularity, kind="stable")[:int(np.ceil(head_fraction * n_items))]] = 0
    return _mean_over_lists(in_tail, top, "the long-tail share")


def exposure_gini(ranked, n_items, k=None):
    """Gini coefficient of how often each item of the catalogue is recommended.

    With ``e_1 <= ... <= e_n`` the numbers of lists (top k) holding each of the
    ``n = n_items`` items, ``G = Σ_i (2i - n - 1) e_i / (n Σ_i e_i)``: 0 when
    every item is recommended equally often, ``1 - 1/n`` when a single item
    takes every slot.

    Parameters
    ----------
    ranked : array-like of int, shape (n_users, n_ranked)
        Recommended item indices, best first; ``-1`` marks an empty slot.
    n_items : int
        Size of the catalogue (items never recommended count, with 0).
    k : int, default=None
        Cut-off, at most ``n_ranked``; ``n_ranked`` when None.

    Returns
    -------
    gini : float
        In [0, 1); NaN, with an ``UndefinedMetricWarning``, when nothing is
        recommended.
    """
    n_items = _check_positive_int(n_items, "n_items")
    top = _top(ranked, n_items, k)
    exposure = np.sort(np.bincount(top[top >= 0], minlength=n_items)).astype(np.float64)
    if not exposure.sum():
        warnings.warn("Every recommendation list is empty: the Gini of exposure is undefined "
                      "and NaN is returned.", UndefinedMetricWarning, stacklevel=2)
        return float("nan")
    rank = np.arange(1, n_items + 1)
    return float(((2 * rank - n_items - 1) @ exposure) / (n_items * exposure.sum()))


def beyond_accuracy_metrics(ranked, X_train, k=None, *, item_features=None, head_fraction=0.2):
    """Every metric beyond accuracy at one cut-off, for a benchmark table.

    Parameters
    ----------
    ranked : array-like of int, shape (n_users, n_ranked)
        Recommended item indices, best first; ``-1`` marks an empty slot.
    X_train : {array-like, sparse matrix} of shape (n_train_users, n_items)
        Training interactions, the source of the popularity.
    k : int, default=None
        Cut-off, at most ``n_ranked``; ``n_ranked`` when None.
    item_features : {array-like, sparse matrix} of shape (n_items, n_features), default=None
        Features for :func:`intra_list_diversity`, which is left out when None.
    head_fraction : float in (0, 1), default=0.2
        Size of the popular head for :func:`long_tail_share`.

    Returns
    -------
    scores : dict
        ``{"coverage@k": ..., "novelty@k": ..., "arp@k": ..., "long_tail@k": ...,
        "gini@k": ..., "diversity@k": ...}`` (the last one only with
        ``item_features``), each as the matching function returns it.
    """
    X_train = as_interactions(X_train, name="X_train")
    n_items = X_train.shape[1]
    k = _check_cutoff(k, _check_ranked(ranked, n_items).shape[1])
    out = {
        f"coverage@{k}": catalogue_coverage(ranked, n_items, k),
        f"novelty@{k}": novelty(ranked, X_train, k),
        f"arp@{k}": average_recommendation_popularity(ranked, X_train, k),
        f"long_tail@{k}": long_tail_share(ranked, X_train, k, head_fraction=head_fraction),
        f"gini@{k}": exposure_gini(ranked, n_items, k),
    }
    if item_features is not None:
        out[f"diversity@{k}"] = intra_list_diversity(ranked, item_features, k)
    return out


RANKING_METRICS = {
    "precision": precision_at_k,
    "recall": recall_at_k,
    "ndcg": ndcg_at_k,
    "mrr": mrr_at_k,
    "hit_rate": hit_rate_at_k,
}


def ranking_metrics(y_true, ranked, ks=(5, 20)):
    """Every ranking metric at several cut-offs, validating the input once.

    Parameters
    ----------
    y_true : {array-like, sparse matrix} of shape (n_users, n_items)
        Held-out interactions; every stored positive value is a relevant item.
    ranked : array-like of int, shape (n_users, n_ranked)
        Recommended item indices per user, best first; ``-1`` marks an empty
        slot. It needs at least ``max(ks)`` columns.
    ks : int or iterable of int, default=(5, 20)
        Cut-offs (the CFGAN paper reports 5 and 20).

    Returns
    -------
    scores : dict
        ``{"precision@5": value, ..., "ndcg@20": value}``: every metric of
        :data:`RANKING_METRICS` at every cut-off, each as the matching
        ``*_at_k`` function returns it.
    """
    y_true, ranked = _check_ranking(y_true, ranked)
    if isinstance(ks, numbers.Number):
        ks = (ks,)
    ks = [_check_cutoff(_check_positive_int(k, "each of ks"), ranked.shape[1]) for k in ks]
    if not ks:
        raise ValueError("ks must hold at least one cut-off.")
    undefined = _warn_if_undefined(y_true)
    out = {}
    for k in ks:
        for name, values in _per_user(y_true, ranked, k).items():
            out[f"{name}@{k}"] = float("nan") if undefined else float(values.mean())
    return out


class _RankingScorer:
    """Scorer ``(estimator, X, y) -> float`` for ``GridSearchCV(scoring=...)``.

    It asks the estimator (or a pipeline ending in one) for its top ``k``
    through ``predict(X, k=k)``, so the cut-off is the scorer's, not the
    estimator's, and compares them to the held-out ``y``.
    """

    def __init__(self, metric, k):
        self.metric = metric
        self.k = k

    def __call__(self, estimator, X, y=None):
        if y is None:
            raise ValueError(
                f"{self!r} needs y, the held-out interactions of the users in X: "
                "pass it to fit (e.g. GridSearchCV.fit(X_train, X_test))."
            )
        ranked = estimator.predict(X, k=self.k)
        return RANKING_METRICS[self.metric](y, ranked, self.k)

    def __repr__(self):
        return f"make_ranking_scorer({self.metric!r}, k={self.k})"


def make_ranking_scorer(metric="ndcg", k=10):
    """Make a scorer from a ranking metric name and a cut-off.

    Parameters
    ----------
    metric : {"precision", "recall", "ndcg", "mrr", "hit_rate"}, default="ndcg"
        Name of the metric, a key of :data:`RANKING_METRICS`.
    k : int, default=10
        Cut-off; the scorer calls ``estimator.predict(X, k=k)``.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y)``, higher is better, where ``y`` holds the
        held-out interactions of the users in ``X``. Usable as
        ``GridSearchCV(scoring=scorer)``, in a ``scoring`` dict, and in
        ``cross_validate``; picklable, so it works with ``n_jobs``.

    Notes
    -----
    ``GridSearchCV`` accepts a sparse ``y``, but ``cross_validate`` and
    ``cross_val_score`` check that ``y`` is array-like, which excludes sparse
    matrices: pass ``y.toarray()`` there. A fitted search's ``predict`` takes
    no ``k``, so to score a search in nested cross-validation leave
    ``scoring=None``: the search's ``score`` applies its refit scorer.
    """
    if not isinstance(metric, str) or metric not in RANKING_METRICS:
        raise ValueError(
            f"Unknown ranking metric {metric!r}; choose from {sorted(RANKING_METRICS)}."
        )
    return _RankingScorer(metric, _check_positive_int(k, "k"))


def get_ranking_scorer(name):
    """Scorer from a ``"metric@k"`` string, e.g. ``"ndcg@20"`` or ``"precision@5"``.

    Parameters
    ----------
    name : str
        A key of :data:`RANKING_METRICS`, ``@``, and a positive integer cut-off.

    Returns
    -------
    scorer : callable
        ``make_ranking_scorer(metric, k)``.
    """
    if not isinstance(name, str):
        raise TypeError(f"Scorer name must be a string like 'ndcg@20', got {name!r}.")
    metric, sep, k = name.partition("@")
    if not sep or not (k.isascii() and k.isdigit()):
        raise ValueError(f"Expected a scorer name like 'ndcg@20', got {name!r}.")
    return make_ranking_scorer(metric, int(k))
