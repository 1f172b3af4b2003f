"""SparkALS: MLlib's ALS fitted on Spark (local mode), served by MFRecommender.

One local[2] SparkSession for the module, on small data. Skipped with the
reason when pyspark or Java is missing (``pip install 'sklearn-agn[spark]'``,
Java 17).
"""

import copy
import os
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from sklearn_agn import MFRecommender
from sklearn_agn.persistence import dump, load
from sklearn_agn.spark import SparkALS

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "ml100k-cfgan"


def _log(seed=0, n_users=30, n_items=12):
    """Records of (user_id str, item_id str, plays double), every item held by some user."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(n_users):
        for i in rng.choice(n_items, rng.integers(2, 7), replace=False):
            rows.append((f"u{u:02d}", f"sku-{i:02d}", float(rng.integers(1, 4))))
    rows += [("u00", f"sku-{i:02d}", 1.0) for i in range(n_items)]
    return rows


@pytest.fixture(scope="module")
def log(spark):
    return spark.createDataFrame(_log(), "user_id string, item_id string, plays double")


@pytest.fixture(scope="module")
def fitted(log):
    return SparkALS(3, regularization=0.5, alpha=2.0, n_iter=6, value_col="plays",
                    num_blocks=2, random_state=0).fit(log)


def _matrix(model, rows):
    """The users x items matrix of ``rows`` in ``model``'s columns, repeated pairs summed."""
    user_ids, item_ids, plays = map(np.asarray, zip(*rows))
    users = np.unique(user_ids)
    X = sp.csr_matrix((plays, (np.searchsorted(users, user_ids),
                               model.encoder_.item_index(item_ids))),
                      shape=(len(users), model.recommender_.n_features_in_))
    X.sum_duplicates()
    return users, X


def test_import_error_names_the_extra(monkeypatch):
    from sklearn_agn.spark import _session

    def no_pyspark(name):
        raise ImportError(f"No module named {name!r}")

    monkeypatch.setattr(_session.importlib, "import_module", no_pyspark)
    with pytest.raises(ImportError, match=r"pip install 'sklearn-agn\[spark\]'.*Java 17"):
        SparkALS().fit("interactions.parquet")


def test_no_active_session_says_how_to_start_one(spark, log, monkeypatch):
    from pyspark.sql import SparkSession

    monkeypatch.setattr(SparkSession, "getActiveSession", classmethod(lambda cls: None))
    with pytest.raises(RuntimeError, match=r"No active SparkSession.*builder\.master"):
        SparkALS().fit(log)


class _Context:
    """The part of a SparkContext that the checkpoint check reads and writes."""

    def __init__(self, master, directory=None):
        self.master, self.directory = master, directory

    def getCheckpointDir(self):
        return self.directory

    def setCheckpointDir(self, directory):
        self.directory = directory


def _session_with(context):
    return type("Session", (), {"sparkContext": context})()


def test_long_fits_without_a_checkpoint_directory_get_one_locally_and_an_error_on_a_cluster():
    from sklearn_agn.spark._session import ensure_checkpoint_directory

    local = _Context("local[2]")
    with pytest.warns(UserWarning, match=r"temporary one.*setCheckpointDir"):
        ensure_checkpoint_directory(_session_with(local), n_iter=15, checkpoint_interval=10)
    assert local.directory is not None and Path(local.directory).is_dir()

    cluster = _Context("spark://head:7077")
    with pytest.raises(ValueError, match=r"n_iter=15 .*no.*checkpoint.*HDFS.*checkpoint_interval=None"):
        ensure_checkpoint_directory(_session_with(cluster), n_iter=15, checkpoint_interval=10)
    # Nothing to cut: no more sweeps than the interval, checkpoints off, or a directory set.
    for n_iter, interval, directory in [(10, 10, None), (15, None, None), (15, 10, "hdfs:///c")]:
        context = _Context("spark://head:7077", directory)
        ensure_checkpoint_directory(_session_with(context), n_iter, interval)
        assert context.directory == directory


