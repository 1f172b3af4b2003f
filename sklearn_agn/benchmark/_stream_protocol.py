"""The prequential (test-then-train) protocol of :mod:`sklearn_agn.benchmark.stream`."""

import copy
import time

import numpy as np
from sklearn.base import clone
from sklearn.pipeline import Pipeline
from tqdm.auto import tqdm

from ..gan._augmenter import GANAugmenter
from ..metrics import beyond_accuracy_metrics, ndcg_at_k, recall_at_k
from ..mf._recommender import MFRecommender
from ..preprocessing import InteractionEncoder
from ._methods import _gan_mf

__all__ = ["K", "STRATEGIES", "DEFAULT_STRATEGIES", "replay_stream"]

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
    """The records sorted by time, the encoder of their ids, and the row of each record.

    The encoder is fitted on the whole log: the catalogue (and the set of
    rows) is known from the start, and rows and columns never change.
    """
    ratings = ratings.sort_values("timestamp", kind="stable")
    encoder = InteractionEncoder().fit(ratings)
    return ratings, encoder, encoder.user_index(ratings["user_id"])


def _initial_models(base, augmenter, strategies, X_initial, progress=False):
    """Each strategy's model fitted on the initial part.

    ``"GAN + partial_fit"``'s is GAN + MF, the warm benchmark's Pipeline of
    a clone of ``augmenter`` (showing its epochs when ``progress``) and one
    of ``base``.
    """
    fitted = clone(base).fit(X_initial)
    models = {name: copy.deepcopy(fitted) for name in strategies}
    if "GAN + partial_fit" in strategies:
        gan = GANAugmenter(random_state=0) if augmenter is None else clone(augmenter)
        if progress:
            gan.set_params(verbose=1)
        # Both steps given whole: the builder's own seed is not used.
        pipeline = _gan_mf({"gan": gan, "mf": clone(base)}, None)
        models["GAN + partial_fit"] = pipeline.fit(X_initial)
    return models


def _partial_fit(model, X, previous):
    """``model.partial_fit(X, previous=previous)``; a Pipeline (which has no ``partial_fit``)
    updates its last step on the rows its other steps (a GAN, not updated) transform."""
    if isinstance(model, Pipeline):
        head = model[:-1]
        model[-1].partial_fit(head.transform(X), previous=head.transform(previous))
    else:
        model.partial_fit(X, previous=previous)
    return model


def _update(strategy, model, base, X_so_far, X_before, active, batch_index, refit_every):
    """Apply ``strategy`` to ``model`` after a batch; returns the (possibly new) model."""
    refit = strategy == "refit" or (strategy == "refit every n"
                                    and (batch_index + 1) % refit_every == 0)
    if strategy == "fold-in":
        return model
    if refit:
        return clone(base).fit(X_so_far)
    return _partial_fit(model, X_so_far[active], X_before[active])


def _test(model, seen, truth, evaluated, new_users, sums, recommended):
    """NDCG@10 and Recall@10 of ``model``'s top 10 from ``seen`` against ``truth``.

    Adds to ``sums`` NDCG@10 and Recall@10 summed over the evaluated users,
    and NDCG@10 summed over those with an empty history (new users); appends
    the evaluated users' top 10 to ``recommended``. NaN when nobody is evaluated.
    """
    n_users = int(evaluated.sum())
    if not n_users:
        return float("nan"), float("nan")
    ranked = model.predict(seen, k=K)
    recommended.append(ranked[evaluated])
    scores = (ndcg_at_k(truth, ranked, K), recall_at_k(truth, ranked, K))
    sums[:2] += n_users * np.array(scores)
    if new_users.any():
        sums[2] += new_users.sum() * ndcg_at_k(truth[new_users], ranked[new_users], K)
    return scores


