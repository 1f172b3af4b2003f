"""The cold-start protocols: item cold start (and all items), user cold start.

Both are described in :mod:`sklearn_agn.benchmark.cold_start`. For each seed
they split the items (or users) into warm, cold-validation and cold-test,
choose every method's setting on the cold-validation ones by NDCG@20, and
score the chosen one on the cold-test ones.
"""

import time

import numpy as np
import scipy.sparse as sp
from sklearn import config_context
from sklearn.utils import check_random_state
from tqdm.auto import tqdm

from .._base import top_k
from ..metrics import ndcg_at_k, ranking_metric_per_user
from ..model_selection import holdout_split
from ._cold_start_methods import USER_METHODS

__all__ = ["K", "MIN_ITEMS", "split_items", "split_users", "run_item_cold_start",
           "run_user_cold_start"]

K = 20
# split_items leaves round(20%) of the items cold, halved into cold-validation
# and cold-test: from 8 items on, that is at least one of each.
MIN_ITEMS = 8


def _recall(truth, ranked, k=K):
    """Recall@k as GAR and ColdRec define it: hits / min(relevant, k), over users with one."""
    n_true = np.diff(truth.indptr)
    evaluated = n_true > 0
    # Precision@k is hits / k: rounding gives the exact number of hits back.
    precision = ranking_metric_per_user(truth, ranked, k, metric="precision")
    hits = np.rint(precision[evaluated] * k)
    return float(np.mean(hits / np.minimum(n_true[evaluated], k)))


def _rank_subset(scores, items, k=K, exclude=None):
    """Top-k positions (into ``items``) of the scores restricted to ``items``.

    Padded with -1 (empty slots) when there are fewer than ``k`` items.
    """
    ranked = top_k(np.asarray(scores)[:, items], min(k, len(items)), exclude=exclude)
    return np.pad(ranked, ((0, 0), (0, k - ranked.shape[1])), constant_values=-1)


def _keep_columns(X, keep):
    """``X`` with the columns outside the boolean mask ``keep`` emptied (same shape)."""
    X = sp.csr_matrix(X @ sp.diags(keep.astype(X.dtype)))
    X.eliminate_zeros()
    return X


def _relabel_items(X, item_attributes, seed):
    """Columns (and attribute rows) in a random order of seed ``seed``.

    Ranking breaks ties by the lower column index; in a file's order that
    would favour, among tied items, those with low ids, and MovieLens ids
    correlate with popularity. A cold item all of whose scores tie (MF's
    cold items, items with the same attributes) is thus ranked at random.
    """
    order = check_random_state(seed).permutation(X.shape[1])
    attributes = item_attributes[order] if item_attributes is not None else None
    return sp.csr_matrix(X[:, order]), attributes


def _split(indices, seed, warm_share=0.8):
    """``indices`` shuffled with seed ``seed``: warm, cold-validation and cold-test, sorted."""
    perm = check_random_state(seed).permutation(indices)
    n_warm = int(round(warm_share * len(perm)))
    cold = perm[n_warm:]
    half = len(cold) // 2
    return np.sort(perm[:n_warm]), np.sort(cold[:half]), np.sort(cold[half:])


def split_items(X, seed, warm_share=0.8):
    """Warm, cold-validation and cold-test item indices of one seed."""
    return _split(np.flatnonzero(X.getnnz(axis=0)), seed, warm_share)


def split_users(n_users, seed):
    """Warm (80%), cold-validation (10%) and cold-test (10%) user indices of one seed."""
    return _split(np.arange(n_users), seed)


def _short(params):
    return "{" + ", ".join(f"{k}={_fmt(v)}" for k, v in params.items()) + "}"


def _fmt(value):
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def _search(method, settings, seed, fit, evaluate, cold, log, progress):
    """The best of ``settings`` by cold-validation NDCG@20 (the first of equal scores).

    ``fit(params)`` returns the fitted model of a setting and
    ``evaluate(model, indices)`` its NDCG@20 and Recall@20 on the cold items
    (or users) ``indices``; ``cold`` holds the cold-validation and cold-test
    ones. Returns the best setting's ``(validation NDCG@20, params, (test
    NDCG@20, test Recall@20), fit time)`` and every setting tried, with its
    validation NDCG@20.
    """
    cold_val, cold_test = cold
    best, tried = None, []
    for params in tqdm(settings, desc=f"seed {seed} {method.name}", leave=False,
                       disable=not progress):
        start = time.perf_counter()
        model = fit(params)
        fit_time = time.perf_counter() - start
        val = evaluate(model, cold_val)[0]
        tried.append({"params": params, "validation_ndcg@20": val})
        log(f"  seed {seed} {method.name} {_short(params)}: "
            f"cold-validation NDCG@20 {val:.4f}")
        if best is None or val > best[0]:
            best = (val, params, evaluate(model, cold_test), fit_time)
    return best, tried


