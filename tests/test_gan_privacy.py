"""Differentially private GAN training (issue 20 item 1): accounting, clipping, API."""

import sys

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from sklearn_agn import GANAugmenter, MFRecommender
from sklearn_agn.datasets import make_interactions
from sklearn_agn.gan import _privacy, _training
from sklearn_agn.metrics import make_ranking_scorer
from sklearn_agn.model_selection import UserKFold, holdout_split

SMALL = dict(g_hidden_sizes=(16,), d_hidden_sizes=(8,), noise_dim=2, batch_size=16, max_iter=2,
             g_steps=1, d_steps=1, sparse_threshold=8, n_generated=2, device="cpu")


def assert_same_generator(a, b):
    for p, q in zip(a.generator_.state_dict().values(), b.generator_.state_dict().values()):
        torch.testing.assert_close(p, q, rtol=0, atol=0)


@pytest.fixture(scope="module")
def X():
    return make_interactions(60, 40, 400, random_state=0)


@pytest.fixture(scope="module")
def opacus():
    return pytest.importorskip("opacus")


@pytest.fixture(scope="module")
def fitted(X, opacus):
    return GANAugmenter(**SMALL, dp_epsilon=3.0, dp_delta=1e-3, random_state=0).fit(X)


def test_epsilon_is_opacus_accountant_figure_and_meets_the_target(fitted, opacus):
    from opacus.accountants import RDPAccountant
    from opacus.accountants.utils import get_noise_multiplier

    # 60 users in batches of 16: Opacus' loader samples each with rate 1/4,
    # 4 steps a pass, 2 passes (D then G) an epoch, 2 epochs.
    rate, n_steps = 1 / 4, 2 * 2 * 4
    alphas = RDPAccountant.DEFAULT_ALPHAS + [80, 96, 128, 192, 256, 384, 512, 768, 1024]
    histogram = get_noise_multiplier(target_epsilon=0.3, target_delta=1e-3, sample_rate=1.0,
                                     steps=1, alphas=alphas)
    accountant = RDPAccountant()
    for sigma, q, steps in [(fitted.noise_multiplier_, rate, n_steps), (histogram, 1.0, 1)]:
        for _ in range(steps):
            accountant.step(noise_multiplier=sigma, sample_rate=q)
    assert fitted.epsilon_ == pytest.approx(accountant.get_epsilon(1e-3, alphas=alphas), rel=1e-12)
    # Calibrated: within the target, and close to it.
    assert 0.97 * 3.0 <= fitted.epsilon_ <= 3.0
    # Less noise would overspend.
    accountant.history[0] = (0.99 * fitted.noise_multiplier_, rate, n_steps)
    assert accountant.get_epsilon(1e-3, alphas=alphas) > 3.0


@pytest.mark.parametrize(
    "params, message",
    [
        (dict(dp_epsilon=0.0), "dp_epsilon"),
        (dict(dp_epsilon=-1.0), "dp_epsilon"),
        (dict(dp_epsilon=float("nan")), "dp_epsilon"),
        (dict(dp_epsilon=float("inf")), "dp_epsilon"),
        (dict(dp_epsilon="3"), "dp_epsilon"),
        (dict(dp_epsilon=1.0, dp_delta=0.0), "dp_delta"),
        (dict(dp_epsilon=1.0, dp_delta=1.0), "dp_delta"),
        (dict(dp_epsilon=1.0, dp_delta=float("nan")), "dp_delta"),
        (dict(dp_epsilon=1.0, dp_max_grad_norm=0.0), "dp_max_grad_norm"),
        # 60 users: delta must be below 1/60.
        (dict(dp_epsilon=1.0, dp_delta=1 / 60), r"dp_delta=.* is not below 1 / n_users = 1 / 60"),
        (dict(dp_epsilon=1.0, dp_delta=1e-3, early_stopping=True), "early_stopping"),
        (dict(dp_epsilon=1.0, dp_delta=1e-3, item_attributes=np.ones((40, 2))),
         "item_attributes"),
    ],
)
def test_bad_privacy_settings_raise(X, params, message):
    with pytest.raises(ValueError, match=message):
        GANAugmenter(**SMALL, **params).fit(X)


def test_a_budget_no_noise_reaches_raises(X, opacus):
    with pytest.raises(ValueError, match="dp_epsilon=0.001 is too small"):
        GANAugmenter(**SMALL, dp_epsilon=1e-3, dp_delta=1e-10).fit(X)