def _overall(result, sums, recommended, n_evaluated, n_new, X_initial):
    """A strategy's results over the whole stream, from its sums (see :func:`_test`)."""
    overall = sums[:2] / n_evaluated if n_evaluated else np.full(2, np.nan)
    n_returning = n_evaluated - n_new
    result["overall"] = {
        "ndcg@10": float(overall[0]), "recall@10": float(overall[1]),
        "ndcg@10 new users": float(sums[2] / n_new) if n_new else float("nan"),
        "ndcg@10 returning users": (float((sums[0] - sums[2]) / n_returning)
                                    if n_returning else float("nan")),
        "update_time": float(np.sum(result["update_time"]))}
    if recommended:
        result["overall"].update(beyond_accuracy_metrics(np.vstack(recommended), X_initial, K))


def _check_replay(strategies, initial, batch):
    strategies = list(strategies)
    unknown = sorted(set(strategies) - set(STRATEGIES))
    if unknown:
        raise ValueError(f"Unknown strategies {unknown}; choose from {list(STRATEGIES)}.")
    if not 0 < initial < 1:
        raise ValueError(f"initial must lie in (0, 1), got {initial!r}.")
    if batch != "day" and not (isinstance(batch, (int, np.integer)) and batch >= 1):
        raise ValueError(f"batch must be 'day' or a positive int, got {batch!r}.")
    return strategies


def replay_stream(ratings, model=None, *, strategies=DEFAULT_STRATEGIES, initial=0.5,
                  batch="day", refit_every=10, augmenter=None, log=None, progress=False):
    """Run the prequential protocol of :mod:`sklearn_agn.benchmark.stream` on a log of ratings.

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
    progress : bool, default=False
        Show progress bars: the batches, and the GAN's epochs and losses.

    Returns
    -------
    report : dict
        ``"batches"``: per batch, its start time, number of interactions and
        of evaluated users; ``"strategies"``: per strategy, per-batch
        ``ndcg@10``, ``recall@10`` and ``update_time``, and the overall
        ``ndcg@10`` and ``recall@10`` (means over every evaluated user of
        every batch) and ``update_time`` (total seconds); ``"models"``: the
        final model of each strategy (``"GAN + partial_fit"``'s: a Pipeline,
        its steps ``gan`` and ``mf``).
    """
    strategies = _check_replay(strategies, initial, batch)
    base = MFRecommender(random_state=0) if model is None else model
    ratings, encoder, rows = _encode(ratings)
    times = ratings["timestamp"].to_numpy()
    start = int(round(initial * len(ratings)))
    if not 0 < start < len(ratings):
        raise ValueError(f"initial={initial} leaves no interaction to fit or to replay.")

    X_initial = encoder.transform(ratings.iloc[:start])
    models = _initial_models(base, augmenter, strategies, X_initial, progress)
    recommended = {name: [] for name in strategies}
    report = {"batches": [], "strategies": {name: {"ndcg@10": [], "recall@10": [],
                                                   "update_time": []}
                                            for name in strategies}}
    sums = {name: np.zeros(3) for name in strategies}  # see _test
    n_evaluated = n_new = 0
    history = X_initial  # everything before the batch; batches follow each other
    bounds = _batch_bounds(times, start, batch)
    for index, (begin, end) in enumerate(tqdm(bounds, desc="batches", leave=False,
                                              disable=not progress)):
        active = np.unique(rows[begin:end])
        seen = history[active]
        truth = encoder.transform(ratings.iloc[begin:end])[active]
        truth = truth - truth.multiply(seen)  # a repeated interaction cannot be recommended
        truth.eliminate_zeros()
        evaluated = np.diff(truth.indptr) > 0
        new_users = evaluated & (np.diff(seen.indptr) == 0)
        n_users = int(evaluated.sum())
        report["batches"].append({"start": int(times[begin]), "interactions": int(end - begin),
                                  "users": int(active.size), "evaluated": n_users})
        so_far = encoder.transform(ratings.iloc[:end])
        for name in strategies:
            result = report["strategies"][name]
            scores = _test(models[name], seen, truth, evaluated, new_users, sums[name],
                           recommended[name])
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
        _overall(report["strategies"][name], sums[name], recommended[name], n_evaluated, n_new,
                 X_initial)
    report["data"] = {"users": len(encoder.user_ids_), "items": len(encoder.item_ids_),
                      "interactions": len(ratings), "initial": start,
                      "evaluated": n_evaluated, "new_users": n_new}
    report["models"] = models
    return report
