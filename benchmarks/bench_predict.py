"""Serving MFRecommender on 100,000 items: one-user latency, batch throughput, streamed memory.

1. Latency: ``predict`` for one user row at a time (validation, exact fold-in
   against the cached Gram matrix, ranking of the catalogue with the
   seen-item filter, top-10), for ``--queries`` users, after a warm-up; percentiles for each
   thread count (``n_jobs``), and once without the cached Gram matrix (what
   every call paid before it was cached). When ``implicit`` is installed
   (the ``benchmark`` extra), its ``recommend(u, row, N=10,
   recalculate_user=True)`` on the same item factors is timed side by side,
   query by query alternating with ours, at the same thread count
   (``num_threads``, and BLAS limited to it for both), so that the load of
   the machine weighs on both alike; the load average is printed with each
   line.
2. Throughput: ``predict`` (top-10) over ``--batch-rows`` rows of the
   training matrix and ``decision_function`` (every item's score) over
   ``batch_size`` (1,024) of them, in rows per second, on one thread
   (``n_jobs=1``, BLAS limited to one thread), after a warm-up call of each
   at the same size, in a fresh subprocess that rebuilds the model from the
   fitted item factors. With ``--before DIR``, a copy of an earlier
   ``sklearn_agn`` (for example ``git archive e0fecc6 sklearn_agn | tar -x
   -C DIR``) is measured the same way, runs alternating with the current
   code's, ``--rounds`` times; the best of each is printed.
3. Memory: ``predict`` over every row of a ``make_interactions(n_users,
   100_000, ~50 * n_users)`` matrix (default 100,000 and 1,000,000 users),
   each in a fresh subprocess that loads the matrix and the model from disk,
   so its peak resident memory is the prediction's plus the input's (the
   matrix is generated beforehand by another subprocess, its memory not
   counted). Rows are streamed in batches of ``batch_size`` (1024): memory
   beyond the input matrix and the (n_users, 10) output must not grow with
   the number of users.

The model is fitted on ``make_interactions(50_000, 100_000, 2_500_000)`` with
64 factors and ``solver="cg"`` (5 iterations: the factors' values do not
change the cost of serving); ``--users 20000`` fits on fewer users, for a
shorter setup and the same work per query.

Usage, from the repository root::

    python benchmarks/bench_predict.py
    python benchmarks/bench_predict.py --memory-users 100000 --queries 500
    python benchmarks/bench_predict.py --users 20000 --memory-users --before /tmp/mf_before

Generated matrices are cached under ``--cache`` (default
``$TMPDIR/sklearn_agn_bench``) and reused by ``bench_scale.py``.
"""

import argparse
import json
import os
import pickle
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

N_ITEMS = 100_000
PER_USER = 50
ROOT = Path(__file__).resolve().parents[1]


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class PeakRSS:
    """Peak resident memory of this process while the block runs (sampled)."""

    def __init__(self, interval=0.002):
        self.interval = interval

    def __enter__(self):
        self.baseline = self.peak = rss_bytes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()
        return self

    def _poll(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_bytes())
            time.sleep(self.interval)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes())


def max_rss_bytes():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def cached_interactions(cache, n_users, n_items, n_interactions):
    """Path of an .npz of ``make_interactions(...)``, generated in a subprocess if absent."""
    path = Path(cache) / f"interactions_{n_users}x{n_items}_{n_interactions}_seed0.npz"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        code = (
            "import scipy.sparse as sp, sys; from sklearn_agn.datasets import make_interactions; "
            f"X = make_interactions({n_users}, {n_items}, {n_interactions}, random_state=0); "
            f"sp.save_npz(sys.argv[1], X, compressed=False)"
        )
        tmp = path.with_suffix(".tmp.npz")
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code, str(tmp)], check=True)
        tmp.rename(path)
        print(f"  generated {path.name} in {time.perf_counter() - start:.0f} s", flush=True)
    return path


def memory_child(model_path, data_path):
    """Run in a subprocess: load, predict every row, print JSON measurements."""
    with open(model_path, "rb") as f:
        model = pickle.load(f)
    X = sp.load_npz(data_path).tocsr()
    x_bytes = X.data.nbytes + X.indices.nbytes + X.indptr.nbytes
    with PeakRSS() as peak:
        start = time.perf_counter()
        ranked = model.predict(X)
        seconds = time.perf_counter() - start
    print(json.dumps({
        "n_users": X.shape[0], "nnz": int(X.nnz), "x_mb": x_bytes / 2**20,
        "out_mb": ranked.nbytes / 2**20, "seconds": seconds,
        "before_mb": peak.baseline / 2**20, "peak_mb": peak.peak / 2**20,
        "max_rss_mb": max_rss_bytes() / 2**20,
    }))


