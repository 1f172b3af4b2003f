"""MFRecommender against implicit's AlternatingLeastSquares: fit time and NDCG@20.

Both fit weighted ALS with the same model on ``make_interactions(100_000,
20_000, 4_500_000, random_state=0)``: 64 factors, 15 iterations, the same
constant penalty and the same confidence. implicit's confidence of an entry of
value ``r`` is ``alpha_implicit * r`` and MFRecommender's is ``1 + alpha * r``,
so on binary data ``alpha = alpha_implicit - 1``; implicit's penalty is not
scaled by the row's activity, so ``regularization_exponent=0``.

For every solver ("cg": 3 conjugate-gradient steps per half-sweep, implicit's
default; "cholesky": exact solves) and thread count, the fit on all the
interactions is timed; NDCG@20 comes from a second fit on a per-user 80/20
hold-out split of the same matrix (``holdout_split``), ranking each user's
unobserved items: implicit through its ``recommend`` (its own user factors),
MFRecommender through ``predict`` (exact fold-in).

Threads: MFRecommender's ``n_jobs`` (that many blocks of rows solved on
Python threads, torch single-threaded meanwhile, its count restored after
the call); implicit's ``num_threads``, with BLAS held to one thread by
threadpoolctl as implicit asks.

Usage, from the repository root (implicit is a benchmark-only dependency)::

    pip install implicit
    python benchmarks/bench_mf_vs_implicit.py
    python benchmarks/bench_mf_vs_implicit.py --solvers cg --threads 1 2 --repeats 2

``--cholesky-iterations N`` times the (slow) exact solvers over N iterations
only and extrapolates linearly to ``--iterations`` (every iteration costs the
same); the table says so.
"""

import argparse
import os
import time

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from sklearn_agn import MFRecommender
from sklearn_agn.datasets import make_interactions
from sklearn_agn.metrics import ndcg_at_k
from sklearn_agn.model_selection import holdout_split


def fit_ours(X, solver, threads, n_iter, params):
    model = MFRecommender(params["factors"], n_iter=n_iter, solver=solver,
                          regularization=params["regularization"], regularization_exponent=0,
                          alpha=params["alpha_implicit"] - 1, n_jobs=threads,
                          device="cpu", random_state=0)
    start = time.perf_counter()
    model.fit(X)
    return model, time.perf_counter() - start


def fit_implicit(X, solver, threads, n_iter, params):
    from implicit.cpu.als import AlternatingLeastSquares

    with threadpool_limits(1, "blas"):
        model = AlternatingLeastSquares(factors=params["factors"], iterations=n_iter,
                                        regularization=params["regularization"],
                                        alpha=params["alpha_implicit"], use_cg=solver == "cg",
                                        num_threads=threads, random_state=0)
        start = time.perf_counter()
        model.fit(X, show_progress=False)
        return model, time.perf_counter() - start


def ndcg_ours(model, X_train, X_test, k):
    # Scoring uses every core, whatever the timed fit used.
    return ndcg_at_k(X_test, model.set_params(n_jobs=-1).predict(X_train, k=k), k)


def ndcg_implicit(model, X_train, X_test, k):
    users = np.arange(X_train.shape[0])
    with threadpool_limits(1, "blas"):
        ids, _ = model.recommend(users, X_train, N=k, filter_already_liked_items=True)
    return ndcg_at_k(X_test, ids.astype(np.intp), k)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--interactions", type=int, default=4_500_000)
    parser.add_argument("--factors", type=int, default=64)
    parser.add_argument("--iterations", type=int, default=15)
    parser.add_argument("--cholesky-iterations", type=int, default=None)
    parser.add_argument("--regularization", type=float, default=150.0)
    parser.add_argument("--alpha-implicit", type=float, default=2.0)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--solvers", nargs="+", default=["cg", "cholesky"],
                        choices=["cg", "cholesky"])
    parser.add_argument("--repeats", type=int, default=1,
                        help="timed fits per cell (alternating libraries); the minimum is kept")
    parser.add_argument("--k", type=int, default=20)
    parser.add_argument("--no-ndcg", action="store_true")
    args = parser.parse_args()
    params = {"factors": args.factors, "regularization": args.regularization,
              "alpha_implicit": args.alpha_implicit}

    import implicit

    print(f"torch {torch.__version__}, implicit {implicit.__version__}, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start")
    start = time.perf_counter()
    X = make_interactions(args.users, args.items, args.interactions, random_state=0)
    X_train, X_test = holdout_split(X, 0.2, random_state=0)
    print(f"data: {X.shape[0]} x {X.shape[1]}, {X.nnz} interactions "
          f"(train {X_train.nnz}, test {X_test.nnz}), made in {time.perf_counter() - start:.1f} s")
    print(f"model: {args.factors} factors, {args.iterations} iterations, regularization "
          f"{args.regularization} (exponent 0), implicit alpha {args.alpha_implicit} = "
          f"MFRecommender alpha {args.alpha_implicit - 1}\n")

    fits = {"MFRecommender": fit_ours, "implicit": fit_implicit}
    rows = []
    for solver in args.solvers:
        n_iter = args.iterations
        if solver == "cholesky" and args.cholesky_iterations:
            n_iter = args.cholesky_iterations
        scale = args.iterations / n_iter
        for threads in args.threads:
            times = {name: [] for name in fits}
            for _ in range(args.repeats):
                for name, fit in fits.items():
                    _, seconds = fit(X, solver, threads, n_iter, params)
                    times[name].append(seconds * scale)
            for name in fits:
                rows.append((name, solver, threads, min(times[name]),
                             min(times[name]) / min(times["implicit"]), n_iter))
                print(f"  timed {name} {solver} {threads} thread(s): "
                      + ", ".join(f"{t:.1f}" for t in times[name]) + " s", flush=True)

    quality = {}
    if not args.no_ndcg:
        for solver in args.solvers:
            n_iter = args.iterations
            threads = max(args.threads)
            model, _ = fit_ours(X_train, solver, threads, n_iter, params)
            quality["MFRecommender", solver] = ndcg_ours(model, X_train, X_test, args.k)
            model, _ = fit_implicit(X_train, solver, threads, n_iter, params)
            quality["implicit", solver] = ndcg_implicit(model, X_train, X_test, args.k)
            print(f"  NDCG@{args.k} {solver}: MFRecommender "
                  f"{quality['MFRecommender', solver]:.4f}, implicit "
                  f"{quality['implicit', solver]:.4f}", flush=True)

    print(f"\n| library | solver | threads | fit time (s) | / implicit | NDCG@{args.k} |")
    print("|---|---|---:|---:|---:|---:|")
    for name, solver, threads, seconds, ratio, n_iter in rows:
        note = "" if n_iter == args.iterations else f" (from {n_iter} it.)"
        ndcg = quality.get((name, solver))
        ndcg = "" if ndcg is None else f"{ndcg:.4f}"
        print(f"| {name} | {solver} | {threads} | {seconds:.1f}{note} | {ratio:.2f} | {ndcg} |")
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end (the machine is shared: "
          "compare ratios, measured side by side).")


if __name__ == "__main__":
    main()
