"""The benchmarked methods: the class the warm and cold-start protocols read, the warm ones.

The spaces are wide and log-uniform where a parameter's scale depends on the
data, so that they hold the best setting of data the library has never seen;
the report says when a choice lands on the edge of its range anyway.
"""

import copy
import functools

from scipy.stats import loguniform, uniform
from sklearn.base import clone
from sklearn.pipeline import Pipeline

from ..baselines import EASE, ItemKNN, MostPopular
from ..gan._augmenter import GANAugmenter
from ..gan._recommender import CFGANRecommender
from ..mf._recommender import MFRecommender
from ._search import sample_settings

__all__ = ["Method", "METHODS"]


def _fit(model, X, **side):
    return model.fit(X, **side)


def _decision_function(model, X, users, **side):
    return model.decision_function(X[users], **side)


class Method:
    """A benchmarked method: how to build, fit and score it, and the space it is tuned over.

    One description for the warm protocol
    (:func:`~sklearn_agn.benchmark.run_benchmark`, :data:`METHODS`) and the
    item and user cold-start ones (``run_item_cold_start`` and
    ``run_user_cold_start`` of ``sklearn_agn.benchmark.cold_start``, with
    its ``ITEM_METHODS`` and ``USER_METHODS``). Each parameter says which
    protocols read it; the others ignore it.

    Parameters
    ----------
    name : str
        Row label of the tables.
    build : callable
        ``build(params, seed, **data) -> model``, unfitted, of setting
        ``params``. ``data`` holds the seed's ``item_attributes`` in the item
        cold-start protocol and is empty in the others. The warm protocol
        ranks with the model's ``predict(X, k=...)``.
    space : dict or list of dict
        Search space, as :class:`sklearn.model_selection.ParameterSampler`
        takes it: ``{name: list of values or scipy.stats distribution}``, or a
        list of such dicts; ``{}`` when the method has no parameter to tune.
    stochastic : bool, default=True
        Whether the result depends on the seed. The warm protocol refits such
        a method once per seed (``seeds``), the others once; the cold-start
        protocols fit every method on every seed (a seed is a split).
    fit : callable, default=None
        ``fit(model, X, **side) -> fitted model``, in every protocol (while
        the warm one tunes, ``tuning_fitter`` replaces it when given);
        ``model.fit(X, **side)`` when None. ``side`` holds the
        ``user_attributes`` of the rows of ``X`` in the user cold-start
        protocol and is empty in the others.
    scores : callable, default=None
        Cold-start protocols: ``scores(model, X, users, **side) ->
        (len(users), n_items)`` array, the scores of the fitted ``model`` for
        the rows ``users`` of ``X`` (the training matrix in the item protocol,
        an empty one in the user protocol, where ``side`` holds those users'
        ``user_attributes``); ``model.decision_function(X[users], **side)``
        when None.
    requires : callable, default=None
        ``requires() -> None or str``: None when the method can run here, else
        the reason it cannot; the cold-start command checks it before fitting
        anything. None: the method can always run.
    first_setting : dict, default=None
        A setting always tried, first, before those drawn from ``space`` (see
        :meth:`settings`), in every protocol: one known to work, so that a
        small budget cannot choose worse on validation than it. With
        ``on_top_of``, required: the setting of this method's own parameters
        whose step changes nothing (the other method's model exactly), so that
        the chosen setting's validation score is never below the other
        method's and a tie keeps it.
    trains_gan_per_setting : bool, default=False
        Whether every setting trains its own GAN (minutes each, against
        seconds for the other methods), so that the method is searched less:
        the warm protocol draws the smaller ``gan_budget`` of settings for it;
        the item cold-start protocol searches it on the first seed only and
        keeps the chosen setting for every later seed (the report says so in
        the method's notes). The user cold-start protocol searches every
        method on every seed.
    tuning_fitter : callable, default=None
        Warm protocol, while tuning: ``tuning_fitter(build) -> fit``, where
        ``build(params, seed)`` is :meth:`make` (progress as asked) and
        ``fit(params, seed, X)`` returns the fitted model of a setting. The
        protocol makes one ``fit`` per tuning call and drops it afterwards, so
        ``fit`` may keep work shared between the settings of that call (a
        trained GAN) without keeping it alive beyond it. None fits
        ``build(params, seed)`` with ``fit`` each time.
    on_top_of : (str, str), default=None
        Warm protocol: ``(name, prefix)`` when this method adds a step to the
        method called ``name``, which is then tuned first and its chosen
        setting fixed here (each parameter name prefixed with ``prefix``), so
        that ``space`` holds this method's own parameters only and the
        difference between the two is the step's. Needs ``first_setting``.
    progress_params : dict, default=None
        Parameters set on the model when progress is shown, in every protocol,
        to turn on its own progress bar (a GAN's epochs and losses); never
        reported. Those the model of a setting lacks are left out (a Pipeline
        whose GAN step is ``"passthrough"`` has no GAN to show).

    Raises
    ------
    ValueError
        If ``on_top_of`` is given without ``first_setting``.
    """

    def __init__(self, name, build, space, stochastic=True, *, fit=None, scores=None,
                 requires=None, first_setting=None, trains_gan_per_setting=False,
                 tuning_fitter=None, on_top_of=None, progress_params=None):
        if on_top_of is not None and first_setting is None:
            raise ValueError(f"Method {name!r}: on_top_of={on_top_of!r} needs first_setting, "
                             f"the setting of its own parameters whose step changes nothing.")
        self.name = name
        self.build = build
        self.space = space
        self.stochastic = stochastic
        self.fit = fit or _fit
        self.scores = scores or _decision_function
        self.requires = requires or (lambda: None)
        self.first_setting = first_setting
        self.trains_gan_per_setting = trains_gan_per_setting
        self.tuning_fitter = tuning_fitter
        self.on_top_of = on_top_of
        self.progress_params = progress_params or {}

    def settings(self, budget, seed):
        """At most ``budget`` settings: ``first_setting`` if any, then draws from ``space``.

        The draws are ``_search.sample_settings``'s with seed ``seed``: all
        the settings of a space of lists smaller than the rest of the budget,
        the empty setting of an empty space.
        """
        first = [] if self.first_setting is None else [dict(self.first_setting)]
        return first + sample_settings(self.space, budget - len(first), seed)

    def make(self, params, seed, progress=False, **data):
        """The unfitted model of setting ``params``, with its progress bar when ``progress``."""
        model = self.build(params, seed, **data)
        if progress and self.progress_params:
            own = model.get_params()
            model.set_params(**{name: value for name, value in self.progress_params.items()
                                if name in own})
        return model

    def fitter(self, progress=False):
        """A ``fit(params, seed, X)`` function for one tuning call of the warm protocol."""
        build = functools.partial(self.make, progress=progress)
        if self.tuning_fitter is not None:
            return self.tuning_fitter(build)
        return lambda params, seed, X: self.fit(build(params, seed), X)


