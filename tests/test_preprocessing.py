import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone

from sklearn_agn.preprocessing import InteractionEncoder

pd = pytest.importorskip("pandas")

LOG = {
    "user_id": ["bob", "ann", "bob", "cid", "ann", "bob"],
    "item_id": [30, 10, 20, 10, 10, 30],
    "rating": [1.0, 2.0, 5.0, 0.0, 3.0, 4.0],
}


def test_fit_learns_sorted_ids():
    encoder = InteractionEncoder().fit(LOG)
    np.testing.assert_array_equal(encoder.user_ids_, ["ann", "bob", "cid"])
    np.testing.assert_array_equal(encoder.item_ids_, [10, 20, 30])


@pytest.mark.parametrize("container", ["dict", "dataframe", "structured"])
def test_transform_hand_checked(container):
    if container == "dataframe":
        X = pd.DataFrame(LOG)
    elif container == "structured":
        X = np.array(
            list(zip(*LOG.values())), dtype=[("user_id", "U3"), ("item_id", int), ("rating", float)]
        )
    else:
        X = LOG
    X_out = InteractionEncoder().fit_transform(X)
    assert isinstance(X_out, sp.csr_matrix)
    assert X_out.dtype == np.float32
    assert X_out.has_canonical_format
    np.testing.assert_array_equal(X_out.toarray(), [[1, 0, 0], [0, 1, 1], [1, 0, 0]])

    counts = InteractionEncoder(binarize=False).fit_transform(X)
    np.testing.assert_array_equal(counts.toarray(), [[2, 0, 0], [0, 1, 2], [1, 0, 0]])

    sums = InteractionEncoder(value_col="rating", binarize=False).fit_transform(X)
    np.testing.assert_array_equal(sums.toarray(), [[5, 0, 0], [0, 5, 5], [0, 0, 0]])
    assert sums.nnz == 3  # cid's rating of 0 is no interaction


def test_custom_column_names():
    X = pd.DataFrame({"u": [1, 2], "i": ["x", "y"], "plays": [3, 0]})
    encoder = InteractionEncoder(user_col="u", item_col="i", value_col="plays", binarize=False)
    np.testing.assert_array_equal(encoder.fit_transform(X).toarray(), [[3, 0], [0, 0]])


def test_transform_rows_follow_users():
    encoder = InteractionEncoder().fit(LOG)
    new = {"user_id": ["dan", "ann", "dan"], "item_id": [20, 30, 30]}
    X_out = encoder.transform(new, users=["dan", "eve", "ann"])
    # dan is new (folded in by recommenders), eve has no records: an empty row.
    np.testing.assert_array_equal(X_out.toarray(), [[0, 1, 1], [0, 0, 0], [0, 0, 1]])
    with pytest.raises(ValueError, match="lists the same user twice"):
        encoder.transform(new, users=["dan", "dan"])


def test_transform_rows_are_fitted_users_by_default():
    encoder = InteractionEncoder().fit(LOG)
    X_out = encoder.transform({"user_id": ["cid"], "item_id": [20]})
    np.testing.assert_array_equal(X_out.toarray(), [[0, 0, 0], [0, 0, 0], [0, 1, 0]])


def test_handle_unknown():
    test_log = {"user_id": ["ann", "zoe", "bob"], "item_id": [99, 10, 20]}
    encoder = InteractionEncoder().fit(LOG)
    with pytest.raises(
        ValueError,
        match=r"1 user\(s\) without a row \('zoe'\) and 1 item\(s\) unseen in fit \(99\)",
    ):
        encoder.transform(test_log)
    with pytest.raises(ValueError, match=r"1 item id\(s\) unseen in fit: 99"):
        encoder.item_index([10, 99])

    encoder.set_params(handle_unknown="ignore")
    X_out = encoder.transform(test_log)
    np.testing.assert_array_equal(X_out.toarray(), [[0, 0, 0], [0, 1, 0], [0, 0, 0]])
    np.testing.assert_array_equal(encoder.item_index([10, 99]), [0, -1])
    np.testing.assert_array_equal(encoder.user_index(["zoe", "cid"]), [-1, 2])


