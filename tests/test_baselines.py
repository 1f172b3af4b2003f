"""Tests of the reference recommenders: MostPopular, EASE and ItemKNN."""

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_agn._validation import mark_generated
from sklearn_agn.baselines import EASE, ItemKNN, MostPopular
from sklearn_agn.baselines import _itemknn
from sklearn_agn.datasets import load_triplets
from sklearn_agn.metrics import ndcg_at_k, ranking_metrics

from ._synthetic import block_interactions

ESTIMATORS = [MostPopular, EASE, ItemKNN]
DATA = Path(__file__).parents[2] / "shared" / "data" / "ml100k-cfgan"

def _binary(n_users, n_items, density, seed):
    rng = np.random.RandomState(seed)
    return (rng.rand(n_users, n_items) < density).astype(np.float64)


def _two_communities():
    """Users 0-9 interact with items 0-4 only, users 10-19 with items 5-9 only."""
    X = np.zeros((20, 10))
    rng = np.random.RandomState(0)
    X[:10, :5] = rng.rand(10, 5) < 0.7
    X[10:, 5:] = rng.rand(10, 5) < 0.7
    X[0, :5] = X[10, 5:] = 1  # every item has a user
    return X


def test_most_popular_hand_computed():
    # Items 0..3 have 4, 3, 2 and 1 real interactions; item 4 only generated
    # ones (marked by mark_generated, as GANAugmenter does), which popularity
    # ignores. A play count of 5 counts once; a real 0.5 is a real interaction.
    X = sp.csr_matrix(np.array(
        [
            [1, 1, 1, 1, 0.0],
            [1, 1, 1, 0, 0.5],
            [1, 1, 0, 0, 0.5],
            [5, 0, 0, 0, 0.5],
        ]
    ))
    generated = np.zeros(X.shape, dtype=bool)
    generated[1:, 4] = True
    mark_generated(X, sp.csr_matrix(generated))
    model = MostPopular(k=2).fit(X)
    assert_array_equal(model.item_popularity_, [4, 3, 2, 1, 0])
    # Each row's unseen items by popularity; generated entries are not "seen".
    assert_array_equal(model.predict(X), [[4, -1], [3, 4], [2, 3], [1, 2]])
    assert_array_equal(model.predict([[0, 0, 1, 0, 0]]), [[0, 1]])
    assert_array_equal(model.decision_function(X[:2]), [[4, 3, 2, 1, 0]] * 2)
    # Unmarked, the same 0.5 entries are real: counted and never recommended.
    plain = MostPopular(k=2).fit(X.toarray())
    assert_array_equal(plain.item_popularity_, [4, 3, 2, 1, 3])
    assert_array_equal(plain.predict(X.toarray()), [[4, -1], [3, -1], [2, 3], [1, 2]])


def test_ease_matches_closed_form():
    X = _binary(12, 6, 0.4, seed=0)
    l2_reg = 3.0
    P = np.linalg.inv(X.T @ X + l2_reg * np.eye(6))
    B = np.eye(6) - P / np.diag(P)  # divides column j by P[j, j]
    np.fill_diagonal(B, 0.0)

    model = EASE(l2_reg=l2_reg).fit(sp.csr_matrix(X, dtype=np.float32))
    assert_allclose(model.item_weights_, B, rtol=1e-10, atol=1e-12)
    assert_array_equal(np.diag(model.item_weights_), 0.0)
    assert_allclose(model.decision_function(X), X @ B, atol=1e-12)


def test_ease_is_the_ridge_solution_under_zero_diagonal():
    # Steck (2019): each column j of B is the ridge regression of item j on
    # the other items, so the gradient of the objective vanishes off the
    # diagonal.
    X = _binary(30, 8, 0.3, seed=1)
    l2_reg = 2.0
    B = EASE(l2_reg=l2_reg).fit(X).item_weights_
    gradient = X.T @ (X @ B - X) + l2_reg * B
    off_diagonal = ~np.eye(8, dtype=bool)
    assert_allclose(gradient[off_diagonal], 0.0, atol=1e-10)