def test_user_attributes_are_refused_with_privacy(X):
    with pytest.raises(ValueError, match="dp_epsilon is not supported with user_attributes"):
        GANAugmenter(**SMALL, dp_epsilon=1.0, dp_delta=1e-3).fit(
            X, user_attributes=np.ones((60, 2))
        )


def test_privacy_needs_opacus_and_says_how_to_install_it(X, monkeypatch):
    monkeypatch.setitem(sys.modules, "opacus", None)  # import opacus then raises
    with pytest.raises(ImportError, match=r"pip install 'sklearn-agn\[privacy\]'"):
        GANAugmenter(**SMALL, dp_epsilon=1.0, dp_delta=1e-3).fit(X)


def test_privacy_settings_leave_non_private_training_as_it_was(X):
    plain = GANAugmenter(**SMALL, random_state=0).fit(X)
    unused = GANAugmenter(**SMALL, dp_delta=0.5, dp_max_grad_norm=1e-3, random_state=0).fit(X)
    assert_same_generator(plain, unused)
    assert plain.epsilon_ is None and plain.noise_multiplier_ is None
    np.testing.assert_array_equal(plain.row_lengths_, np.diff(X.indptr))


def test_dense_generator_scores_as_the_generator_it_becomes():
    G = _privacy.DenseGenerator(7, 3, (5, 4), "tanh")
    _training.init_weights(G, torch.Generator().manual_seed(0))
    rows = (torch.rand(6, 7, generator=torch.Generator().manual_seed(1)) < 0.4).float()
    z = torch.randn(6, 3, generator=torch.Generator().manual_seed(2))
    sparse = _training.SparseRows.from_csr(sp.csr_matrix(rows.numpy()), "cpu")
    torch.testing.assert_close(G.to_generator()(sparse, z), G(rows, z))


def _networks(config, seed=0):
    return _privacy.private_networks(
        12, config, noise_multiplier=0.0, max_grad_norm=0.05, expected_batch_size=4.0,
        device=torch.device("cpu"), seed=seed,
    )


@pytest.mark.parametrize("network", ["discriminator", "generator"])
def test_each_user_gradient_is_clipped_before_the_sum(network, opacus):
    # Without noise, the step's gradient must be the sum of each user's own
    # gradient clipped to max_grad_norm, over the expected batch size.
    config = _training.TrainingConfig.from_params(
        GANAugmenter(**SMALL).get_params(), g_hidden_sizes=(6,), d_hidden_sizes=(5,),
        min_negatives=3,
    )
    G, D, g_opt, d_opt = _networks(config)
    rows = (torch.rand(3, 12, generator=torch.Generator().manual_seed(3)) < 0.4).float()
    z = torch.randn(3, 2, generator=torch.Generator().manual_seed(4))
    rng = torch.Generator().manual_seed(5)
    step = _privacy._PrivateStep(G, D, g_opt, d_opt, config, rng)
    trained = G if network == "generator" else D
    state = {k: v.clone() for k, v in trained._module.state_dict().items()}
    getattr(step, network)(rows, z)
    got = [p.grad.clone() for p in trained._module.parameters()]

    # The same step by hand, user by user, on plain copies of the networks.
    G_ref = _privacy.DenseGenerator(12, 2, (6,), config.activation)
    D_ref = _privacy.DenseDiscriminator(12, (5,), config.activation)
    G_ref.load_state_dict(G._module.state_dict())
    D_ref.load_state_dict(D._module.state_dict())
    (G_ref if network == "generator" else D_ref).load_state_dict(state)
    step_ref = _privacy._PrivateStep(G_ref, D_ref, None, None, config,
                                     torch.Generator().manual_seed(5))
    pm, zr = step_ref._masks(rows, zr=network == "generator")
    module = G_ref if network == "generator" else D_ref
    expected = [torch.zeros_like(p) for p in module.parameters()]
    norms = []
    for u in range(3):
        x, pm_u, z_u = rows[u:u + 1], pm[u:u + 1], z[u:u + 1]
        if network == "discriminator":
            fake = G_ref(x, z_u).detach() * (x + pm_u)
            loss = (_privacy._bce(D_ref(x, x), 1.0) + _privacy._bce(D_ref(x, fake), 0.0)).sum()
        else:
            scores = G_ref(x, z_u)
            loss = _privacy._bce(D_ref(x, scores * (x + pm_u)), 1.0).sum()
            loss = loss + config.zr_coef * (zr[u:u + 1] * scores.square()).sum()
        grads = torch.autograd.grad(loss, list(module.parameters()))
        norm = torch.sqrt(sum(g.square().sum() for g in grads))
        norms.append(float(norm))
        factor = min(1.0, 0.05 / (float(norm) + 1e-6))
        for e, g in zip(expected, grads):
            e += factor * g / 4.0
    assert max(norms) > 0.05, "no user's gradient reaches the bound: the test checks nothing"
    for g, e in zip(got, expected):
        torch.testing.assert_close(g, e, rtol=1e-4, atol=1e-7)


