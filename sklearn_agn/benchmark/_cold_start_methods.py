"""The cold-start tables' methods: how each is built, fitted and scored, and its space.

Every model is fitted and scored in one calling style, that of the library's
estimators: ``fit(X, **side)`` and ``decision_function(X, **side)``, where
``side`` is empty in the item protocol and holds ``user_attributes`` (those of
the rows of ``X``) in the user protocol. A method whose model is fitted or
scored otherwise (the generator's ``score_items``, LightFM's users by index)
says how in its ``fit`` or ``scores``. GAN + MF is the warm benchmark's
Pipeline (``_methods``): a ``gan`` step, then an ``mf`` step.
"""

import numpy as np
import scipy.sparse as sp
from scipy.stats import loguniform, uniform
from sklearn.linear_model import Ridge
from sklearn.preprocessing import normalize
from sklearn.utils import check_random_state

from ..baselines import AttributeKNN, FeaturePopularity
from ..gan._augmenter import GANAugmenter
from ..mf._attribute_ridge import AttributeRidgeMF
from ..mf._recommender import MFRecommender
from ._methods import _gan_mf
from ._search import sample_settings

__all__ = ["ColdStartMethod", "ITEM_METHODS", "USER_METHODS", "DEFAULT_ITEM_METHODS",
           "DEFAULT_USER_METHODS"]


def _fit(model, X, **side):
    return model.fit(X, **side)


def _decision_function(model, X, users, **side):
    return model.decision_function(X[users], **side)


class ColdStartMethod:
    """A method of the cold-start tables: how to build it, fit it and score users.

    Parameters
    ----------
    name : str
        Row label.
    build : callable
        ``build(params, seed, item_attributes) -> model`` (unfitted);
        ``item_attributes`` is None in the user protocol.
    space : dict
        Distributions (or lists) of its hyper-parameters, for
        ``ParameterSampler``; empty when it has none.
    scores : callable, default=None
        ``scores(model, X, users, **side) -> (len(users), n_items)`` array,
        the scores of the fitted ``model`` for the rows ``users`` of ``X``:
        the training matrix in the item protocol, an empty one in the user
        protocol (a cold user has no interaction), with ``side`` the
        ``user_attributes`` of those users there.
        ``model.decision_function(X[users], **side)`` when None.
    requires : callable, default=None
        Returns None when the method can run here, else the reason it cannot.
    fit : callable, default=None
        ``fit(model, X, **side) -> fitted model``, with ``side`` the
        ``user_attributes`` of the rows of ``X`` in the user protocol;
        ``model.fit(X, **side)`` when None.
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

    def __init__(self, name, build, space, scores=None, requires=None, *, fit=None,
                 first_setting=None, tuned_once=False, progress_params=None):
        self.name = name
        self.build = build
        self.space = space
        self.scores = scores or _decision_function
        self.requires = requires or (lambda: None)
        self.fit = fit or _fit
        self.first_setting = first_setting
        self.tuned_once = tuned_once
        self.progress_params = progress_params or {}

    def settings(self, budget, seed):
        """At most ``budget`` settings: ``first_setting``, then draws from ``space``.

        The draws are the warm benchmark's (``_search.sample_settings``, seed
        ``seed``): all of a space of lists smaller than the rest of the
        budget. One setting (``first_setting`` or the empty one) when
        ``space`` is empty.
        """
        first = [] if self.first_setting is None else [dict(self.first_setting)]
        if not self.space or budget <= len(first):
            return first or [{}]
        return first + sample_settings(self.space, budget - len(first), seed)

    def make(self, params, seed, item_attributes, progress=False):
        """The unfitted model of setting ``params``, with its progress bar when ``progress``."""
        return self.build({**params, **self.progress_params} if progress else params, seed,
                          item_attributes)


# MF settings shared by the methods built on MF: the constant-penalty iALS
# regime, tuned over the ranges that were best on ML-100K (docs/benchmarks.rst).
_MF_FIXED = {"regularization_exponent": 0.0, "n_iter": 15, "n_jobs": 1}
_MF_SPACE = {
    "mf__n_factors": [16, 32, 64],
    "mf__regularization": loguniform(1.0, 100.0),
    "mf__alpha": loguniform(0.5, 10.0),
}


def _step(params, prefix):
    """The settings of ``params`` named ``prefix`` + name, by name."""
    return {key[len(prefix):]: value for key, value in params.items() if key.startswith(prefix)}


def _mf(params, seed):
    """MF of the ``mf__`` settings of ``params``."""
    return MFRecommender(**{**_MF_FIXED, **_step(params, "mf__")}, random_state=seed)


def _gan_mf_pipeline(params, seed, item_attributes):
    """GAN + MF, the warm benchmark's Pipeline, of the ``gan__`` and ``mf__`` settings."""
    fixed = {f"mf__{name}": value for name, value in _MF_FIXED.items()}
    return _gan_mf({**fixed, **params, "gan__item_attributes": item_attributes}, seed)


