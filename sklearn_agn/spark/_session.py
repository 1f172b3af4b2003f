"""pyspark, imported on demand, and the active SparkSession."""

import importlib

_INSTALL = ("pip install 'sklearn-agn[spark]' (pyspark>=4; Spark also needs Java 17, "
            "with JAVA_HOME set or java on the PATH)")


def pyspark_modules():
    """``(pyspark.sql.functions, pyspark.sql.types)``, or an ImportError naming the fix."""
    try:
        return (importlib.import_module("pyspark.sql.functions"),
                importlib.import_module("pyspark.sql.types"))
    except ImportError as exc:
        raise ImportError(f"sklearn_agn.spark needs pyspark: {_INSTALL}.") from exc


def active_session():
    """The active SparkSession, or a RuntimeError that says how to start one."""
    pyspark_modules()
    from pyspark.sql import SparkSession

    spark = SparkSession.getActiveSession()
    if spark is None:
        raise RuntimeError(
            "No active SparkSession: start one before fitting, e.g. "
            "SparkSession.builder.master('local[*]').getOrCreate() on one machine, "
            "or through spark-submit / your cluster's notebook on a cluster."
        )
    return spark
