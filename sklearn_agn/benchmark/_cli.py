"""The command line: ``python -m sklearn_agn.benchmark --train TRAIN --test TEST``."""

import argparse
import sys

from ..datasets import load_triplets
from . import _methods
from ._protocol import run_benchmark
from ._report import format_tables, plot_quartiles, write_csv, write_json

__all__ = ["main"]

DESCRIPTION = "The CFGAN paper's protocol on any train/test triplet files."


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
    parser.add_argument("--json", help="write the full report as JSON here")
    parser.add_argument("--csv", help="write the main table as CSV here")
    parser.add_argument("--plot", help="write the quartile chart here (needs matplotlib)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    args = parser.parse_args(argv)
    if args.budget < 1 or args.gan_budget < 1 or args.seeds < 1:
        parser.error("--budget, --gan-budget and --seeds must be >= 1")

    raw_train = load_triplets(args.train)
    raw_test = load_triplets(args.test)
    shape = tuple(max(a, b) for a, b in zip(raw_train.shape, raw_test.shape))
    train = load_triplets(args.train, shape=shape)
    test = load_triplets(args.test, shape=shape)
    log = (lambda line: None) if args.quiet else (lambda line: print(line, file=sys.stderr))
    # A method built on top of another needs that one's chosen setting and test figures.
    chosen = set(args.methods) | {m.on_top_of[0] for m in methods
                                  if m.name in args.methods and m.on_top_of is not None}
    report = run_benchmark(train, test, [m for m in methods if m.name in chosen],
                           budget=args.budget, gan_budget=args.gan_budget, seeds=args.seeds,
                           val_size=args.val_size,
                           val_seed=args.val_seed, log=log)
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
