"""Per-user hold-out and the user-level cross-validator."""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.base import BaseEstimator
from sklearn.model_selection import GridSearchCV, KFold, check_cv, cross_val_score

from sklearn_agn._validation import mark_generated
from sklearn_agn.metrics import make_ranking_scorer, ndcg_at_k, recall_at_k
from sklearn_agn.model_selection import (
    UserKFold,
    holdout_split,
    leave_last_out_split,
    temporal_split,
)


def _row_counts(X):
    return np.diff(X.indptr)


def _assert_valid_split(X, X_train, X_test):
    """Disjoint, and summing to the canonical ``X``."""
    X = sp.csr_matrix(X)
    assert X_train.shape == X_test.shape == X.shape
    assert X_train.multiply(X_test).nnz == 0
    assert (sp.csr_matrix(X_train) + sp.csr_matrix(X_test) != X).nnz == 0
    assert X_train.nnz + X_test.nnz == sp.csr_matrix(X.toarray()).nnz


# --------------------------------------------------------------------------
# holdout_split

# Rows with 5, 1, 0 and 2 interactions (one a play count of 2).
X_SMALL = np.array(
    [
        [1, 1, 1, 1, 1, 0],
        [0, 2, 0, 0, 0, 0],
        [0, 0, 0, 0, 0, 0],
        [1, 0, 1, 0, 0, 0],
    ],
    dtype=float,
)


def test_holdout_split_hand_checked():
    X_train, X_test = holdout_split(X_SMALL, test_size=0.4, random_state=0)
    # Held out per user, round(0.4 * n) capped so that min_train=1 stays:
    #   n=5: round(2.0) = 2;  n=1: round(0.4) = 0;  n=0: 0;  n=2: round(0.8) = 1 <= 2 - 1.
    np.testing.assert_array_equal(_row_counts(X_test), [2, 0, 0, 1])
    np.testing.assert_array_equal(_row_counts(X_train), [3, 1, 0, 1])
    _assert_valid_split(X_SMALL, X_train, X_test)
    assert X_train[1, 1] == 2.0  # values travel with their interaction


def test_holdout_split_rounds_halves_up():
    # 0.5 * 5 = 2.5 -> 3 and 0.5 * 3 = 1.5 -> 2 (np.rint would give 2 and 2).
    X = np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])
    _, X_test = holdout_split(X, test_size=0.5, min_train=0, random_state=0)
    np.testing.assert_array_equal(_row_counts(X_test), [3, 2])


def test_holdout_split_min_train():
    X = np.array([[1, 0, 0, 0], [1, 1, 1, 0], [1, 1, 1, 1]])
    # test_size 0.9: round(0.9), round(2.7), round(3.6) = 1, 3, 4 held out,
    # capped at n - min_train.
    for min_train, expected in [(0, [1, 3, 4]), (1, [0, 2, 3]), (2, [0, 1, 2]), (5, [0, 0, 0])]:
        X_train, X_test = holdout_split(X, 0.9, min_train=min_train, random_state=0)
        np.testing.assert_array_equal(_row_counts(X_test), expected)
        _assert_valid_split(X, X_train, X_test)


def test_holdout_split_single_interaction_and_empty_users():
    X = sp.csr_matrix(np.array([[0, 1, 0], [0, 0, 0], [1, 0, 0]]))
    # With the default min_train=1 a single interaction always stays in train.
    X_train, X_test = holdout_split(X, test_size=0.9, random_state=0)
    assert X_test.nnz == 0
    np.testing.assert_array_equal(X_train.toarray(), X.toarray())
    # With min_train=0 and round(0.5 * 1) = 1 it moves to test.
    X_train, X_test = holdout_split(X, test_size=0.5, min_train=0, random_state=0)
    assert X_train.nnz == 0
    np.testing.assert_array_equal(X_test.toarray(), X.toarray())
    # An all-empty matrix splits into two empty matrices.
    X_train, X_test = holdout_split(sp.csr_matrix((3, 4)), random_state=0)
    assert X_train.nnz == X_test.nnz == 0 and X_train.shape == (3, 4)


