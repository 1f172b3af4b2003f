"""partial_fit lands on the exact least-squares step over every user seen (issue 17, item 3).

With one factor the per-item curvature, which the statistics keep as its
diagonal, is exact; and a fit run to convergence is a fixed point of ALS: its
item factors minimise the objective over the users' factors, which are the
users' rows folded in. The exact step is then written by hand from every
user's row and factor, and ``partial_fit`` must land on it.
"""

import copy

import numpy as np
import pytest
import scipy.sparse as sp

from sklearn_agn import MFRecommender
from sklearn_agn._validation import mark_generated, take_rows
from sklearn_agn.datasets import make_interactions

ALPHA, REGULARIZATION, EXPONENT = 2.0, 0.5, 1.0
ONE_FACTOR = dict(n_factors=1, n_iter=100, solver="cholesky", dtype="float64", alpha=ALPHA,
                  regularization=REGULARIZATION, regularization_exponent=EXPONENT,
                  random_state=0)


def _rows(n_users, n_interactions, seed):
    """Implicit feedback on 25 items, with values 1 to 3 (confidences 3 to 7)."""
    X = make_interactions(n_users, 25, n_interactions, random_state=seed).tocsr()
    X.data = np.random.RandomState(seed).randint(1, 4, X.nnz).astype(np.float64)
    return X


def _exact_item_factors(rows, users):
    """argmin over y of sum_u sum_i c_ui (p_ui - x_u y_i)^2 + lambda_i y_i^2, one factor.

    Every entry is real: ``p = 1`` and ``c = 1 + alpha r`` where the row holds
    the item, ``p = 0`` and ``c = 1`` elsewhere; ``lambda_i`` from the item's
    number of interactions.
    """
    R, x = rows.toarray(), users[:, :1]
    held = R > 0
    confidence = 1 + ALPHA * R
    penalty = REGULARIZATION * (held.sum(axis=0) + 1) ** EXPONENT
    return ((confidence * held * x).sum(axis=0)
            / ((confidence * x**2).sum(axis=0) + penalty))[:, None]


@pytest.fixture(scope="module")
def converged():
    X = _rows(60, 400, seed=0)
    model = MFRecommender(**ONE_FACTOR).fit(X)
    users = model.fold_in(X)
    # The premise: the statistics hold the users' folded-in factors, and the
    # item factors are the exact minimiser against them.
    np.testing.assert_allclose(model.user_gram_, users.T @ users, rtol=1e-12)
    np.testing.assert_allclose(model.item_factors_, _exact_item_factors(X, users), rtol=1e-12)
    return X, users, model


def test_partial_fit_with_new_users_is_the_exact_step(converged):
    X, users, model = converged
    new = _rows(20, 150, seed=1)
    expected = _exact_item_factors(sp.vstack([X, new]), np.vstack([users, model.fold_in(new)]))
    before = model.item_factors_
    updated = copy.deepcopy(model).partial_fit(new)
    touched = np.flatnonzero(new.getnnz(axis=0))
    np.testing.assert_allclose(updated.item_factors_[touched], expected[touched], rtol=1e-10)
    assert np.abs(expected - before)[touched].max() > 1e-2  # a real step


def _returning_users(X):
    """The first 10 users' rows, each with two items it did not hold before."""
    old = X[:10]
    new = old.tolil()
    rng = np.random.RandomState(2)
    for u in range(10):
        new[u, rng.choice(np.flatnonzero(old[u].toarray()[0] == 0), 2, replace=False)] = 1.0
    return old, new.tocsr()


def test_partial_fit_with_previous_rows_is_the_exact_step(converged):
    """The returning users' earlier terms leave the equations and their new ones
    enter: the step is the minimiser over the other users and the returning
    users' new rows (the earlier code landed 2.3 step sizes away from it)."""
    X, users, model = converged
    old, new = _returning_users(X)
    expected = _exact_item_factors(sp.vstack([X[10:], new]),
                                   np.vstack([users[10:], model.fold_in(new)]))
    before = model.item_factors_
    touched = np.flatnonzero(new.getnnz(axis=0))
    every = copy.deepcopy(model).partial_fit(new, previous=old, update_items=touched)
    np.testing.assert_allclose(every.item_factors_[touched], expected[touched], rtol=1e-10)
    assert np.abs(expected - before)[touched].max() > 1e-2  # a real step
    # By default only the items of the new interactions move, to the same values.
    fresh = np.flatnonzero(new.getnnz(axis=0) - old.getnnz(axis=0))
    default = copy.deepcopy(model).partial_fit(new, previous=old)
    np.testing.assert_allclose(default.item_factors_[fresh], expected[fresh], rtol=1e-10)
    others = np.setdiff1d(np.arange(X.shape[1]), fresh)
    np.testing.assert_array_equal(default.item_factors_[others], before[others])


@pytest.mark.parametrize("solver", ["cholesky", "cg"])
def test_rows_replayed_as_their_own_previous_rows_change_nothing(solver):
    """Any number of factors, generated feedback included, every item re-solved:
    the item factors and the statistics stay as they were (the earlier code moved
    the item factors by 4% of their size here)."""
    X = _rows(200, 1500, seed=3)
    rng = np.random.RandomState(3)
    missing = (X.toarray() == 0) & (rng.rand(*X.shape) < 0.05)
    X = mark_generated(sp.csr_matrix(X.toarray() + 0.3 * missing), sp.csr_matrix(missing))
    model = MFRecommender(n_factors=8, n_iter=5, solver=solver, dtype="float64",
                          random_state=0).fit(X)
    before = (model.item_factors_.copy(), model.user_gram_.copy(),
              model.item_curvature_.copy(), model.item_interaction_counts_.copy())
    rows = take_rows(X, np.arange(40))
    model.partial_fit(rows, previous=rows, update_items=np.arange(X.shape[1]))
    np.testing.assert_allclose(model.item_factors_, before[0], rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(model.user_gram_, before[1], rtol=1e-10)
    np.testing.assert_allclose(model.item_curvature_, before[2], rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(model.item_interaction_counts_, before[3])
