"""Tests of GANAugmenter on tiny planted data (and ML100K when present)."""

import copy
import pickle
import time
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn import config_context
from sklearn.base import clone
from sklearn.utils import check_random_state
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_agn._base import top_k
from sklearn_agn._validation import check_feedback
from sklearn_agn.gan import GANAugmenter, generated_mask
from sklearn_agn.metrics import ndcg_at_k, ranking_metrics
from sklearn_agn.model_selection import holdout_split

ML100K = Path(__file__).parents[2] / "shared" / "data" / "ml100k-cfgan"

# Small networks and a higher learning rate: each fit takes well under a second.
FAST = dict(
    g_hidden_sizes=(32,),
    d_hidden_sizes=(16,),
    noise_dim=4,
    batch_size=32,
    g_learning_rate=3e-3,
    d_learning_rate=3e-3,
    max_iter=20,
    sparse_threshold=5,
    n_generated=5,
    device="cpu",
    random_state=0,
)


def planted(n_users=80, n_items=40, seed=0):
    """Two user groups, each preferring its own half of the items.

    Every fifth user is sparse (3 items of its own block); the others hold
    about half of their block and a few items of the other.
    """
    rng = np.random.RandomState(seed)
    group = np.arange(n_users) % 2
    block = (np.arange(n_items) >= n_items // 2).astype(int)
    X = (rng.random_sample((n_users, n_items)) < np.where(group[:, None] == block, 0.5, 0.02))
    X = X.astype(float)
    for u in range(0, n_users, 5):
        X[u] = 0
        X[u, rng.choice(np.flatnonzero(block == group[u]), 3, replace=False)] = 1
    return sp.csr_matrix(X), group, block


@pytest.fixture(scope="module")
def data():
    return planted()


@pytest.fixture(scope="module")
def fitted(data):
    X, _, _ = data
    return GANAugmenter(**FAST).fit(X)


def generated_part(X_aug, X):
    """The generated entries of ``X_aug`` (those not stored in ``X``), as COO."""
    mask = sp.csr_matrix(X, dtype=bool)
    out = sp.csr_matrix(X_aug, copy=True)
    out.data[np.asarray(mask[out.nonzero()]).ravel()] = 0
    out.eliminate_zeros()
    return out.tocoo()


@parametrize_with_checks(
    [
        GANAugmenter(
            g_hidden_sizes=(8,),
            d_hidden_sizes=(4,),
            noise_dim=2,
            max_iter=2,
            g_steps=1,
            d_steps=1,
            sparse_threshold=3,
            n_generated=2,
            device="cpu",
        )
    ]
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_real_entries_kept_and_binarised(data, fitted):
    X, _, _ = data
    X_counts = X * 3.0  # play counts: still one real interaction each
    X_aug = sp.csr_matrix(fitted.transform(X_counts))
    real = X_aug[X.nonzero()]
    np.testing.assert_array_equal(np.asarray(real).ravel(), 1.0)


def test_generated_entries_on_unobserved_items_of_sparse_rows(data, fitted):
    X, _, _ = data
    X_aug = fitted.transform(X)
    gen = generated_part(X_aug, X)
    counts = np.diff(X.indptr)
    assert gen.nnz > 0
    assert ((gen.data > 0) & (gen.data < 1)).all()
    assert not np.asarray(X[gen.row, gen.col]).any()
    per_row = np.bincount(gen.row, minlength=X.shape[0])
    np.testing.assert_array_equal(per_row, np.where(counts < fitted.sparse_threshold, 5, 0))


def test_dense_rows_unchanged_and_input_not_modified(data, fitted):
    X, _, _ = data
    X_before = X.copy()
    X_aug = fitted.transform(X)
    dense = np.flatnonzero(np.diff(X.indptr) >= fitted.sparse_threshold)
    assert (X_aug[dense] != X[dense]).nnz == 0
    for attr in ("data", "indices", "indptr"):
        np.testing.assert_array_equal(getattr(X, attr), getattr(X_before, attr))


@pytest.mark.parametrize(
    "container, expected",
    [
        (sp.csr_matrix, sp.csr_matrix),
        (sp.csr_array, sp.csr_array),
        (sp.coo_matrix, sp.csr_matrix),
        (np.asarray, sp.csr_matrix),
    ],
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_container_shape_and_dtype_preserved(data, fitted, container, expected, dtype):
    X, _, _ = data
    X_in = container(X.toarray().astype(dtype) if container is np.asarray else X.astype(dtype))
    X_aug = fitted.transform(X_in)
    assert type(X_aug) is expected
    assert X_aug.format == "csr"
    assert X_aug.shape == X.shape
    assert X_aug.dtype == dtype


def test_fit_transform_equals_fit_then_transform(data):
    X, _, _ = data
    est = GANAugmenter(**FAST)
    a = est.fit_transform(X)
    b = clone(est).fit(X).transform(X)
    assert (a != b).nnz == 0


def test_same_random_state_gives_identical_results(data, fitted):
    X, _, _ = data
    other = GANAugmenter(**FAST).fit(X)
    assert (other.transform(X) != fitted.transform(X)).nnz == 0
    np.testing.assert_array_equal(other.score_items(X), fitted.score_items(X))
    assert other.loss_curve_ == fitted.loss_curve_
    assert other.discriminator_loss_curve_ == fitted.discriminator_loss_curve_
    different = GANAugmenter(**{**FAST, "random_state": 1}).fit(X)
    assert not np.array_equal(different.score_items(X), fitted.score_items(X))


def test_generator_learns_planted_structure(data, fitted):
    X, group, block = data
    gen = generated_part(fitted.transform(X), X)
    # Chance is 1/2: the user's block is half of the catalogue.
    assert np.mean(block[gen.col] == group[gen.row]) > 0.9


def test_works_on_rows_unseen_in_fit(fitted):
    X_new, group, block = planted(n_users=30, seed=1)
    gen = generated_part(fitted.transform(X_new), X_new)
    assert gen.nnz == 5 * np.count_nonzero(np.diff(X_new.indptr) < 5)
    assert np.mean(block[gen.col] == group[gen.row]) > 0.9
    assert fitted.score_items(X_new).shape == X_new.shape


def test_wrong_number_of_items_raises(data, fitted):
    X, _, _ = data
    for method in (fitted.transform, fitted.score_items):
        with pytest.raises(ValueError, match="items"):
            method(X[:, :-1])


@pytest.mark.parametrize("bad", [-1.0, np.nan, np.inf])
def test_invalid_values_raise(data, bad):
    X, _, _ = data
    X_bad = X.toarray()
    X_bad[0, 0] = bad
    with pytest.raises(ValueError):
        GANAugmenter(**FAST).fit(X_bad)


def test_binarize_false_keeps_real_values_of_any_size(data):
    X, _, _ = data
    # Half-star ratings or log1p counts: real interactions below 1 are real all the same.
    est = GANAugmenter(**{**FAST, "binarize": False}).fit(X * 0.5)
    X_aug = est.transform(X * 0.5)
    np.testing.assert_array_equal(np.asarray(X_aug[X.nonzero()]).ravel(), 0.5)
    assert (check_feedback(X_aug).real_mask() != sp.csr_matrix(X, dtype=bool)).nnz == 0
    assert generated_mask(X_aug).nnz == X_aug.nnz - X.nnz > 0


def test_transform_marks_exactly_its_generated_entries(data, fitted):
    X, _, _ = data
    X_aug = fitted.transform(X)
    gen = generated_part(X_aug, X)
    mask = generated_mask(X_aug).tocoo()
    assert mask.nnz == gen.nnz
    assert set(zip(mask.row, mask.col)) == set(zip(gen.row, gen.col))


@pytest.mark.parametrize("binarize", [True, False])
def test_augmenting_twice_keeps_generated_feedback_generated(data, fitted, binarize):
    X, _, _ = data
    est = copy.deepcopy(fitted).set_params(binarize=binarize, n_generated=2)
    once = est.transform(X)
    twice = est.transform(once)
    # The real entries are X's, whatever the number of passes.
    assert (check_feedback(twice).real_mask() != sp.csr_matrix(X, dtype=bool)).nnz == 0
    # Generated weights survive binarize=True; generated entries are not counted as
    # real, so sparse rows stay sparse and get 2 more generated items each pass.
    first = generated_mask(once)
    assert (sp.csr_matrix(twice)[first.nonzero()] == sp.csr_matrix(once)[first.nonzero()]).all()
    sparse_rows = np.diff(X.indptr) < est.sparse_threshold
    per_row = np.diff(generated_mask(twice).tocsr().indptr)
    np.testing.assert_array_equal(per_row, np.where(sparse_rows, 4, 0))


def test_generated_weight_and_ratio(data, fitted):
    X, _, _ = data
    est = clone(fitted).set_params(generated_weight=0.25, n_generated=1.0, sparse_threshold=4)
    gen = generated_part(est.fit(X).transform(X), X)
    np.testing.assert_array_equal(gen.data, 0.25)
    counts = np.diff(X.indptr)
    # A ratio of 1.0 doubles each sparse row.
    expected = np.where(counts < 4, counts, 0)
    np.testing.assert_array_equal(np.bincount(gen.row, minlength=X.shape[0]), expected)


def test_sparse_threshold_zero_disables_augmentation(data, fitted):
    X, _, _ = data
    est = copy.deepcopy(fitted).set_params(sparse_threshold=0)
    assert (est.transform(X) != X).nnz == 0


def test_loss_curves_have_one_entry_per_epoch(fitted):
    assert fitted.n_iter_ == FAST["max_iter"]
    assert len(fitted.loss_curve_) == len(fitted.discriminator_loss_curve_) == fitted.n_iter_
    assert np.isfinite(fitted.loss_curve_ + fitted.discriminator_loss_curve_).all()
    assert fitted.validation_scores_ is None and fitted.best_validation_score_ is None


def test_gains_below_tol_do_not_count_as_improvements(data):
    # The first epoch is an improvement on nothing; with a tol no NDCG can
    # beat, none after it is, so training stops n_iter_no_change epochs later.
    X, _, _ = data
    est = GANAugmenter(**{**FAST, "max_iter": 60}, early_stopping=True, validation_fraction=0.2,
                       n_iter_no_change=2, tol=1.0).fit(X)
    assert est.n_iter_ == 3
    # The kept generator is still the best one.
    assert est.best_validation_score_ == max(est.validation_scores_)


def test_early_stopping_keeps_best_epoch(data):
    X, _, _ = data
    est = GANAugmenter(
        **{**FAST, "max_iter": 60, "g_learning_rate": 3e-2, "d_learning_rate": 3e-2},
        early_stopping=True,
        validation_fraction=0.2,
        n_iter_no_change=3,
        validation_k=5,
    ).fit(X)
    scores = est.validation_scores_
    assert len(scores) == est.n_iter_
    assert est.best_validation_score_ == max(scores)
    best_epoch = int(np.argmax(scores)) + 1
    if est.n_iter_ < 60:
        assert est.n_iter_ == best_epoch + 3
    # The kept generator reproduces the best score on the same internal split.
    X_in, X_out = holdout_split(X, 0.2, random_state=check_random_state(0))
    ranked = top_k(est.score_items(X_in), 5, exclude=X_in.astype(bool))
    assert ndcg_at_k(X_out, ranked, 5) == pytest.approx(max(scores), abs=1e-6)


def test_sample(data, fitted):
    X, group, block = data
    S = fitted.sample(50, random_state=0)
    assert isinstance(S, sp.csr_matrix) and S.shape == (50, X.shape[1])
    np.testing.assert_array_equal(S.data, 1.0)
    lengths = np.diff(S.indptr)
    assert (lengths > 0).all()
    assert set(lengths) <= set(np.diff(X.indptr))
    assert (fitted.sample(50, random_state=0) != S).nnz == 0
    # Real users keep to one block; synthetic ones lean to one block far more
    # than random rows of the same lengths do.
    S = fitted.sample(200, random_state=0)
    lengths = np.diff(S.indptr)
    lean = np.abs(np.asarray(S[:, block == 1].sum(axis=1)).ravel() / lengths - 0.5)
    rng = np.random.RandomState(0)
    random_lean = [np.abs((rng.permutation(X.shape[1])[:n] >= X.shape[1] // 2).mean() - 0.5)
                   for n in lengths]
    assert lean.mean() > 1.5 * np.mean(random_lean)
    with pytest.raises(ValueError, match="n_samples"):
        fitted.sample(0)


def test_pickle_round_trip(data, fitted):
    X, _, _ = data
    restored = pickle.loads(pickle.dumps(fitted))
    assert (restored.transform(X) != fitted.transform(X)).nnz == 0
    np.testing.assert_array_equal(restored.score_items(X), fitted.score_items(X))


def test_pandas_output_raises_clearly(data, fitted):
    X, _, _ = data
    est = clone(fitted).set_output(transform="pandas").fit(X)
    with pytest.raises(ValueError, match="sparse"):
        est.transform(X)
    with config_context(transform_output="pandas"):
        with pytest.raises(ValueError, match="sparse"):
            fitted.transform(X)


def test_verbose_shows_progress_bar(data, capsys):
    X, _, _ = data
    GANAugmenter(**{**FAST, "max_iter": 2}, verbose=1).fit(X)
    err = capsys.readouterr().err
    assert "GANAugmenter" in err and "g_loss" in err and "d_loss" in err


@pytest.mark.parametrize(
    "params, match",
    [
        ({"g_hidden_sizes": ()}, "g_hidden_sizes"),
        ({"d_hidden_sizes": (4, 0)}, "d_hidden_sizes"),
        ({"early_stopping": True, "validation_fraction": 0.01}, "validation_fraction"),
    ],
)
def test_invalid_parameters(data, params, match):
    X, _, _ = data
    with pytest.raises(ValueError, match=match):
        GANAugmenter(**{**FAST, **params}).fit(X)


@pytest.mark.slow
@pytest.mark.skipif(not ML100K.is_dir(), reason=f"ML100K split not found at {ML100K}")
def test_ml100k_ranker_with_default_parameters():
    from sklearn_agn.datasets import load_triplets

    shape = (943, 1682)
    train = load_triplets(ML100K / "train.txt", shape=shape)
    test = load_triplets(ML100K / "test.txt", shape=shape)
    start = time.perf_counter()
    est = GANAugmenter(random_state=0).fit(train)
    print(f"default fit on ML100K: {time.perf_counter() - start:.1f} s")
    ranked = top_k(est.score_items(train), 20, exclude=train.astype(bool))
    metrics = ranking_metrics(test, ranked, ks=(5, 20))
    assert metrics["ndcg@20"] >= 0.42
    assert metrics["precision@5"] >= 0.42
