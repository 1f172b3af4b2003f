"""MFRecommender.fit on a 1,000,000 x 100,000 matrix with ~50M interactions.

The matrix is ``make_interactions(1_000_000, 100_000, 50_000_000,
random_state=0)``, generated once by a subprocess and cached (shared with
``bench_predict.py``). Each fit runs in a fresh subprocess that loads it, so
the reported peak resident memory is the fit's plus the input's, not the
generator's. Reported: wall time, seconds per ALS iteration, the input's
size, the resident memory before ``fit`` and its peak during ``fit``.

64 factors, ``n_jobs=None`` (torch's own intra-op threads, every core by
default; no block threads, torch's setting untouched). The exact solver is
much slower at this size; ``--iterations-cholesky`` (default 1) times that many
iterations and extrapolates to ``--iterations`` (every iteration costs the
same), and the table says so.

Usage, from the repository root::

    python benchmarks/bench_scale.py
    python benchmarks/bench_scale.py --solvers cg --iterations 15
    python benchmarks/bench_scale.py --users 200000 --interactions 10000000   # smaller
"""

import argparse
import json
import os
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_predict import PeakRSS, cached_interactions, max_rss_bytes  # noqa: E402


def child(data_path, solver, n_iter, n_factors):
    from sklearn_agn import MFRecommender

    X = sp.load_npz(data_path).tocsr()
    x_bytes = X.data.nbytes + X.indices.nbytes + X.indptr.nbytes
    model = MFRecommender(n_factors, n_iter=n_iter, solver=solver, random_state=0)
    with PeakRSS(interval=0.01) as peak:
        start = time.perf_counter()
        model.fit(X)
        seconds = time.perf_counter() - start
    print(json.dumps({
        "solver": solver, "n_iter": n_iter, "seconds": seconds, "x_mb": x_bytes / 2**20,
        "before_mb": peak.baseline / 2**20, "peak_mb": peak.peak / 2**20,
        "max_rss_mb": max_rss_bytes() / 2**20, "model_mb": len(pickle.dumps(model)) / 2**20,
    }))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--interactions", type=int, default=50_000_000)
    parser.add_argument("--factors", type=int, default=64)
    parser.add_argument("--iterations", type=int, default=15)
    parser.add_argument("--iterations-cholesky", type=int, default=1)
    parser.add_argument("--solvers", nargs="+", default=["cg", "cholesky"],
                        choices=["cg", "cholesky"])
    parser.add_argument("--cache", default=os.path.join(tempfile.gettempdir(),
                                                        "sklearn_agn_bench"))
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        path, solver, n_iter, n_factors = args.child
        return child(path, solver, int(n_iter), int(n_factors))

    ram = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**30
    print(f"{os.cpu_count()} CPUs, {ram:.0f} GiB RAM, "
          f"load average {os.getloadavg()[0]:.1f} at start")
    data = cached_interactions(args.cache, args.users, args.items, args.interactions)
    print(f"data: {args.users} x {args.items}, {args.interactions} interactions "
          f"({data.stat().st_size / 2**20:.0f} MB on disk); {args.factors} factors\n")
    results = []
    for solver in args.solvers:
        n_iter = args.iterations if solver == "cg" else args.iterations_cholesky
        out = subprocess.run([sys.executable, __file__, "--child", str(data), solver,
                              str(n_iter), str(args.factors)],
                             check=True, capture_output=True, text=True)
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(f"  {solver}: {results[-1]['seconds']:.0f} s for {n_iter} iteration(s)",
              flush=True)
    print(f"| solver | iterations run | fit time (s) | s / iteration | est. {args.iterations} "
          "iterations (s) | X (MB) | RSS before fit (MB) | peak RSS in fit (MB) "
          "| process max RSS (MB) | pickled model (MB) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        per_iter = r["seconds"] / r["n_iter"]
        extrapolated = "" if r["n_iter"] == args.iterations else " (extrapolated)"
        print(f"| {r['solver']} | {r['n_iter']} | {r['seconds']:.0f} | {per_iter:.1f} "
              f"| {per_iter * args.iterations:.0f}{extrapolated} | {r['x_mb']:.0f} "
              f"| {r['before_mb']:.0f} | {r['peak_mb']:.0f} | {r['max_rss_mb']:.0f} "
              f"| {r['model_mb']:.0f} |")
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end (shared machine).")


if __name__ == "__main__":
    main()
