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
import warnings
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from scipy.stats import loguniform, uniform
from sklearn.linear_model import Ridge
from sklearn.model_selection import ParameterSampler
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import normalize
from sklearn.utils import check_random_state
from tqdm.auto import tqdm

from .._base import top_k
from ..attribute_mf import AttributeRidgeMF
from ..augmentation import GANAugmenter
from ..baselines import AttributeKNN, FeaturePopularity
from ..datasets import load_item_attributes, load_movielens, load_movielens_100k
from ..matrix_factorization import MFRecommender
from ..metrics import _hits, ndcg_at_k
from ..model_selection import holdout_split
from ..preprocessing import InteractionEncoder
from ._report import _cell

__all__ = ["ColdStartMethod", "ITEM_METHODS", "USER_METHODS", "run_item_cold_start",
           "run_user_cold_start", "main"]

K = 20
# MF settings shared by the methods built on MF: the constant-penalty iALS
# regime, tuned over the ranges that were best on ML-100K (docs/benchmarks.rst).
_MF_FIXED = {"regularization_exponent": 0.0, "n_iter": 15}
_MF_SPACE = {
    "mf__n_factors": [16, 32, 64],
    "mf__regularization": loguniform(1.0, 100.0),
    "mf__alpha": loguniform(0.5, 10.0),
}


class ColdStartMethod:
    """A method of the cold-start tables: how to build it, fit it and score users.

    Parameters
    ----------
    name : str
        Row label.
    build : callable
        ``build(params, seed, item_attributes) -> estimator`` (unfitted).
    space : dict
        Distributions (or lists) of its hyper-parameters, for
        ``ParameterSampler``; empty when it has none.
    scores : callable, default=None
        ``scores(model, X, users) -> (len(users), n_items)`` array, the
        scores of the fitted ``model`` for the given rows of the training
        matrix ``X``; ``model.decision_function(X[users])`` when None.
    requires : callable, default=None
        Returns None when the method can run here, else the reason it cannot.
    first_setting : dict, default=None
        A setting tried before those drawn from ``space`` (one known to work),
        so that a small budget cannot choose worse on validation than it.
    tuned_once : bool, default=False
        Search on the first seed only, then keep the setting chosen on its
        cold-validation items for every later seed (methods whose every
        setting trains a GAN); the report says so in the method's notes.
    progress_params : dict, default=None
        Parameters added to every setting when progress is shown, to turn on
        the method's own progress bar (the GAN's epochs); never reported.
    """

    def __init__(self, name, build, space, scores=None, requires=None, *, first_setting=None,
                 tuned_once=False, progress_params=None):
        self.name = name
        self.build = build
        self.space = space
        self.scores = scores or (lambda model, X, users: model.decision_function(X[users]))
        self.requires = requires or (lambda: None)
        self.first_setting = first_setting
        self.tuned_once = tuned_once
        self.progress_params = progress_params or {}

    def settings(self, budget, seed):
        """At most ``budget`` settings: ``first_setting``, then draws from ``space``.

        One setting (``first_setting`` or the empty one) when ``space`` is empty.
        """
        first = [] if self.first_setting is None else [dict(self.first_setting)]
        if not self.space or budget <= len(first):
            return first or [{}]
        with warnings.catch_warnings():
            # A space of lists smaller than the budget: all of it, without a warning.
            warnings.simplefilter("ignore", UserWarning)
            return first + list(ParameterSampler(self.space, budget - len(first),
                                                 random_state=seed))

    def make(self, params, seed, item_attributes, progress=False):
        """The unfitted model of setting ``params``, with its progress bar when ``progress``."""
        return self.build({**params, **self.progress_params} if progress else params, seed,
                          item_attributes)


def _mf(params, seed):
    mf = {key[len("mf__"):]: value for key, value in params.items() if key.startswith("mf__")}
    return MFRecommender(**{**_MF_FIXED, **mf}, n_jobs=1, random_state=seed)


def _random_scores(model, X, users):
    # One seeded permutation per call: cold items in an arbitrary order.
    return check_random_state(model).random_sample((len(users), X.shape[1]))


def _lightfm_missing():
    try:
        import lightfm  # noqa: F401
    except ImportError:
        return "lightfm is not installed (pip install lightfm-next)"
    return None