def batch_child(factors_path, data_path):
    """Run in a subprocess: rows per second of ``predict`` and ``decision_function``, as JSON."""
    from threadpoolctl import threadpool_limits

    import sklearn_agn
    from sklearn_agn import MFRecommender

    saved = np.load(factors_path)
    X = sp.load_npz(data_path).tocsr()
    model = MFRecommender(saved["items"].shape[1], n_iter=1, n_jobs=1, random_state=0).fit(X[:100])
    model._set_item_factors(saved["items"])
    model.item_interaction_counts_ = saved["counts"]
    scored = X[:model.batch_size]
    with threadpool_limits(1):
        # Warm-ups of the measured sizes: the first large allocations of a
        # process cost more (page faults) than the later ones.
        model.predict(X[:model.batch_size])
        model.decision_function(scored)
        start = time.perf_counter()
        model.predict(X)
        predict_s = time.perf_counter() - start
        start = time.perf_counter()
        model.decision_function(scored)
        decision_s = time.perf_counter() - start
    print(json.dumps({"code": str(Path(sklearn_agn.__file__).parents[1]),
                      "predict": X.shape[0] / predict_s,
                      "decision_function": scored.shape[0] / decision_s}))


def throughput(tree, factors_path, data_path):
    env = dict(os.environ, PYTHONPATH=str(tree))
    out = subprocess.run([sys.executable, __file__, "--batch-child", str(factors_path),
                          str(data_path)], env=env, check=True, capture_output=True, text=True,
                         cwd=tempfile.gettempdir())
    return json.loads(out.stdout.strip().splitlines()[-1])


def implicit_reference(model, n_users, n_jobs):
    """``implicit``'s ALS holding ``model``'s item factors, or None if not installed."""
    try:
        from implicit.cpu.als import AlternatingLeastSquares
    except ImportError:
        return None
    reference = AlternatingLeastSquares(factors=model.n_factors,
                                        regularization=model.regularization,
                                        alpha=model.alpha, num_threads=n_jobs)
    reference.item_factors = np.ascontiguousarray(model.item_factors_, dtype=np.float32)
    reference.user_factors = np.zeros((n_users, model.n_factors), dtype=np.float32)
    return reference


