"""pyspark, imported on demand, and the active SparkSession."""

import atexit
import importlib
import shutil
import tempfile
import warnings

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


def ensure_checkpoint_directory(spark, n_iter, checkpoint_interval):
    """Make sure MLlib's ALS can cut its lineage every ``checkpoint_interval`` sweeps.

    Without a checkpoint directory MLlib ignores ``checkpointInterval``: the
    factors' lineage grows by a few RDDs per sweep, and serialising a task
    that reads them overflows the JVM's stack (on a default 1 MiB stack: 40
    sweeps of the ML100K split failed; 15 did on some machines). In local mode
    the driver and the executors share a filesystem, so a temporary directory
    is set (with a warning); on a cluster it must be on storage that every
    executor reaches (HDFS, S3...), which only the user can name.
    """
    if checkpoint_interval is None or n_iter <= checkpoint_interval:
        return
    context = spark.sparkContext
    if context.getCheckpointDir() is not None:
        return
    fix = ("call spark.sparkContext.setCheckpointDir(<directory>) (or set "
           "spark.checkpoint.dir) before fitting")
    if not context.master.startswith("local"):
        raise ValueError(
            f"n_iter={n_iter} sweeps with checkpoint_interval={checkpoint_interval} need a "
            "checkpoint directory, and the SparkContext has none: without one MLlib's ALS "
            "cannot cut the factors' lineage, which overflows the JVM's stack after a few tens "
            f"of sweeps. On a cluster, {fix} with a directory on storage every executor reaches "
            "(HDFS, S3...); or pass checkpoint_interval=None to fit without checkpoints.")
    directory = tempfile.mkdtemp(prefix="sklearn-agn-spark-checkpoints-")
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    context.setCheckpointDir(directory)
    warnings.warn(
        f"The SparkContext had no checkpoint directory; SparkALS set a temporary one, "
        f"{directory}, removed at exit, so that MLlib's ALS cuts the factors' lineage every "
        f"{checkpoint_interval} sweeps (a long lineage overflows the JVM's stack). To choose "
        f"it, {fix}.", UserWarning, stacklevel=3)
