"""Persistence, determinism and interruption safety (issue 6).

- pickle and joblib round trips give identical predictions / transforms for
  ``MFRecommender``, ``GANAugmenter`` and ``make_pipeline(GANAugmenter,
  MFRecommender)``;
- a model fitted on a GPU loads and predicts on a machine without one
  (simulated by hiding CUDA from torch while unpickling; needs a GPU to fit);
- a fixed ``random_state`` gives identical results across two fits, across
  ``sklearn.base.clone``, and whatever torch's and numpy's global seeds are;
- a ``KeyboardInterrupt`` during ``fit`` leaves a fresh estimator unfitted and
  a fitted one in its last complete state (learned attributes exactly the
  old ones). The interrupt is injected by patching a private function the fit
  loop calls (``sklearn_agn.mf._als.solve_rows`` for ALS, ``_cfgan._bce`` and
  ``_cfgan.validation_ndcg`` for the GAN) to raise on its N-th call.

``fit`` records ``n_features_in_`` (``validate_data(reset=True)``) before
training; the fits are wrapped by ``_fit_state.atomic_fit``, which puts every
attribute back when they raise, so an interrupted fit leaves neither a fresh
estimator that passes ``check_is_fitted`` without a model nor a fitted one with
the new item count beside the old model.
"""

import io
import pickle

import joblib
import numpy as np
import pytest
import scipy.sparse as sp
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.utils.validation import check_is_fitted

import sklearn_agn.mf._als as als_module
import sklearn_agn.gan._training as cfgan_module
import sklearn_agn.mf._recommender as mf_module
from sklearn_agn import GANAugmenter, MFRecommender

from ._synthetic import block_interactions

MF_PARAMS = dict(n_factors=4, n_iter=2, k=3, device="cpu", random_state=0)
GAN_PARAMS = dict(
    g_hidden_sizes=(8,), d_hidden_sizes=(4,), noise_dim=2, max_iter=2, batch_size=16,
    g_steps=1, d_steps=1, sparse_threshold=5, n_generated=2, device="cpu", random_state=0,
)


def make_mf(**params):
    return MFRecommender(**{**MF_PARAMS, **params})


def make_gan(**params):
    return GANAugmenter(**{**GAN_PARAMS, **params})


def make_pipe(**params):
    return make_pipeline(make_gan(**params), make_mf(**params))


MAKERS = {"MFRecommender": make_mf, "GANAugmenter": make_gan, "pipeline": make_pipe}


@pytest.fixture(scope="module")
def data():
    """Training rows, and rows of users never seen in fit."""
    X, _ = block_interactions(n_users=40, n_items=12, n_blocks=2, density=0.3, seed=0)
    X_new, _ = block_interactions(n_users=7, n_items=12, n_blocks=2, density=0.3, seed=1)
    return X, X_new


def outputs(est, X):
    """Everything a fitted estimator computes from ``X``, as numpy arrays."""
    if isinstance(est, GANAugmenter):
        Xt = est.transform(X)
        sampled = est.sample(5, random_state=0)
        return {
            "transform": Xt.toarray(),
            "transform.indices": Xt.indices,
            "score_items": est.score_items(X),
            "sample": sampled.toarray(),
        }
    out = {"predict": est.predict(X), "decision_function": est.decision_function(X)}
    if isinstance(est, MFRecommender):
        out["fold_in"] = est.fold_in(X)
    return out


def assert_same_outputs(a, b):
    assert a.keys() == b.keys()
    for key in a:
        assert a[key].dtype == b[key].dtype, key
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def learned_state(est):
    """Deep snapshot of the learned attributes (names ending in ``_``)."""
    state = {}
    for name, value in vars(est).items():
        if not name.endswith("_") or name.startswith("__"):
            continue
        if isinstance(value, torch.nn.Module):
            value = {k: v.detach().clone() for k, v in value.state_dict().items()}
        elif isinstance(value, np.ndarray):
            value = value.copy()
        elif isinstance(value, dict):
            value = {k: list(v) for k, v in value.items()}
        state[name] = value
    return state