def test_mllib_checkpoints_the_factors_every_checkpoint_interval_sweeps(spark, log):
    directory = Path(spark.sparkContext.getCheckpointDir().removeprefix("file:"))
    before = set(directory.rglob("*"))
    SparkALS(2, n_iter=4, checkpoint_interval=2, num_blocks=2, random_state=0).fit(log)
    assert set(directory.rglob("rdd-*")) - before
    before = set(directory.rglob("*"))
    SparkALS(2, n_iter=4, checkpoint_interval=None, num_blocks=2, random_state=0).fit(log)
    assert set(directory.rglob("*")) == before


def test_statistics_are_mllib_user_equations_aggregated(spark, fitted):
    """MLlib's final user factors solve our normal equations with penalty lambda * n_u.

    Solved here on the driver from the item factors, they must give the
    statistics aggregated on the cluster: this checks the objective mapping
    (confidence 1 + alpha r, preference 1, penalty regularization * n_u) and
    the aggregations at once.
    """
    model = fitted.recommender_
    users, X = _matrix(fitted, _log())
    Y = model.item_factors_.astype(np.float64)
    gram, curvature = np.zeros((3, 3)), np.zeros_like(Y)
    for u in range(X.shape[0]):
        items, values = X[u].indices, X[u].data
        c1 = 2.0 * values
        A = Y.T @ Y + (Y[items].T * c1) @ Y[items] + 0.5 * len(items) * np.eye(3)
        x = np.linalg.solve(A, Y[items].T @ (1 + c1))
        gram += np.outer(x, x)
        curvature[items] += c1[:, None] * x**2
    np.testing.assert_allclose(model.user_gram_, gram, rtol=1e-4)
    np.testing.assert_allclose(model.item_curvature_, curvature, rtol=1e-4, atol=1e-7)
    np.testing.assert_array_equal(model.item_interaction_counts_, np.diff(X.tocsc().indptr))
    assert fitted.n_interactions_ == X.nnz and fitted.n_users_ == X.shape[0] == 30
    # Where the mapping does not hold: our fold-in penalises regularization * (n_u + 1),
    # one regularization more than MLlib, so the user factors differ (slightly).
    ours = model.fold_in(X).astype(np.float64)
    assert not np.allclose(ours.T @ ours, gram, rtol=1e-4)
    np.testing.assert_allclose(ours.T @ ours, gram, rtol=0.3)


def test_serves_like_a_fitted_mfrecommender(spark, fitted, log, tmp_path):
    import pandas as pd

    model = fitted.recommender_
    assert type(model) is MFRecommender and model.n_features_in_ == 12
    np.testing.assert_array_equal(fitted.encoder_.item_ids_,
                                  [f"sku-{i:02d}" for i in range(12)])
    users, X = _matrix(fitted, _log())
    ranked = model.recommend(X, k=3, exclude_items=[0])
    assert ranked.shape == (30, 3) and not (ranked == 0).any()
    assert (ranked[0] == -1).all()  # u00 holds every item: nothing left to recommend
    seen = np.take_along_axis(X.toarray(), np.maximum(ranked, 0), axis=1)
    assert (ranked[1:] >= 0).all() and not seen[1:].any()
    assert model.similar_items(1, n=2).shape == (2,)
    history, contributions, score = model.explain(X[1], 4)
    assert np.isclose(contributions.sum(), score, rtol=1e-4)
    updated = copy.deepcopy(model).partial_fit(X[:3] * 2)
    assert updated.n_iter_ == 1 and not np.allclose(updated.item_factors_, model.item_factors_)
    path = tmp_path / "model.skops"
    dump(fitted.recommender_, path)
    np.testing.assert_array_equal(load(path).predict(X), fitted.recommender_.predict(X))
    # Served by id through the encoder: the ids of recommender_.recommend's columns.
    frame = pd.DataFrame(_log(), columns=["user_id", "item_id", "plays"])
    by_id = fitted.encoder_.recommend(fitted.recommender_, frame, users=["u03", "new"], k=2)
    assert by_id.shape == (2, 2) and set(by_id.ravel()) <= set(fitted.encoder_.item_ids_)


