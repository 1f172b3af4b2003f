import doctest

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline

from sklearn_agn import GANAugmenter, MFRecommender
from sklearn_agn import plotting
from sklearn_agn.plotting import plot_history

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
plt = pytest.importorskip("matplotlib.pyplot")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def X():
    rng = np.random.RandomState(0)
    return sp.csr_matrix((rng.random_sample((60, 40)) < 0.2).astype(np.float32))


@pytest.fixture(scope="module")
def fitted_es(X):
    """Fitted with early stopping: the history holds validation scores."""
    return GANAugmenter(max_iter=4, n_iter_no_change=10, early_stopping=True,
                        validation_fraction=0.2, g_hidden_sizes=(16,), d_hidden_sizes=(8,),
                        g_steps=1, d_steps=1, device="cpu", random_state=0).fit(X)


@pytest.fixture(scope="module")
def fitted_plain(X):
    """Fitted without early stopping: no validation scores."""
    return GANAugmenter(max_iter=3, g_hidden_sizes=(16,), d_hidden_sizes=(8,),
                        g_steps=1, d_steps=1, device="cpu", random_state=0).fit(X)


def _lines_by_label(fig):
    return {line.get_label(): line for a in fig.axes for line in a.get_lines()}


def test_plots_history_values_with_validation(fitted_es):
    ax = plot_history(fitted_es)
    lines = _lines_by_label(ax.figure)
    n = fitted_es.n_iter_
    for label, curve in [("generator loss", fitted_es.loss_curve_),
                         ("discriminator loss", fitted_es.discriminator_loss_curve_),
                         (f"validation NDCG@{fitted_es.validation_k}",
                          fitted_es.validation_scores_)]:
        x, y = lines[label].get_data()
        np.testing.assert_array_equal(x, np.arange(1, n + 1))
        np.testing.assert_allclose(y, curve)
    # Losses on the returned axes, the validation curve on a twin axes.
    assert {line.get_label() for line in ax.get_lines()} == {"generator loss",
                                                             "discriminator loss"}
    assert len(ax.figure.axes) == 2
    kept = int(np.argmax(fitted_es.validation_scores_)) + 1
    best = lines[f"kept epoch ({kept})"]
    assert np.all(np.asarray(best.get_xdata()) == kept)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[:3] == ["generator loss", "discriminator loss",
                          f"validation NDCG@{fitted_es.validation_k}"]


def test_no_validation_axis_without_early_stopping(fitted_plain):
    assert fitted_plain.validation_scores_ is None
    ax = plot_history(fitted_plain)
    assert len(ax.figure.axes) == 1
    assert [line.get_label() for line in ax.get_lines()] == ["generator loss",
                                                             "discriminator loss"]
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(),
                               fitted_plain.loss_curve_)


def test_draws_on_given_axes(fitted_plain):
    fig, (left, right) = plt.subplots(1, 2)
    out = plot_history(fitted_plain, ax=right)
    assert out is right
    assert not left.get_lines()
    assert len(right.get_lines()) == 2


def test_accepts_a_pipeline(X):
    pipe = make_pipeline(GANAugmenter(max_iter=2, g_hidden_sizes=(8,), d_hidden_sizes=(4,),
                                      g_steps=1, d_steps=1, device="cpu", random_state=0),
                         MFRecommender(n_factors=4, n_iter=2, random_state=0)).fit(X)
    ax = plot_history(pipe)
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(),
                               pipe[0].loss_curve_)


def test_unfitted_estimator_raises_not_fitted():
    with pytest.raises(NotFittedError):
        plot_history(GANAugmenter())
    with pytest.raises(NotFittedError):
        plot_history(make_pipeline(GANAugmenter(), MFRecommender()))


@pytest.mark.parametrize("bad", [None, {"loss_curve_": [1.0]}, np.ones(3), "history",
                                 MFRecommender()])
def test_wrong_input_raises_type_error(bad):
    with pytest.raises(TypeError, match="GANAugmenter"):
        plot_history(bad)


def test_pipeline_without_augmenter_raises_type_error():
    with pytest.raises(TypeError, match="exactly one GANAugmenter"):
        plot_history(make_pipeline(MFRecommender()))


def test_missing_matplotlib_gives_install_hint(monkeypatch, fitted_plain):
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "matplotlib" or name.startswith("matplotlib."):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(ImportError, match=r"pip install sklearn-agn\[plot\]"):
        plot_history(fitted_plain)


def test_docstring_example():
    result = doctest.testmod(plotting)
    assert result.attempted > 0
    assert result.failed == 0