def assert_same_state(a, b):
    assert a.keys() == b.keys(), f"learned attributes differ: {sorted(a)} vs {sorted(b)}"
    for name in a:
        x, y = a[name], b[name]
        if isinstance(x, np.ndarray):
            assert x.dtype == y.dtype, name
            np.testing.assert_array_equal(x, y, err_msg=name)
        elif name == "generator_":
            assert x.keys() == y.keys()
            for k in x:
                assert torch.equal(x[k], y[k]), f"{name}.{k}"
        else:
            assert x == y, name


def steps(est):
    return [s for _, s in est.steps] if hasattr(est, "steps") else [est]


# --------------------------------------------------------------------------
# pickle / joblib
# --------------------------------------------------------------------------

def _pickle(est, tmp_path):
    return pickle.loads(pickle.dumps(est, protocol=pickle.HIGHEST_PROTOCOL))


def _joblib(est, tmp_path):
    path = tmp_path / "model.joblib"
    joblib.dump(est, path)
    return joblib.load(path)


def _joblib_compressed(est, tmp_path):
    buffer = io.BytesIO()
    joblib.dump(est, buffer, compress=3)
    buffer.seek(0)
    return joblib.load(buffer)


@pytest.mark.parametrize("round_trip", [_pickle, _joblib, _joblib_compressed],
                         ids=["pickle", "joblib", "joblib-compressed"])
@pytest.mark.parametrize("kind", MAKERS)
def test_round_trip_gives_identical_outputs(kind, round_trip, data, tmp_path):
    X, X_new = data
    est = MAKERS[kind]().fit(X)
    loaded = round_trip(est, tmp_path)
    assert loaded is not est
    assert type(loaded) is type(est)
    for a, b in zip(steps(est), steps(loaded)):
        assert a.get_params() == b.get_params()
        assert_same_state(learned_state(a), learned_state(b))
    for rows in (X, X_new):  # users seen in fit and new ones
        assert_same_outputs(outputs(est, rows), outputs(loaded, rows))
    # The loaded model is a working estimator: it refits like the original.
    refit = loaded.fit(X_new)
    assert_same_outputs(outputs(refit, X), outputs(MAKERS[kind]().fit(X_new), X))


def test_round_trip_keeps_partial_fit_working(data, tmp_path):
    X, X_new = data
    est = make_mf().fit(X)
    loaded = _joblib(est, tmp_path)
    est.partial_fit(X_new)
    loaded.partial_fit(X_new)
    assert_same_outputs(outputs(est, X), outputs(loaded, X))


def _outputs_without_cuda(est, X, monkeypatch):
    """Pickle ``est``, unpickle and use it as on a machine without CUDA."""
    blob = pickle.dumps(est)
    with monkeypatch.context() as m:
        m.setattr(torch.cuda, "is_available", lambda: False)
        # Unpickling a CUDA tensor fails here ("Attempting to deserialize
        # object on a CUDA device but torch.cuda.is_available() is False").
        loaded = pickle.loads(blob)
        for step in steps(loaded):
            if step.get_params()["device"] != "auto":
                step.set_params(device="cpu")  # an explicit "cuda" must be changed by hand
        return outputs(loaded, X)


def test_loads_and_predicts_with_cuda_hidden(data, monkeypatch):
    """The CPU half of the GPU test below, so that its mechanics always run."""
    if torch.cuda.is_available():
        pytest.skip("covered by test_model_trained_on_gpu_loads_on_cpu")
    X, X_new = data
    for kind in MAKERS:
        est = MAKERS[kind](device="auto").fit(X)
        assert_same_outputs(outputs(est, X_new), _outputs_without_cuda(est, X_new, monkeypatch))