def test_index_lookups_keep_shape():
    encoder = InteractionEncoder().fit(LOG)
    np.testing.assert_array_equal(encoder.user_index([["cid", "ann"]]), [[2, 0]])
    assert encoder.item_index(30) == 2
    assert encoder.item_index(np.array([], dtype=int)).shape == (0,)


def test_inverse_transform_items():
    encoder = InteractionEncoder().fit(LOG)
    ranked = np.array([[2, 0, -1], [1, -1, -1]])
    out = encoder.inverse_transform_items(ranked)
    assert out.dtype == object and out.shape == (2, 3)
    assert out.tolist() == [[30, 10, None], [20, None, None]]

    out = encoder.inverse_transform_items(ranked, fill_value=-1)
    assert out.dtype == encoder.item_ids_.dtype
    np.testing.assert_array_equal(out, [[30, 10, -1], [20, -1, -1]])

    out = encoder.inverse_transform_items(ranked, fill_value="none")
    assert out.dtype == object  # a string never turns integer ids into strings
    assert out.tolist() == [[30, 10, "none"], [20, "none", "none"]]

    words = InteractionEncoder(user_col="item_id", item_col="user_id").fit(LOG)
    out = words.inverse_transform_items([[1, -1]], fill_value="")
    assert out.dtype.kind == "U"
    np.testing.assert_array_equal(out, [["bob", ""]])
    out = words.inverse_transform_items([[1, -1]], fill_value=-1)
    assert out.tolist() == [["bob", -1]]  # and -1 never becomes the string "-1"


def test_inverse_transform_items_errors():
    encoder = InteractionEncoder().fit(LOG)
    with pytest.raises(ValueError, match=r"index 3, outside \[-1, 3\)"):
        encoder.inverse_transform_items([[0, 3]])
    with pytest.raises(ValueError, match="index -2"):
        encoder.inverse_transform_items([[-2]])
    with pytest.raises(TypeError, match="integer item indices, got dtype float64"):
        encoder.inverse_transform_items([[0.0, 1.0]])


def test_round_trip_ids_matrix_ranking_ids():
    rng = np.random.RandomState(0)
    users = rng.choice([f"user{u}" for u in range(40)], size=500)
    items = rng.choice(np.arange(1000, 1100), size=500)
    log = pd.DataFrame({"user_id": users, "item_id": items})
    encoder = InteractionEncoder()
    X = encoder.fit_transform(log)

    # Rank every user's own items by column index, padded with -1, like predict.
    k = int(np.diff(X.indptr).max())
    ranked = np.full((X.shape[0], k), -1)
    for row in range(X.shape[0]):
        cols = X.indices[X.indptr[row]:X.indptr[row + 1]]
        ranked[row, : len(cols)] = cols
    ids = encoder.inverse_transform_items(ranked)
    for row, user in enumerate(encoder.user_ids_):
        recovered = {i for i in ids[row] if i is not None}
        assert recovered == set(items[users == user])
    np.testing.assert_array_equal(encoder.user_index(encoder.user_ids_), np.arange(X.shape[0]))


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["a", "b", "c", "d"]), st.integers(-3, 5), st.integers(0, 3)),
        min_size=1,
        max_size=40,
    )
)
def test_transform_counts_distinct_pairs(records):
    users, items, values = map(list, zip(*records))
    log = {"user_id": users, "item_id": items, "value": values}
    encoder = InteractionEncoder(value_col="value", binarize=False)
    X = encoder.fit_transform(log)
    totals = {}
    for user, item, value in records:
        totals[user, item] = totals.get((user, item), 0) + value
    dense = X.toarray()
    for (user, item), total in totals.items():
        assert dense[encoder.user_index(user), encoder.item_index(item)] == total
    assert X.nnz == sum(total > 0 for total in totals.values())
    assert encoder.set_params(binarize=True).transform(log).nnz == len(totals)


