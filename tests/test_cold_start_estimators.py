"""Recommenders that score cold items from their attributes.

FeaturePopularity and AttributeKNN (sklearn_agn.baselines) and AttributeRidgeMF
(sklearn_agn.mf._attribute_ridge): hand-computed values, a planted structure
recovered for items with no interaction, add_items, bad side input, and the
scikit-learn contract (clone, pickling, GridSearchCV with UserKFold,
check_estimator).
"""

import pickle

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_agn import MFRecommender
from sklearn_agn.mf import AttributeRidgeMF
from sklearn_agn.baselines import AttributeKNN, FeaturePopularity
from sklearn_agn.datasets import make_interactions, make_item_attributes
from sklearn_agn.estimator_checks import expected_failed_checks
from sklearn_agn.model_selection import UserKFold, holdout_split


def _mf(**params):
    return MFRecommender(**{"n_factors": 8, "regularization": 1.0,
                            "regularization_exponent": 0.0, "n_iter": 8,
                            "random_state": 0, **params})


def _ridge_mf(attributes, **params):
    return AttributeRidgeMF(_mf(), item_attributes=attributes, ridge_alpha=1.0, **params)


@pytest.fixture(scope="module")
def planted():
    """Users with one dominant taste; 30 of 160 items cold (no interaction in train)."""
    X, users, items = make_interactions(800, 160, 12_000, n_factors=4,
                                        preference_concentration=0.05, popularity_mix=0.1,
                                        random_state=0, return_factors=True)
    attributes = make_item_attributes(items, n_features=12, noise=0.1, random_state=0)
    cold = np.random.RandomState(0).choice(160, 30, replace=False)
    keep = np.ones(160)
    keep[cold] = 0
    X_train = sp.csr_matrix(X @ sp.diags(keep))
    X_train.eliminate_zeros()
    return X_train, attributes, cold, users.argmax(axis=1), items.argmax(axis=1)


def _share_matching_cluster(model, planted):
    """Share of users whose best-scored cold item is in their dominant cluster."""
    X_train, _, cold, user_cluster, item_cluster = planted
    active = X_train.getnnz(axis=1) >= 5
    best = cold[model.decision_function(X_train[active])[:, cold].argmax(axis=1)]
    return np.mean(item_cluster[best] == user_cluster[active])


# --- hand-computed values ----------------------------------------------------------------


def test_feature_popularity_hand_computed():
    X = np.array([[1, 1, 0, 0, 0],
                  [1, 0, 0, 0, 0],
                  [1, 1, 1, 0, 0]])
    # Features: f0 on items 0, 1, 3; f1 on items 2, 3. Warm popularity 3, 2, 1.
    A = np.array([[1, 0], [1, 0], [0, 1], [1, 1], [0, 0]])
    model = FeaturePopularity(item_attributes=A, k=2).fit(X)
    np.testing.assert_allclose(model.feature_popularity_, [2.5, 1.0])
    # Item 3 (cold) = mean of f0 and f1; item 4 (cold, no feature) = 0.
    np.testing.assert_allclose(model.item_scores_, [3, 2, 1, 1.75, 0])
    np.testing.assert_array_equal(model.predict([[1, 1, 0, 0, 0]]), [[3, 2]])


def test_attribute_knn_hand_computed():
    X = np.array([[1, 0, 0, 0],
                  [0, 1, 1, 0]])
    A = np.array([[1, 0], [0, 1], [1, 1], [1, 1]])  # item 3 is cold
    model = AttributeKNN(item_attributes=A, n_neighbors=3).fit(X)
    c = 1 / np.sqrt(2)
    # Column j: j's neighbours among the warm items 0, 1, 2 (itself excluded).
    expected = np.array([[0, 0, c, c],
                         [0, 0, c, c],
                         [c, c, 0, 1],
                         [0, 0, 0, 0]])
    np.testing.assert_allclose(model.item_similarity_.toarray(), expected)
    np.testing.assert_allclose(model.decision_function(X), [[0, 0, c, c], [c, c, c, 1 + c]])
    # With one neighbour, item 3 keeps only its most similar warm item, 2.
    model = AttributeKNN(item_attributes=A, n_neighbors=1).fit(X)
    np.testing.assert_allclose(model.item_similarity_.toarray()[:, 3], [0, 0, 1, 0])


