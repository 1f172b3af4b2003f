"""GANAugmenter trained with PyTorch DDP across Spark's executors, its transform as a Spark job."""

import copy
import math
import os
import shutil
import tempfile
import uuid
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, _fit_context, clone
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from .._fit_state import atomic_fit
from ..gan._augmenter import GANAugmenter, _check_layer_sizes, generated_mask
from . import _input
from ._als import _history_rows
from ._input import ITEM, ITEM_INDEX, USER, USER_INDEX, VALUE
from ._session import active_session, pyspark_modules

# Column of the staged pairs: the rank whose shard a user's pairs are in.
_SHARD = "shard"


class SparkGANAugmenter(BaseEstimator):
    """Train a :class:`~sklearn_agn.GANAugmenter` on a Spark cluster with PyTorch DDP.

    ``fit`` takes interaction records on the active SparkSession's cluster (a
    DataFrame of ``(user, item[, value])`` or a Parquet path), indexes the
    ids there as :class:`SparkALS` does, writes the indexed ``(user, item)``
    pairs as a Parquet dataset sharded by user, and launches
    ``num_processes`` PyTorch processes through Spark's
    :class:`pyspark.ml.torch.distributor.TorchDistributor` (CPU, gloo).
    Each process reads its shard of users (the records never reach the
    driver) and trains ``augmenter``'s CFGAN wrapped in
    :class:`torch.nn.parallel.DistributedDataParallel`, which all-reduces
    the gradients after every step, so every process holds the same
    weights; rank 0 returns the generator. What comes back is a fitted
    ``GANAugmenter`` (``augmenter_``): ``transform``, ``score_items``,
    ``sample`` and :mod:`sklearn_agn.persistence` work on it on the driver
    as on one fitted on one machine; and the
    :class:`~sklearn_agn.preprocessing.InteractionEncoder` of the items
    (``encoder_``). :meth:`transform` adds generated feedback to the users
    of a log as a Spark job.

    Design: the GAN's hyper-parameters are those of a ``GANAugmenter``
    passed whole (``augmenter``), not repeated here, so that a model tuned
    on a sample on one machine trains on the cluster as it is, and what
    comes back is that estimator fitted. The parameters of this class say
    only how the cluster trains it.

    Parameters
    ----------
    augmenter : GANAugmenter, default=None
        The model to train (cloned; ``GANAugmenter()`` when None). Not
        available (a ValueError): ``early_stopping``, ``item_attributes``,
        ``dp_epsilon`` and a GPU ``device``: the distributed training path
        covers the collaborative CFGAN on the CPU only.
    num_processes : int, default=2
        Processes of the DDP job (TorchDistributor's ``num_processes``); on
        a cluster, one Spark task (a barrier stage) each. Each one takes
        ``ceil(n_users / batch_size)`` steps per pass over its shard, the
        steps of a single process, on about ``batch_size / num_processes``
        of its users each: an epoch is the same number of Adam steps, on the
        same global batch size, as on one machine (see Notes). Every shard
        must hold at least that many users.
    local_mode : bool, default=False
        TorchDistributor's ``local_mode``: True runs the processes on the
        driver (for trying it out), False as Spark tasks on the executors.
    user_col, item_col : str, default="user_id", "item_id"
        Columns of user and item ids (strings or integers).
    value_col : str, default=None
        Column of non-negative values. The GAN learns from the pattern of
        the pairs only: a pair whose values sum to 0 is no interaction.
        :meth:`transform` gives the summed values back with
        ``binarize=False``.
    staging_dir : str, default=None
        Where the shards are written (under a fresh sub-directory, removed
        after ``fit``): a directory every executor reads with pyarrow (HDFS,
        S3...). None uses a temporary directory when Spark's master is
        local, and is a ValueError on a cluster.

    Attributes
    ----------
    augmenter_ : GANAugmenter
        The fitted model, with ``n_features_in_`` the number of items in
        ``encoder_``'s order. ``item_popularity_`` is aggregated on the
        cluster; ``row_lengths_`` holds the training rows' lengths sorted
        (from their histogram, aggregated on the cluster): a single process
        holds them in the rows' order, and :meth:`GANAugmenter.sample` draws
        from the same lengths. The losses logged are the means over the
        processes. No cold item: every item indexed has interactions.
    encoder_ : InteractionEncoder
        Maps item ids to ``augmenter_``'s columns and back (sorted item ids),
        fitted on one record per item as in :class:`SparkALS`.
    n_users_ : int
        Number of users trained on.
    n_interactions_ : int
        Number of (user, item) pairs trained on.

    See Also
    --------
    sklearn_agn.GANAugmenter : The same model trained in one process.
    SparkALS : MLlib's ALS, which can read :meth:`transform`'s output.

    Notes
    -----
    What DDP does here. A CFGAN step does not go through the generator's
    ``forward``: it scores only the sampled pairs (``pair_scores``) and the
    per-item tables get sparse gradients, applied by a lazy Adam. DDP
    hooks the gradients of what its wrapper's ``forward`` computes, so each
    network is wrapped in a module whose forward runs the step's loss; its
    item tables are declared as sparse embeddings so that DDP all-reduces
    them as sparse tensors (gloo supports it) instead of densifying them.
    DDP averages the processes' gradients, each the mean over its users:
    the gradient of the mean over the global batch, up to shard sizes
    differing by one user. With one process and ``batch_size`` dividing the
    users, the fit is the one ``GANAugmenter.fit`` makes on the same matrix
    (rows in sorted user order). With several, each process shuffles,
    draws noise and samples negatives from its own streams, so the weights
    differ from a single fit's by the randomness of training, not by its
    dynamics (see the user guide's scaling-out page for the measured NDCG).

    Examples
    --------
    >>> from sklearn_agn import GANAugmenter
    >>> from sklearn_agn.spark import SparkGANAugmenter
    >>> log = spark.read.parquet("plays.parquet")  # doctest: +SKIP
    >>> gan = SparkGANAugmenter(GANAugmenter(max_iter=20, random_state=0),
    ...                         num_processes=4).fit(log)  # doctest: +SKIP
    >>> gan.transform(log).write.parquet("plays_augmented.parquet")  # doctest: +SKIP
    """

    _parameter_constraints = {
        "augmenter": [GANAugmenter, None],
        "num_processes": [Interval(Integral, 1, None, closed="left")],
        "local_mode": ["boolean"],
        "user_col": [str],
        "item_col": [str],
        "value_col": [str, None],
        "staging_dir": [str, os.PathLike, None],
    }

    def __init__(
        self,
        augmenter=None,
        *,
        num_processes=2,
        local_mode=False,
        user_col="user_id",
        item_col="item_id",
        value_col=None,
        staging_dir=None,
    ):
        self.augmenter = augmenter
        self.num_processes = num_processes
        self.local_mode = local_mode
        self.user_col = user_col
        self.item_col = item_col
        self.value_col = value_col
        self.staging_dir = staging_dir

    @_fit_context(prefer_skip_nested_validation=True)
    @atomic_fit
    def fit(self, X, y=None):
        """Train the augmenter on the cluster's records with DDP.

        Parameters
        ----------
        X : pyspark.sql.DataFrame or str or path-like
            Interaction records with columns ``user_col``, ``item_col`` and,
            when set, ``value_col``; or the path of a Parquet dataset of them.
        y : None
            Ignored; present for API consistency.

        Returns
        -------
        self : SparkGANAugmenter
            The fitted estimator. If any step fails (a Spark job or a
            training process included), the estimator is left as it was.
        """
        augmenter = self._check_params()
        spark = active_session()
        columns = (self.user_col, self.item_col, self.value_col)
        records = _input.read_interactions(spark, X, columns)
        staging = self._staging_directory(spark)
        cached = []
        try:
            _input.check_records(records, columns)
            # As GANAugmenter.fit draws it (no early-stopping split before it).
            seed = int(check_random_state(augmenter.random_state)
                       .randint(np.iinfo(np.int32).max - 1))
            fitted = self._fit_on_cluster(spark, records, columns, augmenter, seed, staging,
                                          cached)
        finally:
            for frame in cached:
                frame.unpersist()
            _remove(spark, staging)
        self.augmenter_, self.encoder_, self.n_users_, self.n_interactions_ = fitted
        return self

    def _check_params(self):
        """The augmenter to fit (a clone, validated); ValueErrors for what is not supported."""
        augmenter = GANAugmenter() if self.augmenter is None else clone(self.augmenter)
        augmenter._validate_params()
        refused = {
            "early_stopping": augmenter.early_stopping,
            "item_attributes": augmenter.item_attributes is not None,
            "dp_epsilon": augmenter.dp_epsilon is not None,
        }
        for name, used in refused.items():
            if used:
                raise ValueError(
                    f"SparkGANAugmenter does not support GANAugmenter({name}=...): the "
                    "distributed training covers the collaborative CFGAN only. Unset it, or "
                    "fit GANAugmenter on one machine.")
        if augmenter.device not in ("auto", "cpu"):
            raise ValueError(
                f"SparkGANAugmenter trains on the executors' CPUs (gloo), not on "
                f"device={augmenter.device!r}: set device='cpu' or 'auto'.")
        return augmenter

    def _staging_directory(self, spark):
        """A fresh directory for the shards, or a ValueError naming the fix on a cluster."""
        if self.staging_dir is not None:
            return f"{os.fspath(self.staging_dir).rstrip('/')}/sklearn-agn-gan-{uuid.uuid4().hex}"
        if not spark.sparkContext.master.startswith("local"):
            raise ValueError(
                "staging_dir is None on a cluster: the training processes read their shards "
                "of users from a Parquet dataset written by Spark, on storage every executor "
                "reaches. Set staging_dir to such a directory (HDFS, S3...).")
        return tempfile.mkdtemp(prefix="sklearn-agn-gan-")

    def _fit_on_cluster(self, spark, records, columns, augmenter, seed, staging, cached):
        """Index, stage, train and aggregate; returns the fitted attributes."""
        F, _ = pyspark_modules()
        from pyspark.ml.torch.distributor import TorchDistributor

        from ..gan import _training

        encoder, entries, numbered = _input.index_records(spark, records, columns, cached,
                                                          sorted_users=True)
        n_items = len(encoder.item_ids_)
        n_users = numbered.count()
        self._check_shards(n_users, augmenter.batch_size)
        shard = F.pmod(F.col(USER_INDEX), F.lit(self.num_processes))
        (entries.select(USER_INDEX, ITEM_INDEX).withColumn(_SHARD, shard)
         .write.partitionBy(_SHARD).parquet(f"{staging}/pairs"))

        config = _training.TrainingConfig.from_params(
            augmenter.get_params(),
            g_hidden_sizes=_check_layer_sizes(augmenter.g_hidden_sizes, "g_hidden_sizes"),
            d_hidden_sizes=_check_layer_sizes(augmenter.d_hidden_sizes, "d_hidden_sizes"))
        distributor = TorchDistributor(num_processes=self.num_processes,
                                       local_mode=self.local_mode, use_gpu=False)
        generator, log = distributor.run(_train_shard, staging, n_users, n_items, config, seed)

        counts = np.zeros(n_items, dtype=np.int64)
        for row in entries.groupBy(ITEM_INDEX).count().collect():
            counts[row[ITEM_INDEX]] = row["count"]
        histogram = sorted(tuple(row) for row in entries.groupBy(USER_INDEX).count()
                           .groupBy("count").count().collect())
        augmenter.generator_ = generator
        augmenter.loss_curve_ = log.loss_curve
        augmenter.discriminator_loss_curve_ = log.discriminator_loss_curve
        augmenter.validation_scores_ = None
        augmenter.best_validation_score_ = None
        augmenter.n_iter_ = len(log.loss_curve)
        augmenter.item_popularity_ = counts / n_users
        augmenter.row_lengths_ = np.repeat(*np.asarray(histogram, dtype=np.int64).T)
        augmenter.epsilon_ = augmenter.noise_multiplier_ = None
        # Every indexed item has interactions: no cold item, so no threshold
        # (as GANAugmenter.fit sets them without item attributes).
        augmenter.cold_items_ = np.zeros(0, dtype=np.int64)
        augmenter.cold_item_thresholds_ = np.zeros(0)
        augmenter.new_item_threshold_ = np.inf
        augmenter.n_item_features_in_ = augmenter.n_user_features_in_ = 0
        augmenter.n_features_in_ = n_items
        return augmenter, encoder, int(n_users), int(counts.sum())

    def _check_shards(self, n_users, batch_size):
        """Every rank must hold a user for each of the ``ceil(n_users / batch_size)`` steps of a pass."""
        n_steps = math.ceil(n_users / batch_size)
        if n_users // self.num_processes < n_steps:
            raise ValueError(
                f"{n_users} users in batches of batch_size={batch_size} make {n_steps} steps per "
                f"pass, and each of the num_processes={self.num_processes} processes must take "
                f"every step on users of its own, but the smallest shard holds "
                f"{n_users // self.num_processes}. Raise the augmenter's batch_size (to at least "
                f"num_processes) or lower num_processes.")

    def transform(self, X):
        """The users' records plus their generated feedback, as a Spark job.

        Each user's row is built from their records in ``X`` and transformed
        by ``augmenter_`` on the executors, which receive it as one
        broadcast, exactly as ``augmenter_.transform`` does on one machine
        (a row's generated feedback depends on that row alone).

        Parameters
        ----------
        X : pyspark.sql.DataFrame or str or path-like
            Interaction records, as in :meth:`fit`.

        Returns
        -------
        X_aug : pyspark.sql.DataFrame
            Columns ``user_col``, ``item_col``, ``value_col`` (``"value"``
            when None, double) and ``generated`` (bool). Every (user, item)
            pair of ``X`` is kept with ``generated`` False and value 1 (the
            summed value when the augmenter has ``binarize=False``), items
            unseen in fit included; a generated entry has ``generated`` True
            and the generator's weight in (0, 1) as value. Lazy: nothing runs
            until it is written or collected. ``SparkALS(value_col=...,
            generated_col="generated")`` fits on it with the mark read.
        """
        check_is_fitted(self)
        spark = active_session()
        F, T = pyspark_modules()
        columns = (self.user_col, self.item_col, self.value_col)
        records = _input.read_interactions(spark, X, columns)
        _input.check_records(records, columns)
        item_ids = self.encoder_.item_ids_
        item_type = records.schema[self.item_col].dataType
        item_index = _input.item_index_frame(spark, item_ids, item_type)
        pairs = _input.interaction_pairs(records, columns)
        histories = (pairs.join(F.broadcast(item_index), ITEM, "left")
                     .groupBy(USER).agg(F.collect_list(ITEM_INDEX).alias("items"),
                                        F.collect_list(F.when(F.col(ITEM_INDEX).isNotNull(),
                                                              F.col(VALUE))).alias("values")))
        # Executors have no GPU to count on; Spark splits the users across tasks.
        model = copy.copy(self.augmenter_).set_params(device="cpu", verbose=0)
        shared = spark.sparkContext.broadcast((model, item_ids))
        value_col = self.value_col or VALUE
        schema = T.StructType([
            T.StructField(self.user_col, records.schema[self.user_col].dataType, False),
            T.StructField(self.item_col, item_type, False),
            T.StructField(value_col, T.DoubleType(), False),
            T.StructField("generated", T.BooleanType(), False)])
        user_col, item_col = self.user_col, self.item_col

        def generate(batches):
            import pandas as pd
            import torch

            # One thread per task: Spark runs as many tasks as there are cores.
            torch.set_num_threads(1)
            model, item_ids = shared.value
            for batch in batches:
                rows = _history_rows(batch["items"], batch["values"], len(item_ids))
                augmented = model.transform(rows)
                found = generated_mask(augmented).tocoo()
                yield pd.DataFrame({
                    user_col: batch[USER].to_numpy()[found.row],
                    item_col: item_ids[found.col],
                    value_col: np.asarray(augmented[found.row, found.col]).ravel(),
                    "generated": np.ones(found.nnz, dtype=bool)})

        real_value = F.col(VALUE) if not model.binarize else F.lit(1.0)
        real = pairs.select(F.col(USER).alias(user_col), F.col(ITEM).alias(item_col),
                            real_value.cast("double").alias(value_col),
                            F.lit(False).alias("generated"))
        return real.unionByName(histories.mapInPandas(generate, schema))


