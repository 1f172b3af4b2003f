"""Save and load estimators in a format that runs no code when loaded.

``pickle`` (and ``joblib``) files can execute arbitrary code when loaded, so
they must never be opened from an untrusted source. :func:`dump` and
:func:`load` use ``skops.io`` instead (scikit-learn's ecosystem format), which
rebuilds only types the caller trusts and refuses anything else. Every
estimator of this package, and pipelines or searches made of them, round-trip
to identical predictions. Torch modules (the trained generator of
:class:`~sklearn_agn.GANAugmenter`) are no skops type: their weights are
stored as numpy arrays with the module's shape, and the module is rebuilt on
load. Pickle keeps working as before.

Requires the optional dependency ``skops`` (``pip install sklearn-agn[persist]``).
"""

import copy

import scipy.sparse as sp
import torch
from sklearn.base import BaseEstimator

from .baselines import EASE, AttributeKNN, FeaturePopularity, ItemKNN, MostPopular
from .gan import _training
from .gan._augmenter import GANAugmenter
from .gan._recommender import CFGANRecommender
from .metrics._scorer import _RankingScorer
from .mf._attribute_ridge import AttributeRidgeMF
from .mf._recommender import MFRecommender
from .model_selection import UserKFold
from .preprocessing import InteractionEncoder

__all__ = ["dump", "load"]


class _TorchModuleState:
    """A torch module as plain data: its constructor arguments and weights as numpy arrays."""

    def __init__(self, module):
        if type(module) is not _training.Generator:
            raise TypeError(
                f"Cannot store a torch module of type {type(module).__name__} safely: "
                "only the generator of GANAugmenter is supported. Use pickle for it."
            )
        # Buffers (item attributes, warm items) travel in ``init``, as plain data.
        self.init = module.init_args()
        buffers = {name for name, _ in module.named_buffers()}
        self.state = {name: tensor.detach().cpu().numpy().copy()
                      for name, tensor in module.state_dict().items() if name not in buffers}
        self.training = bool(module.training)

    def to_module(self):
        module = _training.Generator.from_init_args(self.init)
        state = module.state_dict()
        state.update({name: torch.from_numpy(array) for name, array in self.state.items()})
        module.load_state_dict(state)
        return module.train(self.training)


def _type_name(cls):
    return f"{cls.__module__}.{cls.__qualname__}"


#: Types this package writes into its files beyond skops' defaults: its own
#: estimators (plain attributes only), the stored torch weights, the sparse
#: containers of fitted attributes (loaded by scipy from their arrays), and
#: what a search over them keeps: the ranking scorer and ``UserKFold`` (plain
#: attributes) and, for ``scoring=None``, scikit-learn's scorer that calls the
#: estimator's own ``score`` (named by string: it is private to scikit-learn).
#: A multimetric search keeps its scorers in a plain dict.
_PACKAGE_TYPES = [
    _type_name(cls)
    for cls in (MFRecommender, GANAugmenter, CFGANRecommender, EASE, ItemKNN, MostPopular,
                AttributeRidgeMF, AttributeKNN, FeaturePopularity, InteractionEncoder,
                _RankingScorer, UserKFold, _TorchModuleState, sp.csr_matrix, sp.csr_array)
] + ["sklearn.metrics._scorer._PassthroughScorer"]


def _storable(obj):
    """``obj`` with every torch module inside it replaced by its plain-data state.

    Estimators holding a module (directly or through nested estimators,
    lists, tuples and dicts, as in pipelines and searches) are shallow-copied:
    the caller's objects are never modified. Anything without a module is
    returned as it is.
    """
    if isinstance(obj, torch.nn.Module):
        return _TorchModuleState(obj)
    if isinstance(obj, (list, tuple)):
        items = [_storable(item) for item in obj]
        if all(new is old for new, old in zip(items, obj)):
            return obj
        return type(obj)(items) if type(obj) in (list, tuple) else type(obj)(*items)
    if isinstance(obj, dict):
        values = {key: _storable(value) for key, value in obj.items()}
        if all(values[key] is value for key, value in obj.items()):
            return obj
        out = copy.copy(obj)
        out.update(values)
        return out
    if isinstance(obj, BaseEstimator):
        changed = {name: new for name, value in vars(obj).items()
                   if (new := _storable(value)) is not value}
        if not changed:
            return obj
        out = copy.copy(obj)
        vars(out).update(changed)
        return out
    return obj


