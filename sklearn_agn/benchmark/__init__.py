"""Benchmark command: the CFGAN paper's protocol on any train/test triplet files.

Usage::

    python -m sklearn_agn.benchmark --train TRAIN --test TEST [options]

Protocol (Chae et al., CIKM 2018, and ``shared/data/README.md``):

1. Every method's hyper-parameters are chosen by NDCG@20 on a validation
   split that holds out ``--val-size`` of each user's TRAIN interactions
   (``holdout_split``, seed ``--val-seed``). At most ``--budget`` settings of
   each method's grid are tried (a seeded random subset when the grid is
   larger); the output says how many.
2. The chosen setting is refitted on all of TRAIN, with ``--seeds`` seeds for
   stochastic methods, and every user's unobserved items are ranked once
   against TEST: precision, recall, NDCG and MRR at 5 and 20, fit time.
3. A second table splits the test users into quartiles of their number of
   TRAIN interactions and gives NDCG@20 per quartile for MF and GAN + MF,
   the place where augmentation should pay.

TEST is never used to choose anything.
"""

import argparse
import copy
import itertools
import json
import sys
import time

import numpy as np
from sklearn.base import clone
from sklearn.pipeline import make_pipeline
from sklearn.utils import check_random_state

from ..augmentation import GANAugmenter
from ..baselines import EASE, ItemKNN, MostPopular
from ..datasets import load_triplets
from ..matrix_factorization import MFRecommender
from ..metrics import ndcg_at_k, ranking_metrics
from ..model_selection import holdout_split

__all__ = ["Method", "METHODS", "run_benchmark", "main"]

CUTOFFS = (5, 20)
REPORTED = [f"{m}@{k}" for k in CUTOFFS for m in ("precision", "recall", "ndcg", "mrr")]


class Method:
    """A benchmarked method: how to build and fit it, and the grid it is tuned over.

    Parameters
    ----------
    name : str
        Row label of the tables.
    build : callable
        ``build(params, seed) -> estimator`` with ``fit(X)`` and ``predict(X, k=...)``.
    grid : dict of list
        Hyper-parameter grid, ``{name: candidate values}``.
    stochastic : bool
        Whether the result depends on the seed (then ``--seeds`` refits).
    fit : callable, default=None
        ``fit(params, seed, X) -> fitted estimator``, when fitting can be
        cheaper than ``build(params, seed).fit(X)`` during tuning.
    """

    def __init__(self, name, build, grid, stochastic, fit=None):
        self.name = name
        self.build = build
        self.grid = grid
        self.stochastic = stochastic
        self.fit = fit or (lambda params, seed, X: build(params, seed).fit(X))

    def settings(self, budget, random_state):
        """At most ``budget`` settings of the grid (all of them if it is smaller)."""
        settings = [dict(zip(self.grid, values))
                    for values in itertools.product(*self.grid.values())]
        if len(settings) <= budget:
            return settings, len(settings)
        rng = check_random_state(random_state)
        chosen = sorted(rng.choice(len(settings), size=budget, replace=False))
        return [settings[i] for i in chosen], len(settings)


def _mf(params, seed):
    return MFRecommender(**params, random_state=seed)


def _split_gan_mf(params):
    gan = {k[len("gan__"):]: v for k, v in params.items() if k.startswith("gan__")}
    mf = {k[len("mf__"):]: v for k, v in params.items() if k.startswith("mf__")}
    return gan, mf


def _gan_mf(params, seed):
    gan, mf = _split_gan_mf(params)
    return make_pipeline(GANAugmenter(**{**GAN_PARAMS, **gan}, random_state=seed),
                         MFRecommender(**{**MF_PARAMS, **mf}, random_state=seed))


# Parameters of GANAugmenter that only act in ``transform``: settings that
# differ only in these share one trained GAN during tuning.
_TRANSFORM_PARAMS = {"sparse_threshold", "n_generated", "generated_weight"}
# ``(training parameters, X, trained GAN)`` of the last GAN trained. X is kept
# and compared by identity: an ``id`` alone could be reused by a later matrix.
_last_trained = [None, None, None]


def _fit_gan_mf(params, seed, X):
    """``_gan_mf(params, seed).fit(X)``, reusing a GAN trained with the same training parameters."""
    pipeline = _gan_mf(params, seed)
    gan, mf = (step for _, step in pipeline.steps)
    training = repr(sorted((k, v) for k, v in gan.get_params().items()
                           if k not in _TRANSFORM_PARAMS))
    if _last_trained[0] != training or _last_trained[1] is not X:
        # One GAN at a time: bounded memory.
        _last_trained[:] = [training, X, clone(gan).fit(X)]
    trained = copy.copy(_last_trained[2]).set_params(
        **{k: v for k, v in gan.get_params().items() if k in _TRANSFORM_PARAMS})
    pipeline.steps[0] = (pipeline.steps[0][0], trained)
    mf.fit(trained.transform(X))
    return pipeline


