"""SparkGANAugmenter (DDP across Spark tasks) against GANAugmenter in one process, on ML100K.

On the CFGAN split of MovieLens 100K (``train.txt`` only, never the test
file), a validation split ``holdout_split(train, 0.2, random_state=1)`` as
``bench_gan_sampled.py`` makes. Per seed, ``GANAugmenter`` with its defaults
(or ``--epochs``) is fitted twice on the same matrix:

- ``single``: ``GANAugmenter(random_state=seed).fit`` in this process;
- ``ddp``: ``SparkGANAugmenter(GANAugmenter(random_state=seed),
  num_processes=2)`` on a ``local[2]`` session (or ``--master``): the records go to Spark as a
  DataFrame, two barrier tasks each run a DDP process on half of the users,
  ``batch_size / 2`` users per process and step, the steps per epoch of a
  single process.

Both models see the items that have a training interaction (the columns
Spark indexes); the table gives the generator's NDCG@20 ranking of each
user's unobserved items against the validation items (what
``CFGANRecommender`` ranks), and the wall time of each fit (the DDP one
includes Spark's jobs and starting the processes).

Usage, from the repository root (the machine is shared: one thread per process)::

    OMP_NUM_THREADS=1 python benchmarks/bench_spark_gan.py --seeds 3
    OMP_NUM_THREADS=1 python benchmarks/bench_spark_gan.py --first-seed 3 --seeds 5
    OMP_NUM_THREADS=1 python benchmarks/bench_spark_gan.py --seeds 1 --master 'local-cluster[2,1,2048]'
"""

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

from sklearn_agn import GANAugmenter
from sklearn_agn.datasets import load_triplets
from sklearn_agn.metrics import ndcg_at_k
from sklearn_agn.model_selection import holdout_split
from sklearn_agn.spark import SparkGANAugmenter

ROOT = Path(__file__).resolve().parents[1]
ML100K = ROOT.parent / "shared" / "data" / "ml100k-cfgan" / "train.txt"


def generator_ndcg(augmenter, X_fit, X_val, k=20):
    """NDCG@k of the generator's ranking of each row's unobserved items."""
    scores = augmenter.score_items(X_fit)
    scores[X_fit.nonzero()] = -np.inf
    ranked = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return float(ndcg_at_k(X_val, ranked, k))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=0,
                        help="runs seeds FIRST .. FIRST + SEEDS - 1")
    parser.add_argument("--epochs", type=int, default=40, help="max_iter of both fits")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--master", help="Spark master (default local[PROCESSES]); e.g. "
                        "'local-cluster[2,1,2048]' for two executor JVMs, one task each")
    args = parser.parse_args()
    if not ML100K.exists():
        sys.exit(f"{ML100K} not found")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    spark = (SparkSession.builder.master(args.master or f"local[{args.processes}]")
             .appName("bench-spark-gan").config("spark.ui.enabled", "false")
             .config("spark.sql.shuffle.partitions", str(args.processes)).getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")

    X_fit, X_val = holdout_split(load_triplets(ML100K), 0.2, random_state=1)
    users, items = X_fit.nonzero()
    log = spark.createDataFrame(
        list(zip(users.tolist(), items.tolist())), "user_id long, item_id long").cache()
    print(f"master {spark.sparkContext.master}, {os.cpu_count()} CPUs, "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}, "
          f"load average {os.getloadavg()[0]:.1f} at start; {X_fit.shape[0]} users, "
          f"{X_fit.nnz} training interactions, {args.epochs} epochs", flush=True)
    print("\n| seed | fit | processes | fit (s) | generator NDCG@20 |")
    print("|---:|---|---:|---:|---:|")
    results = {"single": [], "ddp": []}
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        params = dict(max_iter=args.epochs, device="cpu", random_state=seed)
        start = time.perf_counter()
        ddp = SparkGANAugmenter(GANAugmenter(**params), num_processes=args.processes).fit(log)
        ddp_s = time.perf_counter() - start
        # The columns Spark indexed (item ids are the columns of X_fit).
        columns = ddp.encoder_.item_ids_
        X_items, X_val_items = X_fit[:, columns], X_val[:, columns]
        start = time.perf_counter()
        single = GANAugmenter(**params).fit(X_items)
        single_s = time.perf_counter() - start
        for name, model, seconds, n in (("single", single, single_s, 1),
                                        ("ddp", ddp.augmenter_, ddp_s, args.processes)):
            score = generator_ndcg(model, X_items, X_val_items)
            results[name].append(score)
            print(f"| {seed} | {name} | {n} | {seconds:.0f} | {score:.4f} |", flush=True)
    for name, values in results.items():
        sd = np.std(values, ddof=1) if len(values) > 1 else 0.0
        print(f"| mean ± sd | {name} | | | {np.mean(values):.4f} ± {sd:.4f} |")
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end (shared machine).")
    spark.stop()


if __name__ == "__main__":
    main()