def test_ridge_mf_factors_of_cold_items_are_the_ridge_prediction(planted):
    X_train, attributes, cold, *_ = planted
    model = _ridge_mf(attributes).fit(X_train)
    np.testing.assert_array_equal(np.flatnonzero(model.cold_items_), np.sort(cold))
    warm = ~model.cold_items_
    np.testing.assert_array_equal(model.item_factors_[warm], model.mf_.item_factors_[warm])
    np.testing.assert_allclose(model.item_factors_[cold],
                               model.ridge_.predict(attributes[cold]), rtol=1e-5)
    # Warm items are ranked as the MF ranks them: same user factors, same item factors.
    rows = X_train[:20]
    np.testing.assert_allclose(model.decision_function(rows)[:, warm],
                               model.mf_.decision_function(rows)[:, warm], rtol=1e-4, atol=1e-6)


# --- planted structure: cold items go to the users whose histories share attributes ------


@pytest.mark.parametrize("make_model", [
    lambda A: AttributeKNN(item_attributes=A, n_neighbors=50),
    lambda A: _ridge_mf(A),
], ids=["AttributeKNN", "AttributeRidgeMF"])
def test_cold_items_recommended_to_users_sharing_their_attributes(planted, make_model):
    model = make_model(planted[1]).fit(planted[0])
    assert _share_matching_cluster(model, planted) > 0.6  # chance: about 0.25


def test_feature_popularity_ranks_cold_items_by_their_features_popularity(planted):
    X_train, attributes, cold, _, item_cluster = planted
    model = FeaturePopularity(item_attributes=attributes).fit(X_train)
    warm = np.setdiff1d(np.arange(X_train.shape[1]), cold)
    popularity = X_train.getnnz(axis=0)
    np.testing.assert_array_equal(model.item_scores_[warm], popularity[warm])
    # A cold item's score is on the scale of a warm item's popularity.
    assert popularity[warm].min() <= model.item_scores_[cold].min()
    assert model.item_scores_[cold].max() <= popularity[warm].max()


def test_add_items_recommends_new_items_without_refitting(planted):
    X_train, attributes, _, user_cluster, item_cluster = planted
    model = _ridge_mf(attributes).fit(X_train)
    factors_before = model.item_factors_.copy()
    n_items = X_train.shape[1]
    # One new item per cluster, with the attributes of an item of that cluster.
    examples = [np.flatnonzero(item_cluster == c)[0] for c in range(4)]
    assert model.add_items(attributes[examples]) is model
    assert model.n_features_in_ == n_items + 4
    np.testing.assert_array_equal(model.item_factors_[:n_items], factors_before)
    assert model.cold_items_[n_items:].all()

    rows = sp.hstack([X_train, sp.csr_matrix((X_train.shape[0], 4))]).tocsr()
    active = X_train.getnnz(axis=1) >= 5
    best_new = model.decision_function(rows[active])[:, n_items:].argmax(axis=1)
    assert np.mean(best_new == user_cluster[active]) > 0.8
    assert model.predict(rows[:3], k=5).max() < n_items + 4
    with pytest.raises(ValueError, match=f"expecting {n_items + 4} features"):
        model.predict(X_train)
    with pytest.raises(ValueError, match="has 3 features .* fitted with 12"):
        model.add_items(np.ones((1, 3)))


def test_add_items_needs_fit(planted):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        _ridge_mf(planted[1]).add_items(planted[1][:1])


# --- bad side input ----------------------------------------------------------------------

ESTIMATORS = [
    lambda A: FeaturePopularity(item_attributes=A),
    lambda A: AttributeKNN(item_attributes=A),
    lambda A: AttributeRidgeMF(_mf(), item_attributes=A),
]
IDS = ["FeaturePopularity", "AttributeKNN", "AttributeRidgeMF"]