def _train_shard(staging, n_users, n_items, config, seed):
    """One DDP process: train on this rank's shard, check that the ranks agree.

    Runs under torchrun (TorchDistributor), which sets the rank, world size
    and rendezvous in the environment. Returns ``(generator, log)``; the
    distributor keeps rank 0's.
    """
    import pyarrow.parquet as pq
    import scipy.sparse as sp
    import torch
    import torch.distributed as dist

    from ..gan import _training

    dist.init_process_group("gloo")
    try:
        rank, world = dist.get_rank(), dist.get_world_size()
        table = pq.read_table(f"{staging}/pairs/{_SHARD}={rank}",
                              columns=[USER_INDEX, ITEM_INDEX])
        users = table.column(USER_INDEX).to_numpy()
        # This rank's users are rank, rank + world...: row (u - rank) // world.
        X = sp.csr_matrix(
            (np.ones(len(users)), ((users - rank) // world,
                                   table.column(ITEM_INDEX).to_numpy())),
            shape=(len(range(rank, n_users, world)), n_items))
        X.sort_indices()
        generator, log = _training.fit_cfgan(X, config, device=torch.device("cpu"), seed=seed,
                                             distributed=True)
        # DDP keeps the replicas equal; a silent divergence would return one
        # rank's model as if it were everyone's.
        weights = torch.cat([p.detach().flatten() for p in generator.parameters()])
        reference = weights.clone()
        dist.broadcast(reference, 0)
        same = torch.tensor([int(torch.equal(weights, reference))])
        dist.all_reduce(same, op=dist.ReduceOp.MIN)
        if not same.item():
            raise RuntimeError("the DDP processes ended with different generator weights.")
        return generator, log
    finally:
        dist.destroy_process_group()


def _remove(spark, path):
    """Delete the staged shards, on whichever filesystem Spark wrote them."""
    if "://" not in path or path.startswith("file:"):
        shutil.rmtree(path.removeprefix("file://"), ignore_errors=True)
        return
    jvm = spark.sparkContext._jvm
    hadoop_path = jvm.org.apache.hadoop.fs.Path(path)
    hadoop_path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()).delete(
        hadoop_path, True)

