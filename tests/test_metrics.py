"""Ranking metrics and scorers: hand-computed values, validation, search integration."""

import pickle
import warnings
from math import log2

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.base import BaseEstimator
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from sklearn_agn.metrics import (
    RANKING_METRICS,
    average_recommendation_popularity,
    beyond_accuracy_metrics,
    catalogue_coverage,
    exposure_gini,
    get_ranking_scorer,
    intra_list_diversity,
    long_tail_share,
    novelty,
    hit_rate_at_k,
    make_ranking_scorer,
    mrr_at_k,
    ndcg_at_k,
    precision_at_k,
    ranking_metrics,
    recall_at_k,
)

# Four users, six items.
#   user 0 held out {0, 2, 4}, ranked [2, 1, 0]:  hits at ranks 1 and 3
#   user 1 held out {5},       ranked [0, 5, -1]: hit at rank 2, one empty slot
#   user 2 held out nothing,   ranked [1, 2, 3]:  not evaluated (excluded from means)
#   user 3 held out {1, 3},    ranked [0, 2, 4]:  no hit
Y = sp.csr_matrix(
    np.array(
        [
            [1, 0, 1, 0, 1, 0],
            [0, 0, 0, 0, 0, 1],
            [0, 0, 0, 0, 0, 0],
            [0, 1, 0, 1, 0, 0],
        ],
        dtype=float,
    )
)
RANKED = np.array([[2, 1, 0], [0, 5, -1], [1, 2, 3], [0, 2, 4]])

# Per-user values at k=3 (user 2 left out):
#   precision: 2/3, 1/3 (the -1 slot is a miss), 0        -> mean 1/3
#   recall:    2/3, 1/1 (one held-out item, found), 0     -> mean 5/9
#   NDCG: user 0: DCG = 1/log2(2) + 1/log2(4) = 1.5,
#                 IDCG = 1 + 1/log2(3) + 1/log2(4) (min(3, 3) = 3 hits)
#         user 1: DCG = 1/log2(3), IDCG = 1 (min(3, 1) = 1 hit)
#         user 3: 0
#   MRR:       1/1, 1/2, 0                                 -> mean 1/2
#   hit rate:  1, 1, 0                                     -> mean 2/3
NDCG_U0 = 1.5 / (1 + 1 / log2(3) + 0.5)
EXPECTED_AT_3 = {
    "precision": 1 / 3,
    "recall": 5 / 9,
    "ndcg": (NDCG_U0 + 1 / log2(3) + 0) / 3,
    "mrr": 0.5,
    "hit_rate": 2 / 3,
}
# At k=1 the tops are 2 (hit for user 0), 0 (miss), 0 (miss):
#   precision 1, 0, 0; recall 1/3, 0, 0; NDCG 1/1, 0, 0; MRR 1, 0, 0; hit 1, 0, 0.
EXPECTED_AT_1 = {
    "precision": 1 / 3,
    "recall": 1 / 9,
    "ndcg": 1 / 3,
    "mrr": 1 / 3,
    "hit_rate": 1 / 3,
}


@pytest.mark.parametrize("name", sorted(RANKING_METRICS))
def test_hand_computed_values(name):
    metric = RANKING_METRICS[name]
    assert metric(Y, RANKED, 3) == pytest.approx(EXPECTED_AT_3[name])
    assert metric(Y, RANKED) == pytest.approx(EXPECTED_AT_3[name])  # k=None: all columns
    assert metric(Y, RANKED, k=1) == pytest.approx(EXPECTED_AT_1[name])


def test_public_functions_are_the_registered_ones():
    assert RANKING_METRICS == {
        "precision": precision_at_k,
        "recall": recall_at_k,
        "ndcg": ndcg_at_k,
        "mrr": mrr_at_k,
        "hit_rate": hit_rate_at_k,
    }


