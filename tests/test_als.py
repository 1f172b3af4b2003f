"""The ALS solvers: exact Cholesky, conjugate gradient, and what MFRecommender caches."""

import pickle
import threading

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_agn import MFRecommender
from sklearn_agn._threads import torch_threads
from sklearn_agn.estimator_checks import expected_failed_checks
from sklearn_agn.mf import _als
from sklearn_agn.mf._als import als, solve_rows
from sklearn_agn.mf._als_cg import solve_rows_cg
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
    for a, b in zip(cg[:2], exact[:2]):  # users, then items
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
    single = als(R, init, **params).items
    with torch_threads(2):
        blocked = als(R, init, n_threads=3, **params).items
        again = als(R, init, n_threads=3, **params).items
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


def _with_generated(weight, seed=0):
    """A real matrix, and the same with generated entries of value and preference ``weight``."""
    R = _weighted(seed=seed)
    rng = np.random.RandomState(seed + 10)
    generated = sp.random(*R.shape, density=0.1, format="csr", random_state=rng)
    generated.data[:] = weight
    # Keep the generated entries off the real pattern (the augmenter adds new entries).
    generated = generated - generated.multiply(R > 0)
    generated.eliminate_zeros()
    augmented = (R + generated).tocsr()
    augmented.sort_indices()
    is_generated = np.asarray(generated[augmented.nonzero()] != 0).ravel()
    # augmented.nonzero() walks augmented's entries in storage order.
    preferences = np.where(is_generated, augmented.data, 1.0)
    return R, augmented, preferences, ~is_generated


@pytest.mark.parametrize("solver", ["cholesky", "cg"])
def test_generated_entries_vanish_as_their_weight_goes_to_zero(solver):
    """Generated feedback of weight w enters with preference w and confidence
    1 + alpha w: as w -> 0 ALS approaches ALS without it (on old main every
    stored entry had preference 1, so weight 1e-9 counted like a real one)."""
    init = torch.from_numpy(np.random.RandomState(2).randn(40, 6) * 0.1)
    params = dict(n_iter=4, alpha=2.0, regularization=0.3, regularization_exponent=1.0,
                  solver=solver, cg_steps=3)
    R, augmented, preferences, real = _with_generated(1e-9)
    assert augmented.nnz > R.nnz + 50
    users, items, *_ = als(R, init, **params)
    users_w, items_w, *_ = als(augmented, init, preferences=preferences, real=real,
                               **params)
    np.testing.assert_allclose(items_w.numpy(), items.numpy(), atol=1e-7)
    np.testing.assert_allclose(users_w.numpy(), users.numpy(), atol=1e-7)
    # A weight that matters moves the model.
    R, augmented, preferences, real = _with_generated(0.5)
    items_half = als(augmented, init, preferences=preferences, real=real, **params).items
    assert np.abs(items_half.numpy() - items.numpy()).max() > 1e-2


@pytest.mark.parametrize("exponent", [0.0, 1.0])
def test_row_solve_weights_preferences_and_penalises_real_entries_only(exponent):
    """Hand-computed normal equations: c = 1 + alpha r, target c p, and lambda_u
    counting the row's real entries only."""
    R, augmented, preferences, real = _with_generated(0.3)
    Y = np.random.RandomState(3).randn(R.shape[1], 5)
    x = solve_rows(augmented, torch.from_numpy(Y), alpha=2.0, regularization=0.7,
                   regularization_exponent=exponent, preferences=preferences, real=real)
    x_cg = solve_rows_cg(augmented, torch.from_numpy(Y), alpha=2.0, regularization=0.7,
                         regularization_exponent=exponent, preferences=preferences,
                         real=real, cg_steps=40)
    np.testing.assert_allclose(x_cg.numpy(), x.numpy(), atol=1e-9)
    dense = augmented.toarray()
    pref = sp.csr_matrix((preferences, augmented.indices, augmented.indptr),
                         shape=augmented.shape).toarray()
    n_real = R.getnnz(axis=1)
    for u in range(R.shape[0]):
        c = 1 + 2.0 * dense[u]
        A = Y.T @ (c[:, None] * Y) + 0.7 * (n_real[u] + 1) ** exponent * np.eye(5)
        np.testing.assert_allclose(x[u].numpy(), np.linalg.solve(A, Y.T @ (c * pref[u])),
                                   rtol=1e-8, atol=1e-12)


