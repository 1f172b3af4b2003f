"""Top-k ranking metrics and the scorers that wrap them.

Every metric takes ``y_true``, a users x items matrix of held-out interactions
(any stored positive value counts as relevant), and ``ranked``, an
``(n_users, k)`` integer array of recommended item indices, best first, as
returned by ``predict``; ``-1`` marks an empty slot (a user with fewer
candidates than ``k``). Definitions follow the CFGAN paper's evaluation
(Chae et al., CIKM 2018): per-user values averaged over the users that have at
least one held-out item, NDCG's ideal DCG truncated at ``min(k, |truth|)``.
"""

import numpy as np
import scipy.sparse as sp

__all__ = [
    "precision_at_k",
    "recall_at_k",
    "ndcg_at_k",
    "mrr_at_k",
    "hit_rate_at_k",
    "catalogue_coverage",
    "ranking_metrics",
    "make_ranking_scorer",
    "get_ranking_scorer",
    "RANKING_METRICS",
]


def _check_ranking(y_true, ranked, k):
    if not sp.issparse(y_true):
        y_true = np.asarray(y_true)
        if y_true.ndim != 2:
            raise ValueError("y_true must be a 2-D users x items matrix.")
    y_true = sp.csr_matrix(y_true)
    ranked = np.asarray(ranked)
    if ranked.ndim != 2:
        raise ValueError(
            f"ranked must be a 2-D (n_users, k) array of item indices, got "
            f"shape {ranked.shape}."
        )
    if not np.issubdtype(ranked.dtype, np.integer):
        raise TypeError(f"ranked must hold integer item indices, got {ranked.dtype}.")
    if ranked.shape[0] != y_true.shape[0]:
        raise ValueError(
            f"y_true has {y_true.shape[0]} users but ranked has {ranked.shape[0]} rows."
        )
    if ranked.size and (ranked.max() >= y_true.shape[1] or ranked.min() < -1):
        raise ValueError(
            f"ranked holds item indices outside [0, {y_true.shape[1]}) "
            "(-1 is the only allowed padding value)."
        )
    if k is None:
        k = ranked.shape[1]
    elif k < 1 or k > ranked.shape[1]:
        raise ValueError(f"k={k} must lie in [1, {ranked.shape[1]}] (columns of ranked).")
    if y_true.nnz and (y_true.data < 0).any():
        raise ValueError("y_true must not hold negative values.")
    if (y_true.data == 0).any():
        y_true = y_true.copy()  # never touch the caller's matrix
        y_true.eliminate_zeros()
    return y_true, ranked[:, :k], k


def _hits(y_true, ranked):
    """Boolean (n_users, k) matrix: is the item at each rank relevant?"""
    rows = np.repeat(np.arange(ranked.shape[0]), ranked.shape[1])
    cols = ranked.ravel()
    valid = cols >= 0
    hits = np.zeros(ranked.size, dtype=bool)
    hits[valid] = np.asarray(y_true[rows[valid], cols[valid]]).ravel() > 0
    return hits.reshape(ranked.shape)


def _per_user(y_true, ranked, k):
    """Per-user metric values and the mask of users with held-out items."""
    hits = _hits(y_true, ranked)
    n_true = np.diff(y_true.indptr)
    evaluated = n_true > 0
    n_hits = hits.sum(axis=1)
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = hits @ discounts
    ideal = np.concatenate([[0.0], np.cumsum(discounts)])[np.minimum(n_true, k)]
    first = np.where(hits.any(axis=1), hits.argmax(axis=1), -1)
    with np.errstate(divide="ignore", invalid="ignore"):
        values = {
            "precision": n_hits / k,
            "recall": n_hits / n_true,
            "ndcg": dcg / ideal,
            "mrr": np.where(first >= 0, 1.0 / (first + 1), 0.0),
            "hit_rate": (n_hits > 0).astype(float),
        }
    return values, evaluated


def _average(name, y_true, ranked, k):
    y_true, ranked, k = _check_ranking(y_true, ranked, k)
    values, evaluated = _per_user(y_true, ranked, k)
    if not evaluated.any():
        return float("nan")
    return float(values[name][evaluated].mean())


def precision_at_k(y_true, ranked, k=None):
    """Share of the top-k recommendations that are held-out items (hits / k).

    Parameters
    ----------
    y_true : sparse matrix of shape (n_users, n_items)
        Held-out interactions; stored positive values are relevant items.
    ranked : array-like of int, shape (n_users, n_ranked)
        Recommended item indices, best first; ``-1`` marks an empty slot.
    k : int, default=None
        Cut-off; the number of columns of ``ranked`` when None.

    Returns
    -------
    float
        Mean over users with at least one held-out item (NaN if none has).
    """
    return _average("precision", y_true, ranked, k)