def test_users_with_fewer_held_out_items_than_k():
    # One held-out item {3}, ranked first among 3: recall 1/1, NDCG 1/1
    # (IDCG truncated at min(3, 1) = 1 hit), precision 1/3, MRR 1/1.
    y = sp.csr_matrix(np.array([[0, 0, 0, 1]]))
    ranked = [[3, 0, 1]]
    assert recall_at_k(y, ranked) == 1.0
    assert ndcg_at_k(y, ranked) == 1.0
    assert precision_at_k(y, ranked) == pytest.approx(1 / 3)
    assert mrr_at_k(y, ranked) == 1.0
    # Two held-out {0, 3}, found at ranks 1 and 2 of 3: NDCG 1 (ideal is 2 hits).
    y = sp.csr_matrix(np.array([[1, 0, 0, 1]]))
    assert ndcg_at_k(y, [[0, 3, 1]]) == 1.0
    # Found at ranks 1 and 3: DCG = 1 + 1/log2(4), IDCG = 1 + 1/log2(3).
    assert ndcg_at_k(y, [[0, 1, 3]]) == pytest.approx(1.5 / (1 + 1 / log2(3)))


def test_more_held_out_items_than_k_caps_recall():
    # Four held out, all 2 slots hits: precision 2/2, recall 2/4, NDCG 1 (IDCG over 2).
    y = sp.csr_matrix(np.ones((1, 4)))
    assert precision_at_k(y, [[1, 2]]) == 1.0
    assert recall_at_k(y, [[1, 2]]) == 0.5
    assert ndcg_at_k(y, [[1, 2]]) == 1.0


def test_padding_is_a_miss_never_a_hit():
    # A -1 slot must not match anything, in particular not the previous user's
    # last item (item 2 of user 0 here).
    y = sp.csr_matrix(np.array([[0, 0, 1], [1, 0, 0]]))
    ranked = [[0, 1], [-1, -1]]
    for metric in RANKING_METRICS.values():
        assert metric(y, ranked) == 0.0
    # Held-out {1}, ranked [1, -1]: precision 1/2 (k counts the empty slot), recall 1.
    y = sp.csr_matrix(np.array([[0, 1, 0]]))
    assert precision_at_k(y, [[1, -1]]) == 0.5
    assert recall_at_k(y, [[1, -1]]) == 1.0
    assert ndcg_at_k(y, [[1, -1]]) == 1.0


def test_users_without_held_out_items_are_excluded():
    # User 1 has nothing held out: the mean is over user 0 only, not (1 + 0) / 2.
    y = sp.csr_matrix(np.array([[1, 0], [0, 0]]))
    ranked = [[0], [1]]
    for metric in RANKING_METRICS.values():
        assert metric(y, ranked) == 1.0


@pytest.mark.parametrize("name", sorted(RANKING_METRICS))
def test_all_empty_y_gives_nan_with_a_warning(name):
    y = sp.csr_matrix((3, 4))
    with pytest.warns(UndefinedMetricWarning, match="No user has a held-out item"):
        assert np.isnan(RANKING_METRICS[name](y, [[0], [1], [2]]))


def test_explicit_zeros_are_not_relevant_and_y_is_not_modified():
    # User 0 stores an explicit 0 at item 1 and a 1 at item 2; user 1 stores
    # only an explicit 0, so it has no held-out item and is left out.
    y = sp.csr_matrix(
        (np.array([0.0, 1.0, 0.0]), np.array([1, 2, 0]), np.array([0, 2, 3])), shape=(2, 3)
    )
    before = (y.data.copy(), y.indices.copy(), y.indptr.copy())
    # User 0: ranked [1, 2]: item 1 is not relevant, item 2 is a hit at rank 2.
    assert mrr_at_k(y, [[1, 2], [0, 1]]) == 0.5
    assert recall_at_k(y, [[1, 2], [0, 1]]) == 1.0
    assert y.nnz == 3
    for got, expected in zip((y.data, y.indices, y.indptr), before):
        np.testing.assert_array_equal(got, expected)


