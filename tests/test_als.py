"""The ALS solvers: exact Cholesky, conjugate gradient, and what MFRecommender caches."""

import pickle

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_agn import MFRecommender, _als, _threads
from sklearn_agn._als import als, solve_rows
from sklearn_agn._als_cg import solve_rows_cg
from sklearn_agn._threads import torch_threads
from sklearn_agn.estimator_checks import expected_failed_checks
from sklearn_agn.model_selection import holdout_split

from ._synthetic import block_interactions


def _weighted(n_rows=60, n_cols=40, density=0.15, seed=0):
    R = sp.random(n_rows, n_cols, density=density, format="csr", random_state=seed)
    R.data = 0.2 + 3 * R.data  # varied confidences, some generated-like (< 1)
    R = R.tolil()
    R[3] = 0  # an empty row: only the penalty and the Gram matrix act on it
    return R.tocsr()


@pytest.mark.parametrize("exponent", [0.0, 1.0])
def test_cg_converges_to_the_cholesky_solution(exponent):
    R = _weighted()
    Y = torch.from_numpy(np.random.RandomState(1).randn(R.shape[1], 8) * 0.5)
    params = dict(alpha=2.0, regularization=0.3, regularization_exponent=exponent)
    exact = solve_rows(R, Y, **params)
    errors = [float((solve_rows_cg(R, Y, cg_steps=steps, **params) - exact).abs().max())
              for steps in (1, 3, 8, 40)]
    # Monotone in the steps (CG minimises the A-norm of the error), exact in the end.
    assert errors[0] > errors[1] > errors[2]
    assert errors[-1] < 1e-10
    # Warm-started from the exact solution, CG stays there.
    warm = solve_rows_cg(R, Y, exact, cg_steps=3, **params)
    np.testing.assert_allclose(warm.numpy(), exact.numpy(), atol=1e-12)


def test_cg_solves_the_item_side_too():
    """With enough steps, ALS with CG sweeps follows ALS with exact sweeps."""
    R = _weighted(n_rows=50, n_cols=30, density=0.2)
    init = torch.from_numpy(np.random.RandomState(2).randn(30, 6) * 0.1)
    params = dict(n_iter=3, alpha=1.5, regularization=0.2, regularization_exponent=1.0)
    exact = als(R, init, solver="cholesky", **params)
    cg = als(R, init, solver="cg", cg_steps=60, **params)
    for a, b in zip(cg, exact):  # users, then items
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-9)
    with pytest.raises(ValueError, match="solver"):
        als(R, init, solver="lu", **params)


def test_cg_float32_matches_float64():
    R = _weighted()
    Y = np.random.RandomState(3).randn(R.shape[1], 8) * 0.5
    params = dict(alpha=2.0, regularization=0.3, regularization_exponent=1.0, cg_steps=30)
    x64 = solve_rows_cg(R, torch.from_numpy(Y), **params).numpy()
    x32 = solve_rows_cg(R.astype(np.float32), torch.from_numpy(Y).float(), **params).numpy()
    np.testing.assert_allclose(x32, x64, atol=1e-4)


def test_mf_with_cg_recovers_the_planted_blocks_like_cholesky():
    X, groups = block_interactions(n_users=150, n_items=90, n_blocks=3, density=0.4)
    X_train, X_test = holdout_split(X, 0.3, random_state=0)
    common = dict(n_factors=8, regularization=0.1, alpha=2, random_state=0)
    cg = MFRecommender(solver="cg", **common).fit(X_train)
    chol = MFRecommender(**common).fit(X_train)
    item_block = np.arange(90) * 3 // 90
    ranked = cg.predict(X_train, k=5)
    assert (item_block[ranked] == groups[:, None]).mean() > 0.99
    assert cg.score(X_train, X_test) >= chol.score(X_train, X_test) - 0.02


def test_cg_fit_is_reproducible_and_differs_from_cholesky():
    X, _ = block_interactions()
    a = MFRecommender(n_factors=8, n_iter=4, solver="cg", random_state=0).fit(X)
    b = MFRecommender(n_factors=8, n_iter=4, solver="cg", random_state=0).fit(X)
    np.testing.assert_array_equal(a.item_factors_, b.item_factors_)
    c = MFRecommender(n_factors=8, n_iter=4, solver="cholesky", random_state=0).fit(X)
    assert not np.array_equal(a.item_factors_, c.item_factors_)


