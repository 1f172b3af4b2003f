"""GAN + MF in a Pipeline and in GridSearchCV, and the absence of leakage."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from sklearn_agn import GANAugmenter, MFRecommender
from sklearn_agn._validation import mark_generated, take_rows
from sklearn_agn.datasets import make_interactions
from sklearn_agn.gan import _training
from sklearn_agn.metrics import make_ranking_scorer, ndcg_at_k, precision_at_k, recall_at_k
from sklearn_agn.model_selection import UserKFold, holdout_split

GAN = dict(g_hidden_sizes=(16,), d_hidden_sizes=(8,), noise_dim=2, batch_size=32,
           max_iter=3, sparse_threshold=8, n_generated=3, device="cpu")
MF = dict(n_factors=4, n_iter=3, k=5)


@pytest.fixture(scope="module")
def split():
    X = make_interactions(120, 40, 1500, random_state=0)
    return holdout_split(X, 0.25, random_state=0)


def pipeline(seed=0, **params):
    return make_pipeline(GANAugmenter(**GAN, random_state=seed),
                         MFRecommender(**MF, random_state=seed)).set_params(**params)


def test_pipeline_has_the_recommender_api(split):
    X, y = split
    pipe = pipeline().fit(X)
    ranked = pipe.predict(X)
    assert ranked.shape == (X.shape[0], 5) and ranked.dtype == np.intp
    assert pipe.predict(X, k=7).shape == (X.shape[0], 7)
    assert not np.take_along_axis(X.toarray(), ranked, axis=1).any()
    # score is the MF's own metric on the recommendations for X.
    assert pipe.score(X, y) == pytest.approx(ndcg_at_k(y, ranked, 5))
    assert pipe.decision_function(X).shape == X.shape


def test_grid_search_tunes_both_steps_and_n_jobs_does_not_matter(split):
    X, y = split
    grid = {"ganaugmenter__n_generated": [1, 4], "mfrecommender__alpha": [1.0, 8.0]}

    def search(n_jobs):
        return GridSearchCV(pipeline(), grid, cv=UserKFold(3, shuffle=True, random_state=0),
                            scoring=make_ranking_scorer("ndcg", k=5), n_jobs=n_jobs).fit(X, y)

    serial, parallel = search(1), search(2)
    assert serial.best_params_ == parallel.best_params_
    np.testing.assert_array_equal(serial.cv_results_["mean_test_score"],
                                  parallel.cv_results_["mean_test_score"])
    assert len(serial.cv_results_["params"]) == 4
    assert np.isfinite(serial.cv_results_["mean_test_score"]).all()
    # refit=True: the best setting, refitted on all rows, serves and scores.
    best = serial.best_estimator_
    assert best.named_steps["ganaugmenter"].n_generated == serial.best_params_[
        "ganaugmenter__n_generated"]
    assert serial.predict(X).shape == (X.shape[0], 5)
    assert serial.score(X, y) == pytest.approx(
        make_ranking_scorer("ndcg", k=5)(best, X, y))


def test_fit_ignores_y(split):
    """Held-out interactions passed as y reach neither the GAN nor the MF."""
    X, y = split
    with_y = pipeline().fit(X, y)
    other_y = sp.csr_matrix(np.ones(X.shape))
    with_other = pipeline().fit(X, other_y)
    without = pipeline().fit(X)
    for model in (with_y, with_other):
        np.testing.assert_array_equal(model.decision_function(X), without.decision_function(X))


def test_search_trains_only_on_training_rows(split, monkeypatch):
    """In cross-validation the GAN trains on the training fold's rows of X only."""
    X, y = split
    seen = []
    original = _training.fit_cfgan

    def recording(X_train, config, **kwargs):
        seen.append(X_train.copy())
        return original(X_train, config, **kwargs)

    monkeypatch.setattr(_training, "fit_cfgan", recording)
    cv = UserKFold(3, shuffle=True, random_state=0)
    GridSearchCV(pipeline(), {"mfrecommender__alpha": [1.0]}, cv=cv,
                 scoring=make_ranking_scorer("ndcg", k=5), refit=False).fit(X, y)
    folds = list(cv.split(X, y))
    assert len(seen) == len(folds)
    for X_seen, (train_rows, _) in zip(seen, folds):
        assert (X_seen != X[train_rows]).nnz == 0
        # None of the training rows' held-out items reached the GAN.
        assert X_seen.multiply(y[train_rows]).nnz == 0


def test_generated_items_are_not_filtered_and_not_hits():
    """Generated entries may be recommended; they count only if really held out."""
    rng = np.random.RandomState(0)
    X = sp.csr_matrix((rng.random_sample((60, 12)) < 0.4).astype(float))
    mf = MFRecommender(n_factors=3, n_iter=5, random_state=0)
    X_aug = X.copy().tolil()
    unobserved = np.flatnonzero(X[0].toarray().ravel() == 0)
    X_aug[0, unobserved[0]] = 0.5  # generated feedback on an unobserved item
    X_aug = X_aug.tocsr()
    generated = sp.csr_matrix(([True], ([0], [unobserved[0]])), shape=X.shape)
    mark_generated(X_aug, generated)
    mf.fit(X_aug)
    ranked = mf.predict(take_rows(X_aug, slice(0, 1)), k=len(unobserved))
    # The seen-item filter removes the real items only: the generated one is
    # still a candidate, and every unobserved item is ranked.
    assert sorted(ranked[0]) == sorted(unobserved)
    # Held out: one other unobserved item. The generated item, although
    # recommended, is not a hit: precision counts the real held-out item only.
    y = sp.csr_matrix(([1.0], ([0], [unobserved[1]])), shape=(1, 12))
    assert precision_at_k(y, ranked) == pytest.approx(1 / len(unobserved))
    assert recall_at_k(y, ranked) == 1.0
