"""The protocol: tune on a validation split of train, refit on train, score on test."""

import time

import numpy as np
from tqdm.auto import tqdm

from .. import fairness
from ..metrics import beyond_accuracy_metrics, ndcg_at_k, ranking_metric_per_user, ranking_metrics
from ..model_selection import holdout_split
from ._methods import METHODS
from ._search import range_edges, space_size

__all__ = ["CUTOFFS", "activity_groups", "run_benchmark"]

CUTOFFS = (5, 20)


def _fit_rank(fit, params, seed, X, k):
    """Fit one setting and rank the top ``k`` unseen items of every row of ``X``."""
    start = time.perf_counter()
    model = fit(params, seed, X)
    fit_time = time.perf_counter() - start
    return model.predict(X, k=k), fit_time


def _tune(method, X_fit, X_val, budget, seed, log, fixed, progress):
    """Best setting of at most ``budget`` drawn from the method's space, by validation NDCG@20.

    scikit-learn's search estimators cannot run this protocol: they split
    rows (users), while the validation split holds out some interactions of
    every user, so the model is fitted and scored on the same rows. The
    settings are drawn by :class:`~sklearn.model_selection.ParameterSampler`.
    Every setting is completed by ``fixed`` (for a method built on top of
    another, that method's chosen setting; else empty), and a method's
    ``first_setting`` is the first of the ``budget``. ``progress`` shows a
    bar over the settings and the method's own (a GAN's epochs).
    """
    own = method.settings(budget, seed)
    size = space_size(method.space)
    if size is not None and method.first_setting is not None:
        size += 1  # the first setting, besides the space's
    fit = method.fitter(progress)  # lives for this call only: what it shares is freed with it
    scores, start = [], time.perf_counter()
    for params in tqdm(own, desc=f"{method.name} settings", leave=False, disable=not progress):
        ranked, _ = _fit_rank(fit, {**params, **fixed}, seed, X_fit, 20)
        scores.append(ndcg_at_k(X_val, ranked, 20))
        log(f"  {method.name} {_short(params)}: validation NDCG@20 {scores[-1]:.4f}")
    del fit
    best = int(np.argmax(scores))  # the first of equal scores
    return {"params": {**own[best], **fixed}, "validation_ndcg@20": scores[best],
            "settings_tried": len(own), "space_size": size,
            "tuning_time": time.perf_counter() - start,
            "at_edge": range_edges(method.space, own[best])}


def _group_difference(result, other):
    """Per-group NDCG@20 and largest gap of ``result`` minus ``other``'s (same users)."""
    return {"by_group": {label: value - other["by_group"][label]
                         for label, value in result["by_group"].items()},
            "difference": result["difference"] - other["difference"]}


def _contribution(name, base, runs, base_runs, quartiles, groups):
    """What method ``name`` adds to ``base``: its test figures minus ``base``'s, seed by seed."""
    return {"method": name, "over": base,
            "runs": [{key: run[key] - other[key] for key in run}
                     for run, other in zip(runs, base_runs)],
            "quartiles": [[{**group, "ndcg@20": group["ndcg@20"] - other["ndcg@20"]}
                           for group, other in zip(groups, base_groups)]
                          for groups, base_groups in zip(quartiles.get(name, []),
                                                         quartiles.get(base, []))],
            "groups": [{grouping: _group_difference(result, other[grouping])
                        for grouping, result in by_grouping.items()}
                       for by_grouping, other in zip(groups.get(name, []),
                                                     groups.get(base, []))]}


def _short(params):
    return "{" + ", ".join(f"{name}: {value:.3g}" if isinstance(value, float)
                           else f"{name}: {value!r}" for name, value in params.items()) + "}"


def activity_groups(train, test, ranked, n_groups=4):
    """NDCG@20 per group of test users by their number of train interactions.

    The users with a test item are cut into ``n_groups`` groups by
    :func:`sklearn_agn.fairness.activity_groups` (quartiles by default):
    users who share a count stay together, so ties can merge neighbouring
    groups: then fewer, larger groups are returned, never an empty one.

    Returns
    -------
    list of dict
        Sparsest first; per group its ``"quartile"`` label (``"Q1"``, or
        ``"Q1-Q3"`` when ties merged Q1 to Q3), ``"users"``,
        ``"train_interactions"`` (``"min-max"``) and ``"ndcg@20"``.
    """
    users = np.flatnonzero(test.getnnz(axis=1) > 0)
    if users.size == 0:
        return []
    labels = fairness.activity_groups(train[users], n_groups)
    counts = train[users].getnnz(axis=1)
    ndcg = ranking_metric_per_user(test[users], ranked[users], 20)
    out = []
    for label in np.unique(labels):  # the labels sort sparsest first
        members = labels == label
        out.append({"quartile": label, "users": int(members.sum()),
                    "train_interactions": f"{counts[members].min()}-{counts[members].max()}",
                    "ndcg@20": float(ndcg[members].mean())})
    return out


def _by_user_groups(test, ranked, user_groups):
    """NDCG@20 per group of the users with a test item, for each grouping."""
    return {name: fairness.group_ranking_metrics(test, ranked, labels, k=20)
            for name, labels in user_groups.items()}


