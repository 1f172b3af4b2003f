"""MLlib's implicit-feedback ALS behind scikit-learn's API, fitted model served by the library."""

import copy
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .._fit_state import atomic_fit
from .._validation import mark_generated
from ..metrics import RANKING_METRICS
from ..mf._recommender import MFRecommender
from . import _input, _statistics
from ._input import GENERATED, ITEM, ITEM_INDEX, USER, USER_INDEX, VALUE
from ._session import active_session, ensure_checkpoint_directory, pyspark_modules


class SparkALS(BaseEstimator):
    """Implicit-feedback matrix factorisation fitted by Spark MLlib's ALS on a cluster.

    ``fit`` takes interaction records on the active SparkSession's cluster (a
    DataFrame of ``(user, item[, value][, generated])`` or a Parquet path:
    real interactions, and the generated feedback of
    :class:`SparkGANAugmenter` marked as such), indexes the ids
    and fits :class:`pyspark.ml.recommendation.ALS` with
    ``implicitPrefs=True`` there. The records never reach the driver: it
    receives the item factors, one record per item and the sufficient
    statistics of the users, aggregated on the cluster. What comes back is a
    fitted :class:`~sklearn_agn.MFRecommender` (``recommender_``) that serves
    like one trained on a single machine: ``predict`` with fold-in, filters,
    ``similar_items``, ``explain``, ``partial_fit`` and
    :mod:`sklearn_agn.persistence`; and an
    :class:`~sklearn_agn.preprocessing.InteractionEncoder` (``encoder_``)
    mapping item ids to its columns. :meth:`recommend_all` serves every user
    of a log as a Spark job.

    Same objective as :class:`~sklearn_agn.MFRecommender` (see Notes for
    where it differs), same hyper-parameter names.

    Parameters
    ----------
    n_factors : int, default=64
        Dimension of the latent factors (MLlib's ``rank``).
    regularization : float, default=0.3
        Penalty ``lambda`` (MLlib's ``regParam``); a row with ``n``
        interactions is penalised by ``regularization * n`` (see Notes).
    regularization_exponent : float, default=1.0
        Only 1.0: MLlib always scales the penalty by the count of
        interactions. Present so that the parameters read as
        ``MFRecommender``'s; any other value is a ValueError.
    alpha : float, default=2.0
        Confidence scale: an entry of value ``r`` has confidence ``1 + alpha * r``.
    n_iter : int, default=15
        ALS sweeps (MLlib's ``maxIter``).
    user_col, item_col : str, default="user_id", "item_id"
        Columns of user and item ids (strings or integers).
    value_col : str, default=None
        Column of non-negative values (play counts, ratings...). None counts
        every (user, item) pair once, with value 1; otherwise the values of
        a pair listed several times are summed and pairs summing to 0 dropped.
    generated_col : str, default=None
        Column of booleans marking generated feedback (True), such as the
        ``generated`` column of :meth:`SparkGANAugmenter.transform`'s output;
        needs ``value_col``, where a generated record holds its weight ``w``
        in (0, 1]. Generated entries are fitted as ``MFRecommender`` fits
        the generated entries of a marked matrix, as closely as MLlib can
        express it (see Notes). A pair with a real record is real (its
        generated records are ignored); a pair listed as generated several
        times is one entry, of the largest weight. None reads every record
        as a real interaction.
    num_blocks : int, default=None
        MLlib's ``numUserBlocks`` and ``numItemBlocks`` (its default, 10,
        when None): the number of partitions of each side of the factorisation.
    checkpoint_interval : int or None, default=10
        MLlib's ``checkpointInterval``: the factors are checkpointed every
        this many sweeps, into the SparkContext's checkpoint directory. This
        bounds their lineage, which otherwise grows with every sweep until
        serialising a task overflows the JVM's stack. When ``n_iter`` exceeds
        it and the context has no checkpoint directory, ``fit`` sets a
        temporary one in local mode (with a warning) and raises a ValueError
        on a cluster, where the directory must be on shared storage (HDFS,
        S3...): call ``spark.sparkContext.setCheckpointDir`` first. None
        never checkpoints (MLlib's -1).
    k : int, default=10
        ``k`` of the returned recommender and of :meth:`recommend_all`.
    metric : {"ndcg", "precision", "recall", "mrr", "hit_rate"}, default="ndcg"
        ``metric`` of the returned recommender.
    batch_size : int, default=1024
        ``batch_size`` of the returned recommender (rows scored at a time,
        also within each task of :meth:`recommend_all`).
    random_state : int, RandomState instance or None, default=None
        Seed of MLlib's initial factors.

    Attributes
    ----------
    recommender_ : MFRecommender
        The fitted model: ``item_factors_`` from MLlib, ``user_gram_``,
        ``item_curvature_`` and ``item_interaction_counts_`` aggregated on
        the cluster from MLlib's final user factors (as ``MFRecommender.fit``
        keeps them: generated entries enter the curvature with their weight,
        the counts hold real interactions only), ``n_features_in_`` the
        number of items (of real and generated records). Its parameters are
        this estimator's (with ``solver="cholesky"``, the solver MLlib uses,
        for ``partial_fit``).
    encoder_ : InteractionEncoder
        Maps item ids to the recommender's columns and back
        (``encoder_.item_ids_``, sorted, is the column order). It was fitted
        on one record per item, so its ``user_ids_`` hold only a few users:
        serve users by id with ``encoder_.recommend(recommender_, log,
        users=...)`` or ``encoder_.transform(log, users=...)``.
    n_interactions_ : int
        Number of real (user, item) pairs the model was fitted on.
    n_users_ : int
        Number of distinct users in the fit (their factors stayed on the cluster).

    See Also
    --------
    sklearn_agn.MFRecommender : The same model fitted on one machine.

    Notes
    -----
    Objective. MLlib's implicit ALS (``mllib/.../recommendation/ALS.scala``,
    ``computeFactors``) solves, for each user with item factors ``Y`` fixed,

        (Y^T Y + sum_i c1_ui y_i y_i^T + regParam * n_u I) x_u = sum_i (1 + c1_ui) y_i

    with ``c1_ui = alpha * |r_ui|`` over the entries of value ``r_ui > 0``
    (preference 1), ``n_u`` their number, and the same for items. This is
    :class:`~sklearn_agn.MFRecommender`'s normal equation (see
    ``sklearn_agn/mf/_als_equations.py``) with ``alpha`` the same, preference 1
    and confidence ``1 + alpha * r`` the same, and the penalty
    ``regularization * (n_u + 1) ** regularization_exponent`` replaced by
    ``regularization * n_u``. Hence:

    - the mapping holds exactly for the confidence and the data term, and
      the penalties agree up to ``regularization`` per row (a relative
      difference of ``1 / (n_u + 1)``: 5% for a user with 20 interactions);
    - no other exponent exists in MLlib (0, the classic constant penalty,
      cannot be expressed);
    - generated feedback: see below;
    - MLlib initialises each factor at a random unit vector of non-negative
      entries, ``MFRecommender`` at ``0.01 * N(0, 1)``: the two reach
      different local optima of the same kind of objective;
    - the served model folds users in with ``MFRecommender``'s penalty, so a
      user's served factor differs from MLlib's final one by the penalty
      difference above.

    Generated feedback (``generated_col``). ``MFRecommender`` gives a
    generated entry of weight ``w`` preference ``w`` and confidence ``c = 1
    + alpha * w``: it adds ``alpha * w`` to the left-hand side's curvature
    and ``c * w`` to the right-hand side, and does not count in ``n_u``.
    MLlib adds up a pair's records (it never merges them) and also takes
    negative values: a record of value ``r < 0`` has preference 0 and adds
    ``alpha * |r|`` to the curvature, nothing to the right-hand side, and is
    not counted in ``n_u``. So ``SparkALS`` writes a generated entry as a
    record of value ``r = (c * w - 1) / alpha`` (preference 1: it brings
    ``1 + alpha * r = c * w``) and one of value ``r - w`` (the curvature
    left, ``alpha * (w - r)``). This is exact in the data term when ``c * w
    > 1`` (``w > 1/2`` at ``alpha = 2``, ``w > 0.27`` at ``alpha = 10``; the
    weights ``GANAugmenter`` gave on ML100K, 0.57 to 1, all are from ``alpha
    = 1.34`` on), and:

    - the preference-1 record counts in MLlib's ``n_u`` (and the item's
      ``n_i``): the penalty grows by ``regularization`` per generated entry
      fitted, where ``MFRecommender``'s does not;
    - MLlib cannot bring less than 1 to the right-hand side from a
      preference-1 record: where ``c * w <= 1`` the entry's ``c * w`` is
      rounded to the nearer of 1 (a preference-1 record of the least
      positive float32, and the curvature ``alpha * w`` as a preference-0
      record) and 0 (below 1/2: the entry is left out, as an unobserved
      pair, rather than turned into a preference-0 record that would push the
      item below unobserved ones). With ``alpha = 0`` every generated entry
      is such a case (exact at ``w = 1`` only).

    MLlib updates items then users in each sweep, so its final user factors
    solve the user equations exactly against the final item factors: the
    statistics computed from them are those ``MFRecommender.fit`` keeps.
    The tests check the statistics against this equation solved on the driver.

    Examples
    --------
    >>> from sklearn_agn.spark import SparkALS
    >>> log = spark.read.parquet("interactions.parquet")  # doctest: +SKIP
    >>> model = SparkALS(n_factors=64, regularization=1.0).fit(log)  # doctest: +SKIP
    >>> model.recommend_all(log, k=20).write.parquet("top20.parquet")  # doctest: +SKIP
    >>> model.encoder_.recommend(model.recommender_, recent_log, users=["ann"])  # doctest: +SKIP
    >>> augmented = gan.transform(log)  # doctest: +SKIP
    >>> SparkALS(64, value_col="value", generated_col="generated").fit(augmented)  # doctest: +SKIP
    """

    _parameter_constraints = {
        "n_factors": [Interval(Integral, 1, None, closed="left")],
        "regularization": [Interval(Real, 0, None, closed="left")],
        "regularization_exponent": [Interval(Real, 0, None, closed="left")],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "n_iter": [Interval(Integral, 1, None, closed="left")],
        "user_col": [str],
        "item_col": [str],
        "value_col": [str, None],
        "generated_col": [str, None],
        "num_blocks": [Interval(Integral, 1, None, closed="left"), None],
        "checkpoint_interval": [Interval(Integral, 1, None, closed="left"), None],
        "k": [Interval(Integral, 1, None, closed="left")],
        "metric": [StrOptions(set(RANKING_METRICS))],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        n_factors=64,
        *,
        regularization=0.3,
        regularization_exponent=1.0,
        alpha=2.0,
        n_iter=15,
        user_col="user_id",
        item_col="item_id",
        value_col=None,
        generated_col=None,
        num_blocks=None,
        checkpoint_interval=10,
        k=10,
        metric="ndcg",
        batch_size=1024,
        random_state=None,
    ):
        self.n_factors = n_factors
        self.regularization = regularization
        self.regularization_exponent = regularization_exponent
        self.alpha = alpha
        self.n_iter = n_iter
        self.user_col = user_col
        self.item_col = item_col
        self.value_col = value_col
        self.generated_col = generated_col
        self.num_blocks = num_blocks
        self.checkpoint_interval = checkpoint_interval
        self.k = k
        self.metric = metric
        self.batch_size = batch_size
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=True)
    @atomic_fit
    def fit(self, X, y=None):
        """Fit MLlib's implicit ALS on the cluster and gather what serving needs.

        Parameters
        ----------
        X : pyspark.sql.DataFrame or str or path-like
            Interaction records with columns ``user_col``, ``item_col`` and,
            when set, ``value_col`` and ``generated_col``; or the path of a
            Parquet dataset of them.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        self : SparkALS
            The fitted estimator. If any step fails (a Spark job included),
            the estimator is left as it was.
        """
        if self.regularization_exponent != 1.0:
            raise ValueError(
                f"regularization_exponent={self.regularization_exponent!r} is not available: "
                "MLlib's ALS always penalises each row by regularization times its number of "
                "interactions (exponent 1.0). Use MFRecommender for another exponent."
            )
        if self.generated_col is not None and self.value_col is None:
            raise ValueError(
                f"generated_col={self.generated_col!r} needs value_col: a generated record's "
                f"value is its weight in (0, 1] (SparkGANAugmenter.transform writes it in the "
                f"column 'value' unless told otherwise). Set value_col."
            )
        spark = active_session()
        ensure_checkpoint_directory(spark, self.n_iter, self.checkpoint_interval)
        columns = (self.user_col, self.item_col, self.value_col)
        records = _input.read_interactions(spark, X, columns, self.generated_col)
        _input.check_records(records, columns, self.generated_col)
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        cached = []
        try:
            fitted = self._fit_on_cluster(spark, records, columns, seed, cached)
        finally:
            for frame in cached:
                frame.unpersist()
        (self.recommender_, self.encoder_, self.n_interactions_,
         self.n_users_) = fitted
        return self

    def _fit_on_cluster(self, spark, records, columns, seed, cached):
        """Index, fit and aggregate; returns the fitted attributes. Persisted frames go in ``cached``."""
        from pyspark.ml.recommendation import ALS

        encoder, entries, _ = _input.index_records(spark, records, columns, cached,
                                                   generated_col=self.generated_col)
        item_ids = encoder.item_ids_
        blocks = {} if self.num_blocks is None else dict(numUserBlocks=self.num_blocks,
                                                           numItemBlocks=self.num_blocks)
        als = ALS(rank=self.n_factors, maxIter=self.n_iter, regParam=self.regularization,
                  alpha=self.alpha, implicitPrefs=True, userCol=USER_INDEX, itemCol=ITEM_INDEX,
                  ratingCol=VALUE, seed=seed, **blocks,
                  checkpointInterval=-1 if self.checkpoint_interval is None
                  else self.checkpoint_interval)
        model = als.fit(entries if self.generated_col is None
                        else _mllib_records(entries, self.alpha))
        user_factors = model.userFactors.persist()
        cached.append(user_factors)
        item_factors = np.zeros((len(item_ids), self.n_factors), dtype=np.float32)
        for row in model.itemFactors.collect():
            item_factors[row["id"]] = row["features"]
        gram = _statistics.user_gram(user_factors, self.n_factors)
        curvature, counts = _statistics.item_statistics(
            entries, user_factors, self.alpha, len(item_ids), self.n_factors)
        recommender = MFRecommender(
            self.n_factors, regularization=self.regularization, regularization_exponent=1.0,
            alpha=self.alpha, n_iter=self.n_iter, solver="cholesky", k=self.k,
            metric=self.metric, batch_size=self.batch_size, dtype="float32", device="cpu",
            random_state=self.random_state)
        recommender._set_item_factors(item_factors)
        recommender.user_gram_ = gram
        recommender.item_curvature_ = curvature
        recommender.item_interaction_counts_ = counts
        recommender.n_features_in_ = len(item_ids)
        # MLlib runs maxIter sweeps and computes no loss, as a local fit with tol=None.
        recommender.n_iter_, recommender.loss_curve_ = self.n_iter, None
        return recommender, encoder, int(counts.sum()), int(user_factors.count())

    def recommend_all(self, X, k=None):
        """Top-``k`` item ids for every user of ``X``, as a Spark job.

        Each user's row is built from their records in ``X`` and served by
        ``recommender_`` on the executors, which receive it (item factors and
        statistics) as one broadcast: users are folded in and scored there,
        their own interactions never recommended back, exactly as
        ``recommender_.recommend`` does on one machine. Records of items
        unseen in fit are ignored; a user with none left is cold and gets the
        most popular items. With ``generated_col``, generated records are read
        with their mark, as ``recommender_`` reads a marked matrix: folded in
        with their weight, and not filtered out of the recommendations.

        Parameters
        ----------
        X : pyspark.sql.DataFrame or str or path-like
            Interaction records (the users' histories), as in :meth:`fit`.
        k : int, default=None
            Items per user; the estimator's ``k`` when None.

        Returns
        -------
        recommendations : pyspark.sql.DataFrame
            Columns ``user_col``, ``rank`` (1 is best) and ``item_col``, one
            row per recommended item; lazy, like any DataFrame: nothing runs
            until it is written or collected.
        """
        check_is_fitted(self)
        k = self.k if k is None else k
        if not isinstance(k, Integral) or k < 1:
            raise ValueError(f"k must be a positive int, got {k!r}.")
        spark = active_session()
        F, T = pyspark_modules()
        columns = (self.user_col, self.item_col, self.value_col)
        records = _input.read_interactions(spark, X, columns, self.generated_col)
        _input.check_records(records, columns, self.generated_col)
        item_ids = self.encoder_.item_ids_
        item_type = records.schema[self.item_col].dataType
        item_index = _input.item_index_frame(spark, item_ids, item_type)
        pairs = _input.interaction_pairs(records, columns, self.generated_col)
        # Per user, the lists of the known items' columns, values and flags.
        known = [F.collect_list(F.when(F.col(ITEM_INDEX).isNotNull(), F.col(name))).alias(name)
                 for name in pairs.columns[2:]]
        histories = (pairs.join(F.broadcast(item_index), ITEM, "left")
                     .groupBy(USER).agg(F.collect_list(ITEM_INDEX).alias("items"), *known))
        # Spark splits the users across tasks: each scores on one thread.
        model = copy.copy(self.recommender_).set_params(n_jobs=1)
        shared = spark.sparkContext.broadcast((model, item_ids))
        schema = T.StructType([
            T.StructField(self.user_col, records.schema[self.user_col].dataType, False),
            T.StructField("rank", T.IntegerType(), False),
            T.StructField(self.item_col, item_type, False)])
        user_col, item_col = self.user_col, self.item_col

        def recommend(batches):
            import pandas as pd

            model, item_ids = shared.value
            for batch in batches:
                rows = _history_rows(batch["items"], batch[VALUE], len(item_ids),
                                     batch.get(GENERATED))
                ranked = model.recommend(rows, k)
                found = ranked >= 0
                yield pd.DataFrame({
                    user_col: np.repeat(batch[USER].to_numpy(), found.sum(axis=1)),
                    "rank": np.broadcast_to(np.arange(1, ranked.shape[1] + 1, dtype=np.int32),
                                            ranked.shape)[found],
                    item_col: item_ids[ranked[found]]})

        return histories.mapInPandas(recommend, schema)