def test_recommend_all_is_a_spark_job_equal_to_local_serving(spark, fitted, log):
    model = fitted
    out = model.recommend_all(log, k=4).toPandas().sort_values(["user_id", "rank"])
    users, X = _matrix(model, _log())
    expected = model.encoder_.inverse_transform_items(model.recommender_.recommend(X, k=4))
    got = out.groupby("user_id")["item_id"].apply(list).to_dict()
    assert got == {user: list(row[row != None]) for user, row in zip(users, expected)  # noqa: E711
                   if (row != None).any()}  # noqa: E711
    assert out["rank"].min() == 1 and out["rank"].max() == 4


@pytest.mark.parametrize("rows, schema, error, message", [
    ([("a", "x", 1.0), (None, "y", 1.0)], "user_id string, item_id string, plays double",
     ValueError, r"column 'user_id' holds 1 nulls out of 2 records"),
    ([("a", "x", 1.0), ("b", "y", -2.0)], "user_id string, item_id string, plays double",
     ValueError, r"'plays' must hold finite non-negative values: 1 negative and 0 NaN"),
    ([("a", "x", float("nan")), ("b", "y", 1.0)], "user_id string, item_id string, plays double",
     ValueError, r"0 negative and 1 NaN or infinite out of 2 records"),
    ([], "user_id string, item_id string, plays double",
     ValueError, r"no interaction record \(an empty DataFrame\)"),
])
def test_bad_records_are_rejected_before_training(spark, rows, schema, error, message):
    X = spark.createDataFrame(rows, schema)
    model = SparkALS(2, value_col="plays")
    with pytest.raises(error, match=message):
        model.fit(X)
    assert not hasattr(model, "recommender_")


@pytest.mark.parametrize("rows, schema, error, message", [
    ([([1, 2], "x")], "user_id array<int>, item_id string", TypeError,
     r"column 'user_id' holds ids of type array<int>, which cannot be indexed"),
    ([("a", "x")], "user string, item_id string", ValueError,
     r"no column user_col='user_id'; its columns are \['user', 'item_id'\]"),
])
def test_bad_schema_is_rejected_without_any_spark_job(spark, rows, schema, error, message):
    X = spark.createDataFrame(rows, schema)
    tracker = spark.sparkContext.statusTracker()
    spark.sparkContext.setJobGroup("schema-check", "no job expected")
    try:
        with pytest.raises(error, match=message):
            SparkALS(2).fit(X)
        assert tracker.getJobIdsForGroup("schema-check") == []
    finally:
        spark.sparkContext.setJobGroup(None, None)


def test_other_exponent_is_rejected(spark, log):
    with pytest.raises(ValueError, match="MLlib's ALS always penalises"):
        SparkALS(2, regularization_exponent=0.0).fit(log)


def test_failed_job_leaves_the_fitted_estimator_as_it_was(spark, fitted, log, monkeypatch):
    from sklearn_agn.spark import _statistics

    model = copy.copy(fitted)
    recommender = model.recommender_

    def failing(*args, **kwargs):
        raise RuntimeError("executor lost")

    monkeypatch.setattr(_statistics, "item_statistics", failing)
    with pytest.raises(RuntimeError, match="executor lost"):
        model.set_params(n_factors=4, n_iter=1).fit(log)
    assert model.recommender_ is recommender and recommender.item_factors_.shape[1] == 3
    # The DataFrames the fit persisted were released.
    assert spark._jsparkSession.sharedState().cacheManager().isEmpty()


