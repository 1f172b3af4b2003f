"""MFRecommender's convergence API: the ALS loss, tol, n_iter_, ConvergenceWarning, warm_start."""

import copy
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning

from sklearn_agn import MFRecommender
from sklearn_agn._validation import mark_generated
from sklearn_agn.mf import _als
from sklearn_agn.mf._als import als

from ._synthetic import block_interactions

ALPHA, REGULARIZATION = 2.0, 0.3


def _dense_loss(R, preferences, real, users, items, exponent):
    """sum over every (u, i) of c (p - x_u . y_i)^2, plus lambda |x|^2 and lambda |y|^2, densely.

    ``c = 1 + alpha r`` and ``p`` the entry's preference where ``R`` stores
    an entry, ``c = 1`` and ``p = 0`` elsewhere; the penalties count the real
    entries of each row and column.
    """
    def dense(values):
        return sp.csr_matrix((values, R.indices, R.indptr), shape=R.shape).toarray()

    confidence = 1 + ALPHA * R.toarray()
    error = (confidence * (dense(preferences) - users @ items.T) ** 2).sum()
    n_real = dense(real.astype(np.float64))
    user_lambdas = REGULARIZATION * (n_real.sum(axis=1) + 1) ** exponent
    item_lambdas = REGULARIZATION * (n_real.sum(axis=0) + 1) ** exponent
    return error + user_lambdas @ (users**2).sum(axis=1) + item_lambdas @ (items**2).sum(axis=1)


def _with_generated_feedback(seed=0):
    """Real entries of values 0.2 to 3.2, and generated ones of weight 0.1 to 1."""
    rng = np.random.RandomState(seed)
    R = sp.random(30, 20, density=0.25, format="csr", random_state=rng)
    real = rng.rand(R.nnz) < 0.7
    R.data = np.where(real, 0.2 + 3 * R.data, 0.1 + 0.9 * R.data)
    preferences = np.where(real, 1.0, R.data)
    return R, preferences, real


@pytest.mark.parametrize("solver", ["cholesky", "cg"])
@pytest.mark.parametrize("exponent", [0.0, 1.0])
def test_loss_of_every_sweep_is_the_dense_objective(solver, exponent):
    R, preferences, real = _with_generated_feedback()
    init = torch.from_numpy(np.random.RandomState(1).randn(20, 4) * 0.1)
    # tol=0 evaluates the loss after every sweep, and stops only if it increases.
    params = dict(alpha=ALPHA, regularization=REGULARIZATION, regularization_exponent=exponent,
                  preferences=preferences, real=real, solver=solver, tol=0.0)
    curve = als(R, init, n_iter=3, **params).loss_curve
    for n_iter in (1, 2, 3):
        users, items, n_sweeps, losses, _ = als(R, init, n_iter=n_iter, **params)
        assert n_sweeps == len(losses) == n_iter
        np.testing.assert_allclose(losses, curve[:n_iter], rtol=1e-14)
        np.testing.assert_allclose(
            losses[-1], _dense_loss(R, preferences, real, users.numpy(), items.numpy(), exponent),
            rtol=1e-12)


@pytest.mark.parametrize("solver", ["cholesky", "cg"])
def test_loss_summed_over_thread_blocks_is_the_single_block_loss(monkeypatch, solver):
    R, preferences, real = _with_generated_feedback(seed=1)
    init = torch.from_numpy(np.random.RandomState(1).randn(20, 4) * 0.1)
    params = dict(n_iter=3, tol=0.0, alpha=ALPHA, regularization=REGULARIZATION,
                  regularization_exponent=1.0, preferences=preferences, real=real,
                  solver=solver)
    single = als(R, init, **params).loss_curve
    monkeypatch.setattr(_als, "_MIN_BLOCK_NNZ", 0)
    blocked = als(R, init, n_threads=3, **params).loss_curve
    np.testing.assert_allclose(blocked, single, rtol=1e-12)


def test_fitted_loss_curve_is_the_objective_of_the_marked_matrix():
    """The estimator passes generated feedback and its penalties to the loss:
    a warm-started sweep's users are the rows folded in against the previous
    item factors, so its loss is the dense objective at them."""
    R, preferences, real = _with_generated_feedback(seed=2)
    generated = R.copy()
    generated.data = (~real).astype(np.float64)
    generated.eliminate_zeros()
    X = mark_generated(R, generated)
    model = MFRecommender(n_factors=4, n_iter=4, solver="cholesky", dtype="float64",
                          alpha=ALPHA, regularization=REGULARIZATION, random_state=0).fit(X)
    users = model.fold_in(X)
    with pytest.warns(ConvergenceWarning):  # one sweep cannot meet a tolerance
        model.set_params(warm_start=True, n_iter=1, tol=0.0).fit(X)
    np.testing.assert_allclose(
        model.loss_curve_, [_dense_loss(R, preferences, real, users, model.item_factors_, 1.0)],
        rtol=1e-10)


@pytest.mark.parametrize("solver", ["cholesky", "cg"])
def test_als_never_increases_the_loss(solver):
    """Exact half-sweeps minimise it; CG steps started from the previous
    factors never increase the quadratic they minimise."""
    X, _ = block_interactions(density=0.3)
    model = MFRecommender(n_factors=8, n_iter=25, tol=0.0, solver=solver,
                          dtype="float64", random_state=0)
    with pytest.warns(ConvergenceWarning):  # tol=0 stops only where the loss increases
        model.fit(X)
    curve = np.array(model.loss_curve_)
    assert model.n_iter_ == len(curve) == 25
    assert np.all(np.diff(curve) <= 1e-12 * curve[:-1])
    assert curve[-1] < 0.9 * curve[0]


