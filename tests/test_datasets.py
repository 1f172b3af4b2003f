import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from sklearn_agn.datasets import (
    load_item_attributes,
    load_movielens,
    load_movielens_100k,
    load_triplets,
    make_interactions,
    make_item_attributes,
)

ML100K = Path(__file__).parents[2] / "shared" / "data" / "ml100k-cfgan"


def _write(tmp_path, text, name="data.txt"):
    path = tmp_path / name
    path.write_text(text)
    return path


def _top_share(counts, fraction=0.1):
    """Share of the total held by the top ``fraction`` of ``counts``."""
    counts = np.sort(counts)[::-1]
    return counts[: max(1, int(len(counts) * fraction))].sum() / counts.sum()


# --- load_triplets ------------------------------------------------------------------------


def test_load_triplets_hand_checked(tmp_path):
    path = _write(tmp_path, "# user item rating timestamp\n0 1 5 100\n2 0 3 101\n0 1 4 102\n")
    X = load_triplets(path)
    assert isinstance(X, sp.csr_matrix)
    assert X.dtype == np.float32
    assert X.has_canonical_format
    np.testing.assert_array_equal(X.toarray(), [[0, 1], [0, 0], [1, 0]])

    X = load_triplets(path, binarize=False)
    np.testing.assert_array_equal(X.toarray(), [[0, 9], [0, 0], [3, 0]])  # duplicates summed


def test_load_triplets_shape_sep_and_two_columns(tmp_path):
    path = _write(tmp_path, "0,1\n1,0\n", name="pairs.csv")
    X = load_triplets(path, shape=(3, 4), sep=",", binarize=False)
    assert X.shape == (3, 4)
    np.testing.assert_array_equal(X.toarray()[:2, :2], [[0, 1], [1, 0]])


def test_load_triplets_zero_values(tmp_path):
    path = _write(tmp_path, "0 0 0\n0 1 2\n")
    assert load_triplets(path).nnz == 2  # every line is an interaction
    X = load_triplets(path, binarize=False)
    assert X.nnz == 1 and X[0, 1] == 2  # an explicit zero is no interaction


def test_load_triplets_empty_file(tmp_path):
    path = _write(tmp_path, "")
    with pytest.raises(ValueError, match="no interaction; pass shape"):
        load_triplets(path)
    X = load_triplets(path, shape=(2, 3))
    assert X.shape == (2, 3) and X.nnz == 0


@pytest.mark.parametrize(
    "text, kwargs, match",
    [
        ("0 1\n1 x\n", {}, "malformed line: could not convert string 'x'"),
        ("0 1 3\n1 2\n", {}, "malformed line: the number of columns changed"),
        ("0\n1\n", {}, "at least two columns"),
        ("0 -1\n", {}, "item ids must be non-negative integers, got -1.0"),
        ("0.5 1\n", {}, "user ids must be non-negative integers, got 0.5"),
        ("nan 1\n", {}, "user ids must be non-negative integers"),
        ("3 1\n", {"shape": (3, 5)}, r"user id 3 does not fit shape \(3, 5\): .* < 3"),
        ("0 5\n", {"shape": (3, 5)}, r"item id 5 does not fit shape \(3, 5\)"),
        ("0 1 -2\n", {"binarize": False}, "values must be finite and non-negative, got -2.0"),
        ("0 1 inf\n", {"binarize": False}, "values must be finite and non-negative"),
        ("0 1\n", {"shape": (3,)}, "shape must be a pair of non-negative integers"),
        ("0 1\n", {"shape": (3, -1)}, "shape must be a pair of non-negative integers"),
    ],
)
def test_load_triplets_errors(tmp_path, text, kwargs, match):
    path = _write(tmp_path, text)
    with pytest.raises(ValueError, match=match) as info:
        load_triplets(path, **kwargs)
    if "shape must" not in match:
        assert str(path) in str(info.value)


def test_load_triplets_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.txt does not exist"):
        load_triplets(tmp_path / "nope.txt")
    with pytest.raises(FileNotFoundError, match="is a directory"):
        load_triplets(tmp_path)