def latency(model, rows, n_jobs, reference=None, warmup=20):
    """Percentiles (50, 90, 99) in ms of ``model.predict(row)``, and of ``reference``'s
    ``recommend`` timed alternately with it (None without a reference)."""
    from threadpoolctl import threadpool_limits

    model.set_params(n_jobs=n_jobs)
    calls = [lambda row: model.predict(row)]
    if reference is not None:
        calls.append(lambda row: reference.recommend(0, row, N=10, recalculate_user=True))
    seconds = [[] for _ in calls]
    with threadpool_limits(n_jobs):
        for i, row in enumerate(rows[:warmup] + rows):
            for call, times in zip(calls, seconds):
                start = time.perf_counter()
                call(row)
                if i >= warmup:
                    times.append(time.perf_counter() - start)
    ours, *theirs = (np.percentile(times, [50, 90, 99]) * 1e3 for times in seconds)
    return ours, (theirs[0] if theirs else None)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--users", type=int, default=50_000,
                        help="users of the training matrix (not of the memory runs)")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--memory-users", type=int, nargs="*", default=[100_000, 1_000_000])
    parser.add_argument("--batch-rows", type=int, default=5000,
                        help="rows of the throughput runs (0: skip them)")
    parser.add_argument("--before", type=Path,
                        help="earlier sklearn_agn tree to compare throughput with")
    parser.add_argument("--rounds", type=int, default=2, help="throughput runs per code tree")
    parser.add_argument("--cache", default=os.path.join(tempfile.gettempdir(),
                                                        "sklearn_agn_bench"))
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--batch-child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return memory_child(*args.child)
    if args.batch_child:
        return batch_child(*args.batch_child)

    import torch

    from sklearn_agn import MFRecommender
    from sklearn_agn.datasets import make_interactions

    print(f"torch {torch.__version__}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f} at start")
    X = make_interactions(args.users, N_ITEMS, args.users * PER_USER, random_state=0)
    start = time.perf_counter()
    model = MFRecommender(64, solver="cg", n_iter=5, random_state=0).fit(X)
    print(f"model: 64 factors on {X.shape[0]} x {X.shape[1]} ({X.nnz} interactions), "
          f"fitted in {time.perf_counter() - start:.1f} s")

    rng = np.random.RandomState(0)
    rows = [X[i] for i in rng.choice(X.shape[0], args.queries, replace=False)]
    print(f"\nOne user against {N_ITEMS} items, predict(row) -> top-10 "
          f"({args.queries} users, median {np.median([r.nnz for r in rows]):.0f} "
          "interactions each)\n")
    if implicit_reference(model, X.shape[0], 1) is None:
        print("implicit is not installed (pip install implicit): no reference timings.\n")
    print("| n_jobs (threads) | Gram matrix | p50 (ms) | p90 (ms) | p99 (ms) "
          "| implicit p50 (ms) | implicit p99 (ms) | p50 ratio | load average |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for n_jobs in args.threads:
        ours, theirs = latency(model, rows, n_jobs, implicit_reference(model, X.shape[0], n_jobs))
        reference = ("| - | - | -" if theirs is None else
                     f"| {theirs[0]:.2f} | {theirs[2]:.2f} | {ours[0] / theirs[0]:.2f}")
        print(f"| {n_jobs} | cached | {ours[0]:.2f} | {ours[1]:.2f} | {ours[2]:.2f} "
              f"{reference} | {os.getloadavg()[0]:.1f} |", flush=True)
    uncached = pickle.loads(pickle.dumps(model))
    del uncached._item_gram  # recomputed at every call, as before caching
    (p50, p90, p99), _ = latency(uncached, rows, args.threads[0])
    print(f"| {args.threads[0]} | recomputed per call | {p50:.2f} | {p90:.2f} | {p99:.2f} "
          f"| - | - | - | {os.getloadavg()[0]:.1f} |")
    model.set_params(n_jobs=None)
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)

    if args.batch_rows:
        factors_path = cache / "bench_predict_factors.npz"
        np.savez(factors_path, items=model.item_factors_, counts=model.item_interaction_counts_)
        data_path = cache / "bench_predict_rows.npz"
        sp.save_npz(data_path, X[:args.batch_rows], compressed=False)
        trees = ([("before", args.before)] if args.before else []) + [("current", ROOT)]
        print(f"\nThroughput, one thread: predict over {min(args.batch_rows, X.shape[0])} rows "
              f"(top-10), decision_function over {model.batch_size}; best of {args.rounds} "
              "runs each, alternating\n")
        runs = {name: [] for name, _ in trees}
        for _ in range(args.rounds):
            for name, tree in trees:
                runs[name].append({**throughput(tree, factors_path, data_path),
                                   "load": os.getloadavg()[0]})
        print("| code | predict (rows/s) | decision_function (rows/s) | load average |")
        print("|---|---:|---:|---|")
        for name, r in runs.items():
            loads = [run["load"] for run in r]
            print(f"| {name} ({r[0]['code']}) | {max(run['predict'] for run in r):.0f} "
                  f"| {max(run['decision_function'] for run in r):.0f} "
                  f"| {min(loads):.1f} to {max(loads):.1f} |", flush=True)

    if not args.memory_users:
        return
    model_path = cache / "bench_predict_model.pkl"
    with open(model_path, "wb") as f:
        pickle.dump(model, f)
    print(f"\nStreamed predict over every user, {N_ITEMS} items, top-10, batch_size="
          f"{model.batch_size}, n_jobs=None (torch default threads); one fresh process each\n")
    results = []
    for n_users in args.memory_users:
        data = cached_interactions(cache, n_users, N_ITEMS, n_users * PER_USER)
        out = subprocess.run([sys.executable, __file__, "--child", str(model_path), str(data)],
                             check=True, capture_output=True, text=True)
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
        r = results[-1]
        print(f"  {r['n_users']} users done in {r['seconds']:.0f} s", flush=True)
    print("| users | interactions | X (MB) | output (MB) | time (s) | users/s "
          "| RSS before predict (MB) | peak RSS in predict (MB) | growth in predict (MB) "
          "| process max RSS (MB) |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['n_users']} | {r['nnz']} | {r['x_mb']:.0f} | {r['out_mb']:.0f} "
              f"| {r['seconds']:.0f} | {r['n_users'] / r['seconds']:.0f} "
              f"| {r['before_mb']:.0f} | {r['peak_mb']:.0f} "
              f"| {r['peak_mb'] - r['before_mb']:.0f} | {r['max_rss_mb']:.0f} |")


if __name__ == "__main__":
    main()
