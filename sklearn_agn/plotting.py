"""Plots of fitted estimators; matplotlib is an optional dependency."""

import numpy as np
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

__all__ = ["plot_history"]


def _import_pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            "Plotting needs matplotlib, an optional dependency of sklearn-agn: "
            "pip install sklearn-agn[plot]  (or: pip install matplotlib)"
        ) from exc
    return plt


def _fitted_augmenter(estimator):
    """The fitted GANAugmenter of ``estimator`` (itself, or a pipeline's one step)."""
    # Imported here so that ``import sklearn_agn.plotting`` stays light.
    from .gan._augmenter import GANAugmenter

    if isinstance(estimator, Pipeline):
        steps = [step for _, step in estimator.steps if isinstance(step, GANAugmenter)]
        if len(steps) != 1:
            raise TypeError(
                "plot_history needs a pipeline with exactly one GANAugmenter step, "
                f"found {len(steps)}."
            )
        estimator = steps[0]
    if not isinstance(estimator, GANAugmenter):
        raise TypeError(
            "plot_history expects a fitted GANAugmenter or a pipeline holding one; got "
            f"{type(estimator).__name__}."
        )
    check_is_fitted(estimator, "loss_curve_")
    return estimator


def plot_history(estimator, ax=None):
    """Plot the training history of a :class:`~sklearn_agn.GANAugmenter`.

    Draws the generator and discriminator losses per epoch
    (``loss_curve_``, ``discriminator_loss_curve_``) on ``ax`` and, with
    ``early_stopping=True``, the validation NDCG (``validation_scores_``) on
    a twin y-axis, with the epoch whose generator is kept marked by a dotted
    vertical line.

    Parameters
    ----------
    estimator : GANAugmenter or Pipeline
        A fitted :class:`~sklearn_agn.GANAugmenter`, or a pipeline holding
        one fitted step of that class.
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
        If ``estimator`` is neither a GANAugmenter nor a pipeline holding
        exactly one.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn_agn import GANAugmenter
    >>> from sklearn_agn.datasets import make_interactions
    >>> from sklearn_agn.plotting import plot_history
    >>> X = make_interactions(60, 40, 600, random_state=0)
    >>> gan = GANAugmenter(max_iter=3, random_state=0).fit(X)
    >>> ax = plot_history(gan)
    >>> [line.get_label() for line in ax.get_lines()]
    ['generator loss', 'discriminator loss']
    """
    plt = _import_pyplot()
    from matplotlib.ticker import MaxNLocator
    gan = _fitted_augmenter(estimator)
    if ax is None:
        _, ax = plt.subplots()

    epochs = np.arange(1, gan.n_iter_ + 1)
    handles = [
        ax.plot(epochs, gan.loss_curve_, color="C0", marker=".", label="generator loss")[0],
        ax.plot(epochs, gan.discriminator_loss_curve_, color="C1", marker=".",
                label="discriminator loss")[0],
    ]
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("loss")

    if gan.validation_scores_ is not None:
        label = f"validation NDCG@{gan.validation_k}"
        ax_val = ax.twinx()
        handles.append(ax_val.plot(epochs, gan.validation_scores_, color="C2", marker=".",
                                   label=label)[0])
        ax_val.set_ylabel(label)
        kept = gan.validation_scores_.index(gan.best_validation_score_) + 1
        handles.append(ax_val.axvline(kept, color="C2", linestyle=":",
                                      label=f"kept epoch ({kept})"))
    ax.legend(handles=handles, loc="best")
    ax.set_title("GANAugmenter training history")
    return ax