def test_an_empty_batch_still_takes_a_noisy_step(opacus):
    config = _training.TrainingConfig.from_params(
        GANAugmenter(**SMALL).get_params(), g_hidden_sizes=(6,), d_hidden_sizes=(5,),
    )
    G, D, g_opt, d_opt = _privacy.private_networks(
        12, config, noise_multiplier=1.0, max_grad_norm=1.0, expected_batch_size=4.0,
        device=torch.device("cpu"), seed=0,
    )
    step = _privacy._PrivateStep(G, D, g_opt, d_opt, config, torch.Generator().manual_seed(0))
    for network, module in [("discriminator", D), ("generator", G)]:
        before = [p.detach().clone() for p in module.parameters()]
        getattr(step, network)(torch.zeros(0, 12), torch.zeros(0, 2))
        assert all(not torch.equal(b, p) for b, p in zip(before, module.parameters()))


def test_sample_reads_only_private_releases(opacus):
    # Every row holds exactly 5 items: the real lengths are one value, the
    # privately released ones (noisy histogram, bin [4, 8)) are not.
    rng = np.random.RandomState(0)
    X = sp.csr_matrix(np.array([rng.permutation(40) < 5 for _ in range(60)], dtype=float))
    aug = GANAugmenter(**SMALL, dp_epsilon=3.0, dp_delta=1e-3, random_state=0).fit(X)
    assert aug.row_lengths_.shape == (60,)
    assert len(np.unique(aug.row_lengths_)) > 1
    # The first item of a sampled row comes from the private generator.
    np.testing.assert_allclose(aug.item_popularity_,
                               aug.score_items(sp.csr_matrix((1, 40)))[0], rtol=1e-6)
    assert aug.cold_items_.size == 0
    assert aug.sample(4, random_state=0).shape == (4, 40)


def test_random_state_gives_identical_private_fits(X, fitted):
    again = GANAugmenter(**SMALL, dp_epsilon=3.0, dp_delta=1e-3, random_state=0).fit(X)
    assert_same_generator(fitted, again)
    np.testing.assert_array_equal(fitted.row_lengths_, again.row_lengths_)
    assert fitted.epsilon_ == again.epsilon_
    assert fitted.loss_curve_ == again.loss_curve_


def test_private_fit_without_noise_input(X, opacus):
    aug = GANAugmenter(**{**SMALL, "noise_dim": 0}, dp_epsilon=3.0, dp_delta=1e-3, random_state=0)
    aug.fit(X)
    assert np.isfinite(aug.loss_curve_).all()
    assert aug.transform(X).shape == X.shape


def test_more_budget_means_less_noise(X, fitted):
    loose = clone(fitted).set_params(dp_epsilon=10.0).fit(X)
    assert loose.noise_multiplier_ < fitted.noise_multiplier_
    assert 0.97 * 10.0 <= loose.epsilon_ <= 10.0


def test_private_gan_in_a_grid_searched_pipeline(opacus):
    X, y = holdout_split(make_interactions(80, 30, 800, random_state=1), 0.25, random_state=0)
    pipe = make_pipeline(
        GANAugmenter(**SMALL, dp_epsilon=3.0, dp_delta=1e-3, random_state=0),
        MFRecommender(n_factors=4, n_iter=3, k=5, random_state=0),
    )
    assert clone(pipe).get_params()["ganaugmenter__dp_epsilon"] == 3.0
    search = GridSearchCV(pipe, {"ganaugmenter__dp_epsilon": [3.0, 10.0]},
                          cv=UserKFold(2, shuffle=True, random_state=0),
                          scoring=make_ranking_scorer("ndcg", k=5)).fit(X, y)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    best = search.best_estimator_.named_steps["ganaugmenter"]
    assert best.epsilon_ <= best.dp_epsilon