@pytest.mark.parametrize(
    "container, expected",
    [
        (np.asarray, sp.csr_matrix),
        (sp.csr_matrix, sp.csr_matrix),
        (sp.csr_array, sp.csr_array),
        (sp.coo_matrix, sp.csr_matrix),
    ],
)
def test_holdout_split_containers(container, expected):
    X = container(X_SMALL)
    X_train, X_test = holdout_split(X, test_size=0.4, random_state=0)
    assert type(X_train) is expected and type(X_test) is expected
    reference = holdout_split(X_SMALL, test_size=0.4, random_state=0)
    np.testing.assert_array_equal(X_train.toarray(), reference[0].toarray())
    np.testing.assert_array_equal(X_test.toarray(), reference[1].toarray())


def test_holdout_split_does_not_modify_input():
    # Non-canonical input (explicit zero, unsorted indices, a duplicate) in
    # float64, the dtype the split works in, so no conversion copy shields it.
    X = sp.csr_matrix(
        (np.array([1.0, 0.0, 3.0, 1.0, 1.0]), np.array([2, 0, 1, 1, 1]), np.array([0, 3, 5])),
        shape=(2, 3),
    )
    before = (X.data.copy(), X.indices.copy(), X.indptr.copy())
    X_train, X_test = holdout_split(X, test_size=0.5, min_train=0, random_state=0)
    for got, expected in zip((X.data, X.indices, X.indptr), before):
        np.testing.assert_array_equal(got, expected)
    # Canonical: the explicit zero is gone and the duplicate (1, 1) summed to 2.
    total = (X_train + X_test).toarray()
    np.testing.assert_array_equal(total, [[0, 3, 1], [0, 2, 0]])
    dense = X_SMALL.copy()
    holdout_split(dense, random_state=0)
    np.testing.assert_array_equal(dense, X_SMALL)


def test_holdout_split_is_reproducible():
    X = sp.random(20, 30, density=0.3, format="csr", random_state=0)
    first = holdout_split(X, random_state=42)
    second = holdout_split(X, random_state=42)
    other = holdout_split(X, random_state=43)
    assert (first[1] != second[1]).nnz == 0
    assert (first[1] != other[1]).nnz > 0
    # A RandomState instance is consumed: two calls draw two splits.
    rng = np.random.RandomState(0)
    assert (holdout_split(X, random_state=rng)[1] != holdout_split(X, random_state=rng)[1]).nnz


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"test_size": 0.0}, ValueError, r"test_size must lie in \(0, 1\)"),
        ({"test_size": 1.0}, ValueError, r"test_size must lie in \(0, 1\)"),
        ({"test_size": -0.1}, ValueError, r"test_size must lie in \(0, 1\)"),
        ({"test_size": "0.2"}, TypeError, "test_size must be a float"),
        ({"test_size": True}, TypeError, "test_size must be a float"),
        ({"min_train": -1}, ValueError, "min_train must be >= 0"),
        ({"min_train": 1.5}, TypeError, "min_train must be a non-negative integer"),
    ],
)
def test_holdout_split_validation(kwargs, error, match):
    with pytest.raises(error, match=match):
        holdout_split(X_SMALL, **kwargs)


@pytest.mark.parametrize(
    "X, match", [(-X_SMALL, "Negative values"), (np.full((2, 2), np.inf), "infinity")]
)
def test_holdout_split_rejects_bad_values(X, match):
    with pytest.raises(ValueError, match=match):
        holdout_split(X)