def test_itemknn_similarity_hand_computed():
    # Item columns [1,1,0], [1,1,0], [0,1,1], [0,0,1]: norms sqrt(2), sqrt(2),
    # sqrt(2), 1; shrink adds 1 to every denominator.
    X = np.array([[1, 1, 0, 0], [1, 1, 1, 0], [0, 0, 1, 1]])
    a, b, c = 2 / 3, 1 / 3, 1 / (np.sqrt(2) + 1)
    expected = np.array([[0, a, b, 0], [a, 0, b, 0], [b, b, 0, c], [0, 0, c, 0]])
    model = ItemKNN(n_neighbors=3, shrink=1.0).fit(X)
    assert sp.issparse(model.item_similarity_)
    assert_allclose(model.item_similarity_.toarray(), expected)
    assert_allclose(model.decision_function(X), X @ expected)

    # One neighbour per item (column): item 2's nearest is item 3 (c > b).
    nearest = ItemKNN(n_neighbors=1, shrink=1.0).fit(X).item_similarity_.toarray()
    assert_allclose(nearest, [[0, a, 0, 0], [a, 0, 0, 0], [0, 0, 0, c], [0, 0, c, 0]])


def test_itemknn_neighbourhoods_and_blocks(monkeypatch):
    X = _binary(40, 15, 0.3, seed=2)
    X[:, 7] = 0  # an item nobody interacted with: no similarity, no NaN
    norms = np.linalg.norm(X, axis=0)
    with np.errstate(invalid="ignore"):
        full = np.nan_to_num(X.T @ X / (np.outer(norms, norms) + 0.0))
    np.fill_diagonal(full, 0.0)

    S = ItemKNN(n_neighbors=4, shrink=0.0).fit(X).item_similarity_.toarray()
    assert np.all(np.count_nonzero(S, axis=0) <= 4)
    for j in range(15):
        kept = np.flatnonzero(S[:, j])
        assert_allclose(S[kept, j], full[kept, j])
        dropped = np.setdiff1d(np.arange(15), kept)
        assert full[dropped, j].max(initial=0) <= full[kept, j].min(initial=np.inf)

    # Column blocks (one item at a time here) give the same similarity.
    monkeypatch.setattr(_itemknn, "_BLOCK_ENTRIES", 1)
    S_blocks = ItemKNN(n_neighbors=4, shrink=0.0).fit(X).item_similarity_.toarray()
    assert_allclose(S_blocks, S)


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_seen_items_never_recommended(Est):
    X = _binary(25, 12, 0.35, seed=3)
    X[X > 0] = np.random.RandomState(5).choice([0.3, 1.0, 4.0], size=int((X > 0).sum()))
    generated = (X == 0) & (np.random.RandomState(4).rand(*X.shape) < 0.2)
    X[generated] = 0.4  # generated feedback: used for scoring, never filtered
    X = mark_generated(sp.csr_matrix(X), sp.csr_matrix(generated))
    model = Est(k=3).fit(X)
    ranked = model.predict(X, k=12)
    for row, gen, items in zip(X.toarray(), generated, ranked):
        recommended = items[items >= 0]
        # Every item not really interacted with (generated ones included) is
        # ranked, and no real interaction is, whatever its value (0.3 included).
        assert set(recommended) == set(np.flatnonzero((row == 0) | gen))
        assert np.all(items[len(recommended):] == -1)


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_new_users_are_folded_in(Est):
    X = _two_communities()
    model = Est(k=3).fit(X)
    # A user seen in fit and a new user with the same row are treated alike.
    assert_array_equal(model.predict(X[[4]]), model.predict(X)[[4]])
    if Est is MostPopular:
        return
    # A new user who has only seen item 0 is recommended its community's items.
    new_user = sp.csr_matrix(np.eye(1, 10))
    assert set(model.predict(new_user, k=4)[0]) == {1, 2, 3, 4}
    new_user = sp.csr_matrix(np.eye(1, 10, 9))
    assert set(model.predict(new_user, k=4)[0]) == {5, 6, 7, 8}


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_score_is_the_metric_at_k(Est):
    X = _two_communities()
    X_train, X_test = X.copy(), np.zeros_like(X)
    X_train[[1, 12], [2, 6]] = 0
    X_test[[1, 12], [2, 6]] = 1
    model = Est(k=4, metric="recall").fit(X_train)
    assert model.score(X_train, X_test) == pytest.approx(
        ranking_metrics(X_test, model.predict(X_train), ks=(4,))["recall@4"]
    )


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_wrong_number_of_items(Est):
    model = Est(k=2).fit(_binary(10, 5, 0.5, seed=5))
    with pytest.raises(ValueError, match="expecting 5 features"):
        model.predict(_binary(3, 4, 0.5, seed=6))
    with pytest.raises(ValueError, match="expecting 5 features"):
        model.decision_function(_binary(3, 6, 0.5, seed=6))