def test_duplicate_entries_count_once():
    # Non-canonical CSR storing item 1 twice for user 0: one held-out item,
    # so finding it is a recall of 1/1, not 1/2.
    y = sp.csr_matrix((np.array([1.0, 1.0]), np.array([1, 1]), np.array([0, 2])), shape=(1, 3))
    assert recall_at_k(y, [[1, 0]]) == 1.0
    assert ndcg_at_k(y, [[1, 0]]) == 1.0
    assert y.nnz == 2  # the caller's matrix keeps its duplicates


def test_values_count_as_binary_relevance():
    # A play count of 5 is as relevant as a 1: no graded gain.
    assert ndcg_at_k(sp.csr_matrix([[5.0, 1.0, 0.0]]), [[1, 0]]) == 1.0


@pytest.mark.parametrize(
    "convert",
    [
        sp.csr_matrix,
        sp.csr_array,
        sp.coo_matrix,
        lambda y: y.toarray(),
        lambda y: y.toarray().astype(bool),
        lambda y: y.toarray().tolist(),
    ],
    ids=["csr_matrix", "csr_array", "coo_matrix", "dense", "dense-bool", "list"],
)
def test_input_containers(convert):
    y = convert(Y)
    for name, metric in RANKING_METRICS.items():
        assert metric(y, RANKED) == pytest.approx(EXPECTED_AT_3[name])
        assert metric(y, RANKED.tolist()) == pytest.approx(EXPECTED_AT_3[name])


@pytest.mark.parametrize("dtype", [np.int8, np.int32, np.uint16, np.int64])
def test_integer_dtypes_of_ranked(dtype):
    ranked = np.where(RANKED < 0, 0, RANKED).astype(dtype)  # unsigned: no padding
    # User 1 now ranked [0, 5, 0] would repeat item 0: use a row without repeats.
    ranked[1] = [0, 5, 1]
    assert recall_at_k(Y, ranked) == pytest.approx(EXPECTED_AT_3["recall"])


@pytest.mark.parametrize(
    "y, ranked, k, error, match",
    [
        (Y, RANKED[0], None, ValueError, "2-D"),
        (Y, RANKED[:, :0], None, ValueError, "k >= 1"),
        (Y, RANKED.astype(float), None, TypeError, "integer item indices"),
        (Y, RANKED.astype(bool), None, TypeError, "integer item indices"),
        (Y, RANKED + 1, None, ValueError, r"outside \[0, 6\)"),
        (Y, RANKED - 1, None, ValueError, r"outside \[0, 6\)"),
        (Y, RANKED[:3], None, ValueError, "4 users .* 3 rows"),
        (Y, [[0, 0, 1]] * 4, None, ValueError, "more than once"),
        (Y, RANKED, 4, ValueError, "larger than the 3 columns"),
        (Y, RANKED, 0, ValueError, "k must be >= 1"),
        (Y, RANKED, 1.5, TypeError, "positive integer"),
        (Y, RANKED, True, TypeError, "positive integer"),
        (-Y, RANKED, None, ValueError, "Negative values"),
        (np.full((4, 6), np.nan), RANKED, None, ValueError, "NaN"),
        (np.ones(6), RANKED, None, ValueError, "2D array"),
    ],
)
def test_validation(y, ranked, k, error, match):
    for metric in RANKING_METRICS.values():
        with pytest.raises(error, match=match):
            metric(y, ranked, k)


def test_k_accepts_numpy_integers():
    assert precision_at_k(Y, RANKED, np.int64(3)) == pytest.approx(1 / 3)