@pytest.mark.parametrize("make_model", ESTIMATORS, ids=IDS)
def test_bad_item_attributes_get_a_clear_error(make_model):
    X = sp.csr_matrix(np.eye(4))
    good = np.eye(4)
    with pytest.raises(ValueError, match="item_attributes has 3 rows, but X has 4 items"):
        make_model(good[:3]).fit(X)
    nan = good.copy()
    nan[1, 2] = np.nan
    with pytest.raises(ValueError, match="item_attributes contains NaN"):
        make_model(nan).fit(X)
    inf = good.copy()
    inf[0, 0] = np.inf
    with pytest.raises(ValueError, match="item_attributes contains infinity"):
        make_model(inf).fit(X)
    frame = pd.DataFrame({"comedy": [1, 0, 0, 1], "title": ["a", "b", "c", "d"]})
    with pytest.raises(TypeError, match=r"columns \['title'\] are not"):
        make_model(frame).fit(X)
    with pytest.raises(TypeError, match="must be numeric, got an array of dtype <U"):
        make_model(np.array([["a"], ["b"], ["c"], ["d"]])).fit(X)
    with pytest.raises(TypeError, match="item_attributes is required"):
        make_model(None).fit(X)


def test_feature_popularity_rejects_negative_attributes():
    with pytest.raises(ValueError, match="must be non-negative"):
        FeaturePopularity(item_attributes=-np.eye(3)).fit(np.eye(3))


@pytest.mark.parametrize("make_model", ESTIMATORS, ids=IDS)
def test_attributes_accepted_as_dataframe_and_sparse_and_left_unmodified(make_model, planted):
    X_train, attributes, *_ = planted
    dense = attributes.toarray()
    frame = pd.DataFrame(dense, columns=[f"tag{j}" for j in range(dense.shape[1])])
    before = attributes.copy()
    scores = [make_model(A).fit(X_train).decision_function(X_train[:10])
              for A in (attributes, dense, frame)]
    np.testing.assert_allclose(scores[0], scores[1], atol=1e-4)  # sparse and dense ridge solvers
    np.testing.assert_allclose(scores[1], scores[2], rtol=1e-6, atol=1e-7)
    assert (attributes != before).nnz == 0


# --- scikit-learn contract ---------------------------------------------------------------


@pytest.mark.parametrize("make_model", ESTIMATORS, ids=IDS)
def test_clone_and_pickle(make_model, planted):
    X_train, attributes, *_ = planted
    model = make_model(attributes)
    # clone deep-copies the attribute matrix, as it does any non-estimator parameter.
    assert (clone(model).get_params()["item_attributes"] != attributes).nnz == 0
    model.fit(X_train)
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.predict(X_train[:30]), model.predict(X_train[:30]))


def test_ridge_mf_is_reproducible_and_exposes_nested_params(planted):
    X_train, attributes, *_ = planted
    model = _ridge_mf(attributes)
    assert model.get_params()["mf__n_factors"] == 8
    a = clone(model).fit(X_train).decision_function(X_train[:5])
    b = clone(model).fit(X_train).decision_function(X_train[:5])
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("make_model, grid", [
    (lambda A: AttributeKNN(item_attributes=A), {"n_neighbors": [1, 50]}),
    (lambda A: _ridge_mf(A), {"ridge_alpha": [0.1, 10.0], "mf__alpha": [1.0, 4.0]}),
], ids=["AttributeKNN", "AttributeRidgeMF"])
def test_grid_search_with_user_kfold(make_model, grid, planted):
    X_train, attributes, *_ = planted
    X_fit, X_val = holdout_split(X_train, 0.2, random_state=0)
    search = GridSearchCV(make_model(attributes), grid,
                          cv=UserKFold(3, shuffle=True, random_state=0))
    search.fit(X_fit, X_val)
    assert search.best_estimator_.item_attributes.shape == attributes.shape
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.predict(X_fit[:4]).shape == (4, 10)


