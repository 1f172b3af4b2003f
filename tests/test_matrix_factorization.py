import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone

from sklearn_agn import MFRecommender
from sklearn_agn._threads import blas_threads
from sklearn_agn._validation import check_feedback, mark_generated, take_rows
from sklearn_agn.datasets import make_interactions
from sklearn_agn.gan import generated_mask
from sklearn_agn.metrics import ndcg_at_k, precision_at_k, ranking_metrics
from sklearn_agn.mf import _recommender as matrix_factorization
from sklearn_agn.mf import _serving as _mf_serving
from sklearn_agn.model_selection import holdout_split

from ._synthetic import block_interactions

FAST = dict(n_factors=8, n_iter=5, random_state=0, dtype="float64")


def test_fold_in_solves_the_weighted_normal_equations():
    X, _ = block_interactions(density=0.3)
    X = X.multiply(sp.random(*X.shape, density=1, random_state=1) * 3).tocsr()  # varied values
    model = MFRecommender(**FAST, alpha=2.0, regularization=0.5,
                          regularization_exponent=1.0).fit(X)
    Y = model.item_factors_
    U = model.fold_in(X[:10])
    for u in range(10):
        r = X[u].toarray().ravel()
        c = 1 + 2.0 * r
        lam = 0.5 * ((r > 0).sum() + 1)
        A = Y.T @ (c[:, None] * Y) + lam * np.eye(Y.shape[1])
        np.testing.assert_allclose(U[u], np.linalg.solve(A, Y.T @ (c * (r > 0))), rtol=1e-8)


def test_planted_block_structure_is_recovered():
    X, groups = block_interactions(n_users=150, n_items=90, n_blocks=3, density=0.4)
    X_train, X_test = holdout_split(X, 0.3, random_state=0)
    model = MFRecommender(n_factors=8, regularization=0.1, alpha=2, random_state=0)
    ranked = model.fit(X_train).predict(X_train, k=5)
    item_block = np.arange(90) * 3 // 90
    # Every recommended item lies in the user's own block ...
    assert (item_block[ranked] == groups[:, None]).mean() > 0.99
    # ... so held-out items are found far above chance: a random unseen item
    # is held out with probability n_test / n_unseen (about 0.045 here).
    chance = np.mean(X_test.getnnz(axis=1) / (90 - X_train.getnnz(axis=1)))
    assert precision_at_k(X_test, ranked) > 3 * chance