def _gan(params, seed, item_attributes):
    """The GAN alone, of the ``gan__`` settings of ``params``."""
    return GANAugmenter(item_attributes=item_attributes, random_state=seed,
                        **_step(params, "gan__"))


def _generator_scores(model, X, users, **side):
    """The generator's scores of the rows (noise at its mean)."""
    return model.score_items(X[users], **side)


class _Seeded:
    """The "random" method's model: nothing to learn, cold items in an arbitrary order."""

    def __init__(self, seed):
        self.seed = seed

    def fit(self, X):
        return self

    def decision_function(self, X):
        # A new generator of the seed at every call: the draw depends on the seed alone.
        return check_random_state(self.seed).random_sample(X.shape)


def _lightfm_missing():
    try:
        import lightfm  # noqa: F401
    except ImportError:
        return "lightfm is not installed (pip install lightfm-next)"
    return None


class _LightFMRanker:
    """LightFM with WARP loss and attribute features only (no per-item identity).

    LightFM learns a factor per user of the training matrix and scores users
    by index: its method scores through ``scores(users)``.
    """

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


def _fold_cold_items_in(pipeline, X):
    """MF fitted on the real interactions; the cold items' factors solved afterwards from
    the GAN's generated columns, every warm factor left as MF learned it.

    The GAN step adds feedback on cold columns only (``sparse_threshold=0``:
    no row is densified), and ``partial_fit`` with the real rows as
    ``previous`` re-solves exactly the items of the generated entries.
    """
    gan, mf = pipeline.named_steps["gan"], pipeline.named_steps["mf"]
    mf.fit(X)
    mf.partial_fit(gan.fit_transform(X), previous=X)
    return pipeline


def _mf_step_scores(pipeline, X, users):
    """The MF step's scores of the real rows (the GAN's part was done in fit)."""
    return pipeline.named_steps["mf"].decision_function(X[users])


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