# --- item cold start -----------------------------------------------------------------------


def _evaluate_subset(method, model, X_train, X, items):
    users = np.flatnonzero(X[:, items].getnnz(axis=1))
    truth = sp.csr_matrix(X[users][:, items])
    ranked = _rank_subset(method.scores(model, X_train, users), items)
    return ndcg_at_k(truth, ranked, K), _recall(truth, ranked)


def run_item_cold_start(X, item_attributes, methods, *, seeds=10, budget=12, first_seed=0,
                        log=print, on_seed=None, progress=False):
    """The item cold-start protocol of :mod:`sklearn_agn.benchmark.cold_start`, per method and seed.

    Parameters
    ----------
    X : csr_matrix of shape (n_users, n_items)
        All interactions.
    item_attributes : {ndarray, sparse matrix} of shape (n_items, n_features)
    methods : list of Method
    seeds : int, default=10
        Number of splits, seeds ``first_seed .. first_seed + seeds - 1``.
    budget : int, default=12
        Most settings tried per method and seed; a method with
        ``trains_gan_per_setting`` tries them on the first seed only.
    first_seed : int, default=0
    log : callable, default=print
    on_seed : callable, default=None
        Called with the report so far after every seed (e.g. to save it, so
        that an interrupted run keeps its finished seeds).
    progress : bool, default=False
        Show progress bars: the settings of each method and seed, and the
        methods' own (a GAN's epochs).

    Returns
    -------
    dict
        ``{"results": [...], "all_items": [...]}``, one entry per method,
        each with one run per seed. The ``results`` entry of a method with
        ``trains_gan_per_setting`` also has ``"notes"`` (the setting it kept) and
        ``"search"`` (the seed searched and every setting tried there, with
        its cold-validation NDCG@20).

    Raises
    ------
    ValueError
        If ``X`` has fewer than :data:`MIN_ITEMS` items with an interaction,
        too few for a cold-validation and a cold-test item.
    """
    n_items = int(np.count_nonzero(X.getnnz(axis=0)))
    if n_items < MIN_ITEMS:
        raise ValueError(
            f"The item cold-start split needs at least {MIN_ITEMS} items with an interaction "
            f"(20% of them cold, halved into cold-validation and cold-test items, at least "
            f"one each), but the data has {n_items}."
        )
    results = {m.name: [] for m in methods}
    all_items = {m.name: [] for m in methods}
    searches = {}  # the first seed's search of each method that trains a GAN per setting
    for seed in range(first_seed, first_seed + seeds):
        split = _item_split(X, item_attributes, seed)
        for method in methods:
            result, all_items_run = _item_method_seed(method, split, seed, searches, budget,
                                                      log, progress)
            results[method.name].append(result)
            all_items[method.name].append(all_items_run)
        if on_seed is not None:
            on_seed(_item_report(results, all_items, searches))
    return _item_report(results, all_items, searches)


def _item_split(X, item_attributes, seed):
    """The relabelled interactions and attributes of one seed, its split and training matrix."""
    X, item_attributes = _relabel_items(X, item_attributes, seed)
    warm, cold_val, cold_test = split_items(X, seed)
    is_warm = np.zeros(X.shape[1], dtype=bool)
    is_warm[warm] = True
    return X, item_attributes, _keep_columns(X, is_warm), (cold_val, cold_test)


def _item_method_seed(method, split, seed, searches, budget, log, progress):
    """One method's run on one seed's split: its cold-test result and its all-items run."""
    X, item_attributes, X_train, cold = split
    search = searches.get(method.name)
    settings = [search["chosen"]] if search is not None else method.settings(budget, seed)
    (val, params, (ndcg, recall), fit_time), tried = _search(
        method, settings, seed,
        lambda params: method.fit(
            method.make(params, seed, progress, item_attributes=item_attributes), X_train),
        lambda model, items: _evaluate_subset(method, model, X_train, X, items),
        cold, log, progress)
    if method.trains_gan_per_setting and search is None:
        searches[method.name] = {"seed": seed, "chosen": params, "settings": tried}
    result = {"seed": seed, "params": params, "validation_ndcg@20": val,
              "ndcg@20": ndcg, "recall@20": recall, "fit_time": fit_time}
    all_items_run = {"seed": seed, **_all_items_run(method, params, seed, item_attributes, X,
                                                    X_train, *cold, progress)}
    log(f"seed {seed} {method.name}: cold-test NDCG@20 {ndcg:.4f} "
        f"Recall@20 {recall:.4f} with {_short(params)}")
    return result, all_items_run