def _assert_close_outputs(gpu, cpu):
    """GPU and CPU kernels round differently: scores close, rankings equal."""
    assert gpu.keys() == cpu.keys()
    for key in gpu:
        if key in ("decision_function", "score_items", "fold_in"):
            np.testing.assert_allclose(cpu[key], gpu[key], rtol=1e-4, atol=1e-6, err_msg=key)
        elif key == "transform":
            # Same real and generated entries; generated weights close.
            np.testing.assert_array_equal(cpu[key] > 0, gpu[key] > 0, err_msg=key)
            np.testing.assert_allclose(cpu[key], gpu[key], rtol=1e-4, atol=1e-6, err_msg=key)
        elif key == "sample":
            # Drawn from a CUDA vs a CPU torch.Generator: other streams.
            assert cpu[key].shape == gpu[key].shape
        elif key == "predict":
            np.testing.assert_array_equal(cpu[key], gpu[key], err_msg=key)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU to fit on")
@pytest.mark.parametrize("device", ["auto", "cuda"])
@pytest.mark.parametrize("kind", MAKERS)
def test_model_trained_on_gpu_loads_on_cpu(kind, device, data, monkeypatch):
    X, X_new = data
    # float64 factors so that GPU and CPU scores agree to many digits.
    params = {"device": device}
    est = MAKERS[kind](**params)
    for step in steps(est):
        if isinstance(step, MFRecommender):
            step.set_params(dtype="float64")
    est.fit(X)
    # Nothing learned stays on the GPU.
    for step in steps(est):
        for name, value in vars(step).items():
            if isinstance(value, torch.nn.Module):
                assert all(p.device.type == "cpu" for p in value.parameters()), name
            assert not isinstance(value, torch.Tensor), f"{name} is a tensor"
    gpu = outputs(est, X_new)
    cpu = _outputs_without_cuda(est, X_new, monkeypatch)
    _assert_close_outputs(gpu, cpu)


# --------------------------------------------------------------------------
# Determinism
# --------------------------------------------------------------------------

def _fit_with_other_global_seeds(est, X, seed):
    torch.manual_seed(seed)
    np.random.seed(seed)
    return est.fit(X)


@pytest.mark.parametrize("kind", MAKERS)
def test_fixed_random_state_is_deterministic(kind, data):
    X, X_new = data
    first = _fit_with_other_global_seeds(MAKERS[kind](), X, seed=1)
    second = _fit_with_other_global_seeds(MAKERS[kind](), X, seed=2)
    cloned = _fit_with_other_global_seeds(clone(first), X, seed=3)
    refit = _fit_with_other_global_seeds(first, X, seed=4)  # same object, fitted again
    reference = outputs(second, X_new)
    for other in (cloned, refit):
        for a, b in zip(steps(second), steps(other)):
            assert_same_state(learned_state(a), learned_state(b))
        assert_same_outputs(reference, outputs(other, X_new))


@pytest.mark.parametrize("kind", MAKERS)
def test_other_random_state_gives_other_model(kind, data):
    """Guards the test above: the seed matters, so equality is not trivial."""
    X, X_new = data
    a = MAKERS[kind](random_state=0).fit(X)
    b = MAKERS[kind](random_state=1).fit(X)
    key = "score_items" if kind == "GANAugmenter" else "decision_function"
    assert not np.array_equal(outputs(a, X_new)[key], outputs(b, X_new)[key])


# --------------------------------------------------------------------------
# KeyboardInterrupt during fit
# --------------------------------------------------------------------------

def _count_calls(monkeypatch, module, name, fit):
    """How many times ``fit()`` calls ``module.name``."""
    original = getattr(module, name)
    calls = []

    def counting(*args, **kwargs):
        calls.append(None)
        return original(*args, **kwargs)

    with monkeypatch.context() as m:
        m.setattr(module, name, counting)
        fit()
    return len(calls)


def _interrupt_on_call(monkeypatch, module, name, n):
    """Make ``module.name`` raise KeyboardInterrupt on its ``n``-th call."""
    original = getattr(module, name)
    calls = []

    def interrupting(*args, **kwargs):
        calls.append(None)
        if len(calls) == n:
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, interrupting)
    return calls