def test_catalogue_coverage():
    # Top 3 of all users, user 2 included: {2, 1, 0} | {0, 5} | {1, 2, 3} | {0, 2, 4}
    # = all 6 items. Top 1: {2, 0, 1} -> 3 / 6.
    assert catalogue_coverage(RANKED, 6) == 1.0
    assert catalogue_coverage(RANKED, 6, k=1) == 0.5
    # Against a catalogue of 12 the same items cover half.
    assert catalogue_coverage(RANKED, 12) == 0.5
    assert catalogue_coverage([[-1, -1]], 3) == 0.0
    with pytest.raises(ValueError, match=r"outside \[0, 5\)"):
        catalogue_coverage(RANKED, 5)
    with pytest.raises(ValueError, match="n_items must be >= 1"):
        catalogue_coverage(RANKED, 0)
    with pytest.raises(TypeError, match="n_items"):
        catalogue_coverage(RANKED, 6.0)
    with pytest.raises(TypeError, match="integer item indices"):
        catalogue_coverage(RANKED.astype(float), 6)
    with pytest.raises(ValueError, match="larger than the 3 columns"):
        catalogue_coverage(RANKED, 6, k=4)


def test_ranking_metrics_matches_the_functions():
    out = ranking_metrics(Y, RANKED, ks=(1, 3))
    assert set(out) == {f"{name}@{k}" for name in RANKING_METRICS for k in (1, 3)}
    for name in RANKING_METRICS:
        assert out[f"{name}@1"] == pytest.approx(EXPECTED_AT_1[name])
        assert out[f"{name}@3"] == pytest.approx(EXPECTED_AT_3[name])
    assert ranking_metrics(Y, RANKED, ks=3) == {f"{n}@3": out[f"{n}@3"] for n in RANKING_METRICS}


def test_ranking_metrics_validation_and_empty_y():
    with pytest.raises(ValueError, match="k=5 is larger than the 3 columns"):
        ranking_metrics(Y, RANKED)  # default ks=(5, 20) needs 20 columns
    with pytest.raises(ValueError, match="at least one cut-off"):
        ranking_metrics(Y, RANKED, ks=())
    with pytest.raises(TypeError, match="positive integer"):
        ranking_metrics(Y, RANKED, ks=(1.0,))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = ranking_metrics(sp.csr_matrix((4, 6)), RANKED, ks=(1, 3))
    assert all(np.isnan(value) for value in out.values())
    assert len(caught) == 1 and caught[0].category is UndefinedMetricWarning


# --------------------------------------------------------------------------
# Property tests against a direct transcription of the definitions.


def _reference(y_dense, ranked, k):
    """Loop-per-user metrics from the definitions in the module docstring."""
    per_user = {name: [] for name in RANKING_METRICS}
    for truth_row, row in zip(y_dense, ranked):
        truth = set(np.flatnonzero(truth_row))
        if not truth:
            continue
        top = [item for item in row[:k]]
        hits = [item >= 0 and item in truth for item in top]
        dcg = sum(1 / log2(rank + 2) for rank, hit in enumerate(hits) if hit)
        idcg = sum(1 / log2(rank + 2) for rank in range(min(k, len(truth))))
        per_user["precision"].append(sum(hits) / k)
        per_user["recall"].append(sum(hits) / len(truth))
        per_user["ndcg"].append(dcg / idcg)
        per_user["mrr"].append(1 / (hits.index(True) + 1) if any(hits) else 0.0)
        per_user["hit_rate"].append(float(any(hits)))
    return {name: np.mean(values) if values else np.nan for name, values in per_user.items()}


@st.composite
def rankings(draw):
    n_users = draw(st.integers(1, 6))
    n_items = draw(st.integers(1, 8))
    y = draw(hnp.arrays(np.bool_, (n_users, n_items)))
    n_ranked = draw(st.integers(1, n_items))
    ranked = np.full((n_users, n_ranked), -1)
    for user in range(n_users):
        items = draw(st.permutations(range(n_items)))
        length = draw(st.integers(0, n_ranked))  # the rest is -1 padding
        ranked[user, :length] = items[:length]
    k = draw(st.integers(1, n_ranked))
    return y, ranked, k


