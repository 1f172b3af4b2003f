"""What differentially private training costs GANAugmenter, in time and quality (issue 20 item 4).

On the CFGAN split of MovieLens 100K (``train.txt`` only, never the test
file), a validation split ``holdout_split(train, 0.2, random_state=1)`` as in
``bench_gan_sampled.py``; ``GANAugmenter`` with its defaults, without privacy
and with ``dp_epsilon`` in {1, 3, 10} (``dp_delta=1e-5``), per seed: the fit
time, its ratio to the non-private fit of the same seed (target: at most 3),
the epsilon spent, the noise multiplier, and the NDCG@20 of the generator's
ranking of unobserved items against the validation items. The most-popular
ranking gives the floor a useful generator must clear.

The last column tunes the synthetic release without touching the privacy
benchmark's held-out users: ``MFRecommender()`` fitted on as many rows as
``sample`` draws as there are training rows, scored with NDCG@20 on the
validation items of the training rows (folded in), beside the same for
``PopularitySampler`` at the same epsilon (the release to beat).
``--set NAME=VALUE`` changes a ``GANAugmenter`` parameter of every fit
(a Python literal), ``--epsilons`` the budgets (``inf``: no privacy).

Usage, from the repository root (one thread: the machine is shared)::

    OMP_NUM_THREADS=1 python benchmarks/bench_privacy_cost.py [--seeds 1]
    OMP_NUM_THREADS=1 python benchmarks/bench_privacy_cost.py --epsilons 3 --set dp_max_grad_norm=0.3
"""

import argparse
import ast
import math
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
ML100K = ROOT.parent / "shared" / "data" / "ml100k-cfgan" / "train.txt"
EPSILONS = [math.inf, 1.0, 3.0, 10.0]


def generator_ndcg(aug, X_fit, X_val):
    from sklearn_agn.metrics import ndcg_at_k

    scores = aug.score_items(X_fit)
    scores[X_fit.nonzero()] = -np.inf
    ranked = np.argsort(-scores, axis=1, kind="stable")[:, :20]
    return float(ndcg_at_k(X_val, ranked, 20))


def release_ndcg(release, X_fit, X_val, seed):
    """NDCG@20 on the validation items of an MF fitted on the release's synthetic rows."""
    from sklearn_agn import MFRecommender
    from sklearn_agn.metrics import ndcg_at_k

    mf = MFRecommender(random_state=0).fit(release.sample(X_fit.shape[0], random_state=seed))
    return float(ndcg_at_k(X_val, mf.predict(X_fit, k=20), 20))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--epsilons", type=float, nargs="+", default=EPSILONS)
    parser.add_argument("--set", nargs="+", default=[], metavar="NAME=VALUE",
                        help="GANAugmenter parameters of every fit, e.g. dp_max_grad_norm=0.3")
    args = parser.parse_args()
    params = {name: ast.literal_eval(value)
              for name, value in (item.split("=", 1) for item in args.set)}
    if not ML100K.exists():
        sys.exit(f"{ML100K} not found")

    from sklearn_agn import GANAugmenter
    from sklearn_agn.baselines import MostPopular, PopularitySampler
    from sklearn_agn.datasets import load_triplets
    from sklearn_agn.metrics import ndcg_at_k
    from sklearn_agn.model_selection import holdout_split

    X_fit, X_val = holdout_split(load_triplets(ML100K, shape=(943, 1682)), 0.2, random_state=1)
    print(f"{os.cpu_count()} CPUs, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}, "
          f"load average {os.getloadavg()[0]:.1f} at start; {X_fit.shape[0]} users x "
          f"{X_fit.shape[1]} items, {X_fit.nnz} training interactions", flush=True)
    popular = MostPopular(k=20).fit(X_fit).predict(X_fit)
    print(f"most popular NDCG@20: {ndcg_at_k(X_val, popular, 20):.4f}")
    print(f"GANAugmenter settings: {params or 'defaults'}")
    print("\n| seed | dp_epsilon | fit (s) | x non-private | epsilon spent | noise multiplier "
          "| generator NDCG@20 | release NDCG@20 | popularity release |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for seed in range(args.seeds):
        baseline = None
        for epsilon in args.epsilons:
            epsilon = None if math.isinf(epsilon) else epsilon
            aug = GANAugmenter(device="cpu", random_state=seed, dp_epsilon=epsilon, **params)
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                aug.fit(X_fit)
            fit_s = time.perf_counter() - start
            if epsilon is None:
                baseline = fit_s
            spent = "-" if epsilon is None else f"{aug.epsilon_:.3f}"
            sigma = "-" if epsilon is None else f"{aug.noise_multiplier_:.2f}"
            ratio = "-" if baseline is None else f"{fit_s / baseline:.2f}"
            popularity = PopularitySampler(epsilon=epsilon, random_state=seed).fit(X_fit)
            print(f"| {seed} | {'off' if epsilon is None else epsilon:} | {fit_s:.0f} "
                  f"| {ratio} | {spent} | {sigma} "
                  f"| {generator_ndcg(aug, X_fit, X_val):.4f} "
                  f"| {release_ndcg(aug, X_fit, X_val, seed):.4f} "
                  f"| {release_ndcg(popularity, X_fit, X_val, seed):.4f} |", flush=True)
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end (shared machine).")


if __name__ == "__main__":
    main()
