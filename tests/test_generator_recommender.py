"""CFGANRecommender: the generator as a recommender with the library's API."""

import pickle

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_agn import CFGANRecommender
from sklearn_agn.gan import GANAugmenter
from sklearn_agn.estimator_checks import expected_failed_checks
from sklearn_agn.metrics import ndcg_at_k
from sklearn_agn.model_selection import UserKFold, holdout_split

from ._synthetic import block_interactions

SMALL_GAN = {"g_hidden_sizes": (8,), "d_hidden_sizes": (4,), "noise_dim": 2, "max_iter": 2,
             "g_steps": 1, "d_steps": 1, "device": "cpu"}


# A small GAN rather than the default one (400 hidden units, 40 epochs), which
# takes minutes over all the checks; the default k=10, then k=1, which runs
# the predict checks that k=10 cannot run on the checks' 2-to-5-item data.
@parametrize_with_checks(
    [CFGANRecommender(GANAugmenter(**SMALL_GAN, random_state=0)),
     CFGANRecommender(GANAugmenter(**SMALL_GAN, random_state=0), k=1)],
    expected_failed_checks=expected_failed_checks, xfail_strict=True)
def test_sklearn_compatible(estimator, check):
    check(estimator)


@pytest.fixture(scope="module")
def blocks():
    X, groups = block_interactions(n_users=120, n_items=60, n_blocks=3, density=0.5, seed=0)
    X_fit, X_held_out = holdout_split(X, 0.3, random_state=0)
    gan = GANAugmenter(g_hidden_sizes=(32,), d_hidden_sizes=(16,), batch_size=32,
                       g_learning_rate=3e-3, d_learning_rate=3e-3, max_iter=20,
                       random_state=0, device="cpu")
    return X_fit, X_held_out, groups, CFGANRecommender(gan, k=5).fit(X_fit)


def test_recommends_the_users_own_block_and_never_a_seen_item(blocks):
    X_fit, X_held_out, groups, model = blocks
    ranked = model.predict(X_fit)
    item_block = np.arange(X_fit.shape[1]) * 3 // X_fit.shape[1]
    # Users only ever interact with their own block of items: a model that
    # learned the structure recommends from it.
    assert (item_block[ranked] == groups[:, None]).mean() > 0.95
    seen = X_fit.toarray().astype(bool)
    assert not np.take_along_axis(seen, ranked, axis=1).any()
    # Held-out items are found: the users' own blocks hold a third of the
    # catalogue, so the model scores well above a random ranking of unseen items.
    random_ranking = np.argsort(np.random.RandomState(0).random_sample(X_fit.shape)
                                + seen, axis=1)[:, :5]
    chance = ndcg_at_k(X_held_out, random_ranking, 5)
    assert model.score(X_fit, X_held_out) > 3 * chance


def test_scores_are_the_generators(blocks):
    X_fit, _, _, model = blocks
    np.testing.assert_array_equal(model.decision_function(X_fit[:7]),
                                  model.augmenter_.score_items(X_fit[:7]))


def test_augmenter_is_cloned_and_tunable():
    X, _ = block_interactions(n_users=60, n_items=30, seed=1)
    gan = GANAugmenter(**SMALL_GAN, random_state=0)
    model = CFGANRecommender(gan, k=3).fit(X)
    assert model.augmenter_ is not gan and not hasattr(gan, "generator_")
    search = GridSearchCV(CFGANRecommender(gan, k=3),
                          {"augmenter__max_iter": [1, 2]}, cv=UserKFold(2, shuffle=True, random_state=0))
    search.fit(*holdout_split(X, 0.3, random_state=0))
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.best_estimator_.augmenter_.n_iter_ == search.best_params_[
        "augmenter__max_iter"]


def test_default_augmenter_is_a_default_gan():
    X, _ = block_interactions(n_users=20, n_items=12, seed=2)
    model = CFGANRecommender().set_params(k=2)
    model.fit(X)  # None means GANAugmenter(), 40 epochs on a tiny matrix
    assert model.augmenter is None and model.augmenter_.n_iter_ == GANAugmenter().max_iter


def test_pickle_round_trip_predicts_the_same(blocks):
    X_fit, _, _, model = blocks
    loaded = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(loaded.predict(X_fit), model.predict(X_fit))


def test_same_random_state_same_recommendations():
    X, _ = block_interactions(n_users=60, n_items=30, seed=3)
    runs = [CFGANRecommender(GANAugmenter(**SMALL_GAN, random_state=4), k=3).fit(X)
            .decision_function(X) for _ in range(2)]
    np.testing.assert_array_equal(*runs)


def test_bad_augmenter_is_rejected():
    with pytest.raises(ValueError, match="augmenter"):
        CFGANRecommender(augmenter="gan").fit(np.eye(3))
