"""The sufficient statistics of ``MFRecommender.partial_fit``, as Spark aggregations.

From MLlib's final user factors ``x_u`` (a DataFrame ``id, features``, which
stays on the cluster) and the training entries: the users' Gram matrix
``sum_u x_u x_u^T``, per item the diagonal curvature ``sum_u (c_ui - 1)
x_u^2 = sum_u alpha r_ui x_u^2`` over its entries (a generated entry's value
``r_ui`` is its weight, as in ``MFRecommender``) and the number of its real
interactions, as ``MFRecommender.fit`` keeps them. Each is
an aggregation in the JVM (no Python worker); only ``n_factors ** 2`` and
``n_items * (n_factors + 1)`` numbers reach the driver.
"""

import numpy as np

from ._input import GENERATED, ITEM_INDEX, USER_INDEX, VALUE
from ._session import pyspark_modules


def user_gram(user_factors, n_factors):
    """``sum_u x_u x_u^T`` over the rows of ``user_factors``, in float64."""
    F, _ = pyspark_modules()
    from pyspark.ml.functions import array_to_vector
    from pyspark.ml.stat import Summarizer

    x = F.col("features").cast("array<double>")
    outer = F.flatten(F.transform(x, lambda a: F.transform(x, lambda b: a * b)))
    total = user_factors.select(Summarizer.sum(array_to_vector(outer)).alias("gram")).first()
    return total["gram"].toArray().reshape(n_factors, n_factors)


def item_statistics(entries, user_factors, alpha, n_items, n_factors):
    """Per item, ``sum_u alpha r_ui x_u^2`` over its entries and the number of real ones.

    ``entries`` holds ``user_index, item_index, value`` (one row per
    (user, item) pair) and, when it holds generated feedback, ``generated``;
    an item without entries gets zeros.
    """
    F, _ = pyspark_modules()
    from pyspark.ml.functions import array_to_vector
    from pyspark.ml.stat import Summarizer

    joined = entries.join(user_factors.withColumnRenamed("id", USER_INDEX), USER_INDEX)
    weight = F.lit(float(alpha)) * F.col(VALUE)
    curvature = F.transform(F.col("features").cast("array<double>"),
                            lambda x: x * x * weight)
    # An item's penalty counts its real interactions only (MFRecommender's).
    real = ~F.col(GENERATED) if GENERATED in entries.columns else F.lit(True)
    rows = joined.groupBy(ITEM_INDEX).agg(
        Summarizer.sum(array_to_vector(curvature)).alias("curvature"),
        F.sum(real.cast("long")).alias("count")).collect()
    item_curvature = np.zeros((n_items, n_factors))
    counts = np.zeros(n_items, dtype=np.int64)
    for row in rows:
        item_curvature[row[ITEM_INDEX]] = row["curvature"].toArray()
        counts[row[ITEM_INDEX]] = row["count"]
    return item_curvature, counts
