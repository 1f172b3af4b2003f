"""GAN + MF against SparkALS reading the same generated feedback with its mark, on ML100K.

On the ML100K CFGAN split (``../shared/data/ml100k-cfgan``; the test file is
read only to score), per seed, ``GANAugmenter(random_state=seed)`` (its
defaults, 40 epochs) is fitted on train on the driver. For each
``--augment THRESHOLD:N`` (``sparse_threshold`` and ``n_generated`` of its
``transform``, set before looking at any score), the augmented train matrix
(marked) is fitted four ways, all at the same settings (64 factors,
``regularization=0.3``, ``alpha=2.0``, 15 iterations, exact solves; MLlib's
penalty has exponent 1):

- ``GAN + MF``: ``MFRecommender(solver="cholesky",
  regularization_exponent=1.0)`` on the marked matrix, recommending for the
  augmented rows (what ``make_pipeline(gan, mf).predict(train)`` does);
- ``SparkALS, generated_col``: the same records as a Spark DataFrame
  ``(user_id, item_id, value, generated)`` (the form of
  ``SparkGANAugmenter.transform``'s output), ``SparkALS(value_col="value",
  generated_col="generated")``, served by ``recommend_all`` on it;
- ``SparkALS, generated read as real``: the same DataFrame without
  ``generated_col``;
- ``SparkALS, real only``: the train records alone.

NDCG@20 over the test users, ranking every item a user has not in train.
Spark runs on ``local[2]``.

Usage, from the repository root (the machine is shared: one thread per process)::

    OMP_NUM_THREADS=1 python benchmarks/bench_spark_generated.py --seeds 0 1 --augment 20:10 100:10
"""

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from sklearn_agn import GANAugmenter, MFRecommender
from sklearn_agn.datasets import load_triplets
from sklearn_agn.gan import generated_mask
from sklearn_agn.metrics import ndcg_at_k
from sklearn_agn.spark import SparkALS

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "ml100k-cfgan"
SHAPE = (943, 1682)
SETTINGS = {"regularization": 0.3, "alpha": 2.0, "n_iter": 15}


def augmented_frame(spark, train, X_aug):
    """The records of ``X_aug``: train's pairs (value 1) and the generated ones (their weight)."""
    generated = generated_mask(X_aug).tocoo()
    real = train.tocoo()
    frame = pd.DataFrame({
        "user_id": np.concatenate([real.row, generated.row]).astype(np.int64),
        "item_id": np.concatenate([real.col, generated.col]).astype(np.int64),
        "value": np.concatenate([np.ones(real.nnz),
                                 np.asarray(X_aug[generated.row, generated.col]).ravel()]),
        "generated": np.arange(real.nnz + generated.nnz) >= real.nnz})
    return spark.createDataFrame(frame)


def spark_ndcg(model, frame, test, k=20):
    """NDCG@k of ``recommend_all`` (a Spark job) on ``frame``, item ids being test's columns."""
    out = model.recommend_all(frame, k=k).toPandas()
    ranked = np.full((test.shape[0], k), -1)
    ranked[out["user_id"].to_numpy(), out["rank"].to_numpy() - 1] = out["item_id"].to_numpy()
    return ndcg_at_k(test, ranked, k)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--augment", nargs="+", default=["20:10", "100:10"],
                        help="sparse_threshold:n_generated of the GAN's transform")
    args = parser.parse_args()
    if not (DATA / "train.txt").exists():
        sys.exit(f"{DATA} is absent: this benchmark needs the ML100K CFGAN split.")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    spark = (SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
             .config("spark.sql.shuffle.partitions", "4").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    spark.sparkContext.setCheckpointDir(tempfile.mkdtemp(prefix="bench_spark_generated_"))
    train = load_triplets(DATA / "train.txt", shape=SHAPE)
    test = load_triplets(DATA / "test.txt", shape=SHAPE)
    coo = train.tocoo()
    real = spark.createDataFrame(pd.DataFrame({"user_id": coo.row.astype(np.int64),
                                               "item_id": coo.col.astype(np.int64)})).cache()
    methods = ["GAN + MF", "SparkALS, generated_col", "SparkALS, generated read as real",
               "SparkALS, real only"]
    scores = {}
    for seed in args.seeds:
        gan = GANAugmenter(device="cpu", random_state=seed).fit(train)
        spark_real = SparkALS(64, num_blocks=4, random_state=seed, **SETTINGS).fit(real)
        real_only = spark_ndcg(spark_real, real, test)
        for setting in args.augment:
            threshold, n_generated = map(int, setting.split(":"))
            X_aug = gan.set_params(sparse_threshold=threshold, n_generated=n_generated) \
                .transform(train)
            frame = augmented_frame(spark, train, X_aug).cache()
            mf = MFRecommender(64, solver="cholesky", regularization_exponent=1.0, device="cpu",
                               random_state=seed, **SETTINGS).fit(X_aug)
            row = [ndcg_at_k(test, mf.predict(X_aug, k=20), 20)]
            for generated_col in ("generated", None):
                model = SparkALS(64, value_col="value", generated_col=generated_col,
                                 num_blocks=4, random_state=seed, **SETTINGS).fit(frame)
                row.append(spark_ndcg(model, frame, test))
            row.append(real_only)
            frame.unpersist()
            scores.setdefault(setting, []).append(row)
            print(f"seed {seed}, augment {setting} ({generated_mask(X_aug).nnz} generated): "
                  + ", ".join(f"{name} {value:.4f}" for name, value in zip(methods, row)),
                  flush=True)
    print(f"\n64 factors, regularization {SETTINGS['regularization']}, alpha "
          f"{SETTINGS['alpha']}, {SETTINGS['n_iter']} iterations, seeds {args.seeds}; "
          "NDCG@20, mean ± sd over the seeds\n")
    print("| sparse_threshold:n_generated | " + " | ".join(methods) + " |")
    print("|---|" + "---:|" * len(methods))
    for setting, rows in scores.items():
        table = np.array(rows)
        sd = table.std(axis=0, ddof=1) if len(rows) > 1 else np.zeros(len(methods))
        print(f"| {setting} | " + " | ".join(f"{m:.4f} ± {s:.4f}"
                                           for m, s in zip(table.mean(axis=0), sd)) + " |")
    spark.stop()


if __name__ == "__main__":
    main()
