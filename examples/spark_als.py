"""Train on Spark with MLlib's ALS, serve with the library.

A local Spark session stands in for a cluster: the interaction log is a Spark
DataFrame (on a cluster, ``spark.read.parquet(...)``), ``SparkALS`` fits
MLlib's implicit ALS on it, and what comes back is a fitted
``MFRecommender``: it recommends for every user as a Spark job, and on the
driver it folds a brand-new user in and takes new feedback with
``partial_fit``. Needs ``pip install 'sklearn-agn[spark]'`` and Java 17.
"""

import os
import sys

import numpy as np
import pandas as pd
from pyspark.sql import SparkSession

from sklearn_agn.datasets import make_interactions
from sklearn_agn.spark import SparkALS

# Executors' Python workers must run this interpreter, which has sklearn_agn.
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
spark = (SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
         .config("spark.sql.shuffle.partitions", "2").getOrCreate())
spark.sparkContext.setLogLevel("ERROR")

X = make_interactions(300, 80, 3_000, random_state=0).tocoo()
log = spark.createDataFrame(pd.DataFrame({"user_id": [f"user-{u:03d}" for u in X.row],
                                          "item_id": [f"sku-{i:03d}" for i in X.col]}))

model = SparkALS(16, regularization=0.3, alpha=2.0, n_iter=5, num_blocks=2,
                 random_state=0).fit(log)
print(f"fitted on {model.n_interactions_} interactions of {model.n_users_} users; "
      f"{model.recommender_.n_features_in_} item factors on the driver")

top = model.recommend_all(log, k=3)  # a Spark job; user factors never leave the cluster
print(top.orderBy("user_id", "rank").limit(6).toPandas().to_string(index=False))

# Serving on one machine: a newcomer by id, from a few interactions.
newcomer = {"user_id": ["new"] * 3, "item_id": ["sku-000", "sku-001", "sku-002"]}
print("newcomer (saw sku-000, sku-001, sku-002):",
      ", ".join(model.encoder_.recommend(model.recommender_, newcomer, users=["new"], k=3)[0]))

# New feedback, without a Spark job: partial_fit uses the statistics aggregated on the cluster.
before = model.recommender_.item_factors_.copy()
model.recommender_.partial_fit(model.encoder_.transform(newcomer, users=["new"]))
moved = np.flatnonzero((model.recommender_.item_factors_ != before).any(axis=1))
print("partial_fit on the newcomer's feedback updated the factors of",
      ", ".join(model.encoder_.item_ids_[moved]))
spark.stop()