class _LightFMRanker:
    """LightFM with WARP loss and attribute features only (no per-item identity)."""

    def __init__(self, item_attributes, seed, no_components=32, learning_rate=0.05,
                 item_alpha=1e-6, epochs=10):
        self.item_attributes = sp.csr_matrix(item_attributes, dtype=np.float32)
        self.seed = seed
        self.params = dict(no_components=no_components, learning_rate=learning_rate,
                           item_alpha=item_alpha)
        self.epochs = epochs

    def fit(self, X):
        from lightfm import LightFM

        self.model_ = LightFM(loss="warp", random_state=self.seed, **self.params)
        self.model_.fit(sp.coo_matrix(X), item_features=self.item_attributes,
                        epochs=self.epochs, num_threads=1)
        return self

    def scores(self, users):
        item_bias, items = self.model_.get_item_representations(self.item_attributes)
        user_bias, user_factors = self.model_.get_user_representations()
        return user_factors[users] @ items.T + item_bias


def _lightfm(params, seed, attributes):
    return _LightFMRanker(attributes, seed, **params)


def _gan_params(params):
    return {key[len("gan__"):]: value for key, value in params.items()
            if key.startswith("gan__")}


# The GAN methods' search: every setting trains a GAN (about a minute of CPU
# on ML-100K), so they search once, on the first seed, over wide ranges of
# the GAN's main knobs for cold items (and of MF's, for GAN + MF), starting
# from the setting chosen on ML-100K's seed 0: GANAugmenter's defaults, MF
# with 32 factors, constant penalty 30, alpha 3.
_GAN_SPACE = {
    "gan__item_dropout": uniform(0.1, 0.8),  # a share: uniform on [0.1, 0.9]
    "gan__g_weight_decay": loguniform(1e-5, 0.1),
    "gan__zr_coef": loguniform(0.01, 1.0),
}
_GAN_DEFAULTS = {"gan__item_dropout": 0.5, "gan__g_weight_decay": 1e-3, "gan__zr_coef": 0.1}
# Only where transform gives the cold items generated feedback.
_COLD_SHARE_SPACE = {"gan__cold_item_share": loguniform(0.005, 0.5)}
_COLD_SHARE_DEFAULT = {"gan__cold_item_share": 0.05}
_MF_WIDE_SPACE = {
    "mf__n_factors": [16, 32, 64, 128],
    "mf__regularization": loguniform(0.1, 1000.0),
    "mf__alpha": loguniform(0.1, 100.0),
}
# "MF alone": one setting, the MF that "GAN cold items into MF" starts from.
_MF_ALONE = {"mf__n_factors": [32], "mf__regularization": [10.0], "mf__alpha": [1.0]}
_GAN_PROGRESS = {"gan__verbose": 1}


class _ColdItemsFoldedIn:
    """MF fitted on the real interactions; the cold items' factors solved afterwards from
    the GAN's generated columns, every warm factor left as MF learned it.

    The GAN adds feedback on cold columns only (``sparse_threshold=0``: no row is
    densified), and ``partial_fit`` with the real rows as ``previous`` re-solves exactly
    the items of the generated entries.
    """

    def __init__(self, augmenter, mf):
        self.augmenter = augmenter
        self.mf = mf

    def fit(self, X):
        self.mf_ = self.mf.fit(X)
        augmented = self.augmenter.fit_transform(X)
        self.mf_.partial_fit(augmented, previous=X)
        return self

    def decision_function(self, X):
        return self.mf_.decision_function(X)


