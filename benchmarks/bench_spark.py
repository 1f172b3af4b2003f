"""SparkALS (MLlib's ALS on Spark) against MFRecommender: NDCG@20 parity and fit time.

``parity``: both fit the ML100K CFGAN split (``../shared/data/ml100k-cfgan``)
at the same settings (64 factors, penalty ``regularization * n``, the same
confidence, exact solves: ``MFRecommender(solver="cholesky",
regularization_exponent=1)``), over a few seeds; NDCG@20 ranks every item a
test user has not seen in train. The Spark path is served as a user would:
its ``recommender_`` predicts on the train rows in the columns of
``encoder_`` (the items that appear in train), mapped back to item ids.

``scale``: fit time of both on ``make_interactions`` data of a given size,
Spark on the master given (``local[2]``, or ``local-cluster[2,1,1024]`` for
two executor JVMs with real shuffles; ``local-cluster`` needs
``SPARK_HOME`` pointing at the pyspark package, which this script sets).
With ``--parquet`` (a dataset written by ``generate``), Spark reads the
records from disk, so that they never pass through the driver, and
``MFRecommender`` is not run; the driver's peak memory is reported either
way: its Python process (``ru_maxrss``, before and after the fit) and its JVM
(``VmHWM``; in ``local-cluster`` mode the executors are other JVMs).

``generate``: ``make_interactions`` data written as a Parquet dataset of
``(user_id, item_id)``, for ``scale --parquet``.

Usage, from the repository root::

    pip install 'sklearn-agn[spark]'
    python benchmarks/bench_spark.py parity --seeds 0 1 2
    python benchmarks/bench_spark.py scale --master 'local-cluster[2,1,1024]' \\
        --interactions 1000000
    python benchmarks/bench_spark.py generate --interactions 4000000 --out /tmp/log4m
    python benchmarks/bench_spark.py scale --master 'local-cluster[1,1,2048]' \\
        --parquet /tmp/log4m --iterations 3
"""

import argparse
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from sklearn_agn import MFRecommender
from sklearn_agn.datasets import load_triplets, make_interactions
from sklearn_agn.metrics import ndcg_at_k
from sklearn_agn.spark import SparkALS

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "ml100k-cfgan"