def recall_at_k(y_true, ranked, k=None):
    """Share of a user's held-out items found in the top k (hits / |truth|).

    Parameters and return value as in :func:`precision_at_k`.
    """
    return _average("recall", y_true, ranked, k)


def ndcg_at_k(y_true, ranked, k=None):
    """Normalised discounted cumulative gain at k with binary relevance.

    DCG sums ``1 / log2(rank + 1)`` over the hits (ranks from 1); the ideal DCG
    places ``min(k, |truth|)`` hits first. Parameters and return value as in
    :func:`precision_at_k`.
    """
    return _average("ndcg", y_true, ranked, k)


def mrr_at_k(y_true, ranked, k=None):
    """Reciprocal rank of the first hit in the top k, 0 when there is none.

    Parameters and return value as in :func:`precision_at_k`.
    """
    return _average("mrr", y_true, ranked, k)


def hit_rate_at_k(y_true, ranked, k=None):
    """Share of users with at least one held-out item in their top k.

    Parameters and return value as in :func:`precision_at_k`.
    """
    return _average("hit_rate", y_true, ranked, k)


def catalogue_coverage(ranked, n_items, k=None):
    """Share of the catalogue that appears in at least one user's top k.

    Parameters
    ----------
    ranked : array-like of int, shape (n_users, n_ranked)
        Recommended item indices; ``-1`` marks an empty slot.
    n_items : int
        Size of the catalogue.
    k : int, default=None
        Cut-off; the number of columns of ``ranked`` when None.

    Returns
    -------
    float
    """
    ranked = np.asarray(ranked)
    if ranked.ndim != 2:
        raise ValueError(f"ranked must be 2-D, got shape {ranked.shape}.")
    if n_items < 1:
        raise ValueError(f"n_items must be >= 1, got {n_items}.")
    ranked = ranked[:, : (ranked.shape[1] if k is None else k)]
    items = np.unique(ranked[ranked >= 0])
    if items.size and items[-1] >= n_items:
        raise ValueError(f"ranked holds item indices >= n_items={n_items}.")
    return items.size / n_items


RANKING_METRICS = {
    "precision": precision_at_k,
    "recall": recall_at_k,
    "ndcg": ndcg_at_k,
    "mrr": mrr_at_k,
    "hit_rate": hit_rate_at_k,
}


def ranking_metrics(y_true, ranked, ks=(5, 20)):
    """All ranking metrics at several cut-offs, from one pass per cut-off.

    Returns
    -------
    dict
        ``{"ndcg@20": value, ...}`` for every metric in :data:`RANKING_METRICS`
        and every k in ``ks``.
    """
    out = {}
    for k in ks:
        y, r, k = _check_ranking(y_true, ranked, k)
        values, evaluated = _per_user(y, r, k)
        for name in RANKING_METRICS:
            out[f"{name}@{k}"] = (
                float(values[name][evaluated].mean()) if evaluated.any() else float("nan")
            )
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

    def __call__(self, estimator, X, y, **kwargs):
        ranked = estimator.predict(X, k=self.k)
        return RANKING_METRICS[self.metric](y, ranked, self.k)

    def __repr__(self):
        return f"make_ranking_scorer({self.metric!r}, k={self.k})"


def make_ranking_scorer(metric="ndcg", k=10):
    """Make a scorer from a ranking metric name and a cut-off.

    Parameters
    ----------
    metric : {"precision", "recall", "ndcg", "mrr", "hit_rate"}, default="ndcg"
    k : int, default=10

    Returns
    -------
    callable
        ``scorer(estimator, X, y)``, higher is better, usable as
        ``GridSearchCV(scoring=...)`` (also inside a ``scoring`` dict).
    """
    if metric not in RANKING_METRICS:
        raise ValueError(
            f"Unknown ranking metric {metric!r}; choose from {sorted(RANKING_METRICS)}."
        )
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}.")
    return _RankingScorer(metric, int(k))


def get_ranking_scorer(name):
    """Scorer from a ``"metric@k"`` string, e.g. ``"ndcg@20"`` or ``"precision@5"``."""
    metric, sep, k = str(name).partition("@")
    if not sep or not k.isdigit():
        raise ValueError(f"Expected a scorer name like 'ndcg@20', got {name!r}.")
    return make_ranking_scorer(metric, int(k))
