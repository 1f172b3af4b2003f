"""Privacy benchmark: synthetic-data releases measured for utility and for leakage.

Usage::

    python -m sklearn_agn.benchmark.privacy [--ratings RATINGS | --triplets TRAIN] [options]

The data: a MovieLens ratings file (``--ratings``, by default ML-100K's
``../shared/data/ml-100k/u.data``, read in place), a ``user item [value]``
triplet file such as the CFGAN split's ``train.txt`` (``--triplets``), or
synthetic interactions (``--synthetic USERS ITEMS INTERACTIONS``, for
tests). Every rating is one interaction (implicit feedback).

Protocol, for every method and every epsilon in ``--epsilons`` (1, 3, 10
and inf, no privacy, by default):

1. The users are split once (``--seed``): a fifth (``--folds``) are held
   out, balanced in activity; each held-out user's row is split into a
   history (80%) and held-out items (20%, ``--test-size``).
2. The release is fitted on the training users' rows and draws as many
   synthetic rows as there are training users: the GAN
   (:class:`~sklearn_agn.GANAugmenter` with ``dp_epsilon``, DP-SGD through
   Opacus, a user's row the unit of privacy, ``--dp-delta``), and the
   baselines :class:`~sklearn_agn.baselines.PopularitySampler`,
   :class:`~sklearn_agn.baselines.MFSampler` and
   :class:`~sklearn_agn.baselines.RandomizedResponseSampler`, pure
   epsilon-DP for a user's row (see their docstrings for the neighbouring
   relation of each).
3. Utility, train on synthetic and test on real: an MF is fitted on the
   synthetic rows; the held-out users are folded in from their history and
   their top 20 scored with NDCG@20 against their held-out items; the same
   MF fitted on the real training rows is the reference.
4. Leakage: the membership AUC (0.5: nothing leaks) of telling the training
   users from the held-out users by their distance to the closest
   synthetic row (Jaccard), and by the reconstruction score of the
   release's model (the generator's mean score of a user's own items; the
   popularity or the MF's scores for the baselines; none for randomized
   response, whose release is its model).

The held-out users are never fitted on. The output is a markdown table
(method, epsilon, NDCG@20 synthetic, NDCG@20 real reference, DCR AUC,
score AUC); ``--json`` writes the report. Progress (a bar over the
releases, the GAN's epochs, a line per release) goes to stderr unless
``--quiet``.
"""

import argparse
import math
import shlex
import sys
import time
from pathlib import Path


from ..datasets import load_movielens, load_triplets, make_interactions
from ..gan._augmenter import GANAugmenter
from ..mf._recommender import MFRecommender
from ..preprocessing import InteractionEncoder
from ._cli import progress_log
from ._privacy_protocol import (EPSILONS, METHODS, K, format_privacy_table, make_release,
                                run_privacy_benchmark, split_users)
from ._report import write_json

__all__ = ["K", "EPSILONS", "METHODS", "split_users", "make_release", "run_privacy_benchmark",
           "format_privacy_table", "main"]

DEFAULT_RATINGS = "../shared/data/ml-100k/u.data"


def _epsilon_arg(value):
    try:
        epsilon = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a positive number or 'inf', not {value!r}") from None
    if not epsilon > 0:
        raise argparse.ArgumentTypeError(f"epsilon must be > 0 ('inf': no privacy), not {value}")
    return epsilon


