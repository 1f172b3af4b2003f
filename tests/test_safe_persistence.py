"""Saving without pickle: skops round trips, and untrusted types refused (issue 13 part 4).

Searches of the user guide round-trip too (issue 17 item 7): their scorers and
``UserKFold`` are trusted, a user's own scorer is not.
"""

import pickle

import numpy as np
import pytest
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from sklearn_agn import AttributeRidgeMF, CFGANRecommender, GANAugmenter, MFRecommender
from sklearn_agn.baselines import EASE, AttributeKNN, FeaturePopularity, ItemKNN, MostPopular
from sklearn_agn.metrics import make_ranking_scorer
from sklearn_agn.model_selection import UserKFold, holdout_split
from sklearn_agn.preprocessing import InteractionEncoder

from ._synthetic import block_interactions

skops_io = pytest.importorskip("skops.io")
from sklearn_agn.persistence import dump, load  # noqa: E402

GAN_PARAMS = dict(
    g_hidden_sizes=(8, 6), d_hidden_sizes=(4,), noise_dim=2, max_iter=2, batch_size=16,
    g_steps=1, d_steps=1, sparse_threshold=5, n_generated=2, device="cpu", random_state=0,
)
MF_PARAMS = dict(n_factors=3, n_iter=2, k=3, device="cpu", random_state=0)

# Two attributes, one per planted block of 6 items.
ITEM_ATTRIBUTES = np.repeat(np.eye(2), 6, axis=0)

ESTIMATORS = {
    "MFRecommender": lambda: MFRecommender(**MF_PARAMS),
    "EASE": lambda: EASE(l2_reg=1.0, k=3),
    "ItemKNN": lambda: ItemKNN(n_neighbors=4, k=3),
    "MostPopular": lambda: MostPopular(k=3),
    "GANAugmenter": lambda: GANAugmenter(**GAN_PARAMS),
    "pipeline": lambda: make_pipeline(GANAugmenter(**GAN_PARAMS), MFRecommender(**MF_PARAMS)),
    "CFGANRecommender": lambda: CFGANRecommender(GANAugmenter(**GAN_PARAMS), k=3),
    "GANAugmenter with item attributes": lambda: GANAugmenter(
        **GAN_PARAMS, item_attributes=ITEM_ATTRIBUTES),
    "AttributeRidgeMF": lambda: AttributeRidgeMF(MFRecommender(**MF_PARAMS),
                                                 item_attributes=ITEM_ATTRIBUTES, k=3),
    "AttributeKNN": lambda: AttributeKNN(item_attributes=ITEM_ATTRIBUTES, n_neighbors=3, k=3),
    "FeaturePopularity": lambda: FeaturePopularity(item_attributes=ITEM_ATTRIBUTES, k=3),
}


class Identity(TransformerMixin, BaseEstimator):
    """A transformer of the user's own: a type the loader does not know."""

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return X


@pytest.fixture(scope="module")
def data():
    X, _ = block_interactions(n_users=40, n_items=12, n_blocks=2, density=0.3, seed=0)
    X_new, _ = block_interactions(n_users=7, n_items=12, n_blocks=2, density=0.3, seed=1)
    return X, X_new


def _outputs(est, X):
    if isinstance(est, GANAugmenter):
        return {"transform": est.transform(X).toarray(),
                "scores": est.score_items(X), "sample": est.sample(5, random_state=0).toarray()}
    return {"predict": est.predict(X), "decision_function": est.decision_function(X)}


@pytest.mark.parametrize("name", ESTIMATORS)
def test_round_trip_gives_identical_outputs(name, data, tmp_path):
    X, X_new = data
    torch.set_num_threads(1)
    est = ESTIMATORS[name]().fit(X)
    path = tmp_path / "model.skops"
    dump(est, path)
    restored = load(path)
    assert type(restored) is type(est)
    for X_rows in (X, X_new):
        expected, got = _outputs(est, X_rows), _outputs(restored, X_rows)
        for key in expected:
            np.testing.assert_array_equal(got[key], expected[key], err_msg=key)
    # The loaded model pickles like any other.
    again = pickle.loads(pickle.dumps(restored))
    np.testing.assert_array_equal(next(iter(_outputs(again, X_new).values())),
                                  next(iter(_outputs(est, X_new).values())))


def test_dump_leaves_the_estimator_alone(data, tmp_path):
    X, _ = data
    pipe = ESTIMATORS["pipeline"]().fit(X)
    generator = pipe[0].generator_
    dump(pipe, tmp_path / "pipe.skops")
    assert pipe[0].generator_ is generator and isinstance(generator, torch.nn.Module)
    restored = load(tmp_path / "pipe.skops")[0].generator_
    assert isinstance(restored, type(generator)) and restored is not generator
    for (name, old), (_, new) in zip(generator.state_dict().items(),
                                     restored.state_dict().items()):
        assert torch.equal(old, new), name