@pytest.mark.skipif(not (ML100K / "train.txt").is_file(), reason="ML100K split not available")
def test_load_triplets_ml100k_cfgan():
    train = load_triplets(ML100K / "train.txt")
    assert train.nnz == 80_000
    assert train.shape[0] == 943
    # The test file names items absent from train: a shared shape aligns the columns.
    train = load_triplets(ML100K / "train.txt", shape=(943, 1682))
    test = load_triplets(ML100K / "test.txt", shape=(943, 1682))
    assert test.nnz == 19_963
    assert train.multiply(test).nnz == 0


# --- load_movielens -----------------------------------------------------------------------

MOVIELENS_FILES = {
    "u.data": "196\t242\t3\t881250949\n186\t302\t3\t891717742\n196\t242\t4\t881250950\n",
    "ratings.dat": "196::242::3::881250949\n186::302::3::891717742\n196::242::4::881250950\n",
    "ratings.csv": (
        "userId,movieId,rating,timestamp\n"
        "196,242,3.0,881250949\n186,302,3.0,891717742\n196,242,4.0,881250950\n"
    ),
}


@pytest.mark.parametrize("name", list(MOVIELENS_FILES))
def test_load_movielens_formats(tmp_path, name):
    pytest.importorskip("pandas")
    path = _write(tmp_path, MOVIELENS_FILES[name], name=name)
    for where in (path, tmp_path):  # the file itself or its directory
        ratings = load_movielens(where)
        assert list(ratings.columns) == ["user_id", "item_id", "rating", "timestamp"]
        assert [str(t) for t in ratings.dtypes] == ["int64", "int64", "float64", "int64"]
        np.testing.assert_array_equal(ratings["user_id"], [196, 186, 196])
        np.testing.assert_array_equal(ratings["item_id"], [242, 302, 242])
        np.testing.assert_array_equal(ratings["rating"], [3, 3, 4])
        np.testing.assert_array_equal(ratings["timestamp"], [881250949, 891717742, 881250950])


def test_load_movielens_any_file_name(tmp_path):
    pytest.importorskip("pandas")
    path = _write(tmp_path, MOVIELENS_FILES["u.data"], name="u1.base")
    assert len(load_movielens(path)) == 3


def test_load_movielens_errors(tmp_path):
    pytest.importorskip("pandas")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_movielens(tmp_path / "u.data")
    with pytest.raises(FileNotFoundError, match="holds none of the MovieLens ratings files"):
        load_movielens(tmp_path)
    path = _write(tmp_path, "1 2 3\n", name="triplets.txt")
    with pytest.raises(ValueError, match="is not a MovieLens ratings file"):
        load_movielens(path)
    path = _write(tmp_path, "1::2::3\n", name="ratings.dat")
    with pytest.raises(ValueError, match="malformed MovieLens ratings file"):
        load_movielens(path)
    path = _write(tmp_path, "1\tx\t3\t4\n", name="u.data")
    with pytest.raises(ValueError, match="malformed MovieLens ratings file"):
        load_movielens(path)


def test_load_movielens_without_pandas(tmp_path, monkeypatch):
    path = _write(tmp_path, MOVIELENS_FILES["u.data"], name="u.data")
    monkeypatch.setitem(sys.modules, "pandas", None)  # makes `import pandas` fail
    with pytest.raises(ImportError, match="load_movielens requires pandas"):
        load_movielens(path)


# --- make_interactions --------------------------------------------------------------------


def _check_interactions(X, n_users, n_items, n_interactions):
    assert isinstance(X, sp.csr_matrix)
    assert X.shape == (n_users, n_items)
    assert X.nnz == n_interactions
    assert X.dtype == np.float32
    np.testing.assert_array_equal(X.data, 1)
    X.check_format(full_check=True)
    canonical = X.copy()
    canonical.has_canonical_format = False
    canonical.sum_duplicates()  # recomputes: sorted, duplicate-free rows
    np.testing.assert_array_equal(canonical.indices, X.indices)
    assert np.diff(X.indptr).min() >= 1