def _parser():
    parser = argparse.ArgumentParser(prog="python -m sklearn_agn.benchmark.privacy",
                                     description=__doc__.split("\n\n")[0])
    data = parser.add_mutually_exclusive_group()
    data.add_argument("--ratings", help="MovieLens ratings file (u.data, ratings.dat, "
                      f"ratings.csv); default {DEFAULT_RATINGS}")
    data.add_argument("--triplets", help="'user item [value]' file, ids from 0 (e.g. the "
                      "CFGAN split's train.txt)")
    data.add_argument("--synthetic", nargs=3, type=int, metavar=("USERS", "ITEMS", "INTERACTIONS"),
                      help="synthetic interactions (make_interactions, seed --seed)")
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS,
                        metavar="NAME", help="releases (default: all): "
                        + ", ".join(map(repr, METHODS)))
    parser.add_argument("--epsilons", nargs="+", type=_epsilon_arg, default=list(EPSILONS),
                        help="privacy budgets; 'inf' for none (default: 1 3 10 inf)")
    parser.add_argument("--folds", type=int, default=5,
                        help="one fold of this many is the held-out users (default: 5)")
    parser.add_argument("--test-size", type=float, default=0.2,
                        help="share of each held-out user's row held out (default: 0.2)")
    parser.add_argument("--dp-delta", type=float, default=1e-5, help="the GAN's delta")
    parser.add_argument("--dp-max-grad-norm", type=float, default=1.0,
                        help="the GAN's per-user clipping norm")
    parser.add_argument("--gan-epochs", type=int, default=40, help="the GAN's max_iter")
    parser.add_argument("--gan-hidden", type=int, nargs=2, default=(400, 125),
                        metavar=("G", "D"), help="hidden units of the generator and of the "
                        "discriminator (default: 400 125)")
    parser.add_argument("--gan-batch-size", type=int, default=128)
    # Under DP-SGD's noise, learning rates three times GANAugmenter's defaults
    # gave the better release (benchmarks/bench_privacy_cost.py, validation
    # split of the CFGAN train file, epsilon 3; docs/privacy.rst).
    parser.add_argument("--gan-learning-rate", type=float, nargs=2, default=(3e-3, 3e-3),
                        metavar=("G", "D"), help="learning rates of the generator and of the "
                        "discriminator (default: 3e-3 3e-3)")
    parser.add_argument("--device", default="auto", help="the GAN's torch device")
    parser.add_argument("--n-factors", type=int, default=64)
    parser.add_argument("--regularization", type=float, default=0.3)
    parser.add_argument("--alpha", type=float, default=2.0)
    parser.add_argument("--n-iter", type=int, default=15)
    parser.add_argument("--n-jobs", type=int, default=None, help="torch threads of the MF")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="write the report as JSON here")
    parser.add_argument("--quiet", action="store_true",
                        help="no progress lines or bars (the releases, a GAN's epochs)")
    return parser


def _load(args, parser):
    """The interaction matrix the arguments name, every stored value 1."""
    if args.synthetic:
        return make_interactions(*args.synthetic, random_state=args.seed)
    if args.triplets:
        return load_triplets(args.triplets)
    path = args.ratings or DEFAULT_RATINGS
    if not Path(path).exists():
        parser.error(f"no ratings file at {path}: pass --ratings, --triplets or --synthetic")
    return InteractionEncoder().fit_transform(load_movielens(path))


def main(argv=None):
    """Run the privacy benchmark; returns its report.

    Parameters
    ----------
    argv : list of str, default=None
        Command-line arguments; ``sys.argv[1:]`` when None. See
        ``python -m sklearn_agn.benchmark.privacy --help``.
    """
    parser = _parser()
    args = parser.parse_args(argv)
    if args.folds < 2 or not 0 < args.test_size < 1:
        parser.error("--folds must be >= 2 and --test-size in (0, 1)")
    X = _load(args, parser)
    gan = GANAugmenter(g_hidden_sizes=(args.gan_hidden[0],), d_hidden_sizes=(args.gan_hidden[1],),
                       max_iter=args.gan_epochs, batch_size=args.gan_batch_size,
                       g_learning_rate=args.gan_learning_rate[0],
                       d_learning_rate=args.gan_learning_rate[1],
                       dp_delta=args.dp_delta, dp_max_grad_norm=args.dp_max_grad_norm,
                       device=args.device, random_state=args.seed)
    mf = MFRecommender(n_factors=args.n_factors, regularization=args.regularization,
                       alpha=args.alpha, n_iter=args.n_iter, n_jobs=args.n_jobs,
                       random_state=args.seed)
    start = time.perf_counter()
    report = run_privacy_benchmark(X, methods=args.methods, epsilons=args.epsilons, gan=gan,
                                   mf=mf, n_splits=args.folds, test_size=args.test_size,
                                   seed=args.seed, log=progress_log(args.quiet),
                                   progress=not args.quiet)
    report["wall_time_s"] = time.perf_counter() - start
    report["command"] = "python -m sklearn_agn.benchmark.privacy " + shlex.join(
        sys.argv[1:] if argv is None else argv)
    report["gan"], report["mf"] = repr(gan), repr(mf)
    data = report["data"]
    epsilons = ", ".join("∞" if math.isinf(e) else f"{e:g}" for e in args.epsilons)
    print(f"$ {report['command']}")
    print(f"{data['users']} users, {data['items']} items, {data['interactions']} interactions; "
          f"releases fitted on {data['training_users']} training users, scored on "
          f"{data['held_out_users']} held-out users ({data['held_out_items']} held-out items); "
          f"epsilon in {{{epsilons}}}, GAN delta {args.dp_delta:g}; "
          f"{report['wall_time_s']:.0f} s.\n")
    print(format_privacy_table(report))
    if args.json:
        write_json(report, args.json)
    return report


if __name__ == "__main__":
    main()
