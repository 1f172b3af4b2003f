"""``partial_fit``'s item update, and what it keeps: the users' statistics.

The item equations of weighted ALS over every user seen need only sums over
those users (their Gram matrix, a per-item curvature and per-item counts);
``MFRecommender.partial_fit`` keeps them as fitted attributes and updates them
as users arrive, change or leave, instead of keeping the users.
"""

import numpy as np
import scipy.sparse as sp
import torch

from .._validation import entry_ids
from ._als import solve, solve_rows, transpose_entries
from ._als_equations import entry_coefficients, row_lambdas


def item_step(rows, item_factors, statistics, *, previous=None, update_items=None, solver,
              cg_steps, device, dtype, alpha, regularization, regularization_exponent):
    """The item factors after the step of ``partial_fit`` on the rows ``rows``, and the statistics.

    The rows (and those of ``previous``) are folded in exactly against
    ``item_factors``; the items they touch (of ``update_items``) are re-solved
    by ``solver`` from the equations over every user seen, those of
    ``statistics`` (see :class:`UserStatistics`) with the rows of
    ``previous`` replaced by ``rows``.

    Parameters
    ----------
    rows : Feedback
        The rows (see :class:`~sklearn_agn._validation.Feedback`); columns
        past ``item_factors``' rows are new items.
    item_factors : ndarray of shape (n_known_items, n_factors)
    statistics : UserStatistics
        Those of every user seen, over the known items.
    previous : Feedback, default=None
        The same users' earlier rows, of the shape of ``rows``.
    update_items : ndarray of int, default=None
        The items that may move; None: those of the entries of ``rows`` that
        ``previous`` does not hold, or all those ``rows`` touches.
    solver, cg_steps, alpha, regularization, regularization_exponent
        As in :func:`sklearn_agn.mf._als.als`.
    device, dtype
        Those of the solver.

    Returns
    -------
    item_factors : ndarray of shape (n_items, n_factors)
    statistics : UserStatistics
    """
    params = dict(alpha=alpha, regularization=regularization,
                  regularization_exponent=regularization_exponent)
    X = rows.X
    n_new = X.shape[1] - item_factors.shape[0]
    old_items = np.vstack([item_factors,
                           np.zeros((n_new, item_factors.shape[1]), item_factors.dtype)])
    statistics = statistics.grow(n_new)

    def tensor(a):
        return torch.from_numpy(a).to(device=device, dtype=dtype)

    items, gram = tensor(old_items), tensor(old_items.T @ old_items)

    def fold_in(feedback):
        users = solve_rows(feedback.X, items, gram=gram, preferences=feedback.preferences,
                           real=feedback.real, **params)
        return users.cpu().numpy().astype(np.float64)

    remaining = statistics
    if previous is not None:
        # The returning users' earlier part leaves the statistics (their
        # factor folded in again from their earlier rows): X's replaces it.
        previous_users = fold_in(previous)
        remaining = statistics.remove(previous, previous_users, alpha)
        if update_items is None:
            update_items = new_interaction_items(X, previous.X)
    users = fold_in(rows)
    updated = remaining.add(rows, users, alpha)
    Xt, preferences_t = transpose_entries(X, rows.preferences)
    touched = np.flatnonzero(np.diff(Xt.indptr))
    if update_items is not None:
        touched = np.intersect1d(touched, update_items, assume_unique=True)
    # An item's equations over every user seen are H y = b, solved by the
    # current factors y_old, so b (not kept) is H y_old: H = G + diag(d_i)
    # + lambda_i I from the statistics of all those users, the curvature of
    # previous's rows taken exactly rather than diagonal (as X's rows enter
    # the solve below). previous's rows leave b: their targets, the sum
    # over their entries of c p x_u. The new equations, X's rows in, are
    # (G' + diag(d_i') + lambda_i' I + X's terms) y = b - b_previous + b_X,
    # G', d_i' and lambda_i' the statistics once X's rows replace previous's.
    y_old = old_items[touched].astype(np.float64)
    lambdas_old = row_lambdas(statistics.item_counts[touched], regularization,
                              regularization_exponent)
    curvature = remaining.item_curvature[touched]
    prior = y_old @ statistics.user_gram + (curvature + lambdas_old[:, None]) * y_old
    if previous is not None:
        prior -= own_residuals(previous.X, previous_users, old_items, previous.preferences,
                               alpha)[touched]
    # CG starts at the current factors, which the update moves little.
    solved = solve(Xt[touched], tensor(users), tensor(y_old), solver=solver, cg_steps=cg_steps,
                   gram=tensor(updated.user_gram),
                   preferences=(None if preferences_t is None
                                else preferences_t[entry_ids(Xt)[touched].data - 1]),
                   lambdas=row_lambdas(updated.item_counts[touched], regularization,
                                       regularization_exponent),
                   curvature=curvature, prior=tensor(prior), **params)
    new_items = old_items.copy()
    new_items[touched] = solved.cpu().numpy()
    return new_items, updated


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

    def add(self, rows, users, alpha, sign=1):
        """The statistics with ``users``, of the Feedback ``rows``, added (a new object)."""
        X = rows.X
        weights, _ = entry_coefficients(X.data, alpha, rows.preferences)
        W = sp.csr_matrix((weights, X.indices, X.indptr), shape=X.shape)
        real_items = X.indices if rows.real is None else X.indices[rows.real]
        counts = np.bincount(real_items, minlength=X.shape[1])
        return UserStatistics(self.user_gram + sign * (users.T @ users),
                               self.item_curvature + sign * np.asarray(W.T @ users**2),
                               self.item_counts + sign * counts)

    def remove(self, rows, users, alpha):
        """The statistics with ``users``, of the Feedback ``rows``, taken out (a new object)."""
        return self.add(rows, users, alpha, sign=-1)

    def store(self, model):
        model.user_gram_ = self.user_gram
        model.item_curvature_ = self.item_curvature
        model.item_interaction_counts_ = self.item_counts
