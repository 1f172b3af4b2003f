"""Tuned reference recommenders on the CFGAN split of MovieLens-100K.

Reproduces the baseline rows of ``shared/data/README.md``: every method's
hyper-parameters are chosen by NDCG@20 on a validation split holding out 20%
of each user's train interactions (seed 1), the best setting is refitted on
all of train, and the top 20 unobserved items of each user are scored once
against test.

Usage, from the repository root::

    python benchmarks/baselines_ml100k.py [--data DIR]

``DIR`` holds ``train.txt`` and ``test.txt`` (``user item rating`` lines, ids
from 0); it defaults to ``../shared/data/ml100k-cfgan`` next to the
repository. The data is read in place, never copied (MovieLens licence).
"""

import argparse
import itertools
import time
from pathlib import Path

from sklearn_agn.baselines import EASE, ItemKNN, MostPopular
from sklearn_agn.datasets import load_triplets
from sklearn_agn.metrics import ndcg_at_k, ranking_metrics
from sklearn_agn.model_selection import holdout_split

SHAPE = (943, 1682)  # users x item ids of the split, so train and test align
REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data" / "ml100k-cfgan"

# (name, estimator class, grid of hyper-parameters). EASE's grid is the
# README's; ItemKNN's spans neighbourhoods from 25 to half the catalogue and
# shrink terms from none to dominating the item counts, on log scales.
METHODS = [
    ("most popular", MostPopular, {}),
    (
        "ItemKNN (cosine)",
        ItemKNN,
        {"n_neighbors": [25, 50, 100, 200, 400, 800], "shrink": [0, 10, 100, 1000]},
    ),
    ("EASE", EASE, {"l2_reg": [10, 50, 100, 200, 500, 1000]}),
]
COLUMNS = ["precision@5", "recall@5", "ndcg@5", "precision@20", "recall@20", "ndcg@20"]


def grid(params):
    """Every combination of a ``{name: values}`` grid, as keyword dicts."""
    return [dict(zip(params, values)) for values in itertools.product(*params.values())]


def tune(estimator_class, params, X_fit, X_val):
    """The setting with the best validation NDCG@20, and that score."""
    best = None
    for setting in grid(params):
        model = estimator_class(**setting).fit(X_fit)
        score = ndcg_at_k(X_val, model.predict(X_fit, k=20), 20)
        if best is None or score > best[1]:
            best = (setting, score)
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA,
                        help="folder with train.txt and test.txt (default: %(default)s)")
    args = parser.parse_args()

    train = load_triplets(args.data / "train.txt", shape=SHAPE)
    test = load_triplets(args.data / "test.txt", shape=SHAPE)
    X_fit, X_val = holdout_split(train, 0.2, random_state=1)

    rows = []
    for name, estimator_class, params in METHODS:
        start = time.perf_counter()
        setting, val_ndcg = tune(estimator_class, params, X_fit, X_val)
        model = estimator_class(**setting).fit(train)
        scores = ranking_metrics(test, model.predict(train, k=20), ks=(5, 20))
        rows.append((name, scores, setting, val_ndcg, time.perf_counter() - start))

    header = ["method"] + [c.replace("precision", "P").replace("recall", "R")
                           .replace("ndcg", "NDCG") for c in COLUMNS]
    print(f"ML100K (CFGAN split): {train.nnz} train / {test.nnz} test interactions, "
          f"{SHAPE[0]} users x {SHAPE[1]} items")
    print("| " + " | ".join(header) + " | tuned on validation NDCG@20 | time |")
    print("|" + "---|" * (len(header) + 2))
    for name, scores, setting, val_ndcg, seconds in rows:
        values = " | ".join(f"{scores[c]:.3f}" for c in COLUMNS)
        chosen = ", ".join(f"{k}={v}" for k, v in setting.items()) or "-"
        print(f"| {name} | {values} | {chosen} (val {val_ndcg:.3f}) | {seconds:.1f} s |")


if __name__ == "__main__":
    main()
