import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
import torch

# One torch thread per test process: the suite's models are tiny, several
# threads per process only add synchronisation, and they thrash a 2-core
# runner when tests fork workers (GridSearchCV n_jobs=2, dask, examples).
torch.set_num_threads(1)

ML100K = Path(__file__).resolve().parents[2] / "shared" / "data" / "ml100k-cfgan"


@pytest.fixture
def ml100k():
    """The CFGAN ML100K train/test split from ../shared/data, or skip."""
    if not (ML100K / "train.txt").exists():
        pytest.skip(f"benchmark data not found at {ML100K}")
    from sklearn_agn.datasets import load_triplets

    shape = (943, 1682)
    return (load_triplets(ML100K / "train.txt", shape=shape),
            load_triplets(ML100K / "test.txt", shape=shape))


@pytest.fixture(scope="module")
def spark(tmp_path_factory):
    """A local[2] SparkSession for a test module, or skip with the reason.

    pyspark, pyarrow and Java 17 are needed (``pip install
    'sklearn-agn[spark]'``). A checkpoint directory is set as on a cluster:
    MLlib's ALS cuts the factors' lineage there every checkpoint_interval
    sweeps (without it, 15 sweeps overflowed a JVM's stack).
    """
    pytest.importorskip("pyspark", reason="pyspark is not installed: "
                        "pip install 'sklearn-agn[spark]'")
    pytest.importorskip("pyarrow", reason="pyarrow is not installed: "
                        "pip install 'sklearn-agn[spark]'")
    if not (os.environ.get("JAVA_HOME") or shutil.which("java")):
        pytest.skip("Spark needs Java 17: no JAVA_HOME and no java on the PATH.")
    from pyspark.sql import SparkSession

    # Python workers must run this interpreter (its packages), not the PATH's python3.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    try:
        session = (SparkSession.builder.master("local[2]").appName("sklearn-agn-tests")
                   .config("spark.ui.enabled", "false")
                   .config("spark.sql.shuffle.partitions", "2")
                   .config("spark.default.parallelism", "2")
                   .getOrCreate())
    except Exception as exc:  # no usable JVM: a skip with the reason, not an error
        pytest.skip(f"cannot start a local SparkSession: {exc}")
    session.sparkContext.setLogLevel("ERROR")
    session.sparkContext.setCheckpointDir(str(tmp_path_factory.mktemp("checkpoints")))
    yield session
    session.stop()