@pytest.mark.parametrize("solver", ["cholesky", "cg"])
def test_tol_stops_once_the_relative_decrease_falls_below_it(solver):
    X, _ = block_interactions(density=0.3)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model = MFRecommender(n_factors=8, n_iter=200, tol=1e-4, solver=solver,
                              dtype="float64", random_state=0).fit(X)
    curve = np.array(model.loss_curve_)
    decrease = -np.diff(curve) / curve[:-1]
    assert 2 < model.n_iter_ == len(curve) < 200
    assert decrease[-1] < 1e-4 and np.all(decrease[:-1] >= 1e-4)
    # With a smaller tol, more sweeps run, the first ones the same.
    longer = MFRecommender(n_factors=8, n_iter=model.n_iter_ + 5, tol=1e-12, solver=solver,
                           dtype="float64", random_state=0)
    with pytest.warns(ConvergenceWarning):
        longer.fit(X)
    assert longer.n_iter_ == len(longer.loss_curve_) == model.n_iter_ + 5
    np.testing.assert_allclose(longer.loss_curve_[:model.n_iter_], curve, rtol=1e-12)


def test_convergence_warning_when_n_iter_ends_before_tol():
    X, _ = block_interactions()
    model = MFRecommender(n_factors=4, n_iter=3, tol=1e-12, random_state=0)
    with pytest.warns(ConvergenceWarning, match=r"tol=1e-12.*n_iter=3"):
        model.fit(X)
    assert model.n_iter_ == len(model.loss_curve_) == 3


def test_default_runs_n_iter_sweeps_without_loss_or_warning():
    X, _ = block_interactions()
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model = MFRecommender(n_factors=4, n_iter=7, random_state=0).fit(X)
    assert model.tol is None
    assert model.n_iter_ == 7 and model.loss_curve_ is None


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_warm_start_continues_exact_als_exactly(dtype):
    """A warm-started fit of one sweep after a fit of three is the fit of four:
    the sweep solves the users against the stored item factors, then the items,
    as the fourth sweep does."""
    X, _ = block_interactions()
    params = dict(n_factors=6, solver="cholesky", dtype=dtype, random_state=0)
    warm = MFRecommender(n_iter=3, warm_start=True, **params).fit(X)
    after_three = warm.item_factors_
    warm.set_params(n_iter=1).fit(X)
    fresh = MFRecommender(n_iter=4, **params).fit(X)
    np.testing.assert_array_equal(warm.item_factors_, fresh.item_factors_)
    assert warm.n_iter_ == 1
    assert np.abs(after_three - fresh.item_factors_).max() > 1e-2  # the sweep moved them
    # Without warm_start the second fit starts again from the random factors.
    cold = MFRecommender(n_iter=3, **params).fit(X).set_params(n_iter=1).fit(X)
    np.testing.assert_array_equal(cold.item_factors_,
                                  MFRecommender(n_iter=1, **params).fit(X).item_factors_)


def test_warm_start_with_cg_lands_close_to_the_longer_fit():
    """CG's users start at 0 in every fit (the model keeps no user factors),
    not at the previous sweep's, so the warm-started sweep is close to, not
    equal to, the fourth sweep of one fit."""
    X, _ = block_interactions()
    params = dict(n_factors=6, solver="cg", dtype="float64", random_state=0)
    three = MFRecommender(n_iter=3, **params).fit(X)
    warm = clone(three).set_params(warm_start=True).fit(X).set_params(n_iter=1).fit(X)
    four = MFRecommender(n_iter=4, **params).fit(X)
    gap = np.abs(warm.item_factors_ - four.item_factors_).max()
    assert 0 < gap < 0.2 * np.abs(three.item_factors_ - four.item_factors_).max()


@pytest.mark.parametrize("change", [{"n_factors": 5}, "items"])
def test_warm_start_starts_afresh_when_the_shapes_differ(change):
    X, _ = block_interactions()
    params = dict(n_factors=6, n_iter=2, random_state=0)
    model = MFRecommender(warm_start=True, **params).fit(X)
    if change == "items":
        X = X[:, :50]
    else:
        model.set_params(**change)
        params.update(change)
    model.fit(X)
    np.testing.assert_array_equal(model.item_factors_,
                                  MFRecommender(**params).fit(X).item_factors_)


def test_partial_fit_shares_fit_and_keeps_the_fit_loss_curve():
    X, groups = block_interactions()
    params = dict(n_factors=4, n_iter=100, tol=1e-3, random_state=0)
    first = MFRecommender(**params).partial_fit(X)
    fitted = MFRecommender(**params).fit(X)
    assert first.n_iter_ == fitted.n_iter_ < 100
    assert first.loss_curve_ == fitted.loss_curve_
    curve = copy.copy(first.loss_curve_)
    first.partial_fit(X[groups == 0])
    assert first.n_iter_ == 1 and first.loss_curve_ == curve


@pytest.mark.parametrize("params, name", [({"tol": -1e-3}, "tol"),
                                          ({"warm_start": "yes"}, "warm_start")])
def test_convergence_parameters_are_validated(params, name):
    X, _ = block_interactions()
    with pytest.raises(ValueError, match=name):
        MFRecommender(**params).fit(X)
