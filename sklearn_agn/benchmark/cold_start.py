"""Cold-start benchmark: recommending items (and users) that have no interaction yet.

Usage::

    python -m sklearn_agn.benchmark.cold_start --ratings RATINGS --items ITEMS [options]

RATINGS is a MovieLens ratings file (``u.data``, ``ratings.dat``,
``ratings.csv``) or a CSV whose first two columns are user and item ids.
ITEMS is ML-100K's ``u.item`` (genres and release decade, plus TF-IDF of the
titles with ``--title-tfidf``, through :func:`~sklearn_agn.datasets.load_movielens_100k`;
its ``u.user`` then gives the user attributes), or any attribute file
:func:`~sklearn_agn.datasets.load_item_attributes` reads: a wide CSV of
``item_id`` and numeric columns, a long CSV of ``item_id,tag`` or
``item_id,attribute,value`` lines, or a ``scipy.sparse.save_npz`` matrix
with ``--item-ids``, a file of its rows' ids. Every method gets the same
sparse attribute matrix. Item ids are matched as numbers when both files'
are numbers, else as text; files that share no item id, or fewer than
:data:`MIN_ITEMS` items with both ratings and attributes, are refused before
anything is fitted.

Item cold start, the protocol of GAR (Chen et al., SIGIR 2022) and ColdRec,
for each seed ``s`` in ``0 .. --seeds - 1`` (seed = split):

1. The items are relabelled in a random order (seed ``s``), so that ties in
   a ranking are broken at random rather than by id (MovieLens ids
   correlate with popularity). The items that appear in RATINGS are
   shuffled with seed ``s``: 80% are
   warm, 20% cold; the cold items are split 50/50 into cold-validation and
   cold-test. The training matrix holds all the interactions on warm items.
2. For every user with an interaction on a cold-test item, only the
   cold-test items are ranked; Recall@20 (hits / min(relevant, 20)) and
   NDCG@20 (binary relevance) are averaged over those users.
3. Every choice is made on the cold-validation items, ranked the same way:
   each method tries ``--budget`` settings drawn by ``ParameterSampler``
   (seed ``s``) from log-uniform ranges and keeps the best by NDCG@20. The
   GAN methods, each of whose settings trains a GAN, search once, on the
   first seed: the setting chosen on ML-100K, then ``--budget - 1`` drawn,
   the best kept for every later seed (their notes in the report say which).
4. All-items table: the same users, with 20% of their warm training
   interactions held out (seed ``s``), rank the warm and cold-test items
   together (cold-validation items are left out of the catalogue), with the
   chosen settings refitted on the rest: NDCG@20 against their held-out warm
   and cold-test items, NDCG@20 against the held-out warm items alone (warm
   accuracy), and the share of cold items in the top 20.

User cold start (with user attributes): users are shuffled with seed ``s``;
80% are warm, 10% cold-validation, 10% cold-test. The training matrix holds
the warm users' rows; a cold user's row is empty, so the user is ranked
from their attributes alone: all items, NDCG@20 against all their real
interactions. Settings are chosen on the cold-validation users.

Tables give mean ± std over seeds; ``--json`` writes every run (and, while
the run goes on, the finished seeds to ``JSON.partial``). Progress bars (each
method's settings, a GAN's epochs) go to stderr unless ``--quiet``.
"""

import argparse
import json
import sys
import time
from pathlib import Path

from ._cli import progress_log
from ._cold_start_data import load_data
from ._cold_start_methods import (DEFAULT_ITEM_METHODS, DEFAULT_USER_METHODS, ITEM_METHODS,
                                  USER_METHODS)
from ._cold_start_protocol import (K, MIN_ITEMS, run_item_cold_start, run_user_cold_start,
                                   split_items, split_users)
from ._cold_start_report import format_tables, merge_reports
from ._report import write_json

__all__ = ["ITEM_METHODS", "USER_METHODS", "DEFAULT_ITEM_METHODS", "DEFAULT_USER_METHODS", "K",
           "MIN_ITEMS", "split_items", "split_users", "run_item_cold_start",
           "run_user_cold_start", "format_tables", "merge_reports", "load_data", "main"]