def _mf(params, seed):
    return MFRecommender(random_state=seed).set_params(**params)


def _generator(params, seed):
    return CFGANRecommender(GANAugmenter(random_state=seed)).set_params(**params)


def _gan_mf(params, seed):
    return Pipeline([("gan", GANAugmenter(random_state=seed)),
                     ("mf", MFRecommender(random_state=seed))]).set_params(**params)


# Parameters of GANAugmenter that act only in ``transform``: GAN + MF
# settings that differ only in these can share one trained GAN.
_TRANSFORM_PARAMS = {"sparse_threshold", "n_generated", "generated_weight"}


class SharedGANFitter:
    """Fits GAN + MF settings of one tuning call, training a GAN once per GAN training setting.

    Settings whose GAN differs only in its transform parameters share the
    last trained GAN (a copy of it with those parameters set). Only the last
    GAN is kept, and only as long as this object lives: the benchmark makes
    one per tuning call. A setting whose GAN step is ``"passthrough"``
    (augment nobody) trains no GAN: it is MF alone.

    Parameters
    ----------
    build : callable
        ``build(params, seed) -> Pipeline`` of a ``gan`` and an ``mf`` step,
        unfitted.
    """

    def __init__(self, build):
        self.build = build
        self._last = None  # (GAN training parameters, X, trained GAN)

    def __call__(self, params, seed, X):
        pipeline = self.build(params, seed)
        gan = pipeline.named_steps["gan"]
        if gan == "passthrough":
            return pipeline.fit(X)
        training = {k: v for k, v in gan.get_params().items() if k not in _TRANSFORM_PARAMS}
        # X by identity: within a tuning call every setting is fitted on one matrix.
        if self._last is None or self._last[0] != training or self._last[1] is not X:
            self._last = None  # one GAN at a time: free the old one before training
            self._last = (training, X, clone(gan).fit(X))
        # A shallow copy shares the trained generator; set_params only touches the copy.
        trained = copy.copy(self._last[2]).set_params(
            **{k: v for k, v in gan.get_params().items() if k in _TRANSFORM_PARAMS})
        pipeline.steps[0] = ("gan", trained)
        pipeline.named_steps["mf"].fit(trained.transform(X))
        return pipeline