# (estimator factory, module, private function the fit loop calls)
INTERRUPTIONS = {
    "MFRecommender-als.solve_rows": (lambda **p: make_mf(solver="cholesky", **p), als_module,
                                     "solve_rows"),
    "MFRecommender-als.conjugate_gradient": (make_mf, als_module, "conjugate_gradient"),
    "GANAugmenter-_bce": (make_gan, cfgan_module, "_bce"),
    "GANAugmenter-validation_ndcg": (
        lambda **p: make_gan(early_stopping=True, validation_fraction=0.3, **p),
        cfgan_module, "validation_ndcg"),
}


def _interrupted_fit(monkeypatch, case, est, X):
    """Fit ``est`` on ``X`` with a KeyboardInterrupt in the middle of training."""
    make, module, name = INTERRUPTIONS[case]
    total = _count_calls(monkeypatch, module, name, lambda: make().fit(X))
    assert total >= 2, f"the fit loop calls {name} only {total} times"
    n = total // 2 + 1  # past the first sweep/epoch, before the end
    with monkeypatch.context() as m:
        calls = _interrupt_on_call(m, module, name, n)
        with pytest.raises(KeyboardInterrupt):
            est.fit(X)
    assert len(calls) == n, "the interrupt was not raised where it was injected"


@pytest.mark.parametrize("case", INTERRUPTIONS)
def test_interrupted_fit_of_fresh_estimator_learns_nothing(case, data, monkeypatch):
    X, _ = data
    est = INTERRUPTIONS[case][0]()
    _interrupted_fit(monkeypatch, case, est, X)
    for name in ("item_factors_", "generator_", "loss_curve_", "n_iter_", "validation_scores_",
                 "item_popularity_", "row_lengths_"):
        assert not hasattr(est, name), f"interrupted fit left {name}"


@pytest.mark.parametrize("case", INTERRUPTIONS)
def test_interrupted_fit_of_fresh_estimator_is_not_fitted(case, data, monkeypatch):
    X, _ = data
    est = INTERRUPTIONS[case][0]()
    _interrupted_fit(monkeypatch, case, est, X)
    assert learned_state(est) == {}
    with pytest.raises(NotFittedError):
        check_is_fitted(est)


@pytest.mark.parametrize("case", INTERRUPTIONS)
def test_interrupted_refit_keeps_last_complete_state(case, data, monkeypatch):
    X, X_new = data
    est = INTERRUPTIONS[case][0]().fit(X)
    before_state, before_out = learned_state(est), outputs(est, X_new)
    # Other rows, same catalogue: the refit would learn something else.
    X_other = sp.csr_matrix(X[::-1][:30])
    _interrupted_fit(monkeypatch, case, est, X_other)
    assert_same_state(before_state, learned_state(est))
    assert_same_outputs(before_out, outputs(est, X_new))


@pytest.mark.parametrize("case", INTERRUPTIONS)
def test_interrupted_refit_on_other_catalogue_keeps_last_complete_state(
    case, data, monkeypatch
):
    X, X_new = data
    est = INTERRUPTIONS[case][0]().fit(X)
    before_state, before_out = learned_state(est), outputs(est, X_new)
    _interrupted_fit(monkeypatch, case, est, sp.csr_matrix(X[:, :10]))
    assert_same_state(before_state, learned_state(est))
    assert_same_outputs(before_out, outputs(est, X_new))


def test_interrupted_partial_fit_keeps_last_complete_state(data, monkeypatch):
    X, X_new = data
    est = make_mf().fit(X)
    before_state, before_out = learned_state(est), outputs(est, X_new)
    # partial_fit folds the rows in (solve_rows), then updates the items
    # (the engine's solve, with the default solver solve_rows_cg):
    # interrupted in the item update.
    assert est.solver == "cg"
    with monkeypatch.context() as m:
        calls = _interrupt_on_call(m, als_module, "solve_rows_cg", 1)
        with pytest.raises(KeyboardInterrupt):
            est.partial_fit(X_new)
    assert len(calls) == 1
    assert_same_state(before_state, learned_state(est))
    assert_same_outputs(before_out, outputs(est, X_new))
    # ... and the same partial_fit, uninterrupted, does change the model.
    est.partial_fit(X_new)
    assert not np.array_equal(est.item_factors_, before_state["item_factors_"])