def _restore(obj):
    """Inverse of :func:`_storable` on a freshly loaded object (modified in place)."""
    if isinstance(obj, _TorchModuleState):
        return obj.to_module()
    if isinstance(obj, list):
        obj[:] = [_restore(item) for item in obj]
    elif isinstance(obj, tuple):
        items = [_restore(item) for item in obj]
        if any(new is not old for new, old in zip(items, obj)):
            return type(obj)(items) if type(obj) is tuple else type(obj)(*items)
    elif isinstance(obj, dict):
        for key, value in obj.items():
            obj[key] = _restore(value)
    elif isinstance(obj, BaseEstimator):
        for name, value in vars(obj).items():
            setattr(obj, name, _restore(value))
    return obj


def _skops_io():
    try:
        import skops.io
    except ImportError as exc:
        raise ImportError(
            "Saving and loading without pickle needs skops: pip install 'skops>=0.10' "
            "(or sklearn-agn[persist])."
        ) from exc
    return skops.io


def dump(estimator, file):
    """Save an estimator in the skops format, which runs no code when loaded.

    Parameters
    ----------
    estimator : object
        A fitted or unfitted estimator of this package, or a pipeline or
        search built from them and scikit-learn estimators. It is not
        modified.
    file : str, path-like or file-like object
        Where to write (conventionally with the ``.skops`` extension).

    Raises
    ------
    TypeError
        If the estimator holds a torch module other than ``GANAugmenter``'s
        generator.

    See Also
    --------
    load : Read a file written by ``dump``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_agn.baselines import EASE
    >>> from sklearn_agn.persistence import dump, load
    >>> model = EASE(l2_reg=1.0, k=1).fit(np.array([[1, 1, 0], [0, 1, 1]]))
    >>> dump(model, "ease.skops")  # doctest: +SKIP
    >>> load("ease.skops").predict([[1, 0, 0]])  # doctest: +SKIP
    array([[1]])
    """
    _skops_io().dump(_storable(estimator), file)


def load(file, *, trusted=None):
    """Load an estimator saved by :func:`dump`, refusing types nobody trusted.

    The types of this package's estimators, scorers and ``UserKFold``, of
    scikit-learn's estimators (searches included, with ``scoring=None`` too)
    and of plain data (numpy arrays, scipy sparse matrices, builtins) are
    trusted. Any other type found in the file, e.g. a custom transformer of a
    pipeline or a scorer of your own, is refused unless listed in
    ``trusted``: check a file's types first with
    ``skops.io.get_untrusted_types(file=...)``.

    Parameters
    ----------
    file : str or path-like
        A file written by :func:`dump`.
    trusted : list of str, default=None
        Further types to allow, by full name (e.g. ``"mymodule.MyTransformer"``).

    Returns
    -------
    estimator : object
        The saved estimator, with any torch module rebuilt (on the CPU).

    Raises
    ------
    skops.io.exceptions.UntrustedTypesFoundException
        If the file holds a type that is neither trusted by default nor in
        ``trusted``; nothing from the file is constructed.
    """
    if trusted is not None and (isinstance(trusted, str)
                                or not all(isinstance(name, str) for name in trusted)):
        raise TypeError(f"trusted must be a list of type names (str), got {trusted!r}.")
    obj = _skops_io().load(file, trusted=_PACKAGE_TYPES + list(trusted or ()))
    return _restore(obj)
