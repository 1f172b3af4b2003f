"""The data contract between real and generated feedback, item filters, metadata routing."""

import numpy as np
import pytest
import scipy.sparse as sp
import sklearn
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from sklearn_agn import AttributeRidgeMF, GANAugmenter, MFRecommender, _validation
from sklearn_agn._validation import (
    check_feedback,
    check_interactions,
    mark_generated,
    take_rows,
)
from sklearn_agn.baselines import EASE, MostPopular
from sklearn_agn.datasets import make_interactions
from sklearn_agn.gan import generated_mask
from sklearn_agn.metrics import make_ranking_scorer
from sklearn_agn.model_selection import UserKFold, holdout_split


def _seen(X):
    X = sp.csr_matrix(X)
    return [set(X.indices[X.indptr[u]:X.indptr[u + 1]]) for u in range(X.shape[0])]


def test_real_values_below_one_are_never_recommended_back():
    # log1p of play counts, as MFRecommender's own overflow message suggests:
    # single plays become 0.69, below the old "real >= 1" threshold.
    counts = make_interactions(120, 40, 1500, random_state=0)
    X = counts.copy()
    X.data = np.log1p(np.random.RandomState(0).randint(1, 4, size=X.nnz).astype(float))
    assert (X.data < 1).any()
    for model in (MFRecommender(n_factors=4, n_iter=3, random_state=0), MostPopular(), EASE()):
        ranked = model.fit(X).predict(X, k=20)
        for seen, items in zip(_seen(X), ranked):
            assert not seen & set(items[items >= 0])


def test_marked_generated_entries_stay_eligible():
    X = sp.csr_matrix(np.array([[1.0, 0.3, 0.0, 0.0], [0.2, 0.0, 1.0, 0.0]]))
    mark_generated(X, sp.csr_matrix(np.array([[0, 1, 0, 0], [0, 0, 0, 0]], dtype=bool)))
    model = MostPopular(k=3).fit(X)
    # Row 0: item 1 is generated, so it may come back; item 0 is real.
    assert 1 in model.predict(X)[0]
    assert 0 not in model.predict(X)[0]
    # Row 1: the 0.2 entry is real (unmarked), never recommended.
    assert 0 not in model.predict(X)[1]


def test_feedback_hand_computed():
    X = sp.csr_matrix(np.array([[2.0, 0.5, 0.0], [0.0, 0.25, 0.7]]))
    mark_generated(X, sp.csr_matrix(np.array([[0, 1, 0], [0, 0, 1]], dtype=bool)))
    # Entries in CSR order: (0,0)=2 real, (0,1)=.5 gen, (1,1)=.25 real, (1,2)=.7 gen.
    feedback = check_interactions(MostPopular(), X, reset=True)
    assert_array_equal(feedback.real, [True, False, True, False])
    assert_array_equal(feedback.preferences, [1.0, 0.5, 1.0, 0.7])
    assert_array_equal(feedback.real_mask().toarray(), [[1, 0, 0], [0, 1, 0]])
    assert_array_equal(feedback.generated_mask().toarray(), [[0, 1, 0], [0, 0, 1]])
    row = feedback.rows(slice(1, 2))
    assert_array_equal(row.X.toarray(), [[0.0, 0.25, 0.7]])
    assert_array_equal(row.preferences, [1.0, 0.7])
    assert_array_equal(row.generated_mask().toarray(), [[0, 0, 1]])
    # A new matrix object carries no mark (float32 -> new object): all real.
    plain = check_interactions(MostPopular(), X.astype(np.float32), reset=True)
    assert plain.real is None and plain.preferences is None
    assert_array_equal(plain.real_mask().toarray(), X.toarray() > 0)
    # Handed on marked, as a Pipeline step does: the same feedback comes back.
    again = check_feedback(feedback.marked())
    assert_array_equal(again.preferences, feedback.preferences)
    assert not hasattr(plain.marked(), "_sklearn_agn_generated")


def test_feedback_columns_keep_the_flags_hand_computed():
    X = sp.csr_matrix(np.array([[2.0, 0.5, 0.0], [0.0, 0.25, 0.7]]))
    mark_generated(X, sp.csr_matrix(np.array([[0, 1, 0], [0, 0, 1]], dtype=bool)))
    feedback = check_feedback(X)
    head = feedback.columns(slice(2))
    assert_array_equal(head.X.toarray(), [[2.0, 0.5], [0.0, 0.25]])
    assert_array_equal(head.preferences, [1.0, 0.5, 1.0])
    # Reordered columns: the flags follow every entry, and the matrix is canonical.
    swapped = feedback.columns([2, 1])
    assert swapped.X.has_canonical_format
    assert_array_equal(swapped.X.toarray(), [[0.0, 0.5], [0.7, 0.25]])
    assert_array_equal(swapped.generated_mask().toarray(), [[0, 1], [1, 0]])
    assert_array_equal(swapped.real_mask().toarray(), [[0, 0], [0, 1]])
    assert_array_equal(swapped.preferences, [0.5, 0.7, 1.0])