def test_make_interactions_shape_and_counts():
    X = make_interactions(300, 120, 6000, random_state=0)
    _check_interactions(X, 300, 120, 6000)


@pytest.mark.parametrize(
    "n_users, n_items, n_interactions, kwargs",
    [
        (40, 30, 40, {}),  # one interaction per user
        (20, 15, 300, {}),  # every user has every item
        (50, 10, 450, {"user_activity_exponent": 3.0}),  # many users hit the n_items cap
        (30, 200, 3000, {"item_popularity_exponent": 3.0}),  # popular items run out fast
        (10, 1, 10, {"n_factors": 1}),
        (25, 8, 100, {"n_factors": 8, "popularity_mix": 1.0}),
    ],
)
def test_make_interactions_extreme_sizes(n_users, n_items, n_interactions, kwargs):
    X = make_interactions(n_users, n_items, n_interactions, random_state=1, **kwargs)
    _check_interactions(X, n_users, n_items, n_interactions)


def test_make_interactions_reproducible():
    kwargs = dict(n_factors=4, random_state=7, return_factors=True)
    X1, U1, V1 = make_interactions(500, 100, 5000, **kwargs)
    X2, U2, V2 = make_interactions(500, 100, 5000, **kwargs)
    assert (X1 != X2).nnz == 0
    np.testing.assert_array_equal(U1, U2)
    np.testing.assert_array_equal(V1, V2)
    X3 = make_interactions(500, 100, 5000, random_state=np.random.RandomState(7), n_factors=4)
    assert (X1 != X3).nnz == 0
    X4 = make_interactions(500, 100, 5000, random_state=8, n_factors=4)
    assert (X1 != X4).nnz > 0


def test_make_interactions_factors():
    X, U, V = make_interactions(400, 90, 4000, n_factors=6, random_state=0, return_factors=True)
    assert U.shape == (400, 6) and V.shape == (90, 6)
    np.testing.assert_allclose(U.sum(axis=1), 1)
    np.testing.assert_allclose(V.sum(axis=0), 1)
    assert ((V > 0).sum(axis=1) == 1).all()  # every item in exactly one cluster
    np.testing.assert_array_equal(np.bincount(V.argmax(axis=1)), [15] * 6)  # equal clusters


def test_make_interactions_power_law():
    X = make_interactions(3000, 1000, 60_000, random_state=0)
    item_counts = np.asarray(X.sum(axis=0)).ravel()
    user_counts = np.diff(X.indptr)
    assert _top_share(item_counts) > 0.5  # Zipf(1): the head dominates
    assert _top_share(user_counts) > 0.25  # Zipf(0.5): sqrt(0.1) ~ 0.32 in expectation
    flat = make_interactions(
        3000, 1000, 60_000, user_activity_exponent=0, item_popularity_exponent=0, random_state=0
    )
    assert _top_share(np.asarray(flat.sum(axis=0)).ravel()) < 0.2
    assert _top_share(np.diff(flat.indptr)) < 0.2


def _within_cluster_share(popularity_mix):
    X, U, V = make_interactions(
        2000, 400, 40_000, n_factors=4, popularity_mix=popularity_mix,
        preference_concentration=0.05, random_state=0, return_factors=True,
    )
    user_cluster, item_cluster = U.argmax(axis=1), V.argmax(axis=1)
    same = user_cluster[np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))] == (
        item_cluster[X.indices]
    )
    # Mean cosine similarity of user rows, within and across planted clusters.
    norms = np.sqrt(np.diff(X.indptr))
    Xn = sp.diags(1 / norms) @ X
    sim = (Xn @ Xn.T).toarray()
    np.fill_diagonal(sim, np.nan)
    within = user_cluster[:, None] == user_cluster[None, :]
    return same.mean(), np.nanmean(sim[within]) / np.nanmean(sim[~within])