@pytest.mark.slow
def test_ndcg_parity_with_mfrecommender_on_ml100k(spark):
    """Same settings, exact solves: NDCG@20 on the CFGAN split within 1% (issue 18 item 5)."""
    if not (DATA / "train.txt").exists():
        pytest.skip(f"{DATA} is absent")
    import pandas as pd

    from sklearn_agn.datasets import load_triplets
    from sklearn_agn.metrics import ndcg_at_k

    train = load_triplets(DATA / "train.txt", shape=(943, 1682))
    test = load_triplets(DATA / "test.txt", shape=(943, 1682))
    coo = train.tocoo()
    frame = spark.createDataFrame(pd.DataFrame({"user_id": coo.row.astype(np.int64),
                                                "item_id": coo.col.astype(np.int64)}))
    params = dict(regularization=0.3, alpha=2.0, n_iter=15, random_state=0)
    mf = MFRecommender(64, solver="cholesky", device="cpu", **params).fit(train)
    spark_als = SparkALS(64, num_blocks=4, **params).fit(frame)
    columns = spark_als.encoder_.item_ids_
    ours = ndcg_at_k(test, mf.predict(train, k=20), 20)
    theirs = ndcg_at_k(test, columns[spark_als.recommender_.predict(train[:, columns], k=20)], 20)
    assert abs(theirs - ours) <= 0.01 * ours


def test_grid_search_spreads_over_spark_with_joblibspark(spark):
    """A GridSearchCV over MFRecommender run by Spark's tasks scores what the local one does."""
    pytest.importorskip("joblibspark", reason="joblibspark is not installed: "
                        "pip install 'sklearn-agn[spark]'")
    from joblib import parallel_config
    from joblibspark import register_spark
    from sklearn.model_selection import GridSearchCV

    from sklearn_agn.datasets import make_interactions
    from sklearn_agn.metrics import make_ranking_scorer
    from sklearn_agn.model_selection import UserKFold, holdout_split

    X_train, X_test = holdout_split(make_interactions(60, 25, 500, random_state=0), 0.2,
                                    random_state=0)

    def search():
        # The process that scored each fold: the driver's, or a Spark Python worker's.
        scoring = {"ndcg": make_ranking_scorer("ndcg", k=5),
                   "pid": lambda estimator, X, y: os.getpid()}
        return GridSearchCV(MFRecommender(4, n_iter=3, device="cpu", random_state=0),
                            {"regularization": [0.01, 10.0]}, scoring=scoring, refit="ndcg",
                            cv=UserKFold(2, shuffle=True, random_state=0), n_jobs=2,
                            error_score="raise").fit(X_train, X_test)

    register_spark()
    with parallel_config(backend="sequential"):
        local = search()
    with parallel_config(backend="spark", n_jobs=2):
        on_spark = search()
    np.testing.assert_allclose(on_spark.cv_results_["mean_test_ndcg"],
                               local.cv_results_["mean_test_ndcg"], rtol=1e-6)
    assert on_spark.best_params_ == local.best_params_
    assert set(local.cv_results_["mean_test_pid"]) == {os.getpid()}
    assert os.getpid() not in on_spark.cv_results_["split0_test_pid"]


def test_attribute_ridge_mf_maps_cold_items_onto_a_spark_fitted_model(spark, fitted):
    """AttributeRidgeMF learns its map from SparkALS's factors, kept as they are (issue 18)."""
    from sklearn.frozen import FrozenEstimator

    from sklearn_agn import AttributeRidgeMF

    model = fitted.recommender_
    # Two "genres": even and odd skus, with factors to learn the map from.
    genres = np.eye(2)[np.arange(12) % 2]
    _, X = _matrix(fitted, _log())
    ridge = AttributeRidgeMF(FrozenEstimator(model), item_attributes=genres,
                             ridge_alpha=0.1).fit(X[:3])
    assert not ridge.cold_items_.any()
    np.testing.assert_array_equal(ridge.item_factors_, model.item_factors_)
    ridge.add_items(genres[:1])  # a new even sku, never seen on the cluster
    expected = ridge.ridge_.predict(genres[:1])
    np.testing.assert_allclose(ridge.item_factors_[-1], expected[0], rtol=1e-5)
    scores = ridge.decision_function(sp.hstack([X[:4], sp.csr_matrix((4, 1))]).tocsr())
    assert scores.shape == (4, 13) and np.isfinite(scores[:, -1]).all()