ITEM_METHODS = [
    ColdStartMethod("random", lambda params, seed, A: _Seeded(seed), {},
                    scores=lambda model, X, users: _random_scores(model.seed, X, users)),
    ColdStartMethod("MF alone", lambda params, seed, A: _mf(params, seed), _MF_ALONE),
    ColdStartMethod("feature popularity",
                    lambda params, seed, A: FeaturePopularity(item_attributes=A), {}),
    ColdStartMethod("attribute item-KNN",
                    lambda params, seed, A: AttributeKNN(item_attributes=A, **params),
                    {"n_neighbors": [10, 20, 50, 100, 200, 400, 800]}),
    ColdStartMethod("MF + ridge map",
                    lambda params, seed, A: AttributeRidgeMF(
                        _mf(params, seed), item_attributes=A,
                        ridge_alpha=params["ridge_alpha"]),
                    {**_MF_SPACE, "ridge_alpha": loguniform(0.1, 1000.0)}),
    ColdStartMethod("LightFM (WARP)", _lightfm,
                    {"no_components": [16, 32], "learning_rate": loguniform(0.01, 0.1),
                     "item_alpha": loguniform(1e-7, 1e-4), "epochs": [5, 10, 20]},
                    scores=lambda model, X, users: model.scores(users),
                    requires=_lightfm_missing),
    ColdStartMethod("GAN + MF",
                    lambda params, seed, A: make_pipeline(
                        GANAugmenter(item_attributes=A, random_state=seed,
                                     **_gan_params(params)),
                        _mf(params, seed)),
                    {**_GAN_SPACE, **_COLD_SHARE_SPACE, **_MF_WIDE_SPACE},
                    first_setting={**_GAN_DEFAULTS, **_COLD_SHARE_DEFAULT, "mf__n_factors": 32,
                                   "mf__regularization": 30.0, "mf__alpha": 3.0},
                    tuned_once=True, progress_params=_GAN_PROGRESS),
    # The MF of "MF alone" (so that warm accuracy can be compared), its cold
    # items learned from the GAN's generated columns afterwards.
    ColdStartMethod("GAN cold items into MF",
                    lambda params, seed, A: _ColdItemsFoldedIn(
                        GANAugmenter(item_attributes=A, sparse_threshold=0, random_state=seed,
                                     **_gan_params(params)),
                        _mf(params, seed)),
                    {**_GAN_SPACE, **_COLD_SHARE_SPACE, **_MF_ALONE},
                    first_setting={**_GAN_DEFAULTS, **_COLD_SHARE_DEFAULT,
                                   **{name: values[0] for name, values in _MF_ALONE.items()}},
                    tuned_once=True, progress_params=_GAN_PROGRESS),
    ColdStartMethod("generator alone",
                    lambda params, seed, A: GANAugmenter(item_attributes=A, random_state=seed,
                                                         **_gan_params(params)),
                    _GAN_SPACE, first_setting=_GAN_DEFAULTS,
                    scores=lambda model, X, users: model.score_items(X[users]),
                    tuned_once=True, progress_params=_GAN_PROGRESS),
]
DEFAULT_ITEM_METHODS = ["random", "MF alone", "feature popularity", "attribute item-KNN",
                        "MF + ridge map", "LightFM (WARP)", "GAN + MF", "generator alone"]


class _Seeded:
    """The "random" method's model: nothing to learn but its seed."""

    def __init__(self, seed):
        self.seed = seed

    def fit(self, X):
        return self


def _recall(truth, ranked, k=K):
    """Recall@k as GAR and ColdRec define it: hits / min(relevant, k), over users with one."""
    n_true = np.diff(truth.indptr)
    evaluated = n_true > 0
    hits = _hits(truth, ranked[:, :k])[evaluated].sum(axis=1)
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


# split_items leaves round(20%) of the items cold, halved into cold-validation
# and cold-test: from 8 items on, that is at least one of each.
MIN_ITEMS = 8


def split_items(X, seed, warm_share=0.8):
    """Warm, cold-validation and cold-test item indices of one seed."""
    present = np.flatnonzero(X.getnnz(axis=0))
    perm = check_random_state(seed).permutation(present)
    n_warm = int(round(warm_share * len(perm)))
    cold = perm[n_warm:]
    half = len(cold) // 2
    return np.sort(perm[:n_warm]), np.sort(cold[:half]), np.sort(cold[half:])


def _evaluate_subset(method, model, X_train, X, items):
    users = np.flatnonzero(X[:, items].getnnz(axis=1))
    truth = sp.csr_matrix(X[users][:, items])
    ranked = _rank_subset(method.scores(model, X_train, users), items)
    return ndcg_at_k(truth, ranked, K), _recall(truth, ranked)