@settings(max_examples=150, deadline=None)
@given(rankings())
def test_metrics_match_the_reference(case):
    y, ranked, k = case
    expected = _reference(y, ranked, k)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        y_csr = sp.csr_matrix(y)
        got = {name: metric(y_csr, ranked, k) for name, metric in RANKING_METRICS.items()}
        together = ranking_metrics(y, ranked, ks=k)
    for name in RANKING_METRICS:
        np.testing.assert_allclose(got[name], expected[name], rtol=1e-12)
        np.testing.assert_allclose(together[f"{name}@{k}"], expected[name], rtol=1e-12)
    if not y.any():
        assert all(np.isnan(value) for value in got.values())
        return
    for value in got.values():
        assert 0.0 <= value <= 1.0
    # precision * k * (evaluated users) is the total number of hits.
    evaluated = y.any(axis=1)
    hits = sum(
        y[user, item]
        for user in np.flatnonzero(evaluated)
        for item in ranked[user, :k]
        if item >= 0
    )
    assert got["precision"] * k * evaluated.sum() == pytest.approx(hits)
    # A user's NDCG and reciprocal rank are at most its hit indicator.
    assert got["mrr"] <= got["hit_rate"] + 1e-12
    assert got["ndcg"] <= got["hit_rate"] + 1e-12
    coverage = catalogue_coverage(ranked, y.shape[1], k)
    assert coverage == len(set(ranked[:, :k].ravel()) - {-1}) / y.shape[1]


# --------------------------------------------------------------------------
# Scorers


class FixedRanking(BaseEstimator):
    """Recommends the same items, in ``order``, to every user."""

    def __init__(self, order=(0, 1, 2, 3, 4, 5), k=3):
        self.order = order
        self.k = k

    def fit(self, X, y=None):
        self.n_features_in_ = X.shape[1]
        return self

    def predict(self, X, k=None):
        k = self.k if k is None else k
        return np.tile(np.asarray(self.order[:k]), (X.shape[0], 1))


def test_make_ranking_scorer():
    scorer = make_ranking_scorer("ndcg", k=2)
    assert repr(scorer) == "make_ranking_scorer('ndcg', k=2)"
    # The scorer's k overrides the estimator's (k=3): top 2 of (2, 1, 0, ...) for all
    # users, against Y. Precision@2: user 0 [2, 1] -> 1/2, user 1 -> 0, user 3 [.., 1] -> 1/2.
    estimator = FixedRanking(order=(2, 1, 0, 3, 4, 5)).fit(Y)
    assert make_ranking_scorer("precision", k=2)(estimator, Y, Y) == pytest.approx(1 / 3)
    ranked = estimator.predict(Y, k=2)
    assert scorer(estimator, Y, Y) == pytest.approx(ndcg_at_k(Y, ranked))
    assert pickle.loads(pickle.dumps(scorer))(estimator, Y, Y) == scorer(estimator, Y, Y)
    with pytest.raises(ValueError, match="needs y, the held-out interactions"):
        scorer(estimator, Y)


def test_make_ranking_scorer_validation():
    with pytest.raises(ValueError, match="Unknown ranking metric 'auc'"):
        make_ranking_scorer("auc")
    with pytest.raises(ValueError, match="k must be >= 1"):
        make_ranking_scorer("ndcg", k=0)
    with pytest.raises(TypeError, match="positive integer"):
        make_ranking_scorer("ndcg", k=2.0)


def test_get_ranking_scorer():
    assert repr(get_ranking_scorer("hit_rate@20")) == "make_ranking_scorer('hit_rate', k=20)"
    assert repr(get_ranking_scorer("precision@5")) == "make_ranking_scorer('precision', k=5)"
    for bad in ["ndcg", "ndcg@", "ndcg@-1", "ndcg@2.5", "@5"]:
        with pytest.raises(ValueError):
            get_ranking_scorer(bad)
    with pytest.raises(ValueError, match="k must be >= 1"):
        get_ranking_scorer("ndcg@0")
    with pytest.raises(TypeError, match="string like 'ndcg@20'"):
        get_ranking_scorer(5)