def _mllib_records(entries, alpha):
    """The records MLlib fits for ``entries``: real ones as they are, generated ones mapped.

    A generated entry of weight ``w`` (``c = 1 + alpha * w``) becomes a
    preference-1 record of value ``r = (c w - 1) / alpha`` and a
    preference-0 record of value ``r - w`` (see :class:`SparkALS`'s Notes);
    where ``c w <= 1``, ``r`` is the least positive float32 if ``c w >= 1/2``,
    and the entry is left out below.
    """
    F, _ = pyspark_modules()
    weight = F.col(VALUE)
    target = (1 + alpha * weight) * weight
    # MLlib reads float32 values and gives preference 1 to a value > 0: the
    # least positive one brings 1 to the right-hand side (alpha times it
    # vanishes against 1). CASE WHEN divides only where c w > 1, so alpha > 0.
    positive = F.when(target > 1, (target - 1) / alpha).otherwise(
        float(np.finfo(np.float32).tiny))
    generated = entries.filter(F.col(GENERATED) & (target >= 0.5))
    ids = (USER_INDEX, ITEM_INDEX)
    return (entries.filter(~F.col(GENERATED)).select(*ids, VALUE)
            .unionByName(generated.select(*ids, positive.alias(VALUE)))
            .unionByName(generated.select(*ids, (positive - weight).alias(VALUE))
                         .filter(F.col(VALUE) < 0)))


def _history_rows(items, values, n_items, generated=None):
    """A CSR matrix of users' rows from per-user lists of item indices and values.

    ``generated``, per-user lists of flags aligned with ``values`` (or None),
    marks the generated entries as :class:`~sklearn_agn.GANAugmenter` does.
    """
    import scipy.sparse as sp

    lengths = np.fromiter((len(row) for row in items), dtype=np.int64, count=len(items))
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    indices = np.concatenate([np.asarray(row, dtype=np.int64) for row in items] + [[]])
    indices = indices.astype(np.int64)
    data = np.concatenate([np.asarray(row, dtype=np.float64) for row in values] + [[]])
    X = sp.csr_matrix((data, indices, indptr), shape=(len(items), n_items))
    if generated is not None:
        flags = np.concatenate([np.asarray(row, dtype=bool) for row in generated] + [[]])
        # The mark holds the generated entries only; eliminate_zeros compacts
        # the mask's arrays in place, so they must not be X's.
        mask = sp.csr_matrix((flags.astype(bool), indices.copy(), indptr.copy()), shape=X.shape)
        mask.eliminate_zeros()
        mark_generated(X, mask)
    return X