@settings(max_examples=80, deadline=None)
@given(
    X=hnp.arrays(
        np.int64,
        st.tuples(st.integers(1, 8), st.integers(1, 10)),
        elements=st.integers(0, 3),
    ),
    test_size=st.floats(0.01, 0.99),
    min_train=st.integers(0, 3),
    seed=st.integers(0, 2**31 - 1),
    sparse=st.booleans(),
)
def test_holdout_split_properties(X, test_size, min_train, seed, sparse):
    X_in = sp.csr_matrix(X) if sparse else X
    snapshot = X.copy()
    X_train, X_test = holdout_split(X_in, test_size, min_train=min_train, random_state=seed)
    _assert_valid_split(X, X_train, X_test)
    counts = (X > 0).sum(axis=1)
    expected = np.minimum(np.floor(counts * test_size + 0.5), np.maximum(counts - min_train, 0))
    np.testing.assert_array_equal(_row_counts(X_test), expected)
    np.testing.assert_array_equal(X, snapshot)
    again = holdout_split(X_in, test_size, min_train=min_train, random_state=seed)
    np.testing.assert_array_equal(again[1].toarray(), X_test.toarray())


# --------------------------------------------------------------------------
# UserKFold


def _activity_matrix(activity, n_items=None, seed=0):
    """A binary matrix whose row u has ``activity[u]`` interactions."""
    rng = np.random.RandomState(seed)
    n_items = n_items or max(int(np.max(activity)), 1)
    X = np.zeros((len(activity), n_items))
    for user, n in enumerate(activity):
        X[user, rng.choice(n_items, n, replace=False)] = 1
    return sp.csr_matrix(X)


def _assert_stratified(activity, folds):
    """For every threshold, the folds' counts of users at or below it differ by <= 1."""
    for threshold in np.unique(activity):
        counts = [np.sum(activity[test] <= threshold) for test in folds]
        assert max(counts) - min(counts) <= 1, (threshold, counts)


def test_user_kfold_defaults_and_repr():
    cv = UserKFold()
    assert cv.get_n_splits() == 5
    assert repr(cv) == "UserKFold(n_splits=5, random_state=None, shuffle=False, stratify=True)"
    assert check_cv(cv) is cv
    # Like KFold: without a seed asked for, the folds are the same at every call.
    X = _activity_matrix(np.arange(30) % 5)
    assert [t.tolist() for _, t in cv.split(X)] == [t.tolist() for _, t in UserKFold().split(X)]


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"n_splits": 1}, ValueError, "at least 2 folds"),
        ({"n_splits": 2.0}, TypeError, "n_splits must be an integer"),
        ({"n_splits": True}, TypeError, "n_splits must be an integer"),
        ({"shuffle": "yes"}, TypeError, "shuffle must be True or False"),
        ({"shuffle": False, "random_state": 0}, ValueError, "no effect since shuffle is False"),
        ({"random_state": 0}, ValueError, "no effect since shuffle is False"),
        ({"stratify": None}, TypeError, "stratify must be True or False"),
    ],
)
def test_user_kfold_validation(kwargs, error, match):
    with pytest.raises(error, match=match):
        UserKFold(**kwargs)


@pytest.mark.parametrize("stratify", [True, False])
@pytest.mark.parametrize("shuffle", [True, False])
def test_user_kfold_partitions_rows(stratify, shuffle):
    X = _activity_matrix(np.arange(23) % 7)
    cv = UserKFold(4, shuffle=shuffle, stratify=stratify, random_state=0 if shuffle else None)
    splits = list(cv.split(X))
    assert len(splits) == cv.get_n_splits(X) == 4
    tests = [test for _, test in splits]
    np.testing.assert_array_equal(np.sort(np.concatenate(tests)), np.arange(23))
    assert sorted(len(test) for test in tests) == [5, 6, 6, 6]
    for train, test in splits:
        np.testing.assert_array_equal(np.union1d(train, test), np.arange(23))
        assert np.intersect1d(train, test).size == 0
        assert np.all(np.diff(train) > 0) and np.all(np.diff(test) > 0)


def test_user_kfold_reproducibility():
    X = _activity_matrix(np.arange(30) % 5)

    def folds(cv):
        return [test.tolist() for _, test in cv.split(X)]

    seeded = folds(UserKFold(3, shuffle=True, random_state=0))
    assert seeded == folds(UserKFold(3, shuffle=True, random_state=0))
    assert seeded != folds(UserKFold(3, shuffle=True, random_state=1))
    assert folds(UserKFold(3, shuffle=False)) == folds(UserKFold(3, shuffle=False))
    cv = UserKFold(3, shuffle=True, random_state=np.random.RandomState(0))
    assert folds(cv) != folds(cv)  # a RandomState instance is consumed, as in KFold