@pytest.mark.parametrize(
    "X, kwargs, error, match",
    [
        ({"user": [1], "item_id": [2]}, {}, ValueError, r"no column user_col='user_id'"),
        ({"user_id": [1], "item_id": [2]}, {"value_col": "r"}, ValueError, "value_col='r'"),
        (np.zeros((3, 2)), {}, TypeError, "must be a DataFrame or a mapping"),
        (sp.csr_matrix((3, 2)), {}, TypeError, "needs no encoding"),
        ({"user_id": [], "item_id": []}, {}, ValueError, "no interaction record"),
        ({"user_id": [1, 2], "item_id": [2]}, {}, ValueError, "different lengths"),
        ({"user_id": [1.0, np.nan], "item_id": [2, 3]}, {}, ValueError,
         "column 'user_id' holds 1 missing ids .* at position 1"),
        ({"user_id": [1, 2], "item_id": ["x", None]}, {}, ValueError,
         "column 'item_id' holds 1 missing ids"),
        (pd.DataFrame({"user_id": pd.array([1, None], dtype="Int64"), "item_id": [1, 2]}), {},
         ValueError, "column 'user_id' holds 1 missing ids"),
        ({"user_id": [1, 2], "item_id": [[1], [2]]}, {}, ValueError,
         "must be one-dimensional"),
        ({"user_id": [1, 2], "item_id": [1, 2], "r": [1, -1]}, {"value_col": "r"}, ValueError,
         "finite non-negative values, got -1.0"),
        ({"user_id": [1, 2], "item_id": [1, 2], "r": [1, np.nan]}, {"value_col": "r"},
         ValueError, "finite non-negative values, got nan"),
        ({"user_id": [1, 2], "item_id": [1, 2], "r": ["a", "b"]}, {"value_col": "r"},
         ValueError, "column 'r' must hold numbers"),
        ({"user_id": [1, 2], "item_id": [1, 2], "r": [1]}, {"value_col": "r"},
         ValueError, "1 values for 2 records"),
        ({"user_id": np.array([1, "a"], dtype=object), "item_id": [1, 2]}, {}, TypeError,
         "user_id ids cannot be sorted"),
        ({"user_id": [1], "item_id": [2]}, {"handle_unknown": "drop"}, ValueError,
         "'handle_unknown' parameter"),
    ],
)
def test_fit_errors(X, kwargs, error, match):
    with pytest.raises(error, match=match):
        InteractionEncoder(**kwargs).fit(X)


def test_transform_validates_like_fit():
    encoder = InteractionEncoder(value_col="r").fit({"user_id": [1], "item_id": [2], "r": [1]})
    with pytest.raises(ValueError, match="finite non-negative"):
        encoder.transform({"user_id": [1], "item_id": [2], "r": [-3]})
    with pytest.raises(ValueError, match=r"1 user\(s\) without a row \(1\)"):
        encoder.transform({"user_id": [1], "item_id": [2], "r": [1]}, users=[3, 4])
    with pytest.raises(TypeError, match="user ids of dtype int64 cannot be compared"):
        encoder.transform({"user_id": [1], "item_id": [2], "r": [1]}, users=["1", "b"])
    with pytest.raises(TypeError, match="user ids of dtype int64 cannot be compared"):
        encoder.transform(
            {"user_id": [1], "item_id": [2], "r": [1]}, users=np.array(["a", "b"], dtype=object)
        )


def test_not_fitted():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        InteractionEncoder().transform(LOG)


def test_clone_and_pickle():
    encoder = InteractionEncoder(value_col="rating", binarize=False, handle_unknown="ignore")
    assert clone(encoder).get_params() == encoder.get_params()
    encoder.fit(LOG)
    restored = pickle.loads(pickle.dumps(encoder))
    assert (restored.transform(LOG) != encoder.transform(LOG)).nnz == 0


def test_no_pandas_output():
    # Sparse output cannot become a DataFrame: set_output is not offered at all.
    assert not hasattr(InteractionEncoder(), "set_output")