def _mf_space():
    """MF's space: two sub-spaces, one per regularisation scheme, each with its own scale.

    With ``regularization_exponent=1`` the penalty grows with a user's
    number of interactions, so its useful ``regularization`` is smaller by
    about the mean row length than with the constant penalty (exponent 0).
    """
    shared = {"n_factors": [32, 64, 128, 256], "alpha": loguniform(0.1, 100)}
    schemes = [
        {"regularization_exponent": [0.0], "regularization": loguniform(0.1, 1000)},
        {"regularization_exponent": [1.0], "regularization": loguniform(1e-3, 10)},
    ]
    return [{**shared, **scheme} for scheme in schemes]


# GAN + MF searches only what the GAN adds, with MF fixed at MF's own choice
# (``on_top_of``), so that the two differ by the GAN alone and not by a
# second, noisier draw of MF's parameters. Generated feedback: its weight is
# the generator's score, or a constant drawn over three decades (small
# weights bring GAN + MF close to MF alone). Rows below ``sparse_threshold``
# interactions are augmented; the largest value augments every row of most
# datasets. Augmenting nobody (the GAN step replaced by "passthrough": MF's
# model exactly, no GAN trained) is tried first. The GAN is trained with its
# defaults (one GAN per tuning call).
_AUGMENTATION = {"gan__sparse_threshold": [5, 10, 20, 50, 100, 200, 500, 1000],
                 "gan__n_generated": [1, 2, 5, 10, 20, 50]}
_WEIGHTS = [{"gan__generated_weight": ["score"]},
            {"gan__generated_weight": loguniform(1e-3, 0.99)}]

# The generator's training parameters, around the defaults that
# benchmarks/gan_ranker_ml100k.py found best on ML100K's validation split
# (network sizes and epochs stay at the defaults: they set the cost).
GENERATOR_SPACE = {
    "augmenter__zr_coef": loguniform(0.01, 1),
    "augmenter__pm_ratio": loguniform(0.01, 0.9),
    "augmenter__zr_ratio": uniform(0.1, 0.8),
    "augmenter__g_weight_decay": loguniform(1e-5, 0.1),
}
MF_SPACE = _mf_space()
GAN_MF_SPACE = [{**_AUGMENTATION, **weight} for weight in _WEIGHTS]

METHODS = [
    Method("most popular", lambda params, seed: MostPopular(**params), {}, False),
    Method("ItemKNN", lambda params, seed: ItemKNN(**params),
           {"n_neighbors": [10, 20, 50, 100, 200, 500, 1000],
            "shrink": loguniform(0.1, 1000)}, False),
    Method("EASE", lambda params, seed: EASE(**params), {"l2_reg": loguniform(1, 1e4)}, False),
    Method("MF (iALS)", _mf, MF_SPACE, True),
    Method("CFGAN generator", _generator, GENERATOR_SPACE, True, trains_gan_per_setting=True,
           progress_params={"augmenter__verbose": 1}),
    Method("GAN + MF", _gan_mf, GAN_MF_SPACE, True, tuning_fitter=SharedGANFitter,
           on_top_of=("MF (iALS)", "mf__"), first_setting={"gan": "passthrough"},
           progress_params={"gan__verbose": 1}),
]