def run_item_cold_start(X, item_attributes, methods, *, seeds=10, budget=12, first_seed=0,
                        log=print, on_seed=None, progress=False):
    """The item cold-start protocol (module docstring) for each method and seed.

    Parameters
    ----------
    X : csr_matrix of shape (n_users, n_items)
        All interactions.
    item_attributes : {ndarray, sparse matrix} of shape (n_items, n_features)
    methods : list of ColdStartMethod
    seeds : int, default=10
        Number of splits, seeds ``first_seed .. first_seed + seeds - 1``.
    budget : int, default=12
        Most settings tried per method and seed; a method with ``tuned_once``
        tries them on the first seed only.
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
        ``tuned_once`` also has ``"notes"`` (the setting it kept) and
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
    searches = {}  # the first seed's search of each tuned_once method
    X_all, attributes_all = X, item_attributes
    for seed in range(first_seed, first_seed + seeds):
        X, item_attributes = _relabel_items(X_all, attributes_all, seed)
        warm, cold_val, cold_test = split_items(X, seed)
        is_warm = np.zeros(X.shape[1], dtype=bool)
        is_warm[warm] = True
        X_train = _keep_columns(X, is_warm)
        for method in methods:
            search = searches.get(method.name)
            settings = ([search["chosen"]] if search is not None
                        else method.settings(budget, seed))
            best, tried = None, []
            for params in tqdm(settings, desc=f"seed {seed} {method.name}", leave=False,
                               disable=not progress):
                start = time.perf_counter()
                model = method.make(params, seed, item_attributes, progress).fit(X_train)
                fit_time = time.perf_counter() - start
                val = _evaluate_subset(method, model, X_train, X, cold_val)[0]
                tried.append({"params": _plain(params), "validation_ndcg@20": val})
                log(f"  seed {seed} {method.name} {_short(params)}: "
                    f"cold-validation NDCG@20 {val:.4f}")
                if best is None or val > best[0]:
                    test = _evaluate_subset(method, model, X_train, X, cold_test)
                    best = (val, params, test, fit_time)
            val, params, (ndcg, recall), fit_time = best
            if method.tuned_once and search is None:
                searches[method.name] = {"seed": seed, "chosen": params, "settings": tried}
            results[method.name].append({"seed": seed, "params": _plain(params),
                                         "validation_ndcg@20": val, "ndcg@20": ndcg,
                                         "recall@20": recall, "fit_time": fit_time})
            all_items[method.name].append(
                {"seed": seed, **_all_items_run(method, params, seed, item_attributes, X,
                                                X_train, cold_val, cold_test, progress)})
            log(f"seed {seed} {method.name}: cold-test NDCG@20 {ndcg:.4f} "
                f"Recall@20 {recall:.4f} with {_short(params)}")
        if on_seed is not None:
            on_seed(_item_report(results, all_items, searches))
    return _item_report(results, all_items, searches)


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
    model = method.make(params, seed, item_attributes, progress).fit(X_fit)
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


def _short(params):
    return "{" + ", ".join(f"{k}={_fmt(v)}" for k, v in params.items()) + "}"


def _fmt(value):
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def _plain(params):
    return {k: (v.item() if hasattr(v, "item") else v) for k, v in params.items()}


# --- user cold start ---------------------------------------------------------------------


class _Popularity:
    def fit(self, X, user_attributes):
        self.popularity_ = np.asarray(X.getnnz(axis=0), dtype=np.float64)
        return self

    def scores(self, user_attributes):
        return np.tile(self.popularity_, (user_attributes.shape[0], 1))


class _DemographicKNN:
    """Sum of the rows of the warm users most similar in attributes (cosine)."""

    def __init__(self, n_neighbors):
        self.n_neighbors = n_neighbors

    def fit(self, X, user_attributes):
        self.X_ = sp.csr_matrix(X, dtype=np.float64)
        self.attributes_ = normalize(sp.csr_matrix(user_attributes))
        return self

    def scores(self, user_attributes):
        sim = (normalize(sp.csr_matrix(user_attributes)) @ self.attributes_.T).toarray()
        n_keep = min(self.n_neighbors, sim.shape[1])
        cut = np.argpartition(-sim, n_keep - 1, axis=1)[:, :n_keep]
        weights = np.zeros_like(sim)
        np.put_along_axis(weights, cut, np.take_along_axis(sim, cut, axis=1), axis=1)
        return np.asarray(self.X_.T @ weights.T).T


class _UserRidgeMF:
    """MF on warm users, a ridge map from user attributes to their folded-in factors."""

    def __init__(self, mf, ridge_alpha):
        self.mf = mf
        self.ridge_alpha = ridge_alpha

    def fit(self, X, user_attributes):
        self.mf_ = self.mf.fit(X)
        self.ridge_ = Ridge(alpha=self.ridge_alpha).fit(user_attributes, self.mf_.fold_in(X))
        return self

    def scores(self, user_attributes):
        return self.ridge_.predict(user_attributes) @ self.mf_.item_factors_.T


class _GANUsers:
    """The GAN conditioned on user attributes, scoring a new user's empty row."""

    def __init__(self, augmenter):
        self.augmenter = augmenter

    def fit(self, X, user_attributes):
        self.augmenter_ = self.augmenter.fit(X, user_attributes=user_attributes)
        return self

    def scores(self, user_attributes):
        empty = sp.csr_matrix((user_attributes.shape[0], self.augmenter_.n_features_in_))
        return self.augmenter_.score_items(empty, user_attributes=user_attributes)