def test_user_kfold_stratifies_by_activity():
    # Rows sorted from the lightest user to the heaviest: contiguous folds
    # (KFold without shuffling) put every light user in the first fold.
    activity = np.sort(np.random.RandomState(0).geometric(0.2, size=50)).clip(max=40)
    X = _activity_matrix(activity)
    for cv in [UserKFold(5, shuffle=True, random_state=0), UserKFold(5, shuffle=False)]:
        folds = [test for _, test in cv.split(X)]
        _assert_stratified(activity, folds)
        # Every fold has light and heavy users: one of each round of 5 by activity.
        for test in folds:
            assert activity[test].min() == activity.min()
            assert activity[test].max() >= np.quantile(activity, 0.9)
    contiguous = [test for _, test in UserKFold(5, shuffle=False, stratify=False).split(X)]
    kfold = [test for _, test in KFold(5).split(X)]
    assert all(np.array_equal(a, b) for a, b in zip(contiguous, kfold))
    with pytest.raises(AssertionError):
        _assert_stratified(activity, contiguous)


def test_user_kfold_never_tests_users_without_held_out_items():
    X = _activity_matrix(np.arange(12) % 4 + 1, n_items=8)
    y = np.zeros((12, 8))
    evaluable = np.array([0, 2, 3, 5, 7, 8, 11])
    y[evaluable, 0] = 1
    for y_in in [y, sp.csr_matrix(y), sp.csr_array(y)]:
        splits = list(UserKFold(3, shuffle=True, random_state=0).split(X, y_in))
        tests = np.concatenate([test for _, test in splits])
        np.testing.assert_array_equal(np.sort(tests), evaluable)
        for train, test in splits:
            assert np.isin(np.setdiff1d(np.arange(12), evaluable), train).all()
            np.testing.assert_array_equal(np.union1d(train, test), np.arange(12))
            assert len(test) in (2, 3)


def test_user_kfold_split_validation():
    X = _activity_matrix([1, 2, 3])
    with pytest.raises(ValueError, match="n_splits=4 greater than the number of users: 3"):
        list(UserKFold(4).split(X))
    y = np.zeros((3, 3))
    y[0, 0] = 1
    with pytest.raises(ValueError, match="users with a held-out item in y: 1"):
        list(UserKFold(2).split(X, y))
    with pytest.raises(ValueError, match=r"of X's shape \(3, 3\); got shape \(3, 2\)"):
        list(UserKFold(2).split(X, np.ones((3, 2))))
    with pytest.raises(ValueError, match="Negative values"):
        list(UserKFold(2).split(-X.toarray()))
    with pytest.warns(UserWarning, match="groups parameter is ignored by UserKFold"):
        list(UserKFold(3).split(X, groups=[0, 1, 2]))


@settings(max_examples=60, deadline=None)
@given(
    activity=hnp.arrays(np.int64, st.integers(2, 30), elements=st.integers(0, 6)),
    n_splits=st.integers(2, 5),
    seed=st.integers(0, 2**31 - 1),
    shuffle=st.booleans(),
)
def test_user_kfold_properties(activity, n_splits, seed, shuffle):
    n_splits = min(n_splits, activity.size)
    X = _activity_matrix(activity, n_items=6)
    cv = UserKFold(n_splits, shuffle=shuffle, random_state=seed if shuffle else None)
    folds = [test for _, test in cv.split(X)]
    np.testing.assert_array_equal(np.sort(np.concatenate(folds)), np.arange(activity.size))
    sizes = [len(test) for test in folds]
    assert max(sizes) - min(sizes) <= 1
    _assert_stratified(activity, folds)


# --------------------------------------------------------------------------
# The cross-validation protocol: X = training rows, y = held-out rows.


