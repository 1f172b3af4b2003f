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
