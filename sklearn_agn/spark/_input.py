"""Interaction records on the cluster: read, checked, aggregated and indexed.

Everything here runs as Spark jobs; only per-item data (one row per item) and
per-partition counts reach the driver.
"""

import os

import numpy as np

from ._session import pyspark_modules

# Columns of the frames built here.
USER, ITEM, VALUE, GENERATED = "user", "item", "value", "generated"
USER_INDEX, ITEM_INDEX = "user_index", "item_index"


def read_interactions(spark, X, columns, generated_col=None):
    """``X`` (a DataFrame or a Parquet path) as a DataFrame with ``columns`` of valid types.

    Checks the schema only, which runs no Spark job: a missing column is a
    ValueError, ids that MLlib cannot index through this module (anything but
    strings and integers), non-numeric values or a non-boolean
    ``generated_col`` a TypeError.
    """
    _, T = pyspark_modules()
    from pyspark.sql import DataFrame

    if isinstance(X, (str, os.PathLike)):
        X = spark.read.parquet(os.fspath(X))
    elif not isinstance(X, DataFrame):
        raise TypeError(
            f"X must be a Spark DataFrame of (user, item[, value]) records or the path of a "
            f"Parquet dataset, got {type(X).__name__}. For a matrix or a pandas DataFrame on "
            f"one machine, use MFRecommender (with InteractionEncoder) directly."
        )
    user_col, item_col, value_col = columns
    names = X.columns
    wanted = {"user_col": user_col, "item_col": item_col}
    if value_col is not None:
        wanted["value_col"] = value_col
    if generated_col is not None:
        wanted["generated_col"] = generated_col
    missing = [f"{param}={name!r}" for param, name in wanted.items() if name not in names]
    if missing:
        raise ValueError(
            f"X has no column {', '.join(missing)}; its columns are {names}. Set "
            f"{', '.join(wanted)} to the names of your columns."
        )
    schema = {field.name: field.dataType for field in X.schema.fields}
    id_types = (T.StringType, T.ByteType, T.ShortType, T.IntegerType, T.LongType)
    for name in (user_col, item_col):
        if not isinstance(schema[name], id_types):
            raise TypeError(
                f"column {name!r} holds ids of type {schema[name].simpleString()}, which "
                f"cannot be indexed: ids must be strings or integers. Cast or hash them first."
            )
    if value_col is not None and not isinstance(schema[value_col], T.NumericType):
        raise TypeError(
            f"column {value_col!r} must hold numbers, got {schema[value_col].simpleString()}."
        )
    if generated_col is not None and not isinstance(schema[generated_col], T.BooleanType):
        raise TypeError(
            f"column {generated_col!r} must hold booleans (True for a generated record), got "
            f"{schema[generated_col].simpleString()}."
        )
    return X


def check_records(X, columns, generated_col=None):
    """Reject nulls, negative, NaN or infinite values and an empty ``X``, in one pass.

    With ``generated_col`` (which needs ``value_col``), a generated record
    whose value is not a weight in (0, 1] too. One aggregation job over the
    records, run before any other: the error says what is wrong and how often.
    """
    F, T = pyspark_modules()
    user_col, item_col, value_col = columns

    def how_many(condition):
        return F.sum(F.when(condition, 1).otherwise(0))

    checks = [F.count(F.lit(1)).alias("rows"),
              how_many(F.col(user_col).isNull()).alias("null_users"),
              how_many(F.col(item_col).isNull()).alias("null_items")]
    if value_col is not None:
        value = F.col(value_col)
        not_finite = F.lit(False)
        if isinstance(X.schema[value_col].dataType, (T.FloatType, T.DoubleType)):
            not_finite = F.isnan(value) | (F.abs(value) == float("inf"))
        checks += [how_many(value.isNull()).alias("null_values"),
                   how_many(value < 0).alias("negative"),
                   how_many(not_finite).alias("not_finite")]
    if generated_col is not None:
        generated = F.col(generated_col)
        checks += [how_many(generated.isNull()).alias("null_generated"),
                   how_many(generated & ~((value > 0) & (value <= 1))).alias("bad_weights")]
    counts = X.agg(*checks).first().asDict()
    if not counts["rows"]:
        raise ValueError("X holds no interaction record (an empty DataFrame): nothing to fit.")
    for key, name in (("null_users", user_col), ("null_items", item_col),
                      ("null_values", value_col), ("null_generated", generated_col)):
        if counts.get(key):
            raise ValueError(
                f"column {name!r} holds {counts[key]} nulls out of {counts['rows']} records: "
                f"drop those records first (X.dropna(subset=[{name!r}]))."
            )
    if value_col is not None and (counts["negative"] or counts["not_finite"]):
        raise ValueError(
            f"column {value_col!r} must hold finite non-negative values: {counts['negative']} "
            f"negative and {counts['not_finite']} NaN or infinite out of {counts['rows']} "
            f"records. Interaction values are implicit feedback."
        )
    if counts.get("bad_weights"):
        raise ValueError(
            f"{counts['bad_weights']} generated records ({generated_col!r} True) out of "
            f"{counts['rows']} have a value outside (0, 1] in column {value_col!r}: a generated "
            f"record's value is its weight, as SparkGANAugmenter.transform writes it."
        )
    return counts["rows"]