def test_singular_systems_fall_back_to_least_squares():
    # No penalty and fewer items than factors: Y^T Y is singular for an empty row.
    R = sp.csr_matrix(np.array([[1.0, 0.0], [0.0, 0.0]]))
    Y = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], dtype=torch.float64)
    x = solve_rows(R, Y, alpha=1.0, regularization=0.0, regularization_exponent=0.0)
    assert torch.isfinite(x).all()
    np.testing.assert_allclose(x[1].numpy(), 0.0, atol=1e-12)  # minimum-norm: b = 0


def test_gram_is_cached_at_fit_and_refreshed_by_partial_fit():
    X, groups = block_interactions()
    model = MFRecommender(n_factors=6, n_iter=3, random_state=0, dtype="float64").fit(X)
    factors, gram = model._item_gram
    assert factors is model.item_factors_
    np.testing.assert_allclose(gram, model.item_factors_.T @ model.item_factors_)
    model.partial_fit(X[groups == 0])
    factors, gram = model._item_gram
    assert factors is model.item_factors_
    np.testing.assert_allclose(gram, model.item_factors_.T @ model.item_factors_)


def test_gram_cache_survives_pickling_and_tracks_replaced_factors():
    X, _ = block_interactions()
    model = MFRecommender(n_factors=6, n_iter=3, random_state=0, dtype="float64").fit(X)
    loaded = pickle.loads(pickle.dumps(model))
    assert loaded._item_gram[0] is loaded.item_factors_
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    # Factors replaced by hand: the stale cache is ignored, not used.
    other = MFRecommender(n_factors=6, n_iter=3, random_state=1, dtype="float64").fit(X)
    loaded.item_factors_ = other.item_factors_.copy()
    np.testing.assert_allclose(loaded.fold_in(X[:5]), other.fold_in(X[:5]), atol=1e-12)


def test_fold_in_uses_no_stale_cache_after_unpickling_an_old_model():
    X, _ = block_interactions()
    model = MFRecommender(n_factors=6, n_iter=3, random_state=0, dtype="float64").fit(X)
    expected = model.fold_in(X[:5])
    del model._item_gram  # a model pickled before the cache existed
    np.testing.assert_allclose(model.fold_in(X[:5]), expected, atol=1e-12)


def test_n_jobs_scopes_torch_threads():
    X, _ = block_interactions()
    before = torch.get_num_threads()
    seen = []
    with torch_threads(1):
        seen.append(torch.get_num_threads())
    assert seen == [1] and torch.get_num_threads() == before
    model = MFRecommender(n_factors=4, n_iter=2, n_jobs=1, solver="cg", random_state=0)
    model.fit(X).predict(X)
    assert torch.get_num_threads() == before
    with pytest.raises(ValueError, match="n_jobs"):
        MFRecommender(n_jobs=0).fit(X)


@pytest.mark.parametrize("solver", ["cholesky", "cg"])
def test_thread_blocks_give_the_single_thread_factors(monkeypatch, solver):
    """With several threads the rows and columns are solved in blocks on a thread
    pool; every row's solution depends only on its own data, so the factors are
    those of one thread (up to rounding) and the same from run to run."""
    R = _weighted(n_rows=300, n_cols=120, density=0.1, seed=4)
    init = torch.from_numpy(np.random.RandomState(5).randn(120, 8) * 0.1)
    params = dict(n_iter=3, alpha=2.0, regularization=0.1, regularization_exponent=1.0,
                  solver=solver)
    monkeypatch.setattr(_als, "_MIN_BLOCK_NNZ", 0)
    _, single = als(R, init, **params)
    with torch_threads(2):
        _, blocked = als(R, init, n_threads=3, **params)
        _, again = als(R, init, n_threads=3, **params)
        assert torch.get_num_threads() == 2  # restored after the pool's run
    np.testing.assert_allclose(blocked.numpy(), single.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(blocked.numpy(), again.numpy())


def test_new_parameters_are_validated():
    X, _ = block_interactions()
    with pytest.raises(ValueError, match="solver"):
        MFRecommender(solver="lu").fit(X)
    with pytest.raises(ValueError, match="cg_steps"):
        MFRecommender(solver="cg", cg_steps=0).fit(X)


@parametrize_with_checks([MFRecommender(n_factors=4, n_iter=3, k=1, solver="cg", n_jobs=1)],
                         expected_failed_checks=expected_failed_checks, xfail_strict=True)
def test_sklearn_compatible_with_cg(estimator, check):
    check(estimator)