def test_make_interactions_planted_structure():
    share, ratio = _within_cluster_share(popularity_mix=0.2)
    assert share > 0.6  # chance level is 1 / n_factors = 0.25
    assert ratio > 2  # users of a cluster share items far more than across clusters
    share, ratio = _within_cluster_share(popularity_mix=1.0)
    assert abs(share - 0.25) < 0.05
    assert ratio < 1.2


def test_item_sampler_follows_planted_distribution():
    from sklearn_agn.datasets._synthetic import _ItemSampler, _zipf_weights

    rng = np.random.RandomState(0)
    n_items, k, mix = 30, 3, 0.25
    cluster = rng.permutation(n_items) % k
    popularity = _zipf_weights(n_items, 1.0, rng)
    sampler = _ItemSampler(cluster, popularity, mix, k)
    theta = np.array([[0.7, 0.3, 0.0], [0.0, 0.0, 1.0]])
    V = np.zeros((n_items, k))
    V[np.arange(n_items), cluster] = popularity / np.bincount(cluster, popularity)[cluster]
    expected = (1 - mix) * theta @ V.T + mix * popularity / popularity.sum()
    n_draws = 200_000
    for row in range(2):
        items = sampler.draw(np.full(n_draws, row), theta, rng)
        freq = np.bincount(items, minlength=n_items) / n_draws
        np.testing.assert_allclose(freq, expected[row], atol=0.005)


