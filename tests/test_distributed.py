"""Grid search on a Dask cluster through joblib gives what a sequential search gives."""

import numpy as np
import pytest

distributed = pytest.importorskip("dask.distributed")

import joblib  # noqa: E402
import torch  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402

from sklearn_agn import GANAugmenter, MFRecommender  # noqa: E402
from sklearn_agn.datasets import make_interactions  # noqa: E402
from sklearn_agn.metrics import make_ranking_scorer  # noqa: E402
from sklearn_agn.model_selection import UserKFold, holdout_split  # noqa: E402


@pytest.fixture(autouse=True)
def one_torch_thread():
    """One torch thread per search process or worker thread, as Dask's nannies give
    process workers (OMP_NUM_THREADS=1): oversubscribed OpenMP threads on a
    busy machine slow the tiny fits down a hundredfold, without changing results."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def _search(scoring, n_jobs):
    X = make_interactions(150, 60, 1800, n_factors=3, random_state=0)
    X_train, X_test = holdout_split(X, 0.25, random_state=0)
    pipe = make_pipeline(
        GANAugmenter(sparse_threshold=10, n_generated=3, noise_dim=4, g_hidden_sizes=(16,),
                     d_hidden_sizes=(8,), max_iter=2, batch_size=32, device="cpu",
                     random_state=0),
        MFRecommender(n_factors=4, n_iter=3, k=5, random_state=0, device="cpu"),
    )
    grid = {"ganaugmenter__n_generated": [2, 6],
            "mfrecommender__regularization": [0.05, 2.0]}
    search = GridSearchCV(pipe, grid, scoring=scoring, cv=UserKFold(3, shuffle=True, random_state=0),
                          n_jobs=n_jobs)
    return search.fit(X_train, X_test)


@pytest.fixture(scope="module", params=[False, True], ids=["threads", "processes"])
def client(request):
    """A two-worker local cluster, one thread each, shared by the module's tests."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=request.param,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        yield client


@pytest.mark.parametrize("scoring", [None, make_ranking_scorer("ndcg", k=5)],
                         ids=["estimator-score", "ranking-scorer"])
def test_dask_backend_gives_the_sequential_search_results(client, scoring):
    sequential = _search(scoring, n_jobs=1)
    with joblib.parallel_backend("dask"), distributed.get_task_stream(client) as tasks:
        on_dask = _search(scoring, n_jobs=-1)
    # The fits ran as tasks on the cluster's workers (joblib batches the
    # 4 candidates x 3 folds into a few tasks).
    assert tasks.data and {task["worker"] for task in tasks.data} <= set(
        client.scheduler_info()["workers"])
    assert on_dask.best_params_ == sequential.best_params_
    np.testing.assert_allclose(on_dask.cv_results_["mean_test_score"],
                               sequential.cv_results_["mean_test_score"], rtol=1e-6)
    # Every candidate was scored, and not all the same (the grid matters).
    assert np.isfinite(sequential.cv_results_["mean_test_score"]).all()
    assert np.ptp(sequential.cv_results_["mean_test_score"]) > 0