# The common checks draw X with 1 to 5 columns, and item_attributes must have
# one row per column: with an attribute matrix of 10 rows, every check that
# fits fails with the "item_attributes has 10 rows, but X has n items"
# ValueError. What those checks guard (pickling, clone, refit, input left
# unmodified) is tested above on data that matches the attributes.
_ROWS_MISMATCH = ("item_attributes must have one row per item (column of X), and the "
                  "check's data has a number of columns other than 10")
_ATTRIBUTE_CHECKS_FAILING = [
    "check_dict_unchanged",
    "check_dont_overwrite_parameters",
    "check_estimator_sparse_tag",
    "check_estimators_dtypes",
    "check_estimators_fit_returns_self",
    "check_estimators_nan_inf",
    "check_estimators_overwrite_params",
    "check_estimators_pickle",
    "check_f_contiguous_array_estimator",
    "check_fit2d_1feature",
    "check_fit2d_predict1d",
    "check_fit_check_is_fitted",
    "check_fit_idempotent",
    "check_methods_sample_order_invariance",
    "check_methods_subset_invariance",
    "check_n_features_in",
    "check_n_features_in_after_fitting",
    "check_readonly_memmap_input",
]
_CHECKED = [FeaturePopularity(item_attributes=np.ones((10, 2)), k=1),
            AttributeKNN(item_attributes=np.ones((10, 2)), k=1),
            AttributeRidgeMF(MFRecommender(n_factors=2, n_iter=2),
                             item_attributes=np.ones((10, 2)), k=1)]


def _expected_failures(estimator):
    failures = dict(expected_failed_checks(estimator))
    failures.update({name: _ROWS_MISMATCH for name in _ATTRIBUTE_CHECKS_FAILING})
    return failures


@parametrize_with_checks(_CHECKED, expected_failed_checks=_expected_failures, xfail_strict=True)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


def test_ridge_mf_scores_an_empty_row_by_popularity_as_its_mf_does(planted):
    X_train, attributes = planted[0], planted[1]
    model = _ridge_mf(attributes).fit(X_train)
    empty = sp.csr_matrix((1, X_train.shape[1]))
    # A new user with no interaction: the MF's popularity ranking, cold items
    # (no interaction to be popular with) after every warm item.
    popularity = np.asarray((X_train > 0).sum(axis=0)).ravel()
    np.testing.assert_allclose(model.decision_function(empty)[0],
                               popularity / popularity.max())
    np.testing.assert_array_equal(model.predict(empty, k=5)[0],
                                  model.mf_.predict(empty, k=5)[0])
    assert not model.cold_items_[model.predict(empty, k=20)[0]].any()
    # Items added after fit have no interaction either.
    model.add_items(attributes[:3])
    scores = model.decision_function(sp.csr_matrix((1, model.n_features_in_)))[0]
    np.testing.assert_array_equal(scores[-3:], 0)


def test_ridge_mf_on_a_model_fitted_beforehand_keeps_its_factors(planted):
    """A FrozenEstimator MF (fitted on Spark, on all rows...): only the map is learned."""
    from sklearn.frozen import FrozenEstimator

    X_train, attributes = planted[0], planted[1]
    fitted = _mf().fit(X_train)
    sample = X_train[:5]  # a few rows: most warm items have no entry in them
    assert (np.diff(sample.tocsc().indptr) == 0).sum() > (np.diff(X_train.tocsc().indptr) == 0).sum()
    model = AttributeRidgeMF(FrozenEstimator(fitted), item_attributes=attributes,
                             ridge_alpha=1.0).fit(sample)
    learned = fitted.item_interaction_counts_ > 0
    np.testing.assert_array_equal(model.cold_items_, ~learned)
    np.testing.assert_array_equal(model.item_factors_[learned], fitted.item_factors_[learned])
    # The same map as one fitted with the MF: same warm items, same factors.
    refit = _ridge_mf(attributes).fit(X_train)
    np.testing.assert_allclose(model.item_factors_, refit.item_factors_, rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(model.predict(X_train[:20], k=5), refit.predict(X_train[:20], k=5))
    with pytest.raises(ValueError, match=r"X has 7 items.*factors for"):
        AttributeRidgeMF(FrozenEstimator(fitted), item_attributes=attributes[:7]).fit(sample[:, :7])
