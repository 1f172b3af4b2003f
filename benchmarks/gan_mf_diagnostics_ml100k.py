"""Why GAN + MF does not beat MF on the CFGAN paper's ML100K split.

Run from the repository root::

    python benchmarks/gan_mf_diagnostics_ml100k.py [--data ../shared/data/ml100k-cfgan]

Everything here is measured on the validation split of TRAIN that the
benchmark command tunes on (``holdout_split(train, 0.2, random_state=1)``);
TEST is not read. It prints:

1. validation NDCG@20, overall and per quartile of the users' number of
   interactions, for MF (``MF_CHOSEN``), EASE, the GAN's
   generator used as a ranker, and per-user blends of the generator's or
   EASE's scores with MF's. Augmentation can only move MF towards what the
   generator knows: if the generator is not better than MF on sparse users
   and a blend of the two does not beat MF, generated feedback has nothing
   to add;
2. the same comparison in a sparser regime made from the same data: half of
   the users (drawn with seed 0) keep only N of their training interactions,
   so that they are truly sparse. MF and GAN + MF are each reported at
   the best of a small grid (GAN + MF's grid is the larger one).

Stochastic models use ``--seeds`` seeds; with more than one the tables give
mean ± std.
"""

import argparse
import itertools
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from sklearn_agn import GANAugmenter, MFRecommender
from sklearn_agn.baselines import EASE
from sklearn_agn.benchmark import activity_groups, top_k
from sklearn_agn.datasets import load_triplets
from sklearn_agn.metrics import ndcg_at_k
from sklearn_agn.model_selection import holdout_split

# The choices on this validation split of the benchmark's former grids, built
# around this split's best (MF's validation NDCG@20 .3009, against .2973 for
# the wide spaces the benchmark command draws from now; docs/benchmarks.rst).
MF_CHOSEN = {"n_factors": 128, "regularization": 30.0, "regularization_exponent": 0.0,
             "alpha": 2.0}
EASE_CHOSEN = {"l2_reg": 500}
BLEND_WEIGHTS = (0.25, 0.5)


def _cell(values):
    """A figure over seeds: ``mean ± std``, or the value alone for one seed."""
    mean = f"{np.mean(values):.4f}"
    return mean if len(values) == 1 else f"{mean} ± {np.std(values):.4f}"


def _zscore(scores):
    """Per-row standardised scores, so that two models' scores can be added."""
    scores = scores - scores.mean(axis=1, keepdims=True)
    std = scores.std(axis=1, keepdims=True)
    return scores / np.where(std > 0, std, 1)


def activity_table(X_fit, X_val, seeds):
    """Part 1: validation NDCG@20 per activity quartile, per model and blend."""
    exclude = X_fit.astype(bool)
    rows = {}

    def record(name, scores):
        ranked = top_k(scores, 20, exclude=exclude)
        quartiles = activity_groups(X_fit, X_val, ranked)
        rows.setdefault(name, []).append(
            [ndcg_at_k(X_val, ranked, 20)] + [q["ndcg@20"] for q in quartiles])
        return quartiles

    ease = _zscore(EASE(**EASE_CHOSEN).fit(X_fit).decision_function(X_fit))
    for seed in seeds:
        mf = _zscore(MFRecommender(**MF_CHOSEN, random_state=seed).fit(X_fit)
                     .decision_function(X_fit))
        gan = _zscore(GANAugmenter(random_state=seed).fit(X_fit).score_items(X_fit))
        quartiles = record("MF", mf)
        record("EASE", ease)
        record("generator", gan)
        for w in BLEND_WEIGHTS:
            record(f"{w:g} generator + {1 - w:g} MF", w * gan + (1 - w) * mf)
            record(f"{w:g} EASE + {1 - w:g} MF", w * ease + (1 - w) * mf)

    header = ["model", "all users"] + [
        f"{q['quartile']} ({q['train_interactions']})" for q in quartiles]
    print("| " + " | ".join(header) + " |")
    print("|---" * len(header) + "|")
    for name, runs in rows.items():
        runs = np.array(runs)
        print(f"| {name} | " + " | ".join(_cell(col) for col in runs.T) + " |")