def _item_report(results, all_items, searches):
    rows = []
    for name, runs in results.items():
        row = {"method": name, "runs": runs}
        search = searches.get(name)
        if search is not None:
            row["notes"] = [
                f"searched on seed {search['seed']}'s cold-validation items "
                f"({len(search['settings'])} settings), then kept for every seed: "
                f"{_short(search['chosen'])}"]
            row["search"] = [{"seed": search["seed"], "settings": search["settings"]}]
        rows.append(row)
    return {"results": rows,
            "all_items": [{"method": name, "runs": runs} for name, runs in all_items.items()]}


def _all_items_run(method, params, seed, item_attributes, X, X_train, cold_val, cold_test,
                   progress):
    users = np.flatnonzero(X[:, cold_test].getnnz(axis=1))
    X_fit, held = holdout_split(X_train, 0.2, random_state=seed)
    X_fit, held = sp.csr_matrix(X_fit), sp.csr_matrix(held)
    model = method.fit(method.make(params, seed, progress, item_attributes=item_attributes),
                       X_fit)
    catalogue = np.setdiff1d(np.arange(X.shape[1]), cold_val)
    seen = X_fit[users][:, catalogue]
    ranked = _rank_subset(method.scores(model, X_fit, users), catalogue,
                          exclude=seen.astype(bool))
    is_cold = np.isin(catalogue, cold_test)
    cold_truth = _keep_columns(X[users], np.isin(np.arange(X.shape[1]), cold_test))
    truth_all = sp.csr_matrix((held[users] + cold_truth)[:, catalogue])
    truth_warm = sp.csr_matrix(held[users][:, catalogue])
    in_top = ranked[ranked >= 0]
    return {"ndcg@20": ndcg_at_k(truth_all, ranked, K),
            "warm_ndcg@20": _mean_ndcg_defined(truth_warm, ranked),
            "cold_share@20": float(is_cold[in_top].mean()) if in_top.size else 0.0}


def _mean_ndcg_defined(truth, ranked):
    keep = truth.getnnz(axis=1) > 0
    return ndcg_at_k(truth[keep], ranked[keep], K)


# --- user cold start -----------------------------------------------------------------------


def run_user_cold_start(X, user_attributes, methods=USER_METHODS, *, seeds=10, budget=12,
                        first_seed=0, log=print, progress=False):
    """The user cold-start protocol of :mod:`sklearn_agn.benchmark.cold_start`.

    Same output layout as :func:`run_item_cold_start`'s.

    ``progress`` shows progress bars, as in :func:`run_item_cold_start`.
    """
    user_attributes = sp.csr_matrix(user_attributes, dtype=np.float64)
    results = {m.name: [] for m in methods}
    for seed in range(first_seed, first_seed + seeds):
        X_seed = _relabel_items(X, None, seed)[0]
        warm, cold_val, cold_test = split_users(X_seed.shape[0], seed)
        X_warm, warm_attributes = sp.csr_matrix(X_seed[warm]), user_attributes[warm]
        for method in methods:
            # Routing hands user_attributes to the GAN step of a Pipeline (GAN + MF).
            with config_context(enable_metadata_routing=True):
                (val, params, (ndcg, recall), _), _ = _search(
                    method, method.settings(budget, seed), seed,
                    lambda params: method.fit(method.make(params, seed, progress),
                                              X_warm, user_attributes=warm_attributes),
                    lambda model, users: _evaluate_users(method, model, X_seed,
                                                         user_attributes, users),
                    (cold_val, cold_test), log, progress)
            results[method.name].append({"seed": seed, "params": params,
                                         "validation_ndcg@20": val, "ndcg@20": ndcg,
                                         "recall@20": recall})
            log(f"seed {seed} {method.name}: cold-test users NDCG@20 {ndcg:.4f}")
    return [{"method": name, "runs": runs} for name, runs in results.items()]


def _evaluate_users(method, model, X, user_attributes, users):
    """NDCG@20 and Recall@20 of cold ``users``, ranked from their attributes alone."""
    empty = sp.csr_matrix(X.shape)  # a cold user has no interaction yet
    scores = method.scores(model, empty, users, user_attributes=user_attributes[users])
    ranked = top_k(scores, K)
    truth = sp.csr_matrix(X[users])
    return ndcg_at_k(truth, ranked, K), _recall(truth, ranked)
