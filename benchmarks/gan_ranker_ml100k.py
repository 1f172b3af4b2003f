"""GANAugmenter's generator on its own, on the CFGAN paper's ML100K split.

Run from the repository root::

    python benchmarks/gan_ranker_ml100k.py [--data ../shared/data/ml100k-cfgan]

It prints:

1. a small validation grid (hyper-parameters chosen by NDCG@20 on
   ``holdout_split(train, 0.2, random_state=1)``), the chosen model refitted on
   all of train and scored once on test, as a ranker of each user's unobserved
   items (paper: P@5 .444, NDCG@20 .433);
2. the fit time and test scores with the default parameters;
3. how often the items ``transform`` adds to the sparse rows of train are in
   the user's test items, against the most popular unobserved items and
   random unobserved items (same number per row);
4. how ``sample()``'s synthetic users compare with train: item popularity
   correlation and row-length distribution.
"""

import argparse
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from scipy.stats import pearsonr, spearmanr

from sklearn_agn.datasets import load_triplets
from sklearn_agn.gan import CFGANRecommender, GANAugmenter
from sklearn_agn.metrics import ndcg_at_k, ranking_metrics
from sklearn_agn.model_selection import holdout_split

GRID = [
    {"pm_ratio": 0.1, "zr_coef": 0.1, "max_iter": 20},
    {"pm_ratio": 0.1, "zr_coef": 0.1, "max_iter": 40},
    {"pm_ratio": 0.3, "zr_coef": 0.1, "max_iter": 40},
    {"pm_ratio": 0.1, "zr_coef": 0.05, "max_iter": 40},
    # CFGAN's published ML100K ratios and coefficient (ZP scheme).
    {"pm_ratio": 0.7, "zr_coef": 0.03, "max_iter": 40},
]
RANDOM_STATE = 0


def load(data):
    train = load_triplets(data / "train.txt")
    test = load_triplets(data / "test.txt")
    shape = tuple(np.maximum(train.shape, test.shape))
    return load_triplets(data / "train.txt", shape=shape), load_triplets(
        data / "test.txt", shape=shape
    )


def fit_ranker(X, params):
    """The generator of a GANAugmenter of ``params``, fitted on ``X``, as a ranker."""
    return CFGANRecommender(GANAugmenter(random_state=RANDOM_STATE, **params)).fit(X)


def row_hits(pairs_rows, pairs_items, truth):
    """Share of the (row, item) pairs that are in ``truth``."""
    return float(np.asarray(truth[pairs_rows, pairs_items]).ravel().astype(bool).mean())