def test_make_interactions_never_densifies():
    # Dense float64, this matrix would take 160 GB; sparse it is a few MB.
    tracemalloc.start()
    try:
        X = make_interactions(200_000, 100_000, 1_000_000, random_state=0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert X.shape == (200_000, 100_000) and X.nnz == 1_000_000
    assert peak < 400 * 2**20


@pytest.mark.parametrize(
    "args, kwargs, match",
    [
        ((10, 8, 9), {}, "must lie between n_users=10"),
        ((10, 8, 81), {}, "n_users \\* n_items=80"),
        ((10, 5, 20), {"n_factors": 6}, "n_factors=6 exceeds n_items=5"),
        ((0, 5, 20), {}, "'n_users' parameter"),
        ((10, 5, 20), {"popularity_mix": 1.5}, "'popularity_mix' parameter"),
        ((10, 5, 20), {"preference_concentration": 0}, "'preference_concentration' parameter"),
        ((10, 5, 20), {"user_activity_exponent": -1}, "'user_activity_exponent' parameter"),
        ((10, 5, 20.0), {}, "'n_interactions' parameter"),
    ],
)
def test_make_interactions_validation(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_interactions(*args, **kwargs)


# --- load_movielens_100k ------------------------------------------------------------------

ML100K_RAW = Path(__file__).parents[2] / "shared" / "data" / "ml-100k"
_GENRES = ["unknown", "Action", "Comedy"]


def _write_ml100k(folder):
    """A three-genre miniature of the ml-100k folder (same formats)."""
    folder.mkdir()
    (folder / "u.genre").write_text("".join(f"{g}|{i}\n" for i, g in enumerate(_GENRES)))
    (folder / "u.item").write_bytes(
        "20|Caf\xe9 Story (1995)|01-Jan-1995||http://x|0|0|1\n"
        "10|Toy Story (1995)|01-Jan-1995||http://x|0|1|1\n"
        "30|unknown||||1|0|0\n"
        "40|Old Story (1968)|01-Jan-1968||http://x|0|1|0\n".encode("latin-1"))
    (folder / "u.user").write_text("2|53|F|other|94043\n1|24|M|technician|85711\n"
                                   "3|23|M|writer|T8H1N\n")
    (folder / "u.data").write_text("1\t10\t5\t100\n2\t20\t3\t101\n1\t40\t4\t102\n"
                                   "3\t10\t1\t103\n1\t10\t2\t104\n")
    return folder


def test_load_movielens_100k_small_files(tmp_path):
    data = _write_ml100k(tmp_path / "ml-100k")
    data = load_movielens_100k(data, age_bins=2)
    np.testing.assert_array_equal(data.item_ids, [10, 20, 30, 40])
    np.testing.assert_array_equal(data.user_ids, [1, 2, 3])
    # Rows follow user_ids, columns item_ids; a rating counted twice is one interaction.
    np.testing.assert_array_equal(data.interactions.toarray(),
                                  [[1, 0, 0, 1], [0, 1, 0, 0], [1, 0, 0, 0]])
    names = list(data.item_feature_names)
    assert names == ["genre__unknown", "genre__Action", "genre__Comedy", "release__decade_1960s",
                     "release__decade_1990s", "release__decade_unknown"]
    np.testing.assert_array_equal(data.item_attributes.toarray(),
                                  [[0, 1, 1, 0, 1, 0], [0, 0, 1, 0, 1, 0],
                                   [1, 0, 0, 0, 0, 1], [0, 1, 0, 1, 0, 0]])
    assert data.item_info["title"][1] == "Café Story (1995)"  # latin-1
    users = data.user_attributes.toarray()
    user_names = list(data.user_feature_names)
    assert users.shape == (3, 2 + 2 + 3)  # 2 age bins, gender, 3 occupations
    assert users[:, user_names.index("demographics__gender_F")].tolist() == [0, 1, 0]
    assert users[:, user_names.index("demographics__occupation_writer")].tolist() == [0, 0, 1]
    np.testing.assert_array_equal(users[:, :2].sum(axis=1), 1)  # one age bin each
    # The fitted encoders encode new items the same way.
    new = data.item_info.iloc[[3]].assign(item_id=50)
    np.testing.assert_array_equal(data.item_encoder.transform(new).toarray(),
                                  data.item_attributes[[3]].toarray())


def test_load_movielens_100k_optional_features(tmp_path):
    folder = _write_ml100k(tmp_path / "ml-100k")
    data = load_movielens_100k(folder, title_tfidf=True, zip_prefix=1, age_bins=2)
    titles = [n for n in data.item_feature_names if n.startswith("title__")]
    assert titles == ["title__story"]  # the only word in two titles; years are no words
    zips = [n for n in data.user_feature_names if n.startswith("zip__")]
    assert zips == ["zip__zip_prefix_8", "zip__zip_prefix_9", "zip__zip_prefix_T"]


def test_load_movielens_100k_errors(tmp_path):
    folder = _write_ml100k(tmp_path / "ml-100k")
    with open(folder / "u.data", "a") as f:
        f.write("1\t99\t5\t105\n")
    with pytest.raises(ValueError, match="item id 99 of u.data is not in"):
        load_movielens_100k(folder, age_bins=2)
    with pytest.raises(ValueError, match="release_date must be 'decade' or 'spline'"):
        load_movielens_100k(folder, release_date="year")
    (folder / "u.user").unlink()
    with pytest.raises(FileNotFoundError, match="u.user does not exist"):
        load_movielens_100k(folder)


def test_load_movielens_100k_real_files():
    if not (ML100K_RAW / "u.item").exists():
        pytest.skip(f"raw MovieLens-100K not found at {ML100K_RAW}")
    data = load_movielens_100k(ML100K_RAW)
    assert data.interactions.shape == (943, 1682) and data.interactions.nnz == 100_000
    # 19 genres + 8 decades (1920s-1990s) + unknown release date.
    assert data.item_attributes.shape == (1682, 28)
    assert data.item_attributes[:, :19].sum() == data.item_info.iloc[:, 5:].to_numpy().sum()
    np.testing.assert_array_equal(data.item_attributes[:, 19:].sum(axis=1), 1)
    assert data.user_attributes.shape == (943, 6 + 2 + 21)
    # The release date as a spline: 19 genres + 14 B-spline columns (12 knots,
    # cubic), a partition of unity, + a flag of the one missing date.
    spline = load_movielens_100k(ML100K_RAW, release_date="spline").item_attributes.toarray()
    assert spline.shape == (1682, 34)
    np.testing.assert_array_equal(spline[:, :19], data.item_attributes[:, :19].toarray())
    np.testing.assert_allclose(spline[:, 19:33].sum(axis=1), 1)
    missing = data.item_info["release_date"].isna().to_numpy()
    assert missing.sum() == 1 and np.array_equal(spline[:, 33], missing)
    # Films released months apart get different features (one decade feature before).
    jan95, dec95 = (np.flatnonzero(data.item_info["release_date"] == date)[0]
                    for date in ("01-Jan-1995", "18-Dec-1995"))
    assert not np.allclose(spline[jan95, 19:33], spline[dec95, 19:33])


# --- load_item_attributes -----------------------------------------------------------------


def test_load_item_attributes_hand_checked_and_errors(tmp_path):
    data = load_item_attributes(_write(tmp_path, "id,a,b\n3,1,0.5\n1,0,2\n", "items.csv"))
    np.testing.assert_array_equal(data.item_ids, [3, 1])
    assert sp.isspmatrix_csr(data.item_attributes)
    np.testing.assert_array_equal(data.item_attributes.toarray(), [[1, 0.5], [0, 2]])
    assert list(data.feature_names) == ["a", "b"]
    with pytest.raises(ValueError, match=r"must be numeric; \['tag'\] are not"):
        load_item_attributes(_write(tmp_path, "id,a,tag\n1,0,x\n", "bad.csv"))
    with pytest.raises(ValueError, match="must be finite"):
        load_item_attributes(_write(tmp_path, "id,a\n1,\n2,1\n", "nan.csv"))
    with pytest.raises(ValueError, match="item id 1 is listed twice.*pass format='long'"):
        load_item_attributes(_write(tmp_path, "id,a\n1,0\n1,1\n", "dup.csv"))
    with pytest.raises(ValueError, match="at least one attribute column"):
        load_item_attributes(_write(tmp_path, "id\n1\n", "ids.csv"))


def _same_attributes(a, b):
    assert a.item_attributes.shape == b.item_attributes.shape
    assert (a.item_attributes != b.item_attributes).nnz == 0
    np.testing.assert_array_equal(a.item_ids, b.item_ids)


def test_load_item_attributes_same_matrix_from_wide_long_and_npz(tmp_path):
    # Item 5 has no tag: a zero row in the wide file, an empty tag in the long one.
    wide = load_item_attributes(_write(
        tmp_path, "item_id,comedy,drama,war\n7,1,0,1\n9,0,1,0\n5,0,0,0\n", "wide.csv"))
    tags = load_item_attributes(_write(
        tmp_path, "item_id,tag\n7,war\n9,drama\n7,comedy\n7,war\n5,\n", "tags.csv"))
    _same_attributes(tags, wide)
    np.testing.assert_array_equal(tags.item_attributes.toarray(),
                                  [[1, 0, 1], [0, 1, 0], [0, 0, 0]])
    assert list(tags.feature_names) == ["comedy", "drama", "war"]
    # Attribute-value lines carry any number; a zero value is not stored.
    valued = load_item_attributes(_write(
        tmp_path, "item_id,attribute,value\n7,war,0.25\n9,drama,2\n7,comedy,1\n9,war,0\n"
        "5,,\n", "valued.csv"))
    np.testing.assert_array_equal(valued.item_attributes.toarray(),
                                  [[1, 0, 0.25], [0, 2, 0], [0, 0, 0]])
    assert valued.item_attributes.nnz == 3
    sp.save_npz(tmp_path / "tags.npz", sp.csr_matrix(wide.item_attributes))
    (tmp_path / "tags_ids.txt").write_text("7\n9\n5\n")
    _same_attributes(load_item_attributes(tmp_path / "tags.npz",
                                          item_ids=tmp_path / "tags_ids.txt"), wide)
    from_list = load_item_attributes(tmp_path / "tags.npz", item_ids=[7, 9, 5])
    _same_attributes(from_list, wide)
    assert list(from_list.feature_names) == ["x0", "x1", "x2"]


def test_load_item_attributes_long_format_rules(tmp_path):
    # Numeric tag ids need format="long" ("auto" reads them as a wide column)
    # and keep their text: tag "007" is not 7.
    path = _write(tmp_path, "item_id,tag_id\n1,007\n1,12\n2,12\n", "codes.csv")
    with pytest.raises(ValueError, match="item id 1 is listed twice.*pass format='long'"):
        load_item_attributes(path)
    codes = load_item_attributes(path, format="long")
    assert list(codes.feature_names) == ["007", "12"]
    np.testing.assert_array_equal(codes.item_attributes.toarray(), [[1, 1], [0, 1]])
    with pytest.raises(ValueError, match="item 1 has attribute 'a' twice"):
        load_item_attributes(_write(tmp_path, "id,attribute,value\n1,a,1\n1,a,2\n", "d.csv"))
    with pytest.raises(ValueError, match="value column 'value' must be numeric"):
        load_item_attributes(_write(tmp_path, "id,attribute,value\n1,a,x\n", "v.csv"))
    with pytest.raises(ValueError, match="must be finite"):
        load_item_attributes(_write(tmp_path, "id,attribute,value\n1,a,\n", "n.csv"))
    with pytest.raises(ValueError, match="two columns .* or three"):
        load_item_attributes(_write(tmp_path, "id,tag,a,b\n1,x,1,2\n", "w.csv"),
                             format="long")
    with pytest.raises(ValueError, match="no item has an attribute"):
        load_item_attributes(_write(tmp_path, "id,tag\n1,\n", "e.csv"), format="long")
    with pytest.raises(ValueError, match="an item id is missing"):
        load_item_attributes(_write(tmp_path, "id,tag\n1,x\n,y\n", "m.csv"))


def test_load_item_attributes_npz_needs_one_id_per_row(tmp_path):
    sp.save_npz(tmp_path / "a.npz", sp.csr_matrix(np.eye(3)))
    with pytest.raises(ValueError, match="pass item_ids, the ids of its rows"):
        load_item_attributes(tmp_path / "a.npz")
    with pytest.raises(ValueError, match="3 rows, but item_ids holds 2 ids"):
        load_item_attributes(tmp_path / "a.npz", item_ids=[1, 2])
    with pytest.raises(ValueError, match="item id 1 is listed twice"):
        load_item_attributes(tmp_path / "a.npz", item_ids=[1, 2, 1])
    with pytest.raises(ValueError, match="item_ids is for an npz matrix only"):
        load_item_attributes(_write(tmp_path, "id,a\n1,0\n", "a.csv"), item_ids=[1])
    np.savez(tmp_path / "dense.npz", a=np.eye(3))
    with pytest.raises(ValueError, match="not a sparse matrix saved by scipy.sparse.save_npz"):
        load_item_attributes(tmp_path / "dense.npz", item_ids=[1, 2, 3])


# --- make_item_attributes -----------------------------------------------------------------


def test_make_item_attributes_reveals_the_planted_clusters():
    _, _, item_factors = make_interactions(300, 60, 3000, n_factors=3, random_state=0,
                                           return_factors=True)
    cluster = item_factors.argmax(axis=1)
    A = make_item_attributes(item_factors, n_features=9, n_active=2, noise=0.0, random_state=0)
    assert A.shape == (60, 9) and set(A.data) == {1.0}
    rows, cols = A.nonzero()
    np.testing.assert_array_equal(cols % 3, cluster[rows])  # cluster c owns c, c + 3, c + 6
    assert ((A.getnnz(axis=1) >= 1) & (A.getnnz(axis=1) <= 2)).all()
    noisy = make_item_attributes(item_factors, n_features=9, noise=1.0, random_state=0)
    rows, cols = noisy.nonzero()
    assert np.mean(cols % 3 == cluster[rows]) < 0.6  # about 1/3 by chance
    with pytest.raises(ValueError, match="smaller than the 3 clusters"):
        make_item_attributes(item_factors, n_features=2)