def _parser():
    parser = argparse.ArgumentParser(prog="python -m sklearn_agn.benchmark.cold_start",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--ratings",
                        help="ratings file: MovieLens u.data / ratings.dat / ratings.csv, "
                             "or a CSV whose first columns are user id, item id")
    parser.add_argument("--items",
                        help="item attributes: ML-100K u.item; a wide CSV (item_id, then "
                             "numeric columns); a long CSV (item_id,tag or "
                             "item_id,attribute,value lines); or a scipy.sparse .npz matrix "
                             "with --item-ids")
    parser.add_argument("--items-format", choices=("auto", "wide", "long", "npz"),
                        default="auto",
                        help="shape of --items (default: auto, from the file; long files "
                             "whose tags are numbers need 'long')")
    parser.add_argument("--item-ids", metavar="FILE",
                        help="with an .npz --items: the ids of its rows, one per line")
    parser.add_argument("--release-date", choices=("decade", "spline"), default="decade",
                        help="with u.item: the release date as its decade (the published "
                             "protocol's features) or a spline of the date (finer)")
    parser.add_argument("--title-tfidf", action="store_true",
                        help="with u.item: add TF-IDF of the titles to the attributes")
    names = [m.name for m in ITEM_METHODS]
    parser.add_argument("--methods", nargs="+", default=DEFAULT_ITEM_METHODS, choices=names,
                        metavar="NAME", help="item methods to run (default: all but 'GAN cold "
                        "items into MF'): " + ", ".join(repr(n) for n in names))
    parser.add_argument("--seeds", type=int, default=10, help="number of splits (seeds)")
    parser.add_argument("--first-seed", type=int, default=0,
                        help="first seed: runs seeds FIRST .. FIRST + SEEDS - 1, so that "
                             "seeds can be spread over processes and merged with --merge")
    parser.add_argument("--budget", type=int, default=12,
                        help="settings tried per method and seed (by the GAN methods, on the "
                             "first seed only)")
    parser.add_argument("--user-cold-start", action="store_true",
                        help="also run the user cold-start table (needs u.item's u.user)")
    user_names = [m.name for m in USER_METHODS]
    parser.add_argument("--user-methods", nargs="+", default=DEFAULT_USER_METHODS,
                        choices=user_names, metavar="NAME",
                        help="user methods to run (default: the non-GAN ones): "
                        + ", ".join(repr(n) for n in user_names))
    parser.add_argument("--json", help="write the full report as JSON here")
    parser.add_argument("--quiet", action="store_true", help="no progress lines or bars")
    parser.add_argument("--no-items", action="store_true",
                        help="skip the item tables (with --user-cold-start)")
    parser.add_argument("--merge", nargs="+", metavar="JSON",
                        help="instead of running: merge the --json reports of runs on "
                             "disjoint seeds and print (and with --json write) the tables")
    return parser


def main(argv=None):
    """Run the cold-start command; returns its report.

    Parameters
    ----------
    argv : list of str, default=None
        Command-line arguments; ``sys.argv[1:]`` when None. See
        ``python -m sklearn_agn.benchmark.cold_start --help``.
    """
    parser = _parser()
    args = parser.parse_args(argv)
    if args.merge:
        report = merge_reports([json.loads(Path(path).read_text()) for path in args.merge])
        print(format_tables(report))
        if args.json:
            write_json(report, args.json)
        return report
    if not (args.ratings and args.items):
        parser.error("--ratings and --items are required (unless --merge)")
    if args.budget < 1 or args.seeds < 1 or args.first_seed < 0:
        parser.error("--budget and --seeds must be >= 1, --first-seed >= 0")
    methods = [] if args.no_items else [m for m in ITEM_METHODS if m.name in args.methods]
    for method in methods:
        reason = method.requires()
        if reason:
            parser.error(f"method {method.name!r} cannot run: {reason}")
    X, attributes, user_attributes, dropped = load_data(
        args.ratings, args.items, release_date=args.release_date, title_tfidf=args.title_tfidf,
        items_format=args.items_format, item_ids=args.item_ids)
    if args.user_cold_start and user_attributes is None:
        parser.error("--user-cold-start needs user attributes: pass ML-100K's u.item")
    start = time.perf_counter()
    report = _run(args, methods, X, attributes, user_attributes)
    report["command"] = "python -m sklearn_agn.benchmark.cold_start " + " ".join(
        sys.argv[1:] if argv is None else argv)
    report["data"] = {"users": X.shape[0], "items": X.shape[1], "interactions": int(X.nnz),
                      "item_features": int(attributes.shape[1]),
                      "ratings_without_attributes": dropped}
    report["wall_time_s"] = time.perf_counter() - start
    print(f"$ {report['command']}")
    print(f"{X.shape[0]} users, {X.shape[1]} items, {X.nnz} interactions, "
          f"{attributes.shape[1]} item features; seeds {args.first_seed}.."
          f"{args.first_seed + args.seeds - 1}, budget {args.budget} "
          f"settings per method and seed (GAN methods: first seed only), chosen on "
          f"cold-validation; "
          f"{report['wall_time_s']:.0f} s.\n")
    print(format_tables(report))
    if args.json:
        write_json(report, args.json)
    return report


def _run(args, methods, X, attributes, user_attributes):
    """The item tables (unless ``--no-items``) and the user table (with ``--user-cold-start``)."""
    seeds = dict(seeds=args.seeds, budget=args.budget, first_seed=args.first_seed,
                 log=progress_log(args.quiet), progress=not args.quiet)

    def save_partial(partial):
        if args.json:
            write_json(partial, args.json + ".partial")

    report = ({"results": [], "all_items": []} if args.no_items
              else run_item_cold_start(X, attributes, methods, on_seed=save_partial, **seeds))
    if args.user_cold_start:
        report["user_cold_start"] = run_user_cold_start(
            X, user_attributes, [m for m in USER_METHODS if m.name in args.user_methods],
            **seeds)
    return report


if __name__ == "__main__":
    main()