def test_movielens_to_matrix(tmp_path):
    from sklearn_agn.datasets import load_movielens

    path = tmp_path / "ratings.dat"
    path.write_text("1::1193::5::978300760\n1::661::3::978302109\n6040::661::4::956703932\n")
    ratings = load_movielens(path)
    encoder = InteractionEncoder()
    X = encoder.fit_transform(ratings)
    assert X.shape == (2, 2)
    np.testing.assert_array_equal(encoder.user_ids_, [1, 6040])
    np.testing.assert_array_equal(encoder.item_ids_, [661, 1193])
    np.testing.assert_array_equal(X.toarray(), [[1, 1], [1, 0]])


# Serving by id (issue 13): the encoder builds the rows, the recommender ranks.

SERVING_LOG = {
    "user_id": ["ann", "ann", "bob", "bob", "bob", "cid", "cid", "dan"],
    "item_id": ["tea", "jam", "tea", "bun", "egg", "jam", "egg", "bun"],
}


@pytest.fixture
def served():
    from sklearn_agn.baselines import EASE

    encoder = InteractionEncoder().fit(SERVING_LOG)
    model = EASE(l2_reg=1.0, k=2).fit(encoder.transform(SERVING_LOG))
    return encoder, model


def test_recommend_by_id_matches_row_based_api(served):
    encoder, model = served
    users = ["dan", "ann", "bob"]
    rows = encoder.transform(SERVING_LOG)[encoder.user_index(users)]
    expected = encoder.inverse_transform_items(model.predict(rows, k=2))
    by_id = encoder.recommend(model, pd.DataFrame(SERVING_LOG), users, k=2)
    np.testing.assert_array_equal(by_id, expected)
    # The other users' records do not matter, only those of the users asked for.
    dan_only = {"user_id": ["dan"], "item_id": ["bun"]}
    np.testing.assert_array_equal(encoder.recommend(model, dan_only, ["dan"], k=2), expected[:1])


def test_recommend_by_id_filters_items(served):
    encoder, model = served
    users = ["ann", "bob", "cid", "dan"]
    for excluded in (["egg"], ["bun", "egg"]):
        recommended = encoder.recommend(model, SERVING_LOG, users, k=2, exclude_items=excluded,
                                        fill_value="")
        assert not np.isin(recommended, excluded).any()
    restricted = encoder.recommend(model, SERVING_LOG, users, k=2, candidate_items=["egg", "jam"],
                                   fill_value="")
    assert np.isin(restricted, ["egg", "jam", ""]).all()
    # ann saw jam (not recommended back), so egg is her only candidate.
    np.testing.assert_array_equal(restricted[0], ["egg", ""])


def test_recommend_by_id_new_user_is_a_cold_row(served):
    encoder, model = served
    events = {"user_id": ["eve", "eve"], "item_id": ["tea", "jam"]}
    row = encoder.transform(events, users=["eve"])
    expected = encoder.inverse_transform_items(model.predict(row, k=2))
    np.testing.assert_array_equal(encoder.recommend(model, events, ["eve"], k=2), expected)
    # Without any record the row is empty: the model scores it from nothing.
    empty = encoder.recommend(model, events, ["zoe"], k=2)
    np.testing.assert_array_equal(
        empty, encoder.inverse_transform_items(model.predict(sp.csr_matrix((1, 4)), k=2))
    )


def test_recommend_by_id_rejects_unknown_items_and_mismatched_models(served):
    encoder, model = served
    unseen = r"exclude_items holds 1 item id\(s\) unseen in fit \('pie'\)"
    with pytest.raises(ValueError, match=unseen):
        encoder.recommend(model, SERVING_LOG, ["ann"], exclude_items=["pie", "tea"])
    with pytest.raises(ValueError, match="candidate_items holds 1 item id"):
        encoder.recommend(model, SERVING_LOG, ["ann"], candidate_items=["pie"])
    other = InteractionEncoder().fit({"user_id": ["x"], "item_id": ["tea"]})
    with pytest.raises(ValueError, match="fitted on 4 items, but this encoder knows 1"):
        other.recommend(model, SERVING_LOG, ["ann"])
    with pytest.raises(TypeError, match="has no recommend method"):
        encoder.recommend(object(), SERVING_LOG, ["ann"])