def augmentation_precision(model, train, test, rng):
    """Share of added items found in the test rows: GAN, popularity, random."""
    added = model.transform(train) - train
    added.eliminate_zeros()
    added = sp.coo_matrix(added)
    rows, items = added.row, added.col
    per_row = np.bincount(rows, minlength=train.shape[0])
    popularity = np.asarray(train.sum(axis=0)).ravel()
    pop_rows, pop_items, rnd_rows, rnd_items = [], [], [], []
    for r in np.flatnonzero(per_row):
        unobserved = np.setdiff1d(np.arange(train.shape[1]), train[r].indices)
        # Stable sort: ties broken by the lower item index.
        best = unobserved[np.argsort(-popularity[unobserved], kind="stable")[: per_row[r]]]
        pop_rows.append(np.full(per_row[r], r))
        pop_items.append(best)
        rnd_rows.append(np.full(per_row[r], r))
        rnd_items.append(rng.choice(unobserved, per_row[r], replace=False))
    return (
        int(np.count_nonzero(per_row)),
        len(rows),
        row_hits(rows, items, test),
        row_hits(np.concatenate(pop_rows), np.concatenate(pop_items), test),
        row_hits(np.concatenate(rnd_rows), np.concatenate(rnd_items), test),
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/ml100k-cfgan"))
    args = parser.parse_args()
    train, test = load(args.data)
    print(f"ML100K (CFGAN split): {train.shape[0]} users x {train.shape[1]} items, "
          f"{train.nnz} train / {test.nnz} test interactions\n")

    print("1. Validation grid (train split 80/20 per user, seed 1), NDCG@20:")
    val_train, val_test = holdout_split(train, 0.2, random_state=1)
    results = []
    for params in GRID:
        start = time.perf_counter()
        ranker = fit_ranker(val_train, params)
        score = ndcg_at_k(val_test, ranker.predict(val_train, k=20), 20)
        results.append(score)
        print(f"   {params}  ndcg@20={score:.4f}  ({time.perf_counter() - start:.1f} s)")
    best = GRID[int(np.argmax(results))]
    print(f"   chosen: {best}\n")

    def report(title, params):
        start = time.perf_counter()
        ranker = fit_ranker(train, params)
        seconds = time.perf_counter() - start
        m = ranking_metrics(test, ranker.predict(train, k=20), ks=(5, 20))
        print(f"{title}: fit on all train in {seconds:.1f} s, test scores:")
        print("   P@5    R@5    NDCG@5 P@20   R@20   NDCG@20")
        print("   " + " ".join(f"{m[key]:.4f}" for key in (
            "precision@5", "recall@5", "ndcg@5", "precision@20", "recall@20", "ndcg@20")))
        print("   (paper, CFGAN: P@5 .444, NDCG@20 .433; EASE on this split: .444 / .436)\n")
        return ranker.augmenter_

    model = report("   chosen parameters", best)
    defaults = GANAugmenter().get_params()
    if all(defaults[key] == value for key, value in best.items()):
        print("2. Default parameters: the chosen ones, above.\n")
    else:
        model = report("2. Default parameters", {})

    print("3. Items added by transform (default model) that are in the user's test items:")
    rng = np.random.RandomState(RANDOM_STATE)
    for label, params in [
        (f"sparse rows (< {model.sparse_threshold} interactions), "
         f"{model.n_generated} each", {}),
        ("every row, 10 each", {"sparse_threshold": train.shape[1] + 1, "n_generated": 10}),
    ]:
        n_rows, n_added, gan, pop, rnd = augmentation_precision(
            model.set_params(**params), train, test, rng
        )
        print(f"   {label}: {n_rows} rows, {n_added} items added")
        print(f"      GAN {gan:.4f}   most popular unobserved {pop:.4f}   random {rnd:.4f}")

    # sample() does not depend on the transform parameters changed above.
    print("\n4. sample(): synthetic users vs train")
    synthetic = model.sample(train.shape[0], random_state=RANDOM_STATE)
    pop_train = np.asarray(train.astype(bool).sum(axis=0)).ravel()
    pop_synth = np.asarray(synthetic.sum(axis=0)).ravel()
    print(f"   item popularity: Pearson r={pearsonr(pop_train, pop_synth)[0]:.3f}, "
          f"Spearman rho={spearmanr(pop_train, pop_synth)[0]:.3f}; items used: "
          f"train {np.count_nonzero(pop_train)}, synthetic {np.count_nonzero(pop_synth)}")
    quantiles = [0.1, 0.25, 0.5, 0.75, 0.9]
    for name, X in [("train", train), ("synthetic", synthetic)]:
        lengths = np.diff(X.indptr)
        qs = " ".join(f"{q:.0f}" for q in np.quantile(lengths, quantiles))
        print(f"   row length {name:>9}: mean {lengths.mean():6.1f}, "
              f"quantiles 10/25/50/75/90% {qs}")
    top = np.argsort(-pop_train, kind="stable")[:100]
    print(f"   share of interactions on the 100 most popular train items: "
          f"train {pop_train[top].sum() / pop_train.sum():.3f}, "
          f"synthetic {pop_synth[top].sum() / pop_synth.sum():.3f}")


if __name__ == "__main__":
    main()
