"""Does GAN augmentation narrow or widen the gaps between groups of users on ML-100K?

Run from the repository root (10 to 25 minutes on 2 busy cores)::

    OMP_NUM_THREADS=1 python benchmarks/bench_fairness.py [--data ../shared/data/ml-100k]

MovieLens-100K from its raw files (``load_movielens_100k``: users are rows in
the order of their ids, with gender and age), every rating an interaction.
Split: 20% of each user's interactions held out for test (``holdout_split``,
seed ``--split-seed``). MF (iALS) and GAN + MF are tuned by
:func:`sklearn_agn.benchmark.run_benchmark` as ``python -m
sklearn_agn.benchmark`` tunes them: on a validation split of TRAIN (20% of
each user's train interactions, seed 1), GAN + MF on top of MF's chosen
setting, over the benchmark's GAN space, with augmenting nobody (MF itself)
among its candidates. MF is tuned over a grid around its defaults
(``MF_GRID``, which holds them) rather than the benchmark's wide space: 32
draws from that space missed settings that beat MF's defaults on validation
(.2873 against .3020), and a GAN measured on top of an under-tuned MF gets
credit for the tuning's shortfall. TEST chooses nothing. Each method is then
refitted on TRAIN with ``--seeds`` seeds.

Groups of users: quartiles of the number of train interactions
(``activity_groups``), gender, and age band. Per group, NDCG@20 of each
method (mean over seeds) ± its standard error over the group's users, and
GAN + MF minus MF with two standard errors: over the seeds (the models'
random initialisation, on these users) and over the users (paired user by
user, on seed 0's refits: how much the difference would move with other
users). The gap row of a grouping is the gap between the groups MF serves
best and worst (for activity, densest minus sparsest quartile), for both
methods: a negative difference means the GAN narrows it.
"""

import argparse
from pathlib import Path

import numpy as np

from sklearn_agn.benchmark import METHODS, Method, run_benchmark
from sklearn_agn.datasets import load_movielens_100k
from sklearn_agn.fairness import activity_groups
from sklearn_agn.metrics import ranking_metric_per_user
from sklearn_agn.model_selection import holdout_split

AGE_BANDS = ([0, 25, 35, 45, 200], ["<25", "25-34", "35-44", "45+"])
NAMES = ("MF (iALS)", "GAN + MF")
# 48 settings around MFRecommender's defaults (64 factors, alpha 2, regularization 0.3).
MF_GRID = {"n_factors": [32, 64, 128], "alpha": [1.0, 2.0, 5.0, 10.0],
           "regularization": [0.1, 0.3, 1.0, 3.0], "regularization_exponent": [1.0]}


def user_groups(data, train):
    """Activity quartiles, gender, and age band of every user (row)."""
    import pandas as pd  # load_movielens_100k needs pandas already

    edges, labels = AGE_BANDS
    age = pd.cut(data.user_info["age"], edges, right=False, labels=labels)
    return {"activity": activity_groups(train), "gender": data.user_info["gender"].to_numpy(),
            "age": age.astype(str).to_numpy()}


def _se(values):
    values = np.asarray(values)
    return values.std(ddof=1) / np.sqrt(values.size) if values.size > 1 else float("nan")


def _line(grouping, name, mf, gan, seed_diffs, user_se):
    """One table row: ``mf`` and ``gan`` are (mean, standard error over users) pairs."""
    return (f"| {grouping} | {name} | {mf[0]:.4f} ± {mf[1]:.4f} | {gan[0]:.4f} ± {gan[1]:.4f} | "
            f"{np.mean(seed_diffs):+.4f} | {_se(seed_diffs):.4f} | {user_se:.4f} |")


