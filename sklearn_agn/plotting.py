"""Plots of fitted estimators; matplotlib is an optional dependency."""

from collections.abc import Mapping

import numpy as np
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

__all__ = ["plot_history"]

_LOSS_KEYS = ("generator_loss", "discriminator_loss")


def _import_pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            "Plotting needs matplotlib, an optional dependency of sklearn-agn: "
            "pip install sklearn-agn[plot]  (or: pip install matplotlib)"
        ) from exc
    return plt


def _resolve_history(estimator_or_history):
    """``(history, validation_label, best_epoch)`` from what the user passed."""
    # Imported here so that ``import sklearn_agn.plotting`` stays light.
    from .augmentation import GANAugmenter

    obj = estimator_or_history
    if isinstance(obj, Pipeline):
        steps = [step for _, step in obj.steps if isinstance(step, GANAugmenter)]
        if len(steps) != 1:
            raise TypeError(
                "plot_history needs a pipeline with exactly one GANAugmenter step, "
                f"found {len(steps)}."
            )
        obj = steps[0]
    if isinstance(obj, Mapping):
        history, label, best_epoch = obj, "validation score", None
    elif isinstance(obj, GANAugmenter):
        check_is_fitted(obj, "history_")
        history = obj.history_
        label = f"validation NDCG@{obj.validation_k}"
        # Without early stopping the kept epoch is the last: nothing to mark.
        best_epoch = obj.best_epoch_ if obj.early_stopping else None
    else:
        raise TypeError(
            "plot_history expects a fitted GANAugmenter, a pipeline holding one, or "
            "a history dict such as GANAugmenter().fit(X).history_; got "
            f"{type(obj).__name__}."
        )

    missing = [key for key in _LOSS_KEYS if key not in history]
    if missing:
        raise ValueError(
            f"The history lacks {missing}; expected the keys of GANAugmenter.history_: "
            f"{list(_LOSS_KEYS) + ['validation_score']}."
        )
    arrays = {key: np.asarray(history[key], dtype=float).ravel()
              for key in (*_LOSS_KEYS, "validation_score") if key in history}
    lengths = {key: a.size for key, a in arrays.items()}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"The history's lists must have one value per epoch; lengths {lengths}.")
    return arrays, label, best_epoch


def plot_history(estimator_or_history, ax=None):
    """Plot the training history of a :class:`~sklearn_agn.GANAugmenter`.

    Draws the generator and discriminator losses per epoch on ``ax`` and, when
    the history holds validation scores (``early_stopping=True``), the
    validation NDCG on a twin y-axis, with the kept epoch (``best_epoch_``)
    marked by a dotted vertical line.

    Parameters
    ----------
    estimator_or_history : GANAugmenter, Pipeline or dict
        A fitted :class:`~sklearn_agn.GANAugmenter`, a pipeline holding one
        fitted step of that class, or a history dict in the format of its
        ``history_`` attribute: ``"generator_loss"`` and
        ``"discriminator_loss"`` lists, and optionally a
        ``"validation_score"`` list, one value per epoch.
    ax : matplotlib.axes.Axes, default=None
        Axes to draw on; a new figure and axes are created when None.

    Returns
    -------
    ax : matplotlib.axes.Axes
        The axes holding the loss curves. The validation curve, when drawn,
        lives on a twin axes that shares its x-axis (``ax.figure.axes``).

    Raises
    ------
    ImportError
        If matplotlib is not installed (``pip install sklearn-agn[plot]``).
    sklearn.exceptions.NotFittedError
        If the GANAugmenter has not been fitted.
    TypeError
        If ``estimator_or_history`` is neither a GANAugmenter, a pipeline
        holding exactly one, nor a dict.
    ValueError
        If a history dict lacks the loss keys or its lists differ in length.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn_agn.plotting import plot_history
    >>> history = {"generator_loss": [0.9, 0.7, 0.6],
    ...            "discriminator_loss": [1.4, 1.3, 1.3],
    ...            "validation_score": [0.10, 0.14, 0.15]}
    >>> ax = plot_history(history)
    >>> [line.get_label() for line in ax.get_lines()]
    ['generator loss', 'discriminator loss']
    """
    plt = _import_pyplot()
    from matplotlib.ticker import MaxNLocator
    history, val_label, best_epoch = _resolve_history(estimator_or_history)
    if ax is None:
        _, ax = plt.subplots()

    epochs = np.arange(1, history["generator_loss"].size + 1)
    handles = [
        ax.plot(epochs, history["generator_loss"], color="C0", marker=".",
                label="generator loss")[0],
        ax.plot(epochs, history["discriminator_loss"], color="C1", marker=".",
                label="discriminator loss")[0],
    ]
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("loss")

    validation = history.get("validation_score")
    if validation is not None and not np.isnan(validation).all():
        ax_val = ax.twinx()
        handles.append(ax_val.plot(epochs, validation, color="C2", marker=".",
                                   label=val_label)[0])
        ax_val.set_ylabel(val_label)
        if best_epoch is not None and 1 <= best_epoch <= epochs.size:
            handles.append(ax_val.axvline(best_epoch, color="C2", linestyle=":",
                                          label=f"kept epoch ({best_epoch})"))
    ax.legend(handles=handles, loc="best")
    ax.set_title("GANAugmenter training history")
    return ax