class Popularity(BaseEstimator):
    """Recommends the items most frequent in the training rows, unseen ones first."""

    def __init__(self, k=3, smoothing=0.0):
        self.k = k
        self.smoothing = smoothing

    def fit(self, X, y=None):
        X = sp.csr_matrix(X)
        self.popularity_ = np.asarray(X.sum(axis=0)).ravel() + self.smoothing
        self.n_features_in_ = X.shape[1]
        self.fitted_rows_ = X.shape[0]
        return self

    def predict(self, X, k=None):
        k = self.k if k is None else k
        scores = np.tile(self.popularity_, (X.shape[0], 1))
        scores[sp.csr_matrix(X).toarray() > 0] = -np.inf  # never recommend seen items
        return np.argsort(-scores, axis=1, kind="stable")[:, :k]


@pytest.fixture(scope="module")
def interactions():
    X = _activity_matrix(np.random.RandomState(1).randint(2, 9, size=40), n_items=12, seed=1)
    return holdout_split(X, test_size=0.3, random_state=0)


def test_user_kfold_in_cross_val_score(interactions):
    X_train, X_test = interactions
    cv = UserKFold(4, shuffle=True, random_state=0)
    estimator = Popularity()
    # cross_val_score validates y as array-like, which excludes sparse
    # matrices (GridSearchCV does not): pass the held-out matrix dense.
    scores = cross_val_score(
        estimator, X_train, X_test.toarray(), cv=cv, scoring=make_ranking_scorer("ndcg", k=3)
    )
    # The same protocol written out: fit on the training users' rows, fold
    # the test users in and compare with their held-out rows.
    expected = []
    for train, test in cv.split(X_train, X_test):
        fitted = Popularity().fit(X_train[train])
        assert fitted.fitted_rows_ == len(train)
        expected.append(ndcg_at_k(X_test[test], fitted.predict(X_train[test], k=3)))
    np.testing.assert_allclose(scores, expected)


@pytest.mark.parametrize("container", [sp.csr_matrix, sp.csr_array])
def test_user_kfold_in_grid_search(interactions, container):
    X_train, X_test = (container(X) for X in interactions)
    search = GridSearchCV(
        Popularity(),
        {"smoothing": [0.0, 1.0]},
        scoring={
            "ndcg": make_ranking_scorer("ndcg", k=3),
            "recall": make_ranking_scorer("recall", k=3),
        },
        refit="ndcg",
        cv=UserKFold(3, shuffle=True, random_state=0),
        error_score="raise",
    ).fit(X_train, X_test)
    # Smoothing adds a constant to every popularity: same ranking, same scores.
    np.testing.assert_allclose(*search.cv_results_["mean_test_ndcg"].reshape(2, 1))
    assert search.best_estimator_.fitted_rows_ == X_train.shape[0]
    # GridSearchCV.predict takes no k: ask the refitted estimator.
    ranked = search.best_estimator_.predict(X_train, k=3)
    assert search.score(X_train, X_test) == pytest.approx(ndcg_at_k(X_test, ranked))
    assert 0 < recall_at_k(X_test, ranked) <= 1


# --------------------------------------------------------------------------
# temporal splits

# Three users; times of their interactions (items 0..3); user 2 has one.
TIMES = np.array([[40, 10, 30, 20], [5, 0, 9, 5], [0, 0, 0, 7]])
X_TIMED = (TIMES > 0).astype(np.float64) * [1, 2, 3, 4]


def test_leave_last_out_hand_computed():
    X_train, X_test = leave_last_out_split(X_TIMED, sp.csr_matrix(TIMES))
    _assert_valid_split(X_TIMED, X_train, X_test)
    # User 0's latest is item 0 (t=40); user 1's are items 0 and 3 at t=5, 9 is item 2;
    # user 2 keeps their only interaction (min_train=1).
    np.testing.assert_array_equal(X_test.toarray(), [[1, 0, 0, 0], [0, 0, 3, 0], [0, 0, 0, 0]])
    X_train, X_test = leave_last_out_split(sp.csr_array(X_TIMED), sp.csr_matrix(TIMES), n_test=2)
    assert isinstance(X_test, sp.csr_array)
    # User 1: items 0 and 3 tie at t=5: the higher item index counts as later.
    np.testing.assert_array_equal(X_test.toarray(), [[1, 0, 3, 0], [0, 0, 3, 4], [0, 0, 0, 0]])
    _, X_test = leave_last_out_split(X_TIMED, sp.csr_matrix(TIMES), min_train=0)
    assert X_test[2, 3] == 4


