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
   - ``GAN + partial_fit`` (when asked for): a
     :class:`~sklearn_agn.GANAugmenter` fitted once on the initial part
     densifies the sparse rows before the MF's fit, fold-in and
     ``partial_fit``; the GAN itself is not updated (it has no
     ``partial_fit``, and refitting it every batch would cost minutes).

The output gives each strategy's NDCG@10 and Recall@10 over the stream (the
mean over every evaluated user of every batch), its update time in total and
per batch, and both relative to the full refit; ``--plot`` draws NDCG@10 per
batch over time.
"""

import argparse
import copy
import json
import sys
import time

import numpy as np
from sklearn.base import clone

from ..datasets import load_movielens
from ..augmentation import GANAugmenter
from ..matrix_factorization import MFRecommender
from ..metrics import beyond_accuracy_metrics, ndcg_at_k, recall_at_k
from ..preprocessing import InteractionEncoder, _interaction_matrix

__all__ = ["STRATEGIES", "DEFAULT_STRATEGIES", "replay_stream", "format_stream_table",
           "plot_stream", "main"]

K = 10
STRATEGIES = ("fold-in", "partial_fit", "refit", "refit every n", "GAN + partial_fit")
DEFAULT_STRATEGIES = STRATEGIES[:4]


def _batch_bounds(times, start, batch):
    """``(begin, end)`` record positions of the batches of the sorted ``times[start:]``."""
    n = len(times)
    if batch == "day":
        day = times[start:] // 86400  # calendar days, UTC
        edges = start + np.flatnonzero(np.diff(day)) + 1
        cuts = np.concatenate([[start], edges, [n]])
    else:
        cuts = np.append(np.arange(start, n, batch), n)
    return list(zip(cuts[:-1], cuts[1:]))


def _encode(ratings):
    """Rows, columns and times of the records sorted by time, and the matrix shape.

    The encoder is fitted on the whole log: the catalogue (and the set of
    rows) is known from the start, and rows and columns never change.
    """
    ratings = ratings.sort_values("timestamp", kind="stable")
    encoder = InteractionEncoder().fit(ratings)
    return (encoder.user_index(ratings["user_id"]), encoder.item_index(ratings["item_id"]),
            ratings["timestamp"].to_numpy(), (len(encoder.user_ids_), len(encoder.item_ids_)))


class _GANFedModel:
    """An MF whose every input row is first densified by a GAN fitted once."""

    def __init__(self, augmenter, mf):
        self.augmenter = augmenter
        self.mf = mf

    def fit(self, X):
        self.augmenter_ = clone(self.augmenter).fit(X)
        self.mf_ = clone(self.mf).fit(self.augmenter_.transform(X))
        return self

    def predict(self, X, k):
        return self.mf_.predict(self.augmenter_.transform(X), k=k)

    def partial_fit(self, X, previous):
        self.mf_.partial_fit(self.augmenter_.transform(X),
                             previous=self.augmenter_.transform(previous))
        return self


def _update(strategy, model, base, X_so_far, X_before, active, batch_index, refit_every):
    """Apply ``strategy`` to ``model`` after a batch; returns the (possibly new) model."""
    refit = strategy == "refit" or (strategy == "refit every n"
                                    and (batch_index + 1) % refit_every == 0)
    if strategy == "fold-in":
        return model
    if refit:
        return clone(base).fit(X_so_far)
    model.partial_fit(X_so_far[active], previous=X_before[active])
    return model


def replay_stream(ratings, model=None, *, strategies=DEFAULT_STRATEGIES, initial=0.5,
                  batch="day", refit_every=10, augmenter=None, log=None):
    """Run the prequential protocol of this module on a log of timed ratings.

    Parameters
    ----------
    ratings : pandas.DataFrame
        Columns ``user_id``, ``item_id`` and ``timestamp`` (as returned by
        :func:`~sklearn_agn.datasets.load_movielens`); every record is an
        interaction.
    model : recommender, default=None
        Unfitted estimator with ``fit``, ``partial_fit`` and ``predict``,
        cloned for the refits; ``MFRecommender(random_state=0)`` when None.
    strategies : iterable of str, default=DEFAULT_STRATEGIES
        Update strategies to compare, among :data:`STRATEGIES` (the default
        leaves out ``"GAN + partial_fit"``).
    initial : float in (0, 1), default=0.5
        Share of the interactions, earliest first, of the initial fit.
    batch : "day" or int, default="day"
        Batches of one calendar day (UTC, timestamps in seconds since the
        epoch) or of a fixed number of interactions.
    refit_every : int, default=10
        Period of the full refits of the ``"refit every n"`` strategy.
    augmenter : GANAugmenter, default=None
        Unfitted augmenter of the ``"GAN + partial_fit"`` strategy;
        ``GANAugmenter(random_state=0)`` when None.
    log : callable, default=None
        Called with a progress line after each batch.

    Returns
    -------
    report : dict
        ``"batches"``: per batch, its start time, number of interactions and
        of evaluated users; ``"strategies"``: per strategy, per-batch
        ``ndcg@10``, ``recall@10`` and ``update_time``, and the overall
        ``ndcg@10`` and ``recall@10`` (means over every evaluated user of
        every batch) and ``update_time`` (total seconds); ``"models"``: the
        final model of each strategy.
    """
    strategies = list(strategies)
    unknown = sorted(set(strategies) - set(STRATEGIES))
    if unknown:
        raise ValueError(f"Unknown strategies {unknown}; choose from {list(STRATEGIES)}.")
    if not 0 < initial < 1:
        raise ValueError(f"initial must lie in (0, 1), got {initial!r}.")
    if batch != "day" and not (isinstance(batch, (int, np.integer)) and batch >= 1):
        raise ValueError(f"batch must be 'day' or a positive int, got {batch!r}.")
    base = MFRecommender(random_state=0) if model is None else model
    rows, cols, times, shape = _encode(ratings)
    start = int(round(initial * len(ratings)))
    if not 0 < start < len(ratings):
        raise ValueError(f"initial={initial} leaves no interaction to fit or to replay.")

    X_initial = _interaction_matrix(rows[:start], cols[:start], shape)
    fitted = clone(base).fit(X_initial)
    models = {name: copy.deepcopy(fitted) for name in strategies}
    if "GAN + partial_fit" in strategies:
        augmenter = GANAugmenter(random_state=0) if augmenter is None else augmenter
        models["GAN + partial_fit"] = _GANFedModel(augmenter, base).fit(X_initial)
    recommended = {name: [] for name in strategies}
    report = {"batches": [], "strategies": {name: {"ndcg@10": [], "recall@10": [],
                                                   "update_time": []}
                                            for name in strategies}}
    # NDCG@10 and Recall@10 summed over the evaluated users, and NDCG@10
    # summed over those with an empty history (new users).
    sums = {name: np.zeros(3) for name in strategies}
    n_evaluated = n_new = 0
    history = X_initial  # everything before the batch; batches follow each other
    for index, (begin, end) in enumerate(_batch_bounds(times, start, batch)):
        active = np.unique(rows[begin:end])
        seen = history[active]
        truth = _interaction_matrix(rows[begin:end], cols[begin:end], shape)[active]
        truth = truth - truth.multiply(seen)  # a repeated interaction cannot be recommended
        truth.eliminate_zeros()
        evaluated = np.diff(truth.indptr) > 0
        new_users = evaluated & (np.diff(seen.indptr) == 0)
        n_users = int(evaluated.sum())
        report["batches"].append({"start": int(times[begin]), "interactions": int(end - begin),
                                  "users": int(active.size), "evaluated": n_users})
        so_far = _interaction_matrix(rows[:end], cols[:end], shape)
        for name in strategies:
            result = report["strategies"][name]
            if n_users:
                ranked = models[name].predict(seen, k=K)
                recommended[name].append(ranked[evaluated])
                scores = (ndcg_at_k(truth, ranked, K), recall_at_k(truth, ranked, K))
                sums[name][:2] += n_users * np.array(scores)
                if new_users.any():
                    sums[name][2] += new_users.sum() * ndcg_at_k(truth[new_users],
                                                                 ranked[new_users], K)
            else:
                scores = (float("nan"), float("nan"))
            tic = time.perf_counter()
            models[name] = _update(name, models[name], base, so_far, history, active, index,
                                   refit_every)
            result["update_time"].append(time.perf_counter() - tic)
            result["ndcg@10"].append(scores[0])
            result["recall@10"].append(scores[1])
        n_evaluated += n_users
        n_new += int(new_users.sum())
        history = so_far
        if log is not None:
            log(f"batch {index + 1}: {end - begin} interactions, {n_users} users evaluated; "
                + ", ".join(f"{name} {report['strategies'][name]['ndcg@10'][-1]:.3f}"
                            for name in strategies))
    for name in strategies:
        result = report["strategies"][name]
        overall = sums[name][:2] / n_evaluated if n_evaluated else np.full(2, np.nan)
        n_returning = n_evaluated - n_new
        result["overall"] = {
            "ndcg@10": float(overall[0]), "recall@10": float(overall[1]),
            "ndcg@10 new users": float(sums[name][2] / n_new) if n_new else float("nan"),
            "ndcg@10 returning users": (float((sums[name][0] - sums[name][2]) / n_returning)
                                        if n_returning else float("nan")),
            "update_time": float(np.sum(result["update_time"]))}
        if recommended[name]:
            result["overall"].update(
                beyond_accuracy_metrics(np.vstack(recommended[name]), X_initial, K))
    report["data"] = {"users": shape[0], "items": shape[1], "interactions": len(ratings),
                      "initial": start, "evaluated": n_evaluated, "new_users": n_new}
    report["models"] = models
    return report


def format_stream_table(report):
    """Markdown table of the overall results of :func:`replay_stream`."""
    reference = report["strategies"].get("refit", {}).get("overall")
    lines = ["| strategy | NDCG@10 | Recall@10 | NDCG@10 new users | NDCG@10 returning "
             "| update time (s) | per batch (s) | NDCG vs refit | time vs refit |",
             "|---|---|---|---|---|---|---|---|---|"]
    n_batches = len(report["batches"])
    for name, result in report["strategies"].items():
        overall = result["overall"]
        if reference:
            vs_ndcg = f"{overall['ndcg@10'] / reference['ndcg@10']:.1%}"
            vs_time = (f"{overall['update_time'] / reference['update_time']:.1%}"
                       if reference["update_time"] > 0 else "n/a")
        else:
            vs_ndcg = vs_time = "n/a"
        lines.append(f"| {name} | {overall['ndcg@10']:.4f} | {overall['recall@10']:.4f} | "
                     f"{overall['ndcg@10 new users']:.4f} | "
                     f"{overall['ndcg@10 returning users']:.4f} | {overall['update_time']:.2f} | "
                     f"{overall['update_time'] / max(n_batches, 1):.3f} | {vs_ndcg} | {vs_time} |")
    beyond = [f"{m}@{K}" for m in ("coverage", "novelty", "arp", "long_tail", "gini")]
    rows = [(name, result["overall"]) for name, result in report["strategies"].items()
            if beyond[0] in result["overall"]]
    if rows:
        lines += ["", "Beyond accuracy, every top 10 of the stream: catalogue coverage, novelty "
                  "(bits), average recommended popularity (users), long-tail share, Gini of "
                  "exposure (popularity on the initial part):", "",
                  "| strategy | " + " | ".join(beyond) + " |", "|---" * (len(beyond) + 1) + "|"]
        lines += [f"| {name} | " + " | ".join(f"{overall[m]:.4f}" for m in beyond) + " |"
                  for name, overall in rows]
    return "\n".join(lines)


def plot_stream(report, path, window=7):
    """NDCG@10 per batch over time, one line per strategy (needs matplotlib).

    Batch values are noisy (few users a day): each line is their moving
    average over ``window`` batches, weighted by the batches' evaluated users.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:  # optional dependency
        raise ImportError("--plot needs matplotlib: pip install 'sklearn-agn[plot]'") from exc
    starts = np.array([b["start"] for b in report["batches"]], dtype="datetime64[s]")
    weights = np.array([b["evaluated"] for b in report["batches"]], dtype=np.float64)
    kernel = np.ones(window)
    fig, ax = plt.subplots(figsize=(7, 3.5))
    for name, result in report["strategies"].items():
        values = np.nan_to_num(np.asarray(result["ndcg@10"], dtype=np.float64)) * weights
        with np.errstate(invalid="ignore", divide="ignore"):
            smooth = np.convolve(values, kernel, "same") / np.convolve(weights, kernel, "same")
        ax.plot(starts, smooth, label=f"{name} ({result['overall']['ndcg@10']:.3f})")
    ax.set_xlabel("batch start")
    ax.set_ylabel("NDCG@10 (moving average)")
    ax.legend()
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


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


def main(argv=None):
    """Command line of the stream benchmark; returns the report (models left out)."""
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
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    args = parser.parse_args(argv)
    if args.refit_every < 1:
        parser.error("--refit-every must be >= 1")
    model = MFRecommender(n_factors=args.n_factors, regularization=args.regularization,
                          regularization_exponent=args.regularization_exponent,
                          alpha=args.alpha, n_iter=args.n_iter, solver=args.solver,
                          n_jobs=args.n_jobs, random_state=args.seed)
    log = (lambda line: None) if args.quiet else (lambda line: print(line, file=sys.stderr))
    report = replay_stream(load_movielens(args.ratings), model, strategies=args.strategies,
                           initial=args.initial, batch=args.batch,
                           refit_every=args.refit_every,
                           augmenter=GANAugmenter(random_state=args.seed), log=log)
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
        with open(args.json, "w") as fh:
            json.dump(report, fh, indent=2, default=str)
    if args.plot:
        plot_stream(report, args.plot)
    return report


if __name__ == "__main__":
    main()
