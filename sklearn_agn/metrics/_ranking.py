"""Top-k ranking metrics of accuracy: precision, recall, NDCG, MRR, hit rate.

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
"""

import numbers
import warnings

import numpy as np
from sklearn.exceptions import UndefinedMetricWarning

from .._validation import as_interactions


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