# Held-out items alternate between {0, 1} and {0}; the training matrix is
# irrelevant to FixedRanking. With order (0, 1, ...) at k=2 every user scores
# NDCG 1 ({0}: hit at rank 1, ideal 1 hit) and precision 1 or 1/2, so each
# KFold(2) fold of two consecutive users has precision (1 + 1/2) / 2 = 3/4.
# Order (2, 3, ...) never hits.
Y_SEARCH = sp.csr_matrix(np.array([[1, 1, 0, 0, 0, 0], [1, 0, 0, 0, 0, 0]] * 2, dtype=float))
X_SEARCH = sp.csr_matrix(np.eye(4, 6))
GOOD, BAD = (0, 1, 2, 3, 4, 5), (2, 3, 4, 5, 0, 1)


def test_scorer_in_grid_search():
    search = GridSearchCV(
        FixedRanking(),
        {"order": [BAD, GOOD]},
        scoring=make_ranking_scorer("ndcg", k=2),
        cv=KFold(2),
        error_score="raise",
    ).fit(X_SEARCH, Y_SEARCH)
    assert search.best_params_ == {"order": GOOD}
    np.testing.assert_allclose(search.cv_results_["mean_test_score"], [0.0, 1.0])


def test_scorer_dict_with_refit_in_grid_search():
    search = GridSearchCV(
        FixedRanking(),
        {"order": [BAD, GOOD]},
        scoring={
            "ndcg": make_ranking_scorer("ndcg", k=2),
            "precision": get_ranking_scorer("precision@2"),
        },
        refit="ndcg",
        cv=KFold(2),
        error_score="raise",
    ).fit(X_SEARCH, Y_SEARCH)
    assert search.best_params_ == {"order": GOOD}
    assert search.best_score_ == 1.0
    np.testing.assert_allclose(search.cv_results_["mean_test_ndcg"], [0.0, 1.0])
    np.testing.assert_allclose(search.cv_results_["mean_test_precision"], [0.0, 0.75])
    assert search.best_estimator_.order == GOOD


def test_scorer_reaches_the_last_step_of_a_pipeline():
    pipe = make_pipeline(FunctionTransformer(accept_sparse=True), FixedRanking(order=GOOD))
    # cross_val_score validates y as array-like, which excludes sparse
    # matrices (GridSearchCV does not): pass the held-out matrix dense.
    scores = cross_val_score(
        pipe, X_SEARCH, Y_SEARCH.toarray(), cv=KFold(2), scoring=get_ranking_scorer("precision@2")
    )
    np.testing.assert_allclose(scores, [0.75, 0.75])


# Metrics beyond accuracy, on a hand-computed case.
#   training popularity of items 0..4 over 4 users: 4, 2, 1, 1, 0;
#   lists: user 0 [0, 1], user 1 [2, 4], user 2 [0, -1].
X_POP = np.array([[1, 1, 1, 0, 0], [1, 1, 0, 0, 0], [1, 0, 0, 1, 0], [1, 0, 0, 0, 0]])
LISTS = np.array([[0, 1], [2, 4], [0, -1]])


def test_novelty_hand_computed():
    # -log2 p: item 0: log2(4/4) = 0, item 1: log2(4/2) = 1, item 2: log2(4/1) = 2,
    # item 4 (no training user, counted as one): 2. Lists: .5, 2, 0.
    assert novelty(LISTS, X_POP) == pytest.approx((0.5 + 2 + 0) / 3)
    assert novelty(LISTS, X_POP, k=1) == pytest.approx((0 + 2 + 0) / 3)


def test_average_recommendation_popularity_hand_computed():
    # Lists: (4 + 2) / 2 = 3, (1 + 0) / 2 = .5, 4 (the empty slot is left out).
    assert average_recommendation_popularity(LISTS, X_POP) == pytest.approx((3 + 0.5 + 4) / 3)


