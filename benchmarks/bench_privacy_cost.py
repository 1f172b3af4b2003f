"""What differentially private training costs GANAugmenter, in time and quality (issue 20 item 4).

On the CFGAN split of MovieLens 100K (``train.txt`` only, never the test
file), a validation split ``holdout_split(train, 0.2, random_state=1)`` as in
``bench_gan_sampled.py``; ``GANAugmenter`` with its defaults, without privacy
and with ``dp_epsilon`` in {1, 3, 10} (``dp_delta=1e-5``), per seed: the fit
time, its ratio to the non-private fit of the same seed (target: at most 3),
the epsilon spent, the noise multiplier, and the NDCG@20 of the generator's
ranking of unobserved items against the validation items. The most-popular
ranking gives the floor a useful generator must clear.

Usage, from the repository root (one thread: the machine is shared)::

    OMP_NUM_THREADS=1 python benchmarks/bench_privacy_cost.py [--seeds 1]
"""

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
ML100K = ROOT.parent / "shared" / "data" / "ml100k-cfgan" / "train.txt"
EPSILONS = [None, 1.0, 3.0, 10.0]


def generator_ndcg(aug, X_fit, X_val):
    from sklearn_agn.metrics import ndcg_at_k

    scores = aug.score_items(X_fit)
    scores[X_fit.nonzero()] = -np.inf
    ranked = np.argsort(-scores, axis=1, kind="stable")[:, :20]
    return float(ndcg_at_k(X_val, ranked, 20))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=1)
    args = parser.parse_args()
    if not ML100K.exists():
        sys.exit(f"{ML100K} not found")

    from sklearn_agn import GANAugmenter
    from sklearn_agn.baselines import MostPopular
    from sklearn_agn.datasets import load_triplets
    from sklearn_agn.metrics import ndcg_at_k
    from sklearn_agn.model_selection import holdout_split

    X_fit, X_val = holdout_split(load_triplets(ML100K, shape=(943, 1682)), 0.2, random_state=1)
    print(f"{os.cpu_count()} CPUs, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}, "
          f"load average {os.getloadavg()[0]:.1f} at start; {X_fit.shape[0]} users x "
          f"{X_fit.shape[1]} items, {X_fit.nnz} training interactions", flush=True)
    popular = MostPopular(k=20).fit(X_fit).predict(X_fit)
    print(f"most popular NDCG@20: {ndcg_at_k(X_val, popular, 20):.4f}")
    print("\n| seed | dp_epsilon | fit (s) | x non-private | epsilon spent | noise multiplier "
          "| generator NDCG@20 |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for seed in range(args.seeds):
        baseline = None
        for epsilon in EPSILONS:
            aug = GANAugmenter(device="cpu", random_state=seed, dp_epsilon=epsilon)
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                aug.fit(X_fit)
            fit_s = time.perf_counter() - start
            baseline = baseline or fit_s
            spent = "-" if epsilon is None else f"{aug.epsilon_:.3f}"
            sigma = "-" if epsilon is None else f"{aug.noise_multiplier_:.2f}"
            print(f"| {seed} | {'off' if epsilon is None else epsilon:} | {fit_s:.0f} "
                  f"| {fit_s / baseline:.2f} | {spent} | {sigma} "
                  f"| {generator_ndcg(aug, X_fit, X_val):.4f} |", flush=True)
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end (shared machine).")


if __name__ == "__main__":
    main()