# MF's grid holds the best regions of both regularisation schemes found on
# ML100K's validation split. GAN + MF keeps the GAN's defaults (chosen on the
# same split by benchmarks/gan_ranker_ml100k.py) and MF's best ML100K setting,
# and tunes how much generated feedback is added and how much it counts.
MF_GRID = {
    "n_factors": [64, 128],
    "regularization_exponent": [0.0],
    "regularization": [10.0, 30.0],
    "alpha": [2.0, 5.0],
}
GAN_PARAMS = {}
MF_PARAMS = {"n_factors": 128, "regularization": 30.0, "regularization_exponent": 0.0}
GAN_MF_GRID = {
    "gan__sparse_threshold": [30, 60, 100_000],
    "gan__n_generated": [2, 5, 10, 20],
    "gan__generated_weight": ["score"],
    "mf__alpha": [2.0, 5.0],
}
METHODS = [
    Method("most popular", lambda params, seed: MostPopular(**params), {}, False),
    Method("ItemKNN", lambda params, seed: ItemKNN(**params),
           {"n_neighbors": [50, 100, 200, 400], "shrink": [0, 10, 100]}, False),
    Method("EASE", lambda params, seed: EASE(**params),
           {"l2_reg": [10, 50, 100, 200, 500, 1000]}, False),
    Method("MF (iALS)", _mf, MF_GRID, True),
    Method("GAN + MF", _gan_mf, GAN_MF_GRID, True, fit=_fit_gan_mf),
]


def _fit_rank(method, params, seed, X_fit, k):
    start = time.perf_counter()
    model = method.fit(params, seed, X_fit)
    fit_time = time.perf_counter() - start
    return model.predict(X_fit, k=k), fit_time


def _tune(method, X_fit, X_val, budget, seed, log):
    settings, n_grid = method.settings(budget, seed)
    best_params, best_score = None, -np.inf
    for params in settings:
        ranked, _ = _fit_rank(method, params, seed, X_fit, 20)
        score = ndcg_at_k(X_val, ranked, 20)
        log(f"  {method.name} {params}: validation NDCG@20 {score:.4f}")
        if score > best_score:
            best_params, best_score = params, score
    return best_params, best_score, len(settings), n_grid


def _quartiles(train, test, ranked):
    """NDCG@20 per quartile of users (with test items) by number of train interactions."""
    counts = train.getnnz(axis=1)
    evaluated = test.getnnz(axis=1) > 0
    edges = np.quantile(counts[evaluated], [0.25, 0.5, 0.75])
    quartile = np.searchsorted(edges, counts, side="right")
    out = []
    for q in range(4):
        users = np.flatnonzero((quartile == q) & evaluated)
        out.append({
            "quartile": q + 1,
            "users": int(users.size),
            "train_interactions": f"{counts[users].min()}-{counts[users].max()}",
            "ndcg@20": ndcg_at_k(test[users], ranked[users], 20),
        })
    return out


def run_benchmark(train, test, methods=METHODS, *, budget=24, seeds=3, val_size=0.2,
                  val_seed=1, log=print):
    """Tune every method on validation, refit on train, score on test.

    Parameters
    ----------
    train, test : sparse matrix of shape (n_users, n_items)
        Train interactions and held-out test interactions.
    methods : list of Method, default=METHODS
    budget : int, default=24
        Most settings tried per method.
    seeds : int, default=3
        Refits (seeds 0, 1, ...) of stochastic methods.
    val_size : float, default=0.2
    val_seed : int, default=1
    log : callable, default=print
        Receives progress lines.

    Returns
    -------
    dict
        ``{"results": [...], "quartiles": {...}}``: per method, the chosen
        parameters, its validation score, the budget used, and per-seed test
        metrics with fit times; per stochastic method the NDCG@20 by quartile.
    """
    X_fit, X_val = holdout_split(train, val_size, random_state=val_seed)
    results, quartiles = [], {}
    for method in methods:
        params, val_score, tried, n_grid = _tune(method, X_fit, X_val, budget, val_seed, log)
        runs = []
        for seed in range(seeds if method.stochastic else 1):
            ranked, fit_time = _fit_rank(method, params, seed, train, max(CUTOFFS))
            runs.append({**ranking_metrics(test, ranked, ks=CUTOFFS), "fit_time": fit_time})
            if method.stochastic:
                quartiles.setdefault(method.name, []).append(_quartiles(train, test, ranked))
        log(f"{method.name}: chose {params} ({tried} of {n_grid} settings)")
        results.append({"method": method.name, "params": params, "validation_ndcg@20": val_score,
                        "settings_tried": tried, "grid_size": n_grid, "runs": runs})
    return {"results": results, "quartiles": quartiles}


def _cell(values):
    values = np.asarray(values, dtype=float)
    if values.size == 1:
        return f"{values[0]:.4f}"
    return f"{values.mean():.4f} ± {values.std():.4f}"