class _GANMFUsers:
    """GAN + MF as a pipeline serves a new user: the GAN generates feedback for the
    empty row from the user's attributes, the MF folds that row in."""

    def __init__(self, augmenter, mf):
        self.augmenter = augmenter
        self.mf = mf

    def fit(self, X, user_attributes):
        self.augmenter_ = self.augmenter.fit(X, user_attributes=user_attributes)
        self.mf_ = self.mf.fit(self.augmenter_.transform(X, user_attributes=user_attributes))
        return self

    def scores(self, user_attributes):
        empty = sp.csr_matrix((user_attributes.shape[0], self.augmenter_.n_features_in_))
        generated = self.augmenter_.transform(empty, user_attributes=user_attributes)
        return self.mf_.decision_function(generated)


USER_METHODS = [
    ColdStartMethod("global popularity", lambda params, seed, A: _Popularity(), {}),
    ColdStartMethod("demographic user-KNN",
                    lambda params, seed, A: _DemographicKNN(**params),
                    {"n_neighbors": [10, 20, 50, 100, 200, 400, 754]}),
    ColdStartMethod("MF + ridge map (users)",
                    lambda params, seed, A: _UserRidgeMF(_mf(params, seed),
                                                         params["ridge_alpha"]),
                    {**_MF_SPACE, "ridge_alpha": loguniform(0.1, 1000.0)}),
    # Two settings (each trains a GAN): how often a user is seen through their
    # attributes alone in training.
    ColdStartMethod("GAN (user attributes)",
                    lambda params, seed, A: _GANUsers(GANAugmenter(random_state=seed,
                                                                   **params)),
                    {"condition_dropout": [0.2, 0.5]}, progress_params={"verbose": 1}),
    # MF as in the item table's GAN + MF (32 factors, penalty 30, alpha 3).
    ColdStartMethod("GAN + MF (user attributes)",
                    lambda params, seed, A: _GANMFUsers(
                        GANAugmenter(random_state=seed, **_gan_params(params)),
                        _mf(params, seed)),
                    {"gan__condition_dropout": [0.2, 0.5], "mf__n_factors": [32],
                     "mf__regularization": [30.0], "mf__alpha": [3.0]},
                    progress_params=_GAN_PROGRESS),
]
DEFAULT_USER_METHODS = ["global popularity", "demographic user-KNN", "MF + ridge map (users)"]


def split_users(n_users, seed):
    """Warm (80%), cold-validation (10%) and cold-test (10%) user indices of one seed."""
    perm = check_random_state(seed).permutation(n_users)
    n_warm = int(round(0.8 * n_users))
    cold = perm[n_warm:]
    half = len(cold) // 2
    return np.sort(perm[:n_warm]), np.sort(cold[:half]), np.sort(cold[half:])


def run_user_cold_start(X, user_attributes, methods=USER_METHODS, *, seeds=10, budget=12,
                        first_seed=0, log=print, progress=False):
    """The user cold-start protocol (module docstring); same output layout as the item one.

    ``progress`` shows progress bars, as in :func:`run_item_cold_start`.
    """
    user_attributes = sp.csr_matrix(user_attributes, dtype=np.float64)
    results = {m.name: [] for m in methods}
    X_all = X
    for seed in range(first_seed, first_seed + seeds):
        X = _relabel_items(X_all, None, seed)[0]
        warm, cold_val, cold_test = split_users(X.shape[0], seed)
        X_warm = sp.csr_matrix(X[warm])

        def evaluate(model, users):
            ranked = top_k(model.scores(user_attributes[users]), K)
            truth = sp.csr_matrix(X[users])
            return ndcg_at_k(truth, ranked, K), _recall(truth, ranked)

        for method in methods:
            best = None
            for params in tqdm(method.settings(budget, seed), desc=f"seed {seed} {method.name}",
                               leave=False, disable=not progress):
                model = method.make(params, seed, None, progress).fit(X_warm,
                                                                      user_attributes[warm])
                val = evaluate(model, cold_val)[0]
                log(f"  seed {seed} {method.name} {_short(params)}: "
                    f"cold-validation NDCG@20 {val:.4f}")
                if best is None or val > best[0]:
                    best = (val, params, evaluate(model, cold_test))
            val, params, (ndcg, recall) = best
            results[method.name].append({"seed": seed, "params": _plain(params),
                                         "validation_ndcg@20": val, "ndcg@20": ndcg,
                                         "recall@20": recall})
            log(f"seed {seed} {method.name}: cold-test users NDCG@20 {ndcg:.4f}")
    return [{"method": name, "runs": runs} for name, runs in results.items()]


