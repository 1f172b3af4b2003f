"""Prequential (test-then-train) benchmark of online adaptation on a stream of ratings.

Usage::

    python -m sklearn_agn.benchmark.stream --ratings u.data [options]

Protocol:

1. The ratings (any file :func:`~sklearn_agn.datasets.load_movielens` reads)
   are sorted by time. The catalogue is every item id in the file from the
   start: an item that first appears later has no interaction until then and
   is learned when it appears. The model is fitted on the earliest
   ``--initial`` share of the interactions.
2. The rest is replayed in time order in batches: a calendar day (UTC,
   ``--batch day``) or
   a fixed number of interactions (``--batch 1000``). Before each batch, every
   user active in it gets a top-10 recommendation from their history up to
   the batch (seen items excluded; a user who first appears has an empty
   history, a cold row folded in like any other), scored against the items
   they interact with in the batch: NDCG@10 and Recall@10.
3. Then every strategy updates its own copy of the model with the batch:

   - ``fold-in``: no update; users are still folded in with their growing
     history at recommendation time;
   - ``partial_fit``: ``partial_fit`` on the rows (whole history so far) of
     the users active in the batch, with their rows before the batch as
     ``previous`` (each user counts once; only the items of the batch are
     re-solved);
   - ``refit``: a full refit on everything so far (the upper bound);
   - ``refit every n``: a full refit every ``--refit-every`` batches,
     ``partial_fit`` in between;
   - ``GAN + partial_fit`` (when asked for): GAN + MF, a scikit-learn
     ``Pipeline`` as in the warm benchmark: a
     :class:`~sklearn_agn.GANAugmenter` fitted once on the initial part
     densifies the sparse rows before the MF's fit, fold-in and
     ``partial_fit``; the GAN itself is not updated (it has no
     ``partial_fit``, and refitting it every batch would cost minutes).

The output gives each strategy's NDCG@10 and Recall@10 over the stream (the
mean over every evaluated user of every batch), its update time in total and
per batch, and both relative to the full refit; ``--plot`` draws NDCG@10 per
batch over time. Progress (a bar over the batches, a line per batch, the
GAN's epochs and losses) goes to stderr unless ``--quiet``.
"""

import argparse
import sys

from ..datasets import load_movielens
from ..gan._augmenter import GANAugmenter
from ..mf._recommender import MFRecommender
from ._cli import progress_log
from ._report import write_json
from ._stream_protocol import DEFAULT_STRATEGIES, STRATEGIES, K, replay_stream
from ._stream_report import format_stream_table, plot_stream

__all__ = ["K", "STRATEGIES", "DEFAULT_STRATEGIES", "replay_stream", "format_stream_table",
           "plot_stream", "main"]


def _batch_arg(value):
    if value == "day":
        return value
    try:
        size = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'day' or a positive integer, not {value!r}") from None
    if size < 1:
        raise argparse.ArgumentTypeError(f"a batch holds at least 1 interaction, not {size}")
    return size


def _parser():
    parser = argparse.ArgumentParser(prog="python -m sklearn_agn.benchmark.stream",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--ratings", required=True,
                        help="ratings file with timestamps (e.g. ml-100k/u.data)")
    parser.add_argument("--strategies", nargs="+", default=list(DEFAULT_STRATEGIES),
                        choices=STRATEGIES, metavar="NAME",
                        help="strategies (default: all but the GAN's): "
                             + ", ".join(map(repr, STRATEGIES)))
    parser.add_argument("--initial", type=float, default=0.5,
                        help="share of the interactions, earliest first, of the initial fit")
    parser.add_argument("--batch", type=_batch_arg, default="day",
                        help="'day' or a number of interactions per batch")
    parser.add_argument("--refit-every", type=int, default=10,
                        help="batches between full refits of 'refit every n'")
    parser.add_argument("--n-factors", type=int, default=64)
    parser.add_argument("--regularization", type=float, default=0.3)
    parser.add_argument("--regularization-exponent", type=float, default=1.0)
    parser.add_argument("--alpha", type=float, default=2.0)
    parser.add_argument("--n-iter", type=int, default=15)
    parser.add_argument("--solver", default="cg", choices=("cholesky", "cg"))
    parser.add_argument("--n-jobs", type=int, default=None, help="torch threads")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="write the report (per batch) as JSON here")
    parser.add_argument("--plot", help="write NDCG@10 over time here (needs matplotlib)")
    parser.add_argument("--quiet", action="store_true",
                        help="no progress lines or bars (the batches, a GAN's epochs)")
    return parser


def main(argv=None):
    """Command line of the stream benchmark; returns the report (models left out)."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.refit_every < 1:
        parser.error("--refit-every must be >= 1")
    model = MFRecommender(n_factors=args.n_factors, regularization=args.regularization,
                          regularization_exponent=args.regularization_exponent,
                          alpha=args.alpha, n_iter=args.n_iter, solver=args.solver,
                          n_jobs=args.n_jobs, random_state=args.seed)
    report = replay_stream(load_movielens(args.ratings), model, strategies=args.strategies,
                           initial=args.initial, batch=args.batch,
                           refit_every=args.refit_every,
                           augmenter=GANAugmenter(random_state=args.seed),
                           log=progress_log(args.quiet), progress=not args.quiet)
    del report["models"]
    report["command"] = "python -m sklearn_agn.benchmark.stream " + " ".join(
        sys.argv[1:] if argv is None else argv)
    report["model"] = repr(model)
    data = report["data"]
    print(f"$ {report['command']}")
    print(f"{data['users']} users, {data['items']} items, {data['interactions']} interactions: "
          f"initial fit on the earliest {data['initial']}, then {len(report['batches'])} "
          f"batches ({args.batch}); {data['evaluated']} user-batches evaluated "
          f"({data['new_users']} of new users, whose history is empty). {model!r}\n")
    print(format_stream_table(report))
    if args.json:
        write_json(report, args.json)
    if args.plot:
        plot_stream(report, args.plot)
    return report


if __name__ == "__main__":
    main()
