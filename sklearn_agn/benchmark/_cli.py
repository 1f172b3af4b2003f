"""The command line: ``python -m sklearn_agn.benchmark --train TRAIN --test TEST``."""

import argparse
import csv
import sys

import numpy as np
from tqdm.auto import tqdm

from ..datasets import load_triplets
from . import _methods
from ._protocol import run_benchmark
from ._report import format_tables, plot_quartiles, write_csv, write_json

__all__ = ["main"]

DESCRIPTION = "The CFGAN paper's protocol on any train/test triplet files."


def progress_log(quiet):
    """The benchmark commands' ``log``: lines to stderr, nothing when ``quiet``.

    Written with ``tqdm.write``, which keeps them clear of the progress bars.
    """
    if quiet:
        return lambda line: None
    return lambda line: tqdm.write(line, file=sys.stderr)


def read_user_groups(path, test):
    """Group labels per user from a CSV file, for :func:`run_benchmark`'s ``user_groups``.

    Parameters
    ----------
    path : str or path-like
        A header line, then one line per user: the user id (the row index in
        the TRAIN and TEST files), then one label per grouping (a column).
        An empty field is a missing label.
    test : sparse matrix of shape (n_users, n_items)
        The test interactions: every user with one needs a line.

    Returns
    -------
    dict
        ``{column name: labels}``, each an object array of one label (a
        string) per user; None for a missing one and for the users without a
        line.

    Raises
    ------
    ValueError
        If the file has no grouping column, a line has the wrong number of
        fields, an id is not a user of TEST or is listed twice, or a user
        with a test item has no line.
    """
    with open(path, newline="") as fh:
        rows = [row for row in csv.reader(fh) if row]
    if not rows or len(rows[0]) < 2:
        raise ValueError(f"{path}: expected a header line 'user_id,grouping[,grouping...]'.")
    header, n_users = rows[0], test.shape[0]
    labels = np.full((n_users, len(header) - 1), None, dtype=object)
    listed = np.zeros(n_users, dtype=bool)
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise ValueError(f"{path}, line {number}: {len(row)} fields, the header has "
                             f"{len(header)}.")
        user = int(row[0]) if row[0].strip().isdigit() else -1
        if not 0 <= user < n_users:
            raise ValueError(f"{path}, line {number}: {row[0]!r} is not a user id of TEST "
                             f"(0 to {n_users - 1}).")
        if listed[user]:
            raise ValueError(f"{path}, line {number}: user {user} is listed twice.")
        listed[user] = True
        labels[user] = [label if label.strip() else None for label in row[1:]]
    unlisted = np.flatnonzero((test.getnnz(axis=1) > 0) & ~listed)
    if unlisted.size:
        raise ValueError(f"{path}: {unlisted.size} users with a test item have no line, "
                         f"e.g. user {unlisted[0]}.")
    return {name: labels[:, j] for j, name in enumerate(header[1:])}


def main(argv=None):
    """Run the benchmark command.

    Parameters
    ----------
    argv : list of str, default=None
        Command-line arguments; ``sys.argv[1:]`` when None. See
        ``python -m sklearn_agn.benchmark --help``.

    Returns
    -------
    dict
        The report of :func:`run_benchmark`, with the command and the data's size.
    """
    methods = _methods.METHODS
    names = [m.name for m in methods]
    parser = argparse.ArgumentParser(prog="python -m sklearn_agn.benchmark",
                                     description=DESCRIPTION)
    parser.add_argument("--train", required=True, help="train triplets: user item [value]")
    parser.add_argument("--test", required=True, help="test triplets, same ids as train")
    parser.add_argument("--methods", nargs="+", default=names, choices=names, metavar="NAME",
                        help="methods to run (default: all): " + ", ".join(map(repr, names))
                             + "".join(f"; {m.name!r} brings {m.on_top_of[0]!r}, whose "
                                       "chosen setting it builds on"
                                       for m in methods if m.on_top_of is not None))
    parser.add_argument("--budget", type=int, default=64,
                        help="settings drawn from each method's search space (default 64); "
                             "GAN + MF: the GAN's settings, MF fixed at MF's choice, the "
                             "first of them augmenting nobody")
    parser.add_argument("--gan-budget", type=int, default=16,
                        help="settings drawn for methods that train a GAN per setting, "
                             "the CFGAN generator (default 16)")
    parser.add_argument("--seeds", type=int, default=3,
                        help="refits of stochastic methods (default 3)")
    parser.add_argument("--val-size", type=float, default=0.2,
                        help="share of each user's train interactions held out to tune")
    parser.add_argument("--val-seed", type=int, default=1,
                        help="seed of the validation split and of the settings drawn")
    parser.add_argument("--user-groups", metavar="CSV",
                        help="CSV with a header line: the user id (as in TRAIN and TEST), then "
                             "one column per grouping of users (e.g. gender, age band); adds "
                             "a table of NDCG@20 per group, with the largest gap, for each")
    parser.add_argument("--json", help="write the full report as JSON here")
    parser.add_argument("--csv", help="write the main table as CSV here")
    parser.add_argument("--plot", help="write the quartile chart here (needs matplotlib)")
    parser.add_argument("--quiet", action="store_true",
                        help="no progress lines or bars (a GAN's epochs and losses)")
    args = parser.parse_args(argv)
    if args.budget < 1 or args.gan_budget < 1 or args.seeds < 1:
        parser.error("--budget, --gan-budget and --seeds must be >= 1")

    raw_train = load_triplets(args.train)
    raw_test = load_triplets(args.test)
    shape = tuple(max(a, b) for a, b in zip(raw_train.shape, raw_test.shape))
    train = load_triplets(args.train, shape=shape)
    test = load_triplets(args.test, shape=shape)
    user_groups = None
    if args.user_groups:
        try:
            user_groups = read_user_groups(args.user_groups, test)
        except (OSError, ValueError) as exc:
            parser.error(f"--user-groups: {exc}")
    # A method built on top of another needs that one's chosen setting and test figures.
    chosen = set(args.methods) | {m.on_top_of[0] for m in methods
                                  if m.name in args.methods and m.on_top_of is not None}
    report = run_benchmark(train, test, [m for m in methods if m.name in chosen],
                           budget=args.budget, gan_budget=args.gan_budget, seeds=args.seeds,
                           val_size=args.val_size, val_seed=args.val_seed,
                           user_groups=user_groups, log=progress_log(args.quiet),
                           progress=not args.quiet)
    report["command"] = "python -m sklearn_agn.benchmark " + " ".join(
        sys.argv[1:] if argv is None else argv)
    report["data"] = {"users": shape[0], "items": shape[1], "train": int(train.nnz),
                      "test": int(test.nnz)}
    print(f"$ {report['command']}")
    print(f"{shape[0]} users, {shape[1]} items, {train.nnz} train and {test.nnz} test "
          f"interactions; tuned on a {args.val_size:.0%} per-user validation split of train "
          f"(seed {args.val_seed}), {args.budget} settings drawn per method "
          f"({args.gan_budget} for methods that train a GAN per setting), "
          f"{args.seeds} seeds for stochastic methods.\n")
    print(format_tables(report))
    if args.json:
        write_json(report, args.json)
    if args.csv:
        write_csv(report, args.csv)
    if args.plot:
        plot_quartiles(report, args.plot)
    return report