def _marked(n_users=40, n_items=30, seed=0):
    """A canonical marked matrix: real entries 1, a generated entry of weight 0.4 per row."""
    real = make_interactions(n_users, n_items, 6 * n_users, random_state=seed).toarray() > 0
    rng = np.random.RandomState(seed)
    generated = np.zeros_like(real)
    for row in range(n_users):
        generated[row, rng.choice(np.flatnonzero(~real[row]))] = True
    return mark_generated(sp.csr_matrix(real + 0.4 * generated), sp.csr_matrix(generated))


_SMALL_GAN = dict(g_hidden_sizes=(8,), d_hidden_sizes=(4,), noise_dim=2, max_iter=1,
                  sparse_threshold=10, n_generated=2, device="cpu", random_state=0)
_CALLS = {
    "mf.fit": lambda X, Y: MFRecommender(n_factors=3, n_iter=2, random_state=0).fit(X),
    "mf.partial_fit": lambda X, Y: _mf(Y).partial_fit(X),
    "mf.partial_fit(previous)": lambda X, Y: _mf(Y).partial_fit(Y, previous=X),
    "mf.predict": lambda X, Y: _mf(Y).predict(X),
    "mf.recommend": lambda X, Y: _mf(Y).recommend(X, 3, exclude_items=[0]),
    "mf.decision_function": lambda X, Y: _mf(Y).decision_function(X),
    "mf.score": lambda X, Y: _mf(Y).score(X, Y),
    "mf.fold_in": lambda X, Y: _mf(Y).fold_in(X),
    "mf.explain": lambda X, Y: _mf(Y).explain(X, [0, 1]),
    "attribute_ridge_mf.fit": lambda X, Y: _ridge(X),
    "attribute_ridge_mf.predict": lambda X, Y: _ridge(Y).predict(X),
    "most_popular.fit": lambda X, Y: MostPopular().fit(X),
    "gan.fit": lambda X, Y: GANAugmenter(**_SMALL_GAN).fit(X),
    "gan.transform": lambda X, Y: GANAugmenter(**_SMALL_GAN).fit(Y).transform(X),
}


def _mf(X):
    return MFRecommender(n_factors=3, n_iter=2, batch_size=16, random_state=0).fit(X)


def _ridge(X):
    attributes = np.random.RandomState(0).rand(X.shape[1], 2)
    return AttributeRidgeMF(MFRecommender(n_factors=3, n_iter=2, random_state=0),
                            item_attributes=attributes).fit(X)


@pytest.mark.parametrize("call", list(_CALLS))
def test_each_call_reads_the_mark_of_its_input_once(call, monkeypatch):
    # The mark is read in one place, once per call: the call passes what it
    # read down to its solver, its fold-in and its seen-item filter (several
    # batches of rows here, batch_size=16) instead of reading it again.
    X = _marked(seed=1)
    X = take_rows(X, slice(0, 1)) if call == "mf.explain" else X
    other = _marked(seed=2)
    reads = []
    read = _validation._marker

    def counting(Z):
        reads.append(Z is X)
        return read(Z)

    monkeypatch.setattr(_validation, "_marker", counting)
    _CALLS[call](X, other)
    assert sum(reads) == 1


def test_stale_mark_is_an_error():
    X = sp.csr_matrix(np.array([[1.0, 0.5, 0.0]]))
    mark_generated(X, sp.csr_matrix(np.array([[0, 1, 1]], dtype=bool)))
    with pytest.raises(ValueError, match="does not store"):
        MostPopular().fit(X)
    mark_generated(X, sp.csr_matrix(np.array([[0, 1]], dtype=bool)))
    with pytest.raises(ValueError, match="shape"):
        MostPopular().fit(X)
    X.data[1] = 3.0  # modified in place after marking
    mark_generated(X, sp.csr_matrix(np.array([[0, 1, 0]], dtype=bool)))
    with pytest.raises(ValueError, match=r"\(0, 1\]"):
        MostPopular().fit(X)


def test_augmenter_output_is_marked_and_filtered_in_a_pipeline():
    X = make_interactions(150, 50, 1200, random_state=1)
    pipe = make_pipeline(
        GANAugmenter(sparse_threshold=100, n_generated=5, max_iter=2, random_state=0),
        MFRecommender(n_factors=4, n_iter=3, random_state=0),
    ).fit(X)
    X_aug = pipe[0].transform(X)
    generated = generated_mask(X_aug)
    assert generated.nnz == 5 * X.shape[0]
    assert_array_equal(check_feedback(X_aug).real_mask().toarray(), X.toarray() > 0)
    ranked = pipe.predict(X, k=45)
    for seen, items in zip(_seen(X), ranked):
        assert not seen & set(items[items >= 0])


