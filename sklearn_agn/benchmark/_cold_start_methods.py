"""The cold-start tables' methods: how each is built, fitted and scored, and its space.

Each is a :class:`~sklearn_agn.benchmark.Method`, as the warm benchmark's
are. Every model is fitted and scored in one calling style, that of the
library's estimators: ``fit(X, **side)`` and ``decision_function(X, **side)``,
where ``side`` is empty in the item protocol and holds ``user_attributes``
(those of the rows of ``X``) in the user protocol. A method whose model is
fitted or scored otherwise (the generator's ``score_items``, LightFM's users
by index) says how in its ``fit`` or ``scores``. The item protocol builds
every model with the seed's ``item_attributes``. GAN + MF is the warm
benchmark's Pipeline (``_methods``): a ``gan`` step, then an ``mf`` step.
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
from ._methods import Method, _gan_mf

__all__ = ["ITEM_METHODS", "USER_METHODS", "DEFAULT_ITEM_METHODS", "DEFAULT_USER_METHODS"]


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


def _gan_mf_pipeline(params, seed, item_attributes=None):
    """GAN + MF, the warm benchmark's Pipeline, of the ``gan__`` and ``mf__`` settings.

    ``item_attributes`` is the item protocol's; the user protocol gives none.
    """
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
_GAN_PROGRESS = {"gan__verbose": 1}  # of the GAN step of a Pipeline

ITEM_METHODS = [
    Method("random", lambda params, seed, item_attributes: _Seeded(seed), {}),
    Method("MF alone", lambda params, seed, item_attributes: _mf(params, seed), _MF_ALONE),
    Method("feature popularity",
           lambda params, seed, item_attributes: FeaturePopularity(
               item_attributes=item_attributes), {}),
    Method("attribute item-KNN",
           lambda params, seed, item_attributes: AttributeKNN(
               item_attributes=item_attributes, **params),
           {"n_neighbors": [10, 20, 50, 100, 200, 400, 800]}),
    Method("MF + ridge map",
           lambda params, seed, item_attributes: AttributeRidgeMF(
               _mf(params, seed), item_attributes=item_attributes,
               ridge_alpha=params["ridge_alpha"]),
           {**_MF_SPACE, "ridge_alpha": loguniform(0.1, 1000.0)}),
    Method("LightFM (WARP)",
           lambda params, seed, item_attributes: _LightFMRanker(item_attributes, seed,
                                                                **params),
           {"no_components": [16, 32], "learning_rate": loguniform(0.01, 0.1),
            "item_alpha": loguniform(1e-7, 1e-4), "epochs": [5, 10, 20]},
           scores=lambda model, X, users: model.scores(users), requires=_lightfm_missing),
    Method("GAN + MF", _gan_mf_pipeline, {**_GAN_SPACE, **_COLD_SHARE_SPACE, **_MF_WIDE_SPACE},
           first_setting={**_GAN_DEFAULTS, **_COLD_SHARE_DEFAULT, "mf__n_factors": 32,
                          "mf__regularization": 30.0, "mf__alpha": 3.0},
           trains_gan_per_setting=True, progress_params=_GAN_PROGRESS),
    # The MF of "MF alone" (so that warm accuracy can be compared), its cold
    # items learned from the GAN's generated columns afterwards.
    Method("GAN cold items into MF",
           lambda params, seed, item_attributes: _gan_mf_pipeline(
               {**params, "gan__sparse_threshold": 0}, seed, item_attributes),
           {**_GAN_SPACE, **_COLD_SHARE_SPACE, **_MF_ALONE},
           scores=_mf_step_scores, fit=_fold_cold_items_in,
           first_setting={**_GAN_DEFAULTS, **_COLD_SHARE_DEFAULT,
                          **{name: values[0] for name, values in _MF_ALONE.items()}},
           trains_gan_per_setting=True, progress_params=_GAN_PROGRESS),
    Method("generator alone", _gan, _GAN_SPACE, scores=_generator_scores,
           first_setting=_GAN_DEFAULTS, trains_gan_per_setting=True,
           progress_params={"verbose": 1}),
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
    Method("global popularity", lambda params, seed: _Popularity(), {}),
    Method("demographic user-KNN", lambda params, seed: _DemographicKNN(**params),
           {"n_neighbors": [10, 20, 50, 100, 200, 400, 754]}),
    Method("MF + ridge map (users)",
           lambda params, seed: _UserRidgeMF(_mf(params, seed), params["ridge_alpha"]),
           {**_MF_SPACE, "ridge_alpha": loguniform(0.1, 1000.0)}),
    # The GAN conditioned on user attributes scores a new user's empty row.
    # Two settings (each trains a GAN): how often a user is seen through their
    # attributes alone in training.
    Method("GAN (user attributes)",
           lambda params, seed: GANAugmenter(random_state=seed, **params),
           {"condition_dropout": [0.2, 0.5]}, scores=_generator_scores,
           trains_gan_per_setting=True, progress_params={"verbose": 1}),
    # The pipeline serves a new user: the GAN generates feedback for the empty
    # row from the user's attributes, the MF folds that row in. MF as in the
    # item table's GAN + MF (32 factors, penalty 30, alpha 3).
    Method("GAN + MF (user attributes)", _gan_mf_pipeline,
           {"gan__condition_dropout": [0.2, 0.5], "mf__n_factors": [32],
            "mf__regularization": [30.0], "mf__alpha": [3.0]},
           trains_gan_per_setting=True, progress_params=_GAN_PROGRESS),
]
DEFAULT_USER_METHODS = ["global popularity", "demographic user-KNN", "MF + ridge map (users)"]