def test_unfitted_estimators_and_the_encoder_round_trip(tmp_path):
    dump(MFRecommender(n_factors=5, alpha=3.0), tmp_path / "mf.skops")
    assert load(tmp_path / "mf.skops").get_params() == MFRecommender(n_factors=5,
                                                                     alpha=3.0).get_params()
    log = {"user_id": ["ann", "bob", "bob"], "item_id": [30, 10, 20]}
    encoder = InteractionEncoder().fit(log)
    dump(encoder, tmp_path / "encoder.skops")
    restored = load(tmp_path / "encoder.skops")
    assert (restored.transform(log) != encoder.transform(log)).nnz == 0
    np.testing.assert_array_equal(restored.item_index([20, 10]), [1, 0])


def test_untrusted_type_is_refused(data, tmp_path):
    X, _ = data
    pipe = make_pipeline(Identity(), EASE(l2_reg=1.0)).fit(X)
    path = tmp_path / "custom.skops"
    dump(pipe, path)
    with pytest.raises(skops_io.exceptions.UntrustedTypesFoundException, match="Identity"):
        load(path)
    name = f"{Identity.__module__}.{Identity.__qualname__}"
    assert name in skops_io.get_untrusted_types(file=path)
    np.testing.assert_array_equal(load(path, trusted=[name]).predict(X), pipe.predict(X))
    with pytest.raises(TypeError, match="list of type names"):
        load(path, trusted=name)


def test_only_known_torch_modules_are_stored(tmp_path):
    est = Identity()
    est.module_ = torch.nn.Linear(2, 2)
    with pytest.raises(TypeError, match="Cannot store a torch module of type Linear"):
        dump(est, tmp_path / "linear.skops")


def test_a_function_that_runs_code_is_refused(tmp_path):
    from sklearn.preprocessing import FunctionTransformer

    dump(make_pipeline(FunctionTransformer(eval), MostPopular()), tmp_path / "eval.skops")
    with pytest.raises(skops_io.exceptions.UntrustedTypesFoundException, match="eval"):
        load(tmp_path / "eval.skops")


def _search(estimator, grid, scoring, refit=True):
    return GridSearchCV(estimator, grid, scoring=scoring, refit=refit,
                        cv=UserKFold(n_splits=2, shuffle=True, random_state=0))


NDCG = make_ranking_scorer("ndcg", k=3)

SEARCHES = {
    "ranking scorer": lambda: _search(MFRecommender(**MF_PARAMS), {"n_factors": [2, 3]}, NDCG),
    "scoring=None": lambda: _search(MFRecommender(**MF_PARAMS), {"n_factors": [2, 3]}, None),
    "multimetric": lambda: _search(
        MFRecommender(**MF_PARAMS), {"n_factors": [2, 3]},
        {"ndcg": NDCG, "recall": make_ranking_scorer("recall", k=2)}, refit="ndcg"),
    # Tuple-valued candidates make the param_ columns of cv_results_ object arrays.
    "GAN+MF pipeline": lambda: _search(
        make_pipeline(GANAugmenter(**GAN_PARAMS), MFRecommender(**MF_PARAMS)),
        {"ganaugmenter__g_hidden_sizes": [(8,), (8, 6)]}, NDCG),
}


@pytest.fixture(scope="module")
def split(data):
    return holdout_split(data[0], test_size=0.3, random_state=0)


@pytest.mark.parametrize("name", SEARCHES)
def test_search_round_trip(name, split, tmp_path):
    X_fit, X_val = split
    torch.set_num_threads(1)
    search = SEARCHES[name]().fit(X_fit, X_val)
    dump(search, tmp_path / "search.skops")
    restored = load(tmp_path / "search.skops")
    assert type(restored) is GridSearchCV and restored.best_params_ == search.best_params_
    assert restored.cv_results_.keys() == search.cv_results_.keys()
    for key, expected in search.cv_results_.items():
        np.testing.assert_array_equal(restored.cv_results_[key], expected, err_msg=key)
    np.testing.assert_array_equal(restored.predict(X_fit), search.predict(X_fit))
    np.testing.assert_array_equal(restored.decision_function(X_fit),
                                  search.decision_function(X_fit))
    # The loaded scorer and splitter work: same score, same folds.
    assert restored.score(X_fit, X_val) == search.score(X_fit, X_val)
    for (train, test), (train_0, test_0) in zip(restored.cv.split(X_fit, X_val),
                                                search.cv.split(X_fit, X_val)):
        np.testing.assert_array_equal(train, train_0)
        np.testing.assert_array_equal(test, test_0)


class CoverageScorer:
    """A scorer of the user's own: a type the loader does not know."""

    def __call__(self, estimator, X, y=None):
        return float(np.unique(estimator.predict(X)).size)


def test_search_with_a_user_scorer_is_refused(split, tmp_path):
    X_fit, X_val = split
    search = _search(MFRecommender(**MF_PARAMS), {"n_factors": [2, 3]},
                     {"ndcg": NDCG, "coverage": CoverageScorer()}, refit="ndcg")
    path = tmp_path / "search.skops"
    dump(search.fit(X_fit, X_val), path)
    name = f"{CoverageScorer.__module__}.{CoverageScorer.__qualname__}"
    with pytest.raises(skops_io.exceptions.UntrustedTypesFoundException, match="CoverageScorer"):
        load(path)
    # The user's scorer is the only type to name: the package's are trusted.
    restored = load(path, trusted=[name])
    assert restored.score(X_fit, X_val) == search.score(X_fit, X_val)