def run_benchmark(train, test, methods=None, *, budget=64, gan_budget=16, seeds=3,
                  val_size=0.2, val_seed=1, user_groups=None, log=print, progress=False):
    """Tune every method on validation, refit on train, score on test.

    Parameters
    ----------
    train, test : sparse matrix of shape (n_users, n_items)
        Train interactions and held-out test interactions.
    methods : list of Method, default=None
        The methods to run; None means :data:`METHODS`.
    budget : int, default=64
        Settings drawn from each method's search space (all of them when a
        space of lists has fewer), with seed ``val_seed``. GAN + MF trains one
        GAN per tuning call and refits only MF per setting, so it gets this
        budget too, for the GAN's parameters alone with MF fixed at MF's
        chosen setting: the first setting augments nobody (MF's model), the
        other ``budget - 1`` are drawn from the GAN's space.
    gan_budget : int, default=16
        Settings drawn for the methods that train a GAN per setting (the
        CFGAN generator alone).
    seeds : int, default=3
        Refits (seeds 0, 1, ...) of stochastic methods.
    val_size : float, default=0.2
        Share of each user's train interactions held out for validation.
    val_seed : int, default=1
        Seed of the validation split, of the settings drawn, and of the
        stochastic methods while tuning.
    user_groups : dict, default=None
        ``{name: labels}``, each ``labels`` an array-like of one group label
        per user (row), e.g. ``{"gender": ..., "age": ...}``: NDCG@20 per
        group and the largest gap between groups are reported for each
        (:func:`sklearn_agn.fairness.group_ranking_metrics`). Only the labels
        of users with a test item are read; they must fall in two groups at
        least.
    log : callable, default=print
        Receives progress lines.
    progress : bool, default=False
        Show progress bars: each method's settings while tuning, its seeds
        while refitting, and the methods' own (a GAN's epochs and losses).

    Returns
    -------
    dict
        ``{"results": [...], "quartiles": {...}, "groups": {...},
        "contributions": [...]}``:
        per method, the chosen parameters, its validation score, how many
        settings were tried (and the size of the space when it is finite),
        which choices lie on the edge of their range, the tuning time, and
        per-seed test metrics with fit times; per stochastic method, per seed,
        NDCG@20 by group of users' train activity (:func:`activity_groups`);
        per stochastic method, per seed, a dict ``{name: result}`` for
        ``user_groups``, each result as
        :func:`~sklearn_agn.fairness.group_ranking_metrics` returns it; per
        method built on top of another (GAN + MF on MF), what its step adds:
        ``{"method", "over", "runs", "quartiles", "groups"}``, each seed's test
        metrics (fit time included), NDCG@20 per group and, for
        ``user_groups``, ``{"by_group", "difference"}`` (the largest gap)
        minus the other method's with the same seed.

    Raises
    ------
    ValueError
        If a method is built on top of another that is not among ``methods``
        before it, or ``user_groups`` is not one label per user or puts the
        users with a test item in a single group.
    """
    methods = METHODS if methods is None else methods
    names = [method.name for method in methods]
    for i, method in enumerate(methods):
        if method.on_top_of is not None and method.on_top_of[0] not in names[:i]:
            raise ValueError(f"{method.name!r} is tuned on top of {method.on_top_of[0]!r}'s "
                             f"chosen setting: run {method.on_top_of[0]!r} too, before it.")
    user_groups = {} if user_groups is None else user_groups
    # Bad labels fail here, before any model is trained: on empty rankings.
    _by_user_groups(test, np.full((test.shape[0], 20), -1), user_groups)
    X_fit, X_val = holdout_split(train, val_size, random_state=val_seed)
    results, chosen, quartiles, groups, contributions = [], {}, {}, {}, []
    for method in methods:
        n_settings = gan_budget if method.trains_gan_per_setting else budget
        fixed = {}
        if method.on_top_of is not None:
            base, prefix = method.on_top_of
            fixed = {prefix + name: value for name, value in chosen[base]["params"].items()}
        tuned = _tune(method, X_fit, X_val, n_settings, val_seed, log, fixed, progress)
        refit = lambda params, seed, X: method.fit(  # noqa: E731
            method.make(params, seed, progress), X)
        runs = []
        for seed in tqdm(range(seeds if method.stochastic else 1), desc=f"{method.name} refits",
                         leave=False, disable=not progress):
            ranked, fit_time = _fit_rank(refit, tuned["params"], seed, train, max(CUTOFFS))
            runs.append({**ranking_metrics(test, ranked, ks=CUTOFFS),
                         **beyond_accuracy_metrics(ranked, train, max(CUTOFFS)),
                         "fit_time": fit_time})
            if method.stochastic:
                quartiles.setdefault(method.name, []).append(
                    activity_groups(train, test, ranked))
                if user_groups:
                    groups.setdefault(method.name, []).append(
                        _by_user_groups(test, ranked, user_groups))
        log(f"{method.name}: chose {_short(tuned['params'])} "
            f"({tuned['settings_tried']} settings, {tuned['tuning_time']:.0f} s)")
        results.append({"method": method.name, **tuned, "runs": runs})
        chosen[method.name] = results[-1]
        if method.on_top_of is not None:
            # Paired by seed: the two refits differ by the added step alone.
            contributions.append(_contribution(method.name, base, runs, chosen[base]["runs"],
                                               quartiles, groups))
    return {"results": results, "quartiles": quartiles, "groups": groups,
            "contributions": contributions}