# Generated records on top of _log(), at alpha=2 (c w = w + 2 w^2): 0.9 is
# fitted exactly (c w > 1), 0.4 is rounded to a preference-1 record of
# confidence 1 (1/2 <= c w <= 1), 0.2 left out (c w < 1/2). u01's sku-00 is
# listed twice (one entry, of weight 0.9); u00's sku-03 is a real pair (its
# generated record is ignored); sku-99 has generated records only.
_GENERATED = [("u01", "sku-00", 0.9), ("u01", "sku-00", 0.3), ("u02", "sku-02", 0.4),
              ("u03", "sku-00", 0.2), ("u04", "sku-01", 0.9), ("u04", "sku-99", 0.4),
              ("u05", "sku-99", 0.9), ("u06", "sku-00", 0.2), ("u00", "sku-03", 0.5)]


def test_generated_records_fit_mllib_equations_of_mfrecommender_terms(spark):
    """Statistics of a fit with generated records, against the mapped equations solved here.

    The left-hand side is MFRecommender's (entry_coefficients: curvature
    alpha w), the right-hand side its c w where c w > 1, rounded to 1 or 0
    below, and the penalty counts the real and the fitted generated entries;
    the statistics are MFRecommender's: curvature of every generated entry,
    counts of the real ones.
    """
    from sklearn_agn.mf._als_equations import entry_coefficients

    real = [(*row, False) for row in _log()]
    records = spark.createDataFrame(real + [(*row, True) for row in _GENERATED],
                                    "user_id string, item_id string, plays double, "
                                    "generated boolean")
    fitted = SparkALS(3, regularization=0.5, alpha=2.0, n_iter=3, value_col="plays",
                      generated_col="generated", num_blocks=2, random_state=0).fit(records)
    model = fitted.recommender_
    assert model.n_features_in_ == 13 and fitted.encoder_.item_ids_[-1] == "sku-99"
    users, X = _matrix(fitted, _log())
    # The generated entries as one matrix: duplicates of a pair at their largest weight.
    W = np.zeros(X.shape)
    for user, item, weight in _GENERATED:
        cell = np.searchsorted(users, user), fitted.encoder_.item_index([item])[0]
        W[cell] = max(W[cell], weight) if X[cell] == 0 else 0
    counts = np.diff(X.tocsc().indptr)
    np.testing.assert_array_equal(model.item_interaction_counts_, counts)
    assert counts[-1] == 0 and fitted.n_interactions_ == X.nnz and fitted.n_users_ == 30

    Y = model.item_factors_.astype(np.float64)
    solved = {}
    for mapped in (True, False):
        gram, curvature = np.zeros((3, 3)), np.zeros_like(Y)
        for u in range(X.shape[0]):
            items = np.concatenate([X[u].indices, np.flatnonzero(W[u])])
            generated = np.arange(len(items)) >= X[u].nnz
            values = np.concatenate([X[u].data, W[u][W[u] > 0]])
            weights, targets = entry_coefficients(values, 2.0,
                                                  np.where(generated, values, 1.0))
            kept, lhs, rhs = np.ones(len(items), dtype=bool), weights.copy(), targets.copy()
            if mapped:
                kept = ~generated | (targets >= 0.5)
                rhs = np.where(generated & (targets <= 1), 1.0, targets)
                lhs, rhs = lhs * kept, rhs * kept
            Z = Y[items]
            A = Y.T @ Y + (Z.T * lhs) @ Z + 0.5 * kept.sum() * np.eye(3)
            x = np.linalg.solve(A, Z.T @ rhs)
            gram += np.outer(x, x)
            np.add.at(curvature, items, weights[:, None] * x**2)
        solved[mapped] = gram, curvature
    gram, curvature = solved[True]
    np.testing.assert_allclose(model.user_gram_, gram, rtol=1e-4)
    np.testing.assert_allclose(model.item_curvature_, curvature, rtol=1e-4, atol=1e-7)
    # MFRecommender's own right-hand side for the entries MLlib cannot express
    # (c w <= 1) is not what MLlib solved.
    assert not np.allclose(model.user_gram_, solved[False][0], rtol=1e-3)