def test_recommend_exclude_and_candidates():
    X = make_interactions(60, 30, 500, random_state=2)
    model = MostPopular(k=5).fit(X)
    excluded = model.predict(X[:1], k=3)[0]
    ranked = model.recommend(X, 10, exclude_items=excluded)
    assert not set(excluded) & set(ranked.ravel())
    candidates = np.array([0, 3, 7, 11])
    ranked = model.recommend(X, 5, candidate_items=candidates)
    assert set(ranked.ravel()) <= set(candidates) | {-1}
    assert_array_equal(model.predict(X), model.recommend(X))
    with pytest.raises(ValueError, match="outside the catalogue"):
        model.recommend(X, exclude_items=[30])
    with pytest.raises(TypeError, match="item indices"):
        model.recommend(X, candidate_items=[0.5])


@pytest.mark.parametrize("routing", [False, True])
def test_k_reaches_the_recommender_with_and_without_routing(routing):
    X = make_interactions(200, 40, 2000, random_state=3)
    X_train, X_test = holdout_split(X, 0.2, random_state=0)
    with sklearn.config_context(enable_metadata_routing=routing):
        pipe = make_pipeline(
            GANAugmenter(sparse_threshold=5, n_generated=2, max_iter=1, random_state=0),
            MFRecommender(n_factors=4, n_iter=2, random_state=0),
        ).fit(X_train)
        assert pipe.predict(X_train[:4], k=7).shape == (4, 7)
        search = GridSearchCV(
            pipe, {"mfrecommender__n_factors": [2, 4]}, cv=UserKFold(2),
            scoring=make_ranking_scorer("ndcg", k=5),
        ).fit(X_train, X_test)
        assert np.isfinite(search.best_score_)


def test_attribute_ridge_mf_folds_generated_feedback_in_as_its_mf_does():
    # No cold item: the model's scores are its MF's. The columns of the MF's
    # items are sliced out of each row before fold-in; a slice that dropped
    # the mark turned the generated entries into real ones (preference 1,
    # counted in the penalty), scores about 0.2 away from mf_'s.
    X = make_interactions(150, 50, 1200, random_state=1)
    X_aug = GANAugmenter(sparse_threshold=100, n_generated=5, max_iter=1,
                         random_state=0).fit_transform(X)
    attributes = np.random.RandomState(0).rand(50, 3)
    model = AttributeRidgeMF(MFRecommender(n_factors=4, n_iter=3, random_state=0),
                             item_attributes=attributes).fit(X_aug)
    assert not model.cold_items_.any()
    assert_allclose(model.decision_function(X_aug), model.mf_.decision_function(X_aug),
                    rtol=1e-5, atol=1e-6)


def test_attribute_ridge_mf_recommends_generated_feedback_back_never_real():
    # Taste A: items 0-2; taste B: items 3-7; item 8 is cold, described like A.
    tastes = np.zeros((60, 9))
    tastes[:30, :3] = 1
    tastes[30:, 3:8] = 1
    attributes = np.array([[1, 0]] * 3 + [[0, 1]] * 5 + [[1, 0]])
    model = AttributeRidgeMF(
        MFRecommender(n_factors=2, regularization=1.0, regularization_exponent=0.0,
                      random_state=0),
        item_attributes=attributes, ridge_alpha=0.1).fit(sp.csr_matrix(tastes))
    assert_array_equal(np.flatnonzero(model.cold_items_), [8])
    # A fan of A (real 0, 1) given light generated feedback on all of B.
    row = np.array([[1, 1, 0, 0.05, 0.05, 0.05, 0.05, 0.05, 0]])
    user = mark_generated(sp.csr_matrix(row), sp.csr_matrix(row == 0.05))
    ranked = model.predict(user, k=7)[0]
    # Taste A first (the generated entries weigh 0.05 each), then the
    # generated items, recommended back; the real ones never.
    assert set(ranked[:2]) == {2, 8}
    assert set(ranked[2:]) == {3, 4, 5, 6, 7}
    # The same row unmarked: every entry is real, only items 2 and 8 are left.
    assert set(model.predict(sp.csr_matrix(row), k=4)[0]) == {2, 8, -1}


def test_gan_learns_from_real_interactions_only():
    # A marked matrix (a GAN's output) fed to another GAN: the generated
    # entries are not training data, and early stopping's split (which refuses
    # generated feedback) sees the real interactions only.
    X = make_interactions(60, 40, 500, random_state=0)
    small = dict(g_hidden_sizes=(8,), d_hidden_sizes=(4,), noise_dim=2, max_iter=2,
                 sparse_threshold=10, n_generated=3, device="cpu", random_state=0)
    X_aug = GANAugmenter(**small).fit_transform(X)
    assert generated_mask(X_aug).nnz > 0
    for early_stopping in (False, True):
        params = dict(small, early_stopping=early_stopping, validation_fraction=0.2)
        on_augmented = GANAugmenter(**params).fit(X_aug)
        on_real = GANAugmenter(**params).fit(X)
        assert_array_equal(on_augmented.item_popularity_, on_real.item_popularity_)
        for name, value in on_real.generator_.state_dict().items():
            assert_array_equal(on_augmented.generator_.state_dict()[name], value)
