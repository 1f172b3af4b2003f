"""What ``partial_fit`` keeps and needs: the users' statistics, and the right-hand sides of a refit.

The item equations of weighted ALS over every user seen need only sums over
those users (their Gram matrix, a per-item curvature and per-item counts);
``MFRecommender.partial_fit`` keeps them as fitted attributes and updates them
as users arrive, change or leave, instead of keeping the users.
"""

import numpy as np
import scipy.sparse as sp

from ._als_equations import entry_coefficients


def own_residuals(R, users, items, preferences, alpha):
    """Per item, the part of ``b - A y`` of its equations that comes from the rows of ``R``.

    ``sum_u (c_ui p_ui - (c_ui - 1) x_u.y_i) x_u`` over the stored entries
    ``(u, i)`` of ``R``: the rows' targets less their per-item curvature at the
    item factors ``items``, ``users`` the rows' factors. Shape (n_items, n_factors).
    """
    weights, targets = entry_coefficients(R.data, alpha, preferences)
    owners = np.repeat(np.arange(R.shape[0]), np.diff(R.indptr))
    dots = np.einsum("ij,ij->i", users[owners], items[R.indices].astype(np.float64))
    residuals = sp.csr_matrix((targets - weights * dots, R.indices, R.indptr), shape=R.shape)
    return np.asarray(residuals.T @ users)


def new_interaction_items(X, previous):
    """The items of the entries of ``X`` that ``previous`` (same shape) does not hold."""
    held = X.astype(bool)
    fresh = held - held.multiply(previous.astype(bool))
    return np.unique(sp.csr_matrix(fresh).indices)


class UserStatistics:
    """What ``partial_fit`` keeps of every user seen: the terms of the item equations.

    For the objective over all users seen, an item's equations need
    ``G = sum_u x_u x_u^T`` (the users' Gram matrix, exact), the per-item
    correction ``sum_u (c_ui - 1) x_u x_u^T`` (kept as its diagonal ``d_i =
    sum_u (c_ui - 1) x_u^2``: the full f x f per item would cost
    ``n_items * f^2`` memory) and the item's number of real interactions (its
    penalty).
    """

    def __init__(self, user_gram, item_curvature, item_counts):
        self.user_gram = user_gram
        self.item_curvature = item_curvature
        self.item_counts = item_counts

    @classmethod
    def empty(cls, n_items, n_factors):
        return cls(np.zeros((n_factors, n_factors)), np.zeros((n_items, n_factors)),
                   np.zeros(n_items, dtype=np.int64))

    @classmethod
    def of(cls, model):
        if not hasattr(model, "user_gram_"):
            raise ValueError(
                "This MFRecommender holds no statistics of the users it has seen (it was "
                "fitted by an older version of sklearn_agn): fit it again before partial_fit."
            )
        return cls(model.user_gram_, model.item_curvature_, model.item_interaction_counts_)

    def grow(self, n_new):
        """The statistics with ``n_new`` new items (no user has touched yet)."""
        f = self.user_gram.shape[0]
        return UserStatistics(self.user_gram,
                               np.vstack([self.item_curvature, np.zeros((n_new, f))]),
                               np.concatenate([self.item_counts,
                                               np.zeros(n_new, dtype=np.int64)]))

    def add(self, X, users, preferences, real, alpha, sign=1):
        """The statistics with the users ``users`` of the rows of ``X`` added (a new object)."""
        weights, _ = entry_coefficients(X.data, alpha, preferences)
        W = sp.csr_matrix((weights, X.indices, X.indptr), shape=X.shape)
        is_real = np.ones(X.nnz, dtype=bool) if real is None else real
        counts = np.bincount(X.indices[is_real], minlength=X.shape[1])
        return UserStatistics(self.user_gram + sign * (users.T @ users),
                               self.item_curvature + sign * np.asarray(W.T @ users**2),
                               self.item_counts + sign * counts)

    def remove(self, X, users, preferences, real, alpha):
        """The statistics with the users ``users`` of the rows of ``X`` taken out (a new object)."""
        return self.add(X, users, preferences, real, alpha, sign=-1)

    def store(self, model):
        model.user_gram_ = self.user_gram
        model.item_curvature_ = self.item_curvature
        model.item_interaction_counts_ = self.item_counts