@pytest.mark.parametrize("rows, schema, params, error, message", [
    ([("a", "x", 1.0, "no")], "user_id string, item_id string, plays double, generated string",
     {}, TypeError, (r"column 'generated' must hold booleans \(True for a generated record\), "
                     r"got string")),
    ([("a", "x", 1.0, False), ("a", "y", 1.5, True), ("b", "y", 0.0, True)],
     "user_id string, item_id string, plays double, generated boolean", {}, ValueError,
     (r"2 generated records \('generated' True\) out of 3 have a value outside \(0, 1\] in "
      r"column 'plays'")),
    ([("a", "x", 1.0, False), ("a", "y", 0.5, None)],
     "user_id string, item_id string, plays double, generated boolean", {}, ValueError,
     r"column 'generated' holds 1 nulls out of 2 records"),
    ([("a", "x", 1.0, False)], "user_id string, item_id string, plays double, generated boolean",
     {"value_col": None}, ValueError, r"generated_col='generated' needs value_col"),
])
def test_bad_generated_column_is_rejected_before_training(spark, rows, schema, params, error,
                                                           message):
    model = SparkALS(2, **{"value_col": "plays", "generated_col": "generated", **params})
    with pytest.raises(error, match=message):
        model.fit(spark.createDataFrame(rows, schema))
    assert not hasattr(model, "recommender_")


def test_spark_gan_augmenter_output_feeds_sparkals_with_its_mark(spark, fitted, log):
    """SparkGANAugmenter.transform's DataFrame, fitted and served with its generated column."""
    from sklearn_agn import GANAugmenter
    from sklearn_agn.gan import generated_mask
    from sklearn_agn.spark import SparkGANAugmenter

    users, X = _matrix(fitted, _log())
    X.data[:] = 1.0  # the GAN binarizes the real values
    # Fitted on the driver (test_spark_gan.py covers the DDP fit): its
    # transform runs as the Spark job all the same.
    gan = SparkGANAugmenter(value_col="plays")
    gan.encoder_ = fitted.encoder_
    gan.augmenter_ = GANAugmenter(g_hidden_sizes=(16,), d_hidden_sizes=(8,), noise_dim=4,
                                  batch_size=8, max_iter=2, sparse_threshold=5, n_generated=2,
                                  min_negatives=5, device="cpu", random_state=0).fit(X)
    augmented = gan.transform(log)
    model = SparkALS(3, n_iter=2, value_col="plays", generated_col="generated", num_blocks=2,
                     random_state=0).fit(augmented)
    X_aug = gan.augmenter_.transform(X)  # marked, as the Spark job's output
    assert generated_mask(X_aug).nnz == augmented.where("generated").count() > 0
    np.testing.assert_array_equal(model.recommender_.item_interaction_counts_,
                                  np.diff(X.tocsc().indptr))
    # Served by a Spark job reading the mark: as the marked matrix on the driver.
    out = model.recommend_all(augmented, k=3).toPandas().sort_values(["user_id", "rank"])
    expected = model.encoder_.inverse_transform_items(model.recommender_.recommend(X_aug, k=3))
    got = out.groupby("user_id")["item_id"].apply(list).to_dict()
    assert got == {user: list(row[row != None]) for user, row in zip(users, expected)  # noqa: E711
                   if (row != None).any()}  # noqa: E711