def interaction_pairs(X, columns, generated_col=None):
    """One row per (user, item) pair: columns ``user``, ``item``, ``value`` (> 0)[, ``generated``].

    As :class:`~sklearn_agn.preprocessing.InteractionEncoder` builds its
    matrix: without a value column every pair counts once (value 1);
    with one, the values of a repeated pair are summed and pairs summing to
    0 dropped (MLlib ignores an entry of value 0 and would count a repeated
    pair twice). With ``generated_col``, a pair is real if it has a real
    record (its generated records are then ignored: generated feedback is
    a guess about an item the user has not taken), else generated, with the
    largest of its weights (one entry, as in a marked matrix).
    """
    F, _ = pyspark_modules()
    user_col, item_col, value_col = columns
    ids = [F.col(user_col).alias(USER), F.col(item_col).alias(ITEM)]
    if value_col is None:
        return X.select(*ids).distinct().withColumn(VALUE, F.lit(1.0))
    value = F.col(value_col).cast("double")
    if generated_col is None:
        summed = X.groupBy(*ids).agg(F.sum(value).alias(VALUE))
        return summed.filter(F.col(VALUE) > 0)
    generated = F.col(generated_col)
    # The sum over no real record is null: the pair is generated.
    pairs = X.groupBy(*ids).agg(F.sum(F.when(~generated, value)).alias("real"),
                                F.max(F.when(generated, value)).alias("weight"))
    return pairs.select(USER, ITEM, F.coalesce("real", "weight").alias(VALUE),
                        F.col("real").isNull().alias(GENERATED)).filter(F.col(VALUE) > 0)


def item_records(pairs):
    """One (user, item) record per item, on the driver: ``(users, items)`` arrays.

    The user is the smallest id holding the item, so that an
    :class:`~sklearn_agn.preprocessing.InteractionEncoder` fitted on them
    learns every item id and a few user ids, never the whole user base.
    """
    F, _ = pyspark_modules()
    rows = pairs.groupBy(ITEM).agg(F.min(USER).alias(USER)).collect()
    return (np.asarray([row[USER] for row in rows]), np.asarray([row[ITEM] for row in rows]))


def item_index_frame(spark, item_ids, item_type):
    """A DataFrame of ``(item, item_index)``: each id with its column in the model."""
    _, T = pyspark_modules()
    schema = T.StructType([T.StructField(ITEM, item_type, False),
                           T.StructField(ITEM_INDEX, T.IntegerType(), False)])
    return spark.createDataFrame(list(zip(item_ids.tolist(), range(len(item_ids)))), schema)


def user_index_frame(pairs, *, sorted_ids=False):
    """``(indexed, cached)``: ``(user, user_index)`` pairs, consecutive ints from 0, and a frame to unpersist.

    MLlib needs ids in the int range. The distinct users are numbered within
    each partition, and each partition's numbers shifted by the sizes of the
    partitions before it, so that no step gathers the users in one place.
    The distinct users are persisted (their partitioning must not change
    between counting and numbering): unpersist ``cached`` when done.
    ``sorted_ids`` partitions them by ranges of ids (one more job, which
    samples them) so that the numbers follow the ids' order, the rows'
    order of :class:`~sklearn_agn.preprocessing.InteractionEncoder`.
    """
    F, _ = pyspark_modules()
    from pyspark.sql import Window

    users = pairs.select(USER).distinct()
    if sorted_ids:
        users = users.repartitionByRange(USER)
    users = users.withColumn("part", F.spark_partition_id()).persist()
    sizes = sorted(tuple(row) for row in users.groupBy("part").count().collect())
    offsets = np.concatenate([[0], np.cumsum([size for _, size in sizes])[:-1]])
    if offsets.size and offsets[-1] + sizes[-1][1] > np.iinfo(np.int32).max:
        users.unpersist()
        raise ValueError("X holds more users than MLlib's ALS can index (2**31 - 1).")
    shift = users.sparkSession.createDataFrame(
        [(int(part), int(offset)) for (part, _), offset in zip(sizes, offsets)],
        "part int, offset long")
    numbered = users.withColumn(
        "rank", F.row_number().over(Window.partitionBy("part").orderBy(USER)))
    indexed = numbered.join(F.broadcast(shift), "part").select(
        USER, (F.col("offset") + F.col("rank") - 1).cast("int").alias(USER_INDEX))
    return indexed, users


def index_records(spark, records, columns, cached, *, sorted_users=False, generated_col=None):
    """``(encoder, entries, numbered)``: the records as indexed ``(user_index, item_index, value)``.

    Pairs as :func:`interaction_pairs` builds them (with their ``generated``
    flag when ``generated_col`` is set); items get the column of
    their id in sorted order, as an
    :class:`~sklearn_agn.preprocessing.InteractionEncoder` fitted on one
    record per item (``encoder``) gives them; users are numbered by
    :func:`user_index_frame` (``numbered``: the distinct users). Both frames
    are persisted and appended to ``cached``; a ValueError when no pair is
    left.
    """
    from ..preprocessing import InteractionEncoder

    F, _ = pyspark_modules()
    user_col, item_col, value_col = columns
    pairs = interaction_pairs(records, columns, generated_col)
    users, items = item_records(pairs)
    if items.size == 0:
        raise ValueError(f"X holds no positive value in column {value_col!r}: "
                         "every interaction sums to 0, nothing to fit.")
    encoder = InteractionEncoder(user_col=user_col, item_col=item_col).fit(
        {user_col: users, item_col: items})
    item_index = item_index_frame(spark, encoder.item_ids_, records.schema[item_col].dataType)
    user_index, numbered = user_index_frame(pairs, sorted_ids=sorted_users)
    cached.append(numbered)
    entries = (pairs.join(user_index, USER).join(F.broadcast(item_index), ITEM)
               .drop(USER, ITEM).persist())
    cached.append(entries)
    return encoder, entries, numbered