def keep_n(X, rows, n, random_state):
    """Copy of CSR ``X`` where each of ``rows`` keeps ``n`` random interactions."""
    rng = np.random.default_rng(random_state)
    X = X.tocsr(copy=True)
    keep = np.ones(X.nnz, dtype=bool)
    for r in rows:
        start, stop = X.indptr[r], X.indptr[r + 1]
        if stop - start > n:
            dropped = rng.choice(np.arange(start, stop), stop - start - n, replace=False)
            keep[dropped] = False
    coo = X.tocoo()
    return sp.csr_matrix((coo.data[keep], (coo.row[keep], coo.col[keep])), shape=X.shape)


def sparse_regime_table(X_fit, X_val, n_values, seeds):
    """Part 2: half of the users cut to ``n`` interactions; best of a small grid each."""
    sparse_users = np.random.default_rng(0).random(X_fit.shape[0]) < 0.5
    mf_grid = [{**MF_CHOSEN, "regularization": reg} for reg in (10.0, 30.0, 100.0)]
    gan_mf_grid = [({"n_generated": g}, {**MF_CHOSEN, "regularization": reg})
                   for g, reg in itertools.product((5, 10, 20), (10.0, 30.0))]
    print("| users kept to N | model | best setting | all users | cut users | other users |")
    print("|---" * 6 + "|")
    for n in n_values:
        X = keep_n(X_fit, np.flatnonzero(sparse_users), n, random_state=0)
        exclude = X.astype(bool)

        def scores(ranked):
            return [ndcg_at_k(X_val[users], ranked[users], 20)
                    for users in (slice(None), sparse_users, ~sparse_users)]

        results = {"MF": {}, "generator": {}, "GAN + MF": {}}
        for seed in seeds:
            for params in mf_grid:
                model = MFRecommender(**params, random_state=seed).fit(X)
                key = f"reg {params['regularization']:g}"
                results["MF"].setdefault(key, []).append(scores(model.predict(X, k=20)))
            # Only the rows cut to n are augmented: they are the sparse ones.
            gan = GANAugmenter(sparse_threshold=n + 1, random_state=seed).fit(X)
            results["generator"].setdefault("defaults", []).append(
                scores(top_k(gan.score_items(X), 20, exclude=exclude)))
            for gan_params, mf_params in gan_mf_grid:
                X_aug = gan.set_params(**gan_params).transform(X)
                model = MFRecommender(**mf_params, random_state=seed).fit(X_aug)
                key = (f"{gan_params['n_generated']} generated, "
                       f"reg {mf_params['regularization']:g}")
                results["GAN + MF"].setdefault(key, []).append(
                    scores(model.predict(X_aug, k=20)))
        for name, by_setting in results.items():
            # Best setting by overall validation NDCG@20, mean over seeds.
            key = max(by_setting, key=lambda k: np.mean([run[0] for run in by_setting[k]]))
            runs = np.array(by_setting[key])
            print(f"| {n} | {name} | {key} | "
                  + " | ".join(_cell(col) for col in runs.T) + " |")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/ml100k-cfgan"))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--keep", type=int, nargs="+", default=[2, 5],
                        help="interactions kept per cut user in part 2")
    args = parser.parse_args(argv)
    if args.seeds < 1 or min(args.keep) < 1:
        parser.error("--seeds and --keep must be >= 1")
    train = load_triplets(args.data / "train.txt")
    X_fit, X_val = holdout_split(train, 0.2, random_state=1)
    seeds = range(args.seeds)
    print(f"1. Validation NDCG@20 by quartile of users' interactions "
          f"({args.seeds} seeds, mean ± std):\n")
    activity_table(X_fit, X_val, seeds)
    print(f"\n2. Half of the users cut to N interactions (validation NDCG@20, "
          f"{args.seeds} seeds, mean ± std):\n")
    sparse_regime_table(X_fit, X_val, args.keep, seeds)


if __name__ == "__main__":
    main()