def test_long_tail_share_hand_computed():
    # Head = ceil(.2 * 5) = 1 item (item 0); with .4, ceil(2) = items 0 and 1.
    assert long_tail_share(LISTS, X_POP) == pytest.approx((0.5 + 1 + 0) / 3)
    assert long_tail_share(LISTS, X_POP, head_fraction=0.4) == pytest.approx((0 + 1 + 0) / 3)
    # Tied popularity at the head's edge: the lower index is in the head.
    assert long_tail_share([[3], [2]], X_POP, head_fraction=0.6) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="head_fraction must lie in"):
        long_tail_share(LISTS, X_POP, head_fraction=1.0)


def test_popularity_counts_real_interactions_only():
    from sklearn_agn._validation import mark_generated

    X = X_POP.astype(float)
    X[1, 2] = 0.5
    X = sp.csr_matrix(X)
    # Unmarked, the entry is a real interaction, whatever its value ...
    assert average_recommendation_popularity([[2]], X) == pytest.approx(2.0)
    # ... marked as generated feedback (as GANAugmenter.transform does), it is no user's.
    mark_generated(X, sp.csr_matrix(([True], ([1], [2])), shape=X.shape))
    assert average_recommendation_popularity([[2]], X) == pytest.approx(1.0)


def test_exposure_gini_hand_computed():
    # Exposure of items 0..4: 2, 1, 1, 0, 1 -> sorted 0, 1, 1, 1, 2 (sum 5):
    # G = (-4*0 - 2*1 + 0*1 + 2*1 + 4*2) / (5 * 5) = 8 / 25.
    assert exposure_gini(LISTS, 5) == pytest.approx(8 / 25)
    assert exposure_gini([[0, 1], [1, 0]], 2) == 0.0
    assert exposure_gini([[0], [0]], 4) == pytest.approx(1 - 1 / 4)
    with pytest.warns(UndefinedMetricWarning):
        assert np.isnan(exposure_gini([[-1]], 3))


@pytest.mark.parametrize("container", [np.asarray, sp.csr_matrix])
def test_intra_list_diversity_hand_computed(container):
    features = container(np.array([[1.0, 0], [0, 1], [1, 1], [0, 0]]))
    # List [0, 1, 2]: distances 1, 1 - 1/√2, 1 - 1/√2; list [0, 3]: item 3 has
    # no features, cosine 0, distance 1; list [2, -1] has a single item: left out.
    expected = ((1 + 2 * (1 - 1 / np.sqrt(2))) / 3 + 1) / 2
    ranked = [[0, 1, 2], [0, 3, -1], [2, -1, -1]]
    assert intra_list_diversity(ranked, features) == pytest.approx(expected)
    assert intra_list_diversity([[0, 2, 1]], features, k=2) == pytest.approx(1 - 1 / np.sqrt(2))
    with pytest.warns(UndefinedMetricWarning):
        assert np.isnan(intra_list_diversity([[0, -1]], features))
    with pytest.raises(ValueError, match=r"outside \[0, 4\)"):
        intra_list_diversity([[0, 4]], features)


def test_beyond_accuracy_metrics_matches_the_functions():
    features = np.eye(5)
    scores = beyond_accuracy_metrics(LISTS, X_POP, k=2, item_features=features)
    assert scores == {
        "coverage@2": catalogue_coverage(LISTS, 5, 2),
        "novelty@2": novelty(LISTS, X_POP, 2),
        "arp@2": average_recommendation_popularity(LISTS, X_POP, 2),
        "long_tail@2": long_tail_share(LISTS, X_POP, 2),
        "gini@2": exposure_gini(LISTS, 5, 2),
        "diversity@2": intra_list_diversity(LISTS, features, 2),
    }
    assert "diversity@1" not in beyond_accuracy_metrics(LISTS, X_POP, k=1)
