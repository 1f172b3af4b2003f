"""Cholesky against CG, side by side: validation NDCG@20 and fit time on MovieLens-100K.

Chooses ``MFRecommender``'s default solver (issue 12, item 8). Two datasets,
both scored on a validation split only (never on a test split):

- ``cfgan``: the CFGAN ML100K train split (``ml100k-cfgan/train.txt``),
  validation = ``holdout_split(train, 0.2, random_state=1)``;
- ``raw``: ML-100K ``u.data`` through ``load_movielens`` and
  ``InteractionEncoder`` (binarised), test = ``holdout_split(X, 0.2,
  random_state=0)`` set aside, validation = ``holdout_split(rest, 0.2,
  random_state=1)``.

Settings: the ML100K-tuned ones (128 factors, regularisation 30, exponent 0,
alpha 2 to 5) and the estimator's defaults (64 factors, regularisation 0.3,
exponent 1, alpha 2); 15 iterations, 3 CG steps. Each fit runs with torch on
``--threads`` threads (default 1); the two solvers of a setting are timed one
after the other in the same run. The machine's load (``os.getloadavg``) is
printed first: compare times only within one run.

Usage, from the repository root::

    python benchmarks/bench_solvers.py
    python benchmarks/bench_solvers.py --data /path/to/shared/data --threads 2
"""

import argparse
import os
import time
from pathlib import Path

import torch

from sklearn_agn import MFRecommender
from sklearn_agn.datasets import load_movielens, load_triplets
from sklearn_agn.model_selection import holdout_split
from sklearn_agn.preprocessing import InteractionEncoder

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

TUNED = dict(n_factors=128, regularization=30.0, regularization_exponent=0.0)
DEFAULTS = dict(n_factors=64, regularization=0.3, regularization_exponent=1.0, alpha=2.0)
SETTINGS = [("tuned", {**TUNED, "alpha": a}) for a in (2.0, 3.0, 4.0, 5.0)] + \
    [("defaults", DEFAULTS)]


def datasets(root):
    """(name, train, validation) for the datasets found under ``root``."""
    cfgan = root / "ml100k-cfgan" / "train.txt"
    if cfgan.exists():
        train = load_triplets(cfgan, shape=(943, 1682))
        yield ("cfgan", *holdout_split(train, 0.2, random_state=1))
    raw = root / "ml-100k" / "u.data"
    if raw.exists():
        X = InteractionEncoder().fit_transform(load_movielens(raw))
        rest, _ = holdout_split(X, 0.2, random_state=0)  # the test part is never used
        yield ("raw", *holdout_split(rest, 0.2, random_state=1))


def measure(train, validation, params, solver):
    model = MFRecommender(**params, solver=solver, n_iter=15, k=20, random_state=0)
    start = time.perf_counter()
    model.fit(train)
    seconds = time.perf_counter() - start
    return model.score(train, validation), seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(f"load average {os.getloadavg()}, torch threads {torch.get_num_threads()}")
    header = ("| data | setting | alpha | NDCG@20 cholesky | NDCG@20 cg | "
              "fit s cholesky | fit s cg | time cg / cholesky |")
    print(header)
    print("|" + "---|" * 8)
    found = False
    for name, train, validation in datasets(args.data):
        found = True
        for label, params in SETTINGS:
            (n_chol, t_chol), (n_cg, t_cg) = (measure(train, validation, params, s)
                                              for s in ("cholesky", "cg"))
            print(f"| {name} | {label} | {params['alpha']:g} | {n_chol:.4f} | {n_cg:.4f} | "
                  f"{t_chol:.2f} | {t_cg:.2f} | {t_cg / t_chol:.2f} |", flush=True)
    if not found:
        raise SystemExit(f"no MovieLens data under {args.data}")


if __name__ == "__main__":
    main()