def start_spark(master):
    import pyspark
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_HOME", os.path.dirname(pyspark.__file__))
    spark = (SparkSession.builder.master(master).config("spark.ui.enabled", "false")
             .config("spark.ui.showConsoleProgress", "false")
             .config("spark.sql.shuffle.partitions", "8")
             .config("spark.driver.memory", "2g").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def records(spark, X):
    """The entries of ``X`` as a DataFrame of (user_id, item_id), via Parquet-free pandas."""
    coo = X.tocoo()
    frame = pd.DataFrame({"user_id": coo.row.astype(np.int64), "item_id": coo.col.astype(np.int64)})
    return spark.createDataFrame(frame)


def settings(args, seed):
    return dict(regularization=args.regularization, alpha=args.alpha, n_iter=args.iterations,
                random_state=seed)


def parity(args):
    train_path, test_path = DATA / "train.txt", DATA / "test.txt"
    if not train_path.exists():
        sys.exit(f"{DATA} is absent: the parity run needs the ML100K CFGAN split.")
    shape = (943, 1682)
    train, test = load_triplets(train_path, shape=shape), load_triplets(test_path, shape=shape)
    spark = start_spark(args.master)
    frame = records(spark, train).cache()
    frame.count()
    rows = []
    for seed in args.seeds:
        mf = MFRecommender(args.factors, solver="cholesky", regularization_exponent=1.0,
                           device="cpu", **settings(args, seed))
        start = time.perf_counter()
        mf.fit(train)
        mf_time = time.perf_counter() - start
        mf_ndcg = ndcg_at_k(test, mf.predict(train, k=20), 20)
        spark_als = SparkALS(args.factors, num_blocks=args.blocks, **settings(args, seed))
        start = time.perf_counter()
        spark_als.fit(frame)
        spark_time = time.perf_counter() - start
        columns = spark_als.encoder_.item_ids_
        ranked = spark_als.recommender_.predict(train[:, columns], k=20)
        spark_ndcg = ndcg_at_k(test, columns[ranked], 20)
        rows.append((seed, mf_ndcg, spark_ndcg, mf_time, spark_time))
        print(f"seed {seed}: NDCG@20 MFRecommender {mf_ndcg:.4f} SparkALS {spark_ndcg:.4f}; "
              f"fit {mf_time:.2f} s against {spark_time:.1f} s", flush=True)
    table = np.array(rows)[:, 1:]
    mean, sd = table.mean(axis=0), table.std(axis=0, ddof=1) if len(rows) > 1 else 0 * table[0]
    print(f"\n{args.factors} factors, regularization {args.regularization}, alpha {args.alpha}, "
          f"{args.iterations} iterations, Spark master {args.master}, {len(rows)} seeds")
    print("| method | NDCG@20 | fit time (s) |")
    print("|---|---|---|")
    print(f"| MFRecommender (cholesky) | {mean[0]:.4f} ± {sd[0]:.4f} | {mean[2]:.2f} |")
    print(f"| SparkALS | {mean[1]:.4f} ± {sd[1]:.4f} | {mean[3]:.1f} |")
    print(f"relative difference {(mean[1] - mean[0]) / mean[0]:+.2%}")


def generate(args):
    X = make_interactions(args.users, args.items, args.interactions, random_state=0).tocoo()
    pd.DataFrame({"user_id": X.row.astype(np.int64), "item_id": X.col.astype(np.int64)}).to_parquet(
        args.out, row_group_size=1_000_000)
    print(f"{X.nnz} interactions, {X.shape[0]} users, {X.shape[1]} items written to {args.out}")


def _peak_mib(pid):
    """Peak resident memory (``VmHWM``) of process ``pid``, in MiB."""
    with open(f"/proc/{pid}/status") as status:
        line = next(line for line in status if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def scale(args):
    spark = start_spark(args.master)
    if args.parquet:
        frame, mf_time, shape = args.parquet, None, None
        n = spark.read.parquet(args.parquet).count()
    else:
        X = make_interactions(args.users, args.items, args.interactions, random_state=0)
        frame, shape = records(spark, X).cache(), X.shape
        n = frame.count()
        mf = MFRecommender(args.factors, solver="cholesky", device="cpu", **settings(args, 0))
        start = time.perf_counter()
        mf.fit(X)
        mf_time = time.perf_counter() - start
    python_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    spark_als = SparkALS(args.factors, num_blocks=args.blocks, **settings(args, 0))
    start = time.perf_counter()
    spark_als.fit(frame)
    spark_time = time.perf_counter() - start
    python_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    jvm = _peak_mib(spark.sparkContext._gateway.proc.pid)
    n_items = spark_als.recommender_.n_features_in_
    print(f"{n} interactions, {spark_als.n_users_} users, {n_items} items, {args.factors} "
          f"factors, {args.iterations} iterations, Spark master {args.master}"
          + ("" if shape is None else " (records sent from the driver)"))
    if mf_time is not None:
        print(f"MFRecommender (cholesky): {mf_time:.1f} s")
    print(f"SparkALS: {spark_time:.1f} s ({spark_time / n * 1e6:.2f} us per interaction)")
    print(f"driver peak memory: Python {python_before:.0f} MiB before the fit, {python_after:.0f} "
          f"MiB after; JVM {jvm:.0f} MiB. Item factors: "
          f"{n_items * args.factors * 4 / 2**20:.1f} MiB")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["parity", "scale", "generate"])
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--factors", type=int, default=64)
    parser.add_argument("--regularization", type=float, default=0.3)
    parser.add_argument("--alpha", type=float, default=2.0)
    parser.add_argument("--iterations", type=int, default=15)
    parser.add_argument("--blocks", type=int, default=4)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--users", type=int, default=50_000)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--interactions", type=int, default=1_000_000)
    parser.add_argument("--parquet", help="scale: read the records from this Parquet dataset")
    parser.add_argument("--out", help="generate: the Parquet dataset to write")
    args = parser.parse_args(argv)
    if args.mode == "generate" and not args.out:
        parser.error("generate needs --out")
    {"parity": parity, "scale": scale, "generate": generate}[args.mode](args)


if __name__ == "__main__":
    main()