def grouping_rows(report, grouping, labels, per_user):
    """Table rows of one grouping: each group, then MF's best group minus its worst."""
    # (seeds, groups) arrays of each method's NDCG@20 and standard error over users.
    value, sem = ({name: np.array([[run[grouping][key][label] for label in labels]
                                   for run in report["groups"][name]]) for name in NAMES}
                  for key in ("by_group", "sem"))
    n_users = report["groups"][NAMES[0]][0][grouping]["n_users"]
    # GAN + MF minus MF user by user (seed 0): the paired standard error per group.
    diff = per_user[NAMES[1]] - per_user[NAMES[0]]
    user_se = np.array([_se(diff[(per_user["groups"][grouping] == label) & ~np.isnan(diff)])
                        for label in labels])
    mf, gan = NAMES
    lines = [_line(grouping, f"{label} ({n_users[label]} users)",
                   (value[mf][:, j].mean(), sem[mf][:, j].mean()),
                   (value[gan][:, j].mean(), sem[gan][:, j].mean()),
                   value[gan][:, j] - value[mf][:, j], user_se[j])
             for j, label in enumerate(labels)]
    best, worst = value[mf].mean(axis=0).argmax(), value[mf].mean(axis=0).argmin()
    # Two disjoint groups of users: the variances of their means add.
    gap = {name: (value[name][:, best] - value[name][:, worst],
                  np.hypot(sem[name][:, best], sem[name][:, worst]).mean()) for name in NAMES}
    lines.append(_line(grouping, f"**gap {labels[best]} − {labels[worst]}**",
                       (gap[mf][0].mean(), gap[mf][1]), (gap[gan][0].mean(), gap[gan][1]),
                       gap[gan][0] - gap[mf][0], np.hypot(user_se[best], user_se[worst])))
    return lines


def seed_zero_per_user(report, methods, train, test):
    """NDCG@20 of every user for each method's seed-0 refit (the report's seed 0)."""
    per_user = {}
    for method, row in zip(methods, report["results"]):
        ranked = method.build(row["params"], 0).fit(train).predict(train, k=20)
        per_user[method.name] = ranking_metric_per_user(test, ranked, 20)
        # The same refit as the report's: a check that the paired errors describe it.
        assert np.isclose(np.nanmean(per_user[method.name]), row["runs"][0]["ndcg@20"])
    return per_user


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data/ml-100k",
                        help="the unpacked ml-100k folder")
    parser.add_argument("--seeds", type=int, default=3, help="refits per method (default 3)")
    parser.add_argument("--budget", type=int, default=48,
                        help="settings tried per method on validation (default 48: all of "
                             "MF's grid)")
    parser.add_argument("--split-seed", type=int, default=0, help="seed of the test split")
    args = parser.parse_args(argv)
    if not Path(args.data, "u.data").is_file():
        parser.error(f"{args.data} holds no u.data: pass --data PATH/TO/ml-100k")
    if args.seeds < 2:
        parser.error("--seeds must be at least 2, for a standard error over seeds")

    data = load_movielens_100k(args.data)
    train, test = holdout_split(data.interactions, 0.2, random_state=args.split_seed)
    groups = user_groups(data, train)
    benchmarked = {method.name: method for method in METHODS}
    mf = benchmarked[NAMES[0]]
    methods = [Method(mf.name, mf.build, MF_GRID, mf.stochastic), benchmarked[NAMES[1]]]
    report = run_benchmark(train, test, methods, budget=args.budget, seeds=args.seeds,
                           user_groups=groups, log=lambda line: None)
    per_user = {**seed_zero_per_user(report, methods, train, test), "groups": groups}

    print(f"ML-100K: {train.shape[0]} users, {train.nnz} train and {test.nnz} test "
          f"interactions (split seed {args.split_seed}); {args.budget} settings per method "
          f"tuned on validation, {args.seeds} seeds.\n")
    for row in report["results"]:
        print(f"- {row['method']}: {row['params']} (validation NDCG@20 "
              f"{row['validation_ndcg@20']:.4f})")
    print("\nNDCG@20 (mean over seeds ± standard error over users); GAN + MF − MF, "
          "mean over seeds, standard error over seeds and over users (paired):\n")
    print("| users by | group | MF (iALS) | GAN + MF | GAN + MF − MF | SE seeds | SE users |")
    print("|---" * 7 + "|")
    order = {"age": AGE_BANDS[1]}
    for grouping, labels in groups.items():
        for line in grouping_rows(report, grouping, order.get(grouping, np.unique(labels)),
                                  per_user):
            print(line)
    overall = [[run["ndcg@20"] for run in row["runs"]] for row in report["results"]]
    diff = per_user[NAMES[1]] - per_user[NAMES[0]]
    print(f"| all | all users ({np.sum(~np.isnan(diff))}) | {np.mean(overall[0]):.4f} | "
          f"{np.mean(overall[1]):.4f} | {np.mean(np.subtract(overall[1], overall[0])):+.4f} | "
          f"{_se(np.subtract(overall[1], overall[0])):.4f} | "
          f"{_se(diff[~np.isnan(diff)]):.4f} |")


if __name__ == "__main__":
    main()
