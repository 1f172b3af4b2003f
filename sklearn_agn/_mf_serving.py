"""Serving helpers of matrix factorisation: similar items and explanations.

Functions on arrays (item factors, one user's row, the model's ``alpha`` and
the user's penalty ``lambda_u``), which ``MFRecommender`` exposes as methods.

Explanations follow ``implicit``'s ``explain`` (Hu, Koren & Volinsky 2008,
section 5): with the item factors ``Y`` fixed, a user's factors are the exact
fold-in solution ``x_u = A_u^{-1} b_u`` with

    A_u = YᵀY + Σ_i (c_ui - 1) y_i y_iᵀ + λ_u I,    b_u = Σ_i c_ui p_ui y_i,

the sums over the items ``i`` of the user's row, ``c_ui = 1 + alpha r_ui`` and
``p_ui`` the preference of the entry (1 for a real interaction). The score of
item ``j`` is therefore linear in the user's history,

    y_jᵀ x_u = Σ_i c_ui p_ui (y_jᵀ A_u^{-1} y_i),

and term ``i`` is how much item ``i`` of the history contributed to it: the
contributions sum to the score.
"""

import numpy as np
import scipy.linalg
import scipy.sparse as sp
from sklearn.preprocessing import normalize

from ._similar_items import check_items, similar_items as _top_similar

__all__ = ["similar_items", "explain"]


def similar_items(item_factors, items, n=10):
    """The items whose factors point most in the direction of each of ``items``.

    Parameters
    ----------
    item_factors : ndarray of shape (n_items, n_factors)
        Item factors of a fitted model.
    items : int or array-like of int
        Query item indices.
    n : int, default=10
        Number of similar items per query item.

    Returns
    -------
    similar : ndarray of intp, shape (n_queries, n), or (n,) for a single int
        Item indices by decreasing cosine similarity of their factors to the
        query item's, the query item itself left out. An item whose factors
        are zero has cosine 0 with every item.
    """
    unit = normalize(np.asarray(item_factors, dtype=np.float64))
    return _top_similar(lambda batch: unit[batch] @ unit.T, items, n, unit.shape[0])


def explain(item_factors, user_row, items, *, alpha, user_regularization, preferences=None):
    """How much each item of a user's history contributed to the scores of ``items``.

    Parameters
    ----------
    item_factors : ndarray of shape (n_items, n_factors)
        Item factors ``Y`` of a fitted model.
    user_row : {array-like, sparse matrix} of shape (n_items,) or (1, n_items)
        The user's interactions ``r_u`` (stored values); its non-zero
        entries are the history.
    items : int or array-like of int
        Items whose scores are explained.
    alpha : float
        Confidence scale: entry ``r_ui`` has confidence ``c_ui = 1 + alpha * r_ui``.
    user_regularization : float
        The user's penalty ``λ_u`` (for ``MFRecommender``:
        ``regularization * (n_u + 1) ** regularization_exponent``).
    preferences : array-like of shape (n_history,), default=None
        Preference ``p_ui`` of each history entry, in the order of
        ``history``; 1 for every entry when None (all entries real).

    Returns
    -------
    history : ndarray of intp, shape (n_history,)
        The items of the user's row, ascending.
    contributions : ndarray of shape (n_queries, n_history), or (n_history,) for a single int
        ``contributions[q, h]``: the part of the score of ``items[q]`` due to
        ``history[h]``, ``c_ui p_ui y_jᵀ A_u⁻¹ y_i``. Each row sums to the
        score (up to rounding).
    scores : ndarray of shape (n_queries,), or a float for a single int
        ``y_jᵀ x_u``, the score of each item for the user (the model's
        ``decision_function``), computed in float64.
    """
    Y = np.asarray(item_factors, dtype=np.float64)
    n_items, n_factors = Y.shape
    row = sp.csr_matrix(user_row, dtype=np.float64)
    if row.shape != (1, n_items):
        raise ValueError(
            f"user_row must be one row of {n_items} items (the model's catalogue), "
            f"got shape {row.shape}."
        )
    row.sum_duplicates()
    row.eliminate_zeros()
    if (row.data < 0).any():
        raise ValueError("user_row must be non-negative: it holds implicit feedback.")
    items, single = check_items(items, n_items)
    history, values = row.indices.astype(np.intp), row.data
    if preferences is None:
        preferences = np.ones(history.size)
    preferences = np.asarray(preferences, dtype=np.float64)
    if preferences.shape != history.shape:
        raise ValueError(
            f"preferences must give one value per item of the user's row "
            f"({history.size}), got shape {preferences.shape}."
        )
    Y_hist = Y[history]
    confidence = 1.0 + alpha * values
    A = Y.T @ Y + (Y_hist.T * (alpha * values)) @ Y_hist
    A[np.diag_indices(n_factors)] += user_regularization
    # A_u⁻¹ y_i for every history item, through one Cholesky factorisation.
    solved = scipy.linalg.cho_solve(scipy.linalg.cho_factor(A), Y_hist.T)
    contributions = (Y[items] @ solved) * (confidence * preferences)
    scores = contributions.sum(axis=1)
    if single:
        return history, contributions[0], float(scores[0])
    return history, contributions, scores
