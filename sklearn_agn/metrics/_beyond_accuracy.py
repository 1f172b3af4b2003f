"""Metrics beyond accuracy, of the recommendations alone.

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

from .._validation import as_interactions, check_feedback
from ._ranking import (
    _check_cutoff,
    _check_positive_int,
    _check_ranked,
)


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
    feedback = check_feedback(X_train, name="X_train")
    real = feedback.real_mask()
    return np.bincount(real.indices, minlength=real.shape[1]), feedback.X


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