@pytest.mark.parametrize("Est", ESTIMATORS)
def test_k_larger_than_catalogue(Est):
    X = _binary(10, 5, 0.5, seed=7)
    with pytest.raises(ValueError, match="larger than the catalogue"):
        Est(k=6).fit(X).predict(X)
    with pytest.raises(ValueError, match="larger than the catalogue"):
        Est(k=2).fit(X).predict(X, k=6)


@pytest.mark.parametrize(
    "model",
    [EASE(l2_reg=0), EASE(l2_reg=-1.0), ItemKNN(n_neighbors=0), ItemKNN(shrink=-1),
     MostPopular(k=0), MostPopular(metric="auc")],
)
def test_invalid_parameters(model):
    with pytest.raises(InvalidParameterError):
        model.fit(np.ones((3, 4)))


@pytest.mark.slow
@pytest.mark.skipif(not DATA.is_dir(), reason=f"ML100K split not found at {DATA}")
def test_ml100k_reference_figures():
    # README of shared/data: most popular NDCG@20 .213; EASE(λ=500) .436.
    train = load_triplets(DATA / "train.txt", shape=(943, 1682))
    test = load_triplets(DATA / "test.txt", shape=(943, 1682))
    popular = MostPopular().fit(train).predict(train, k=20)
    assert ndcg_at_k(test, popular, 20) == pytest.approx(0.213, abs=0.005)
    ease = EASE(l2_reg=500).fit(train).predict(train, k=20)
    assert ndcg_at_k(test, ease, 20) >= 0.43


def _planted_pairs():
    """Three blocks of 10 items; items 0 and 1 always co-occur (identical columns)."""
    X, _ = block_interactions(n_users=90, n_items=30, n_blocks=3, density=0.4, seed=0)
    X = X.tolil()
    X[:, 1] = X[:, 0]
    return X.tocsr()


@pytest.mark.parametrize("model", [EASE(l2_reg=1.0), ItemKNN(n_neighbors=20, shrink=0.0)],
                         ids=["EASE", "ItemKNN"])
def test_similar_items_recover_planted_structure(model):
    X = _planted_pairs()
    model.fit(X)
    similar = model.similar_items(np.arange(30), n=5)
    assert similar.shape == (30, 5)
    block = np.arange(30) // 10
    assert (similar >= 0).all()
    assert_array_equal(block[similar], np.repeat(block[:, None], 5, axis=1))
    assert (similar != np.arange(30)[:, None]).all()  # never the item itself
    assert similar[0, 0] == 1 and similar[1, 0] == 0
    # A single item gives one row: the ranking of a user who saw only that item.
    assert_array_equal(model.similar_items(0, n=5), similar[0])
    only_0 = sp.csr_matrix(([1.0], ([0], [0])), shape=(1, 30))
    assert_array_equal(model.similar_items(0, n=3), model.predict(only_0, k=3)[0])


def test_similar_items_pad_missing_neighbours_and_validate():
    X = np.array([[1, 1, 0, 0], [1, 1, 1, 0], [0, 0, 1, 1]])
    model = ItemKNN(n_neighbors=1, shrink=0.0).fit(X)
    # Item 1 is item 0's only neighbour and vice versa; 2 and 3 likewise.
    assert_array_equal(model.similar_items([0, 3], n=2), [[1, -1], [2, -1]])
    with pytest.raises(ValueError, match=r"outside the catalogue \[0, 4\)"):
        model.similar_items([4])
    with pytest.raises(TypeError, match="integer item indices"):
        model.similar_items([0.5])
    with pytest.raises(ValueError, match="n=5 is larger than the catalogue"):
        model.similar_items(0, n=5)