# --- data, tables and command line --------------------------------------------------------


def format_tables(report):
    """The markdown tables of a report."""
    lines = ["Item cold start: cold-test items only", "",
             "| method | Recall@20 | NDCG@20 | fit time (s) |", "|---|---|---|---|"]
    for row in report["results"]:
        runs = row["runs"]
        lines.append(f"| {row['method']} | {_cell([r['recall@20'] for r in runs])} | "
                     f"{_cell([r['ndcg@20'] for r in runs])} | "
                     f"{_cell([r['fit_time'] for r in runs])} |")
    lines += ["", "All items (warm + cold-test), same users, 20% of their warm "
              "interactions held out", "",
              "| method | NDCG@20 | warm NDCG@20 | cold share of top 20 |", "|---|---|---|---|"]
    for row in report["all_items"]:
        runs = row["runs"]
        lines.append(f"| {row['method']} | {_cell([r['ndcg@20'] for r in runs])} | "
                     f"{_cell([r['warm_ndcg@20'] for r in runs])} | "
                     f"{_cell([r['cold_share@20'] for r in runs])} |")
    if report.get("user_cold_start"):
        lines += ["", "User cold start: cold-test users (empty rows), all items", "",
                  "| method | Recall@20 | NDCG@20 |", "|---|---|---|"]
        for row in report["user_cold_start"]:
            runs = row["runs"]
            lines.append(f"| {row['method']} | {_cell([r['recall@20'] for r in runs])} | "
                         f"{_cell([r['ndcg@20'] for r in runs])} |")
    notes = [f"- {row['method']}: {note}" for row in report["results"]
             for note in row.get("notes", [])]
    if notes:
        lines += ["", "Notes:", "", *notes]
    return "\n".join(lines)


def merge_reports(reports):
    """One report from reports of the same command on disjoint seed ranges."""
    merged = {key: value for key, value in reports[0].items()}
    for table in ("results", "all_items", "user_cold_start"):
        if table not in merged:
            continue
        rows = {}
        for report in reports:
            for row in report[table]:
                merged_row = rows.setdefault(row["method"], {"method": row["method"], "runs": []})
                merged_row["runs"].extend(row["runs"])
                # Each report's search (one per first seed), and its note, once.
                for key in ("notes", "search"):
                    if key in row:
                        entries = merged_row.setdefault(key, [])
                        entries += [entry for entry in row[key] if entry not in entries]
        for row in rows.values():
            row["runs"].sort(key=lambda r: r["seed"])
        merged[table] = list(rows.values())
    merged["command"] = [report["command"] for report in reports]
    merged["wall_time_s"] = [report["wall_time_s"] for report in reports]
    return merged


def _read_ratings(path):
    """User and item ids of a ratings file: MovieLens formats, else a CSV of user,item,..."""
    try:
        ratings = load_movielens(path)
    except ValueError:
        import pandas as pd

        frame = pd.read_csv(path, sep=None, engine="python")
        ratings = frame.iloc[:, :2].set_axis(["user_id", "item_id"], axis=1)
    return ratings["user_id"].to_numpy(), ratings["item_id"].to_numpy()


def _describe_ids(ids):
    """The kind and the first few distinct ids of an id column, for an error message."""
    import pandas as pd

    kind = ("integers" if np.issubdtype(ids.dtype, np.integer) else
            "numbers" if np.issubdtype(ids.dtype, np.number) else "strings")
    first = pd.unique(ids)[:3].tolist()
    return f"{kind} {', '.join(map(repr, first))}, ..."