def format_tables(report):
    """The two markdown tables of a :func:`run_benchmark` report."""
    lines = ["| method | " + " | ".join(REPORTED) + " | fit time (s) | settings tried |",
             "|---" * (len(REPORTED) + 3) + "|"]
    for row in report["results"]:
        cells = [_cell([run[name] for run in row["runs"]]) for name in REPORTED]
        fit = _cell([run["fit_time"] for run in row["runs"]])
        lines.append(f"| {row['method']} | " + " | ".join(cells)
                     + f" | {fit} | {row['settings_tried']} of {row['grid_size']} |")
    lines += ["", "NDCG@20 by quartile of users' train interactions (mean ± std over seeds):", ""]
    names = list(report["quartiles"])
    if names:
        first = report["quartiles"][names[0]][0]
        lines += ["| quartile | users | train interactions | " + " | ".join(names) + " |",
                  "|---" * (3 + len(names)) + "|"]
        for q, info in enumerate(first):
            cells = [_cell([runs[q]["ndcg@20"] for runs in report["quartiles"][name]])
                     for name in names]
            lines.append(f"| Q{info['quartile']} | {info['users']} | "
                         f"{info['train_interactions']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot_quartiles(report, path):
    """Bar chart of NDCG@20 per quartile (needs matplotlib)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:  # optional dependency
        raise ImportError("--plot needs matplotlib: pip install 'sklearn-agn[plot]'") from exc
    names = list(report["quartiles"])
    fig, ax = plt.subplots(figsize=(6, 3.5))
    width = 0.8 / max(len(names), 1)
    for i, name in enumerate(names):
        values = np.array([[q["ndcg@20"] for q in run] for run in report["quartiles"][name]])
        ax.bar(np.arange(4) + i * width, values.mean(axis=0), width,
               yerr=values.std(axis=0), label=name)
    ax.set_xticks(np.arange(4) + width * (len(names) - 1) / 2, [f"Q{q}" for q in range(1, 5)])
    ax.set_xlabel("users by number of train interactions (Q1 = sparsest)")
    ax.set_ylabel("NDCG@20")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m sklearn_agn.benchmark",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--train", required=True, help="train triplets: user item [value]")
    parser.add_argument("--test", required=True, help="test triplets, same ids as train")
    parser.add_argument("--methods", nargs="+", default=[m.name for m in METHODS],
                        choices=[m.name for m in METHODS], metavar="NAME",
                        help="methods to run (default: all): " + ", ".join(
                            repr(m.name) for m in METHODS))
    parser.add_argument("--budget", type=int, default=24, help="settings tried per method")
    parser.add_argument("--seeds", type=int, default=3, help="refits of stochastic methods")
    parser.add_argument("--val-size", type=float, default=0.2)
    parser.add_argument("--val-seed", type=int, default=1)
    parser.add_argument("--json", help="write the full report as JSON here")
    parser.add_argument("--csv", help="write the main table as CSV here")
    parser.add_argument("--plot", help="write the quartile chart here (needs matplotlib)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    args = parser.parse_args(argv)
    if args.budget < 1 or args.seeds < 1:
        parser.error("--budget and --seeds must be >= 1")

    raw_train = load_triplets(args.train)
    raw_test = load_triplets(args.test)
    shape = tuple(max(a, b) for a, b in zip(raw_train.shape, raw_test.shape))
    train = load_triplets(args.train, shape=shape)
    test = load_triplets(args.test, shape=shape)
    log = (lambda line: None) if args.quiet else (lambda line: print(line, file=sys.stderr))
    methods = [m for m in METHODS if m.name in args.methods]
    report = run_benchmark(train, test, methods, budget=args.budget, seeds=args.seeds,
                           val_size=args.val_size, val_seed=args.val_seed, log=log)
    report["command"] = "python -m sklearn_agn.benchmark " + " ".join(
        sys.argv[1:] if argv is None else argv)
    report["data"] = {"users": shape[0], "items": shape[1], "train": int(train.nnz),
                      "test": int(test.nnz)}
    print(f"$ {report['command']}")
    print(f"{shape[0]} users, {shape[1]} items, {train.nnz} train and {test.nnz} test "
          f"interactions; tuned on a {args.val_size:.0%} per-user validation split of train "
          f"(seed {args.val_seed}), budget {args.budget} settings per method, "
          f"{args.seeds} seeds for stochastic methods.\n")
    print(format_tables(report))
    for row in report["results"]:
        print(f"- {row['method']}: {row['params']} (validation NDCG@20 "
              f"{row['validation_ndcg@20']:.4f})")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(report, fh, indent=2, default=str)
    if args.csv:
        with open(args.csv, "w") as fh:
            fh.write("method," + ",".join(REPORTED) + ",fit_time\n")
            for row in report["results"]:
                for run in row["runs"]:
                    fh.write(row["method"] + "," + ",".join(f"{run[n]:.6f}" for n in REPORTED)
                             + f",{run['fit_time']:.3f}\n")
    if args.plot:
        plot_quartiles(report, args.plot)
    return report