ITEM_METHODS = [
    ColdStartMethod("random", lambda params, seed, A: _Seeded(seed), {}),
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
    ColdStartMethod("LightFM (WARP)",
                    lambda params, seed, A: _LightFMRanker(A, seed, **params),
                    {"no_components": [16, 32], "learning_rate": loguniform(0.01, 0.1),
                     "item_alpha": loguniform(1e-7, 1e-4), "epochs": [5, 10, 20]},
                    scores=lambda model, X, users: model.scores(users),
                    requires=_lightfm_missing),
    ColdStartMethod("GAN + MF", _gan_mf_pipeline,
                    {**_GAN_SPACE, **_COLD_SHARE_SPACE, **_MF_WIDE_SPACE},
                    first_setting={**_GAN_DEFAULTS, **_COLD_SHARE_DEFAULT, "mf__n_factors": 32,
                                   "mf__regularization": 30.0, "mf__alpha": 3.0},
                    tuned_once=True, progress_params=_GAN_PROGRESS),
    # The MF of "MF alone" (so that warm accuracy can be compared), its cold
    # items learned from the GAN's generated columns afterwards.
    ColdStartMethod("GAN cold items into MF",
                    lambda params, seed, A: _gan_mf_pipeline(
                        {**params, "gan__sparse_threshold": 0}, seed, A),
                    {**_GAN_SPACE, **_COLD_SHARE_SPACE, **_MF_ALONE},
                    scores=_mf_step_scores, fit=_fold_cold_items_in,
                    first_setting={**_GAN_DEFAULTS, **_COLD_SHARE_DEFAULT,
                                   **{name: values[0] for name, values in _MF_ALONE.items()}},
                    tuned_once=True, progress_params=_GAN_PROGRESS),
    ColdStartMethod("generator alone", _gan, _GAN_SPACE, scores=_generator_scores,
                    first_setting=_GAN_DEFAULTS, tuned_once=True,
                    progress_params=_GAN_PROGRESS),
]
DEFAULT_ITEM_METHODS = ["random", "MF alone", "feature popularity", "attribute item-KNN",
                        "MF + ridge map", "LightFM (WARP)", "GAN + MF", "generator alone"]


# --- user cold start: a cold user's row is empty, their attributes are all there is --------


class _Popularity:
    """The items with the most interactions, for every user."""

    def fit(self, X, user_attributes):
        self.popularity_ = np.asarray(X.getnnz(axis=0), dtype=np.float64)
        return self

    def decision_function(self, X, user_attributes):
        return np.tile(self.popularity_, (X.shape[0], 1))


class _DemographicKNN:
    """Sum of the rows of the warm users most similar in attributes (cosine)."""

    def __init__(self, n_neighbors):
        self.n_neighbors = n_neighbors

    def fit(self, X, user_attributes):
        self.X_ = sp.csr_matrix(X, dtype=np.float64)
        self.attributes_ = normalize(sp.csr_matrix(user_attributes))
        return self

    def decision_function(self, X, user_attributes):
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

    def decision_function(self, X, user_attributes):
        return self.ridge_.predict(user_attributes) @ self.mf_.item_factors_.T


USER_METHODS = [
    ColdStartMethod("global popularity", lambda params, seed, A: _Popularity(), {}),
    ColdStartMethod("demographic user-KNN",
                    lambda params, seed, A: _DemographicKNN(**params),
                    {"n_neighbors": [10, 20, 50, 100, 200, 400, 754]}),
    ColdStartMethod("MF + ridge map (users)",
                    lambda params, seed, A: _UserRidgeMF(_mf(params, seed),
                                                         params["ridge_alpha"]),
                    {**_MF_SPACE, "ridge_alpha": loguniform(0.1, 1000.0)}),
    # The GAN conditioned on user attributes scores a new user's empty row.
    # Two settings (each trains a GAN): how often a user is seen through their
    # attributes alone in training.
    ColdStartMethod("GAN (user attributes)",
                    lambda params, seed, A: GANAugmenter(random_state=seed, **params),
                    {"condition_dropout": [0.2, 0.5]}, scores=_generator_scores,
                    progress_params={"verbose": 1}),
    # The pipeline serves a new user: the GAN generates feedback for the empty
    # row from the user's attributes, the MF folds that row in. MF as in the
    # item table's GAN + MF (32 factors, penalty 30, alpha 3).
    ColdStartMethod("GAN + MF (user attributes)", _gan_mf_pipeline,
                    {"gan__condition_dropout": [0.2, 0.5], "mf__n_factors": [32],
                     "mf__regularization": [30.0], "mf__alpha": [3.0]},
                    progress_params=_GAN_PROGRESS),
]
DEFAULT_USER_METHODS = ["global popularity", "demographic user-KNN", "MF + ridge map (users)"]