def test_new_user_is_folded_in_like_its_group():
    X, groups = block_interactions()
    model = MFRecommender(**FAST).fit(X)
    new_user = np.zeros((1, X.shape[1]))
    new_user[0, [0, 3, 5]] = 1  # three items of block 0
    assert (model.predict(new_user, k=5) < X.shape[1] // 3).all()


def test_real_interactions_are_filtered_but_generated_ones_are_not():
    X, _ = block_interactions()
    model = MFRecommender(**FAST).fit(X)
    n_items = X.shape[1]
    row = np.zeros((1, n_items))
    row[0, :10] = 1.0
    plain = model.predict(row, k=n_items - 10)
    assert not np.isin(plain, np.arange(10)).any()
    row[0, 10:15] = 0.5
    row = sp.csr_matrix(row)
    # Unmarked, the 0.5 entries are real interactions: filtered like the others.
    assert not np.isin(model.predict(row, k=n_items - 15), np.arange(15)).any()
    # Marked as generated feedback (as GANAugmenter does): eligible.
    mark_generated(row, sp.csr_matrix(row.toarray() == 0.5))
    with_generated = model.predict(row, k=n_items - 10)
    assert set(range(10, 15)) <= set(with_generated.ravel())
    assert (with_generated >= 0).all()


def test_rows_with_fewer_unseen_items_than_k_are_padded():
    X, _ = block_interactions(n_items=12)
    model = MFRecommender(**FAST).fit(X)
    row = np.ones((1, 12))
    row[0, 0] = 0
    np.testing.assert_array_equal(model.predict(row, k=3), [[0, -1, -1]])


def test_score_is_the_configured_metric_of_predict():
    X, _ = block_interactions()
    X_train, X_test = holdout_split(X, 0.2, random_state=0)
    model = MFRecommender(**FAST, k=7).fit(X_train)
    ranked = model.predict(X_train)
    assert model.score(X_train, X_test) == pytest.approx(ndcg_at_k(X_test, ranked))
    model.set_params(metric="precision")
    assert model.score(X_train, X_test) == pytest.approx(precision_at_k(X_test, ranked))


def test_batching_does_not_change_results():
    X, _ = block_interactions()
    a = MFRecommender(**FAST, batch_size=7).fit(X)
    b = clone(a).set_params(batch_size=1000).fit(X)
    np.testing.assert_allclose(a.decision_function(X), b.decision_function(X), atol=1e-12)
    np.testing.assert_array_equal(a.predict(X), b.predict(X))


def test_random_state_and_clone_give_identical_models():
    X, _ = block_interactions()
    a = MFRecommender(n_factors=8, n_iter=3, random_state=42).fit(X)
    b = clone(a).fit(X)
    np.testing.assert_array_equal(a.item_factors_, b.item_factors_)
    c = MFRecommender(n_factors=8, n_iter=3, random_state=43).fit(X)
    assert not np.array_equal(a.item_factors_, c.item_factors_)


def test_pickle_round_trip_predicts_identically():
    X, _ = block_interactions()
    model = MFRecommender(**FAST).fit(X)
    loaded = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(model.predict(X), loaded.predict(X))


def test_first_partial_fit_equals_fit():
    X, _ = block_interactions()
    a = MFRecommender(**FAST).partial_fit(X)
    b = MFRecommender(**FAST).fit(X)
    np.testing.assert_array_equal(a.item_factors_, b.item_factors_)


def test_partial_fit_adapts_touched_items_only():
    X, groups = block_interactions(n_users=150, n_items=60, n_blocks=3)
    model = MFRecommender(**FAST, regularization=0.1).fit(X)
    before = model.item_factors_.copy()
    # New feedback: block-0 users start consuming item 59 (of block 2).
    new = X[groups == 0].tolil()
    new[:, 59] = 1
    new = new.tocsr()
    model.partial_fit(new)
    touched = np.flatnonzero(new.getnnz(axis=0))
    untouched = np.setdiff1d(np.arange(60), touched)
    np.testing.assert_array_equal(model.item_factors_[untouched], before[untouched])
    assert not np.allclose(model.item_factors_[59], before[59])
    # Item 59 moves up for a block-0 user who has not consumed it yet.
    probe = X[groups == 0][:5]
    pos_before = np.argmax(np.argsort(-MFRecommender(**FAST).fit(X).decision_function(probe),
                                      axis=1) == 59, axis=1)
    pos_after = np.argmax(np.argsort(-model.decision_function(probe), axis=1) == 59, axis=1)
    assert (pos_after < pos_before).all()


@pytest.mark.parametrize("bad, message", [
    (lambda X: -X, "Negative values"),
    (lambda X: np.where(X > 0, np.nan, 0), "NaN"),
    (lambda X: np.where(X > 0, np.inf, 0), "infinity"),
])
def test_bad_values_raise_a_clear_value_error(bad, message):
    X, _ = block_interactions()
    with pytest.raises(ValueError, match=message):
        MFRecommender(**FAST).fit(bad(X.toarray()))


def test_wrong_number_of_items_at_predict_time_names_the_items():
    X, _ = block_interactions(n_items=60)
    model = MFRecommender(**FAST).fit(X)
    with pytest.raises(ValueError, match="one column per item seen in fit"):
        model.predict(X[:, :50])
    with pytest.raises(ValueError, match="expecting 60 features"):
        model.predict(sp.hstack([X, X]).tocsr())


def test_k_larger_than_catalogue_raises():
    X, _ = block_interactions(n_items=12)
    model = MFRecommender(**FAST).fit(X)
    with pytest.raises(ValueError, match="larger than the catalogue"):
        model.predict(X, k=13)
    with pytest.raises(ValueError, match="larger than the catalogue"):
        model.set_params(k=20).predict(X)


def test_empty_matrix_raises():
    with pytest.raises(ValueError, match="0 sample"):
        MFRecommender(**FAST).fit(sp.csr_matrix((0, 5)))


def test_callers_matrix_is_never_modified():
    # Duplicates and explicit zeros force canonicalisation, which must copy.
    X = sp.csr_matrix((np.array([1.0, 0.0, 2.0, 1.0]), np.array([0, 1, 2, 2]),
                       np.array([0, 2, 4])), shape=(2, 3))
    snapshot = (X.data.copy(), X.indices.copy(), X.indptr.copy())
    model = MFRecommender(**FAST, k=1).fit(X)
    model.predict(X)
    model.partial_fit(X)
    for before, after in zip(snapshot, (X.data, X.indices, X.indptr)):
        np.testing.assert_array_equal(before, after)


def test_csr_array_and_dense_input_agree():
    X, _ = block_interactions()
    a = MFRecommender(**FAST).fit(sp.csr_array(X))
    b = MFRecommender(**FAST).fit(X.toarray())
    np.testing.assert_allclose(a.item_factors_, b.item_factors_)


@pytest.mark.slow
def test_tuned_mf_reaches_tuned_ials_on_ml100k(ml100k):
    """Hyper-parameters chosen by validation NDCG@20 on holdout_split(train, 0.2, random_state=1).

    Reproduce with ``python -m sklearn_agn.benchmark``; the test split is never used to choose.
    """
    train, test = ml100k
    model = MFRecommender(**MF_ML100K_PARAMS, random_state=0).fit(train)
    scores = ranking_metrics(test, model.predict(train, k=20), ks=(5, 20))
    assert scores["ndcg@20"] >= 0.438
    assert scores["precision@5"] >= 0.437


MF_ML100K_PARAMS = dict(n_factors=128, regularization=30.0, regularization_exponent=0.0,
                        alpha=2.0)


def _replay_data():
    X = make_interactions(300, 120, 4000, random_state=0).tocsr()
    return holdout_split(X, 0.2, random_state=0)


def test_replaying_training_rows_through_partial_fit_keeps_the_model():
    """partial_fit keeps the sufficient statistics of every user seen, so feeding
    the training rows again, 5 at a time, leaves the model essentially as fitted
    (re-solving touched items against the batch alone moved the factors by 67%
    of their size and lost .035 of NDCG@20 here; now about 17% and .016, the
    cost of the diagonal per-item statistics)."""
    train, test = _replay_data()
    model = MFRecommender(n_factors=8, n_iter=10, k=20, random_state=0,
                          dtype="float64").fit(train)
    fitted, ndcg = model.item_factors_.copy(), model.score(train, test)
    for start in range(0, train.shape[0], 5):
        model.partial_fit(train[start:start + 5])
    drift = np.linalg.norm(model.item_factors_ - fitted) / np.linalg.norm(fitted)
    assert drift < 0.25
    assert model.score(train, test) > ndcg - 0.02
    # The statistics now hold every row twice.
    assert model.item_interaction_counts_.sum() == 2 * train.nnz


def test_partial_fit_new_users_make_co_consumed_items_recommended():
    """New users who all take items a and b make b recommended to a user holding a."""
    X, groups = block_interactions(n_users=150, n_items=60, n_blocks=3)
    model = MFRecommender(**FAST, regularization=0.1).fit(X)
    a, b = 0, 59  # block 0 and block 2: never taken together in fit
    probe = np.zeros((1, 60))
    probe[0, a] = 1
    assert b not in model.predict(probe, k=5)
    new = np.zeros((40, 60))
    new[:, [a, b]] = 1
    model.partial_fit(new)
    assert model.predict(probe, k=1)[0, 0] == b


def test_partial_fit_appends_new_items():
    X, groups = block_interactions(n_users=150, n_items=60, n_blocks=3)
    model = MFRecommender(**FAST, regularization=0.1).fit(X)
    before = model.item_factors_.copy()
    # Two new items, taken by block-0 users only.
    new = sp.hstack([X[groups == 0], sp.csr_matrix(np.ones(((groups == 0).sum(), 2)))]).tocsr()
    model.partial_fit(new)
    assert model.n_features_in_ == 62 and model.item_factors_.shape == (62, 8)
    assert model.item_curvature_.shape == (62, 8)
    untouched = np.flatnonzero(X[groups == 0].getnnz(axis=0) == 0)
    np.testing.assert_array_equal(model.item_factors_[untouched], before[untouched])
    # A block-0 user is recommended the new items, among the 15 unseen items of
    # their block (which have all 150 users of evidence, the new ones 50); a
    # block-1 user is not.
    block0 = np.zeros((1, 62))
    block0[0, :5] = 1
    block1 = np.zeros((1, 62))
    block1[0, 20:25] = 1
    assert {60, 61} <= set(model.predict(block0, k=8)[0])
    assert not {60, 61} & set(model.predict(block1, k=10)[0])
    with pytest.raises(ValueError, match="expecting 62 features"):
        model.partial_fit(X)  # fewer columns than the catalogue: an error, not a shrink


def test_partial_fit_update_items_resolves_only_those_items_exactly():
    """Each touched item's update is its own solve: restricting the update to some
    items gives them the factors of the unrestricted update, and leaves the rest."""
    X, groups = block_interactions(n_users=150, n_items=60, n_blocks=3)
    new = X[groups == 0].tolil()
    new[:, 59] = 1
    new = new.tocsr()
    full = MFRecommender(**FAST, regularization=0.1).fit(X)
    part = clone(full).fit(X)
    before = full.item_factors_.copy()
    full.partial_fit(new)
    part.partial_fit(new, update_items=[3, 59, 40])  # 40: untouched by new, stays
    np.testing.assert_allclose(part.item_factors_[[3, 59]], full.item_factors_[[3, 59]])
    others = np.setdiff1d(np.arange(60), [3, 59])
    np.testing.assert_array_equal(part.item_factors_[others], before[others])
    # The statistics count every user of new either way.
    np.testing.assert_array_equal(part.item_interaction_counts_, full.item_interaction_counts_)
    with pytest.raises(ValueError,
                       match=r"update_items holds item indices outside the catalogue \[0, 60\)"):
        part.partial_fit(new, update_items=[60])
    with pytest.raises(TypeError, match="update_items must hold integer item indices"):
        part.partial_fit(new, update_items=[0.5])


def test_partial_fit_cg_item_update_reaches_the_exact_update():
    """With as many CG steps as factors, the warm-started CG item update of
    solver="cg" is the exact (Cholesky) update; with the default 3 steps, close."""
    X, groups = block_interactions(n_users=150, n_items=60, n_blocks=3)
    new = X[groups == 1][:20]
    models = {}
    for name, params in {"exact": dict(solver="cholesky"), "cg8": dict(solver="cg", cg_steps=8),
                         "cg3": dict(solver="cg", cg_steps=3)}.items():
        base = MFRecommender(**{**FAST, "solver": "cholesky"}).fit(X)
        models[name] = base.set_params(**params).partial_fit(new)
    exact = models["exact"].item_factors_
    np.testing.assert_allclose(models["cg8"].item_factors_, exact, atol=1e-8)
    error = np.linalg.norm(models["cg3"].item_factors_ - exact) / np.linalg.norm(exact)
    assert 0 < error < 0.05


def test_partial_fit_with_previous_rows_replaces_the_returning_users():
    """With their earlier rows as ``previous``, returning users count once: their
    earlier part of the statistics is replaced, and only the items of their new
    interactions are re-solved."""
    X, groups = block_interactions(n_users=150, n_items=60, n_blocks=3)
    model = MFRecommender(**FAST, solver="cholesky").fit(X)
    before = model.item_factors_.copy()
    gram, counts = model.user_gram_.copy(), model.item_interaction_counts_.copy()
    old = X[:10]
    new = old.tolil()
    new[:, [57, 58]] = 1  # block-0 users take two block-2 items
    new = new.tocsr()
    fresh = np.flatnonzero(new.getnnz(axis=0) - old.getnnz(axis=0))
    x_old, x_new = model.fold_in(old), model.fold_in(new)
    model.partial_fit(new, previous=old)
    np.testing.assert_allclose(model.user_gram_, gram - x_old.T @ x_old + x_new.T @ x_new)
    np.testing.assert_array_equal(model.item_interaction_counts_,
                                  counts + np.asarray(new.getnnz(axis=0) - old.getnnz(axis=0)))
    assert set(fresh) == {57, 58} and not np.allclose(model.item_factors_[fresh], before[fresh])
    others = np.setdiff1d(np.arange(60), fresh)
    np.testing.assert_array_equal(model.item_factors_[others], before[others])
    # Rows replayed as their own previous rows change nothing.
    state = model.item_factors_.copy(), model.item_interaction_counts_.copy()
    model.partial_fit(X[20:40], previous=X[20:40])
    np.testing.assert_array_equal(model.item_factors_, state[0])
    np.testing.assert_array_equal(model.item_interaction_counts_, state[1])
    with pytest.raises(ValueError, match="previous must have the shape of X"):
        model.partial_fit(new, previous=old[:5])


def _marked(X, weight, seed=0):
    """``X`` plus generated feedback of ``weight`` on 10% of its missing entries, marked."""
    rng = np.random.RandomState(seed)
    missing = (X.toarray() == 0) & (rng.rand(*X.shape) < 0.1)
    augmented = sp.csr_matrix(X.toarray() + weight * missing)
    return mark_generated(augmented, sp.csr_matrix(missing))


@pytest.mark.parametrize("solver", ["cholesky", "cg"])
def test_generated_feedback_of_vanishing_weight_leaves_the_model_as_without_it(solver):
    """As the generated weight goes to 0, MF approaches MF fitted without the
    generated entries (on old main a weight of 1e-9 counted like a real
    interaction: preference 1, and one more interaction in the penalty)."""
    X, _ = block_interactions()
    params = dict(FAST, solver=solver, regularization_exponent=1.0)
    plain = MFRecommender(**params).fit(X)
    augmented = _marked(X, 1e-9)
    assert augmented.nnz > X.nnz + 100
    vanishing = MFRecommender(**params).fit(augmented)
    np.testing.assert_allclose(vanishing.item_factors_, plain.item_factors_, atol=1e-6)
    np.testing.assert_array_equal(vanishing.predict(X), plain.predict(X))
    # A weight that matters changes the model.
    half = MFRecommender(**params).fit(_marked(X, 0.5))
    assert np.abs(half.item_factors_ - plain.item_factors_).max() > 1e-2


def test_fold_in_penalty_counts_real_interactions_only():
    X, _ = block_interactions(density=0.3)
    model = MFRecommender(**FAST, alpha=2.0, regularization=0.5,
                          regularization_exponent=1.0).fit(X)
    rows = _marked(X[:10], 0.25, seed=3)
    real = X[:10].toarray()
    values = rows.toarray()
    preference = np.where(real > 0, 1.0, values)  # generated: preference = weight
    Y = model.item_factors_
    U = model.fold_in(rows)
    for u in range(10):
        c = 1 + 2.0 * values[u]
        lam = 0.5 * ((real[u] > 0).sum() + 1)  # the generated entries do not count
        A = Y.T @ (c[:, None] * Y) + lam * np.eye(Y.shape[1])
        np.testing.assert_allclose(U[u], np.linalg.solve(A, Y.T @ (c * preference[u])),
                                   rtol=1e-8)


@pytest.mark.parametrize("n_factors", [13, 64])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_rows_scores_do_not_depend_on_the_rows_scored_with_it(dtype, n_factors):
    """Issue 17, item 1: a row scored alone and in a shuffled batch of 50 (generated
    feedback and an empty row among them). In float32 the scores are bit-identical
    (a float32 product gave a row's last bits by its position in the batch: 48 to
    50 rows of 50 differed); in float64 they agree to about 1e-16."""
    rng = np.random.RandomState(0)
    X = sp.csr_matrix((rng.rand(120, 311) < 0.05) * rng.randint(1, 5, (120, 311)),
                      dtype=np.float64)
    X = _marked(X, 0.4)
    model = MFRecommender(n_factors=n_factors, n_iter=3, dtype=dtype, random_state=0).fit(X)
    rows = sp.vstack([X[:49], sp.csr_matrix((1, 311))]).tocsr()
    mark_generated(rows, sp.vstack([generated_mask(X)[:49], sp.csr_matrix((1, 311))]))
    assert generated_mask(rows).nnz > 0  # the test would not cover them otherwise
    order = rng.permutation(50)
    batch = model.decision_function(take_rows(rows, order))
    alone = np.vstack([model.decision_function(take_rows(rows, [i])) for i in order])
    assert batch.dtype == np.dtype(dtype)
    if dtype == "float32":
        np.testing.assert_array_equal(alone, batch)
        np.testing.assert_array_equal(model.fold_in(take_rows(rows, order)),
                                      np.vstack([model.fold_in(take_rows(rows, [i]))
                                                 for i in order]))
        np.testing.assert_array_equal(model.predict(take_rows(rows, order)),
                                      model.predict(rows)[order])
    else:
        np.testing.assert_allclose(alone, batch, rtol=1e-12, atol=1e-14)


def _serving_model(n_items=3000, seed=0):
    rng = np.random.RandomState(seed)
    X = sp.csr_matrix((rng.rand(80, n_items) < 0.01) * rng.randint(1, 5, (80, n_items)),
                      dtype=np.float64)
    return _marked(X, 0.4, seed), MFRecommender(n_factors=16, n_iter=3, random_state=0).fit(X)


def _rank_reference(model, rows, k, banned=None):
    """Every item scored by decision_function, ranked by (score descending, index ascending)."""
    scores = model.decision_function(rows).astype(np.float64)
    scores[check_feedback(rows).real_mask().toarray()] = -np.inf
    if banned is not None:
        scores[:, banned] = -np.inf
    order = np.lexsort((np.broadcast_to(np.arange(scores.shape[1]), scores.shape), -scores))
    top = order[:, :k]
    return np.where(np.isneginf(np.take_along_axis(scores, top, axis=1)), -1, top)


def test_rows_are_ranked_from_few_exact_scores_alone_and_in_batches(monkeypatch):
    """Issue 21, item 2: a row's top k is its top k among all items scored
    exactly (decision_function's scores), alone as in a batch, bit for bit,
    found from a float32 product and the exact scores of the few items that
    can make it. A batch used to score every item in float64 (1.6 times the
    float32 time of e0fecc6): here each row scores a few dozen of 3,000."""
    X, model = _serving_model()
    rows = X[:30]
    mark_generated(rows, generated_mask(X)[:30])
    every_item, scored = [], []
    full = matrix_factorization._rounded_products

    def spy_full(users, items, dtype):
        every_item.append(items.shape[0])
        return full(users, items, dtype)

    monkeypatch.setattr(matrix_factorization, "_rounded_products", spy_full)
    batch = model.predict(rows, k=10)
    assert every_item == []  # no row had every item scored exactly
    exact = _mf_serving._candidate_scores

    def spy(users, items, owners, candidates, dtype):
        scored.append(np.bincount(owners, minlength=users.shape[0]))
        return exact(users, items, owners, candidates, dtype)

    monkeypatch.setattr(_mf_serving, "_candidate_scores", spy)
    np.testing.assert_array_equal(model.predict(rows, k=10), batch)
    assert len(scored) == 1 and scored[0].shape == (30,)
    assert scored[0].min() >= 10 and scored[0].max() < 100
    alone = np.vstack([model.predict(take_rows(rows, [i]), k=10) for i in range(30)])
    assert len(scored) == 31 and max(s.max() for s in scored[1:]) < 100
    assert every_item == []
    np.testing.assert_array_equal(alone, batch)
    np.testing.assert_array_equal(alone, _rank_reference(model, rows, 10))
    # The item filters, and k large enough that candidates tie at float32's resolution.
    banned = np.arange(0, 3000, 3)
    first = take_rows(rows, slice(5))
    for k in (1, 10, 500):
        expected = _rank_reference(model, first, k, banned)
        np.testing.assert_array_equal(model.recommend(first, k, exclude_items=banned), expected)
        for i in range(5):
            np.testing.assert_array_equal(
                model.recommend(take_rows(rows, [i]), k, exclude_items=banned), expected[i:i + 1])


def test_a_batch_of_cold_short_and_long_rows_is_ranked_as_each_row_alone():
    """Cold rows (popularity) and rows with fewer eligible items than k (padding)
    take the path that scores every item, the others the few exact scores: in
    one batch, in chunks of rows, and alone, each row gets its reference ranking."""
    X, model = _serving_model(n_items=300)
    rows = sp.vstack([X[:4], sp.csr_matrix((1, 300)), X[4:9], sp.csr_matrix((1, 300))]).tocsr()
    # 12 candidate items, 5 of them seen by row 0: it has 7 eligible items.
    allowed = np.concatenate([rows[0].indices[:5], np.setdiff1d(np.arange(300),
                                                                rows[0].indices)[:7]])
    banned = np.setdiff1d(np.arange(300), allowed)
    for candidate_items, excluded in [(None, None), (allowed, banned)]:
        expected = _rank_reference(model, rows, 10, excluded)
        ranked = model.recommend(rows, 10, candidate_items=candidate_items)
        np.testing.assert_array_equal(ranked, expected)
        chunked = pickle.loads(pickle.dumps(model)).set_params(batch_size=3)
        np.testing.assert_array_equal(
            chunked.recommend(rows, 10, candidate_items=candidate_items), expected)
        for i in range(rows.shape[0]):
            np.testing.assert_array_equal(
                model.recommend(rows[i], 10, candidate_items=candidate_items), expected[i:i + 1])
    assert (ranked[0] == -1).sum() == 3  # padded
    np.testing.assert_array_equal(ranked[4, :3], ranked[10, :3])  # both cold


def test_one_row_ties_go_to_the_lowest_items():
    """Items in groups of 4 sharing their factors tie exactly: the top 10 of one
    row holds the lowest items of the group cut at the boundary, as in a batch."""
    X, model = _serving_model()
    factors = model.item_factors_[np.arange(3000) // 4 * 4]
    model.item_factors_ = factors  # caches of the old factors are not used
    rows = X[:20]
    expected = _rank_reference(model, rows, 10)
    # Ties at the boundary: some row's top 10 cuts a group of 4.
    assert any(len(set(r // 4)) * 4 > 10 for r in expected)
    np.testing.assert_array_equal(model.predict(rows, k=10), expected)
    for i in range(20):
        np.testing.assert_array_equal(model.predict(rows[i], k=10), expected[i:i + 1])


def test_one_row_falls_back_to_scoring_every_item():
    """An empty row (popularity), fewer than k eligible items (padding) and
    float64 factors take the path that scores every item, with its result."""
    X, model = _serving_model(n_items=300)
    empty = sp.csr_matrix((1, 300))
    np.testing.assert_array_equal(model.predict(empty, k=5),
                                  np.argsort(-model.item_interaction_counts_,
                                             kind="stable")[None, :5])
    row = X[3]
    allowed = np.setdiff1d(np.arange(300), row.indices)[:4]
    ranked = model.recommend(row, 6, candidate_items=allowed)
    assert ranked[0, 4:].tolist() == [-1, -1] and set(ranked[0, :4]) == set(allowed)
    np.testing.assert_array_equal(ranked, model.recommend(X[[3, 3]], 6,
                                                          candidate_items=allowed)[:1])
    wide = clone(model).set_params(dtype="float64").fit(X)
    np.testing.assert_array_equal(wide.predict(row, k=10), _rank_reference(wide, row, 10))


@pytest.mark.parametrize("container", [sp.csr_matrix, sp.csr_array])
def test_one_row_is_validated(container):
    """Serving one CSR row skips sklearn's validate_data machinery when the row
    is valid, never the checks: NaN, infinity, negative values and the wrong
    number of items still raise, and the caller's row is left as it is."""
    X, model = _serving_model(n_items=300)
    row = container(X[3])
    for value, message in [(np.nan, "contains NaN"), (np.inf, "contains infinity"),
                           (-1.0, "Negative values")]:
        bad = row.copy()
        bad.data[0] = value
        with pytest.raises(ValueError, match=message):
            model.predict(bad)
    with pytest.raises(ValueError, match="expecting 300 features"):
        model.predict(container(sp.csr_matrix((1, 299))))
    # Duplicates and an explicit zero: canonicalised on a copy.
    messy = container((np.array([1.0, 2.0, 0.0]), np.array([5, 5, 7]), np.array([0, 3])),
                      shape=(1, 300))
    np.testing.assert_array_equal(model.predict(messy),
                                  model.predict(sp.csr_matrix(([3.0], [5], [0, 1]),
                                                              shape=(1, 300))))
    assert messy.nnz == 3 and messy.data.tolist() == [1.0, 2.0, 0.0]
    assert model.predict(container(row.astype(np.float32))).shape == (1, model.k)


def test_n_jobs_bounds_the_blas_threads_of_serving_and_puts_them_back(monkeypatch):
    """Serving multiplies in numpy: with n_jobs set its BLAS runs at n_jobs
    threads, as torch does (numpy's BLAS ran at its own count, all CPUs by
    default), and the counts are put back after, also when requests overlap."""
    from threadpoolctl import threadpool_info, threadpool_limits

    def blas():
        return {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"}

    X, model = _serving_model(n_items=300)
    seen = []
    rank = _mf_serving.top_k

    def spy(*args, **kwargs):
        seen.append(blas())
        return rank(*args, **kwargs)

    monkeypatch.setattr(_mf_serving, "top_k", spy)
    with threadpool_limits(2, user_api="blas"):
        model.set_params(n_jobs=1).predict(X[:3])
        assert seen == [{1}] and blas() == {2}
        model.set_params(n_jobs=None).predict(X[:3])
        assert seen[-1] == {2}
        # Overlapping requests: one that ends puts back the most recent one's
        # count, the last one the count from before the first.
        first = blas_threads(1)
        second = blas_threads(3)
        first.__enter__()
        second.__enter__()
        first.__exit__(None, None, None)
        assert blas() == {3}
        second.__exit__(None, None, None)
        assert blas() == {2}


def test_fold_in_of_a_singular_system_is_its_minimum_norm_solution():
    """Without regularisation and with more factors than items, a row's
    equations are singular: fold-in gives the least-squares solution of least
    norm, as the solver of fit does, not NaN."""
    X = sp.csr_matrix(np.array([[1.0, 0.0], [0.0, 2.0], [1.0, 1.0]]))
    model = MFRecommender(n_factors=3, regularization=0.0, n_iter=2, dtype="float64",
                          random_state=0).fit(X)
    Y = np.array([[1.0, 2.0, 0.0], [0.5, -1.0, 0.0]])
    model.item_factors_ = Y
    users = model.fold_in(X)
    for u in range(3):
        r = X[u].toarray().ravel()
        c = 1 + model.alpha * r
        A = Y.T @ (c[:, None] * Y)
        np.testing.assert_allclose(users[u], np.linalg.pinv(A) @ (Y.T @ (c * (r > 0))),
                                   rtol=1e-10, atol=1e-12)