@pytest.fixture
def process_wide_threads(monkeypatch):
    """torch's thread count as one process-wide value, starting at 3.

    Whether a count set in one Python thread is seen from another depends on
    the OpenMP runtime's per-thread state; one shared value (the semantics
    torch documents) makes the interleavings below deterministic.
    """
    state = {"n_threads": 3, "calls": []}

    def set_num_threads(n):
        state["calls"].append(n)
        state["n_threads"] = n

    monkeypatch.setattr(torch, "get_num_threads", lambda: state["n_threads"])
    monkeypatch.setattr(torch, "set_num_threads", set_num_threads)
    return state


def _overlap(first, second):
    """Run ``first(wait)`` and ``second(wait)`` in two threads, overlapping in a fixed order.

    Each calls ``wait()`` once inside the region that must overlap: the first
    enters its region, then the second enters, then the first leaves, then
    the second (the order in which a plain save/restore of a process-wide
    setting restores the wrong value).
    """
    first_inside, second_inside, first_done = (threading.Event() for _ in range(3))
    errors = []

    def run(body, wait):
        try:
            body(wait)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    def wait_first():
        first_inside.set()
        second_inside.wait(timeout=60)

    def wait_second():
        second_inside.set()
        first_done.wait(timeout=60)

    def run_first():
        run(first, wait_first)
        first_done.set()

    a = threading.Thread(target=run_first)
    a.start()
    first_inside.wait(timeout=60)
    b = threading.Thread(target=run, args=(second, wait_second))
    b.start()
    a.join()
    b.join()
    assert not errors, errors


def test_concurrent_thread_requests_restore_the_original_count(process_wide_threads):
    """Two overlapping requests from two threads, the first to start ending first:
    the last to end puts back the original count (a plain save/restore in each
    request left the process at the first request's count for good)."""
    def request(n_jobs):
        def body(wait):
            with torch_threads(n_jobs):
                wait()
        return body

    _overlap(request(1), request(2))
    assert process_wide_threads["n_threads"] == 3


def test_concurrent_fits_restore_torch_threads(process_wide_threads, monkeypatch):
    """Two fits with n_jobs in concurrent threads, overlapping for sure (the
    first to start ends first): torch is back at its original count after."""
    import sklearn_agn.mf._recommender as mf_module

    X, _ = block_interactions()
    monkeypatch.setattr(_als, "_MIN_BLOCK_NNZ", 0)  # block threads on this small matrix
    original_als = mf_module.als
    waits = {}

    def overlapping_als(*args, **kwargs):
        result = original_als(*args, **kwargs)
        waits[threading.current_thread()]()  # inside fit's thread setting
        return result

    monkeypatch.setattr(mf_module, "als", overlapping_als)

    def fit(n_jobs):
        def body(wait):
            waits[threading.current_thread()] = wait
            MFRecommender(n_factors=4, n_iter=2, n_jobs=n_jobs, random_state=0).fit(X)
        return body

    _overlap(fit(1), fit(2))
    assert process_wide_threads["n_threads"] == 3


def test_fit_with_n_jobs_none_never_sets_torch_threads(process_wide_threads, monkeypatch):
    monkeypatch.setattr(_als, "_MIN_BLOCK_NNZ", 0)  # old main: block threads from here on
    X, _ = block_interactions()
    for solver in ("cholesky", "cg"):
        MFRecommender(n_factors=4, n_iter=2, solver=solver, random_state=0).fit(X).predict(X)
    assert process_wide_threads["calls"] == []


def test_n_jobs_runs_blocks_on_that_many_threads_with_torch_single_threaded(
        process_wide_threads, monkeypatch):
    seen = []
    original = _als.solve_rows

    def recording(*args, **kwargs):
        seen.append((threading.current_thread().name, torch.get_num_threads()))
        return original(*args, **kwargs)

    monkeypatch.setattr(_als, "solve_rows", recording)
    monkeypatch.setattr(_als, "_MIN_BLOCK_NNZ", 0)
    X, _ = block_interactions()
    MFRecommender(n_factors=4, n_iter=2, solver="cholesky", n_jobs=2, random_state=0).fit(X)
    assert {n for _, n in seen} == {1}
    assert len({name for name, _ in seen}) == 2
    assert all(name.startswith("sklearn_agn_als") for name, _ in seen)
    assert process_wide_threads["n_threads"] == 3