def _item_columns(item_ids, rated, items, ratings):
    """Column in ``item_ids`` of every rated item id, -1 for those without attributes.

    Ids are compared as numbers when both files' are numbers, else as text
    (12 in one file matches "12" in the other). ValueError, before anything
    is fitted, when the files share no item id.
    """
    import pandas as pd

    item_ids, rated = np.asarray(item_ids), np.asarray(rated)
    numbers = all(np.issubdtype(ids.dtype, np.number) for ids in (item_ids, rated))
    keys, wanted = (item_ids, rated) if numbers else (item_ids.astype(str), rated.astype(str))
    cols = pd.Index(keys).get_indexer(wanted)
    if not (cols >= 0).any():
        raise ValueError(
            f"No item id is in both the ratings ({ratings}: {_describe_ids(rated)}) and the "
            f"attribute file ({items}: {_describe_ids(item_ids)}): the attribute file must "
            "be keyed by the ratings' item ids."
        )
    return cols


def load_data(ratings, items, *, release_date="decade", title_tfidf=False, items_format="auto",
              item_ids=None):
    """Interactions, item attributes and (for ML-100K) user attributes, items aligned.

    ``items`` is ML-100K's ``u.item``, or any file
    :func:`~sklearn_agn.datasets.load_item_attributes` reads (with
    ``items_format`` as its ``format`` and ``item_ids``). Only the items that
    have both a rating and a row of attributes are kept; users are the ones
    with a rating on those items.

    Raises
    ------
    ValueError
        If no item id of the ratings has attributes.
    """
    items = Path(items)
    user_attributes = None
    if items.name == "u.item":
        data = load_movielens_100k(items.parent, release_date=release_date,
                                   title_tfidf=title_tfidf)
        user_table = (data.user_ids, data.user_attributes)
    else:
        data = load_item_attributes(items, format=items_format, item_ids=item_ids)
        user_table = None
    users, rated = _read_ratings(ratings)
    cols = _item_columns(data.item_ids, rated, items, ratings)
    known = cols >= 0
    # Items are encoded by their row of attributes: the columns of X are the
    # rated rows, in the attribute file's order.
    encoder = InteractionEncoder()
    X = encoder.fit_transform({"user_id": users[known], "item_id": cols[known]})
    attributes = data.item_attributes[encoder.item_ids_]
    if user_table is not None:
        user_attributes = user_table[1][np.searchsorted(user_table[0], encoder.user_ids_)]
    return X, attributes, user_attributes, int((~known).sum())


def main(argv=None):
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
    args = parser.parse_args(argv)
    if args.merge:
        report = merge_reports([json.loads(Path(path).read_text()) for path in args.merge])
        print(format_tables(report))
        if args.json:
            Path(args.json).write_text(json.dumps(report, indent=2, default=str))
        return report
    if not (args.ratings and args.items):
        parser.error("--ratings and --items are required (unless --merge)")
    if args.budget < 1 or args.seeds < 1 or args.first_seed < 0:
        parser.error("--budget and --seeds must be >= 1, --first-seed >= 0")
    methods = [m for m in ITEM_METHODS if m.name in args.methods]
    for method in methods:
        reason = method.requires()
        if reason:
            parser.error(f"method {method.name!r} cannot run: {reason}")
    # tqdm.write keeps the lines clear of the progress bars.
    log = (lambda line: None) if args.quiet else (lambda line: tqdm.write(line, file=sys.stderr))
    X, attributes, user_attributes, dropped = load_data(
        args.ratings, args.items, release_date=args.release_date, title_tfidf=args.title_tfidf,
        items_format=args.items_format, item_ids=args.item_ids)
    if args.user_cold_start and user_attributes is None:
        parser.error("--user-cold-start needs user attributes: pass ML-100K's u.item")
    start = time.perf_counter()
    seeds = dict(seeds=args.seeds, budget=args.budget, first_seed=args.first_seed, log=log,
                 progress=not args.quiet)

    def save_partial(partial):
        if args.json:
            Path(args.json + ".partial").write_text(json.dumps(partial, indent=2, default=str))

    report = ({"results": [], "all_items": []} if args.no_items
              else run_item_cold_start(X, attributes, methods, on_seed=save_partial, **seeds))
    if args.user_cold_start:
        report["user_cold_start"] = run_user_cold_start(
            X, user_attributes, [m for m in USER_METHODS if m.name in args.user_methods],
            **seeds)
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
        with open(args.json, "w") as fh:
            json.dump(report, fh, indent=2, default=str)
    return report


if __name__ == "__main__":
    main()