def test_temporal_split_hand_computed():
    X_train, X_test = temporal_split(X_TIMED, sp.csr_matrix(TIMES), cutoff=9)
    _assert_valid_split(X_TIMED, X_train, X_test)
    np.testing.assert_array_equal(X_test.toarray() > 0, TIMES >= 9)
    # 8 interactions, test_size .25: the 2 latest (t = 40, 30) are test.
    _, X_test = temporal_split(X_TIMED, sp.csr_matrix(TIMES), test_size=0.25)
    np.testing.assert_array_equal(X_test.toarray() > 0, TIMES >= 30)
    # .3 asks for ceil(2.4) = 3: cut-off at t=20.
    _, X_test = temporal_split(X_TIMED, sp.csr_matrix(TIMES), test_size=0.3)
    assert X_test.nnz == 3


def test_temporal_split_from_encoded_records():
    pd = pytest.importorskip("pandas")
    from sklearn_agn.preprocessing import InteractionEncoder

    ratings = pd.DataFrame({"user_id": [7, 7, 7, 9, 9], "item_id": ["a", "b", "c", "a", "c"],
                            "timestamp": [3, 1, 2, 8, 9]})
    encoder = InteractionEncoder()
    X = encoder.fit_transform(ratings)
    times = sp.csr_matrix((ratings.timestamp, (encoder.user_index(ratings.user_id),
                                                encoder.item_index(ratings.item_id))),
                          shape=X.shape)
    _, X_test = leave_last_out_split(X, times)
    np.testing.assert_array_equal(encoder.inverse_transform_items(X_test.nonzero()[1]), ["a", "c"])


def test_temporal_split_validation():
    times = sp.csr_matrix(TIMES)
    with pytest.raises(ValueError, match="same sparsity pattern"):
        leave_last_out_split(X_TIMED[:, ::-1], times)
    with pytest.raises(ValueError, match="sparse matrix of X's shape"):
        leave_last_out_split(X_TIMED, TIMES)
    with pytest.raises(ValueError, match="n_test must be >= 1"):
        leave_last_out_split(X_TIMED, times, n_test=0)
    with pytest.raises(ValueError, match="exactly one of cutoff"):
        temporal_split(X_TIMED, times)
    with pytest.raises(ValueError, match="exactly one of cutoff"):
        temporal_split(X_TIMED, times, cutoff=3, test_size=0.5)
    with pytest.raises(ValueError, match=r"test_size must lie in \(0, 1\)"):
        temporal_split(X_TIMED, times, test_size=1.5)
    X_copy = X_TIMED.copy()
    temporal_split(X_copy, times, cutoff=9)
    np.testing.assert_array_equal(X_copy, X_TIMED)


def _times(X):
    return sp.csr_matrix((np.arange(1.0, X.nnz + 1), X.indices, X.indptr), shape=X.shape)


@pytest.mark.parametrize("split", [
    lambda X: holdout_split(X, random_state=0),
    lambda X: leave_last_out_split(X, _times(X)),
    lambda X: temporal_split(X, _times(X), test_size=0.2),
])
def test_splitters_refuse_generated_feedback(split):
    # Splitting an augmented matrix would turn generated entries real (the
    # mark is lost) or hold them out as targets: split first, then augment.
    X = sp.csr_matrix(np.array([[1.0, 1.0, 0.5, 0.0], [1.0, 0.0, 1.0, 1.0]]))
    mark_generated(X, sp.csr_matrix(np.array([[0, 0, 1, 0], [0, 0, 0, 0]], dtype=bool)))
    with pytest.raises(ValueError, match="generated feedback"):
        split(X)
    split(sp.csr_matrix(X.toarray()))  # the same values, unmarked: real interactions
