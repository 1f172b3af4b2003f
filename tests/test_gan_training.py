"""Tests of the GAN's sampled training: negatives per row, sparse discriminator input."""

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from sklearn_agn.gan import GANAugmenter
from sklearn_agn.gan._networks import Discriminator, Generator, SparseRows, init_weights
from sklearn_agn.gan._training import (
    TrainingConfig,
    _LazyAdam,
    _negative_counts,
    _sample_unobserved,
    _TrainingStep,
    _zr_weights,
)

from ._synthetic import block_interactions


def test_negative_counts_follow_the_rule():
    # Rows of 0, 1, 5 and 40 interactions among 100 items; pool = min(100 - n,
    # max(8, ceil(2.5 * n))): 8, 8, 13, 60; shares 0.5: 4, 4, 7 (6.5 rounds up), 30.
    lengths = np.array([0, 1, 5, 40])
    assert _negative_counts(lengths, 100, 0.5, 2.5, 8).tolist() == [4, 4, 7, 30]
    # No cap: CFGAN's share of every unobserved item.
    assert _negative_counts(lengths, 100, 0.5, None, 8).tolist() == [50, 50, 48, 30]


def test_zr_weights_make_a_capped_sample_cfgans_penalty_in_expectation():
    # Rows of 0, 1 and 40 interactions among 100 allowed items, ZR share 0.5:
    # CFGAN pulls 50, 50 and 30 items to zero; capped samples of 4, 4 and 30.
    lengths, counts = np.array([0, 1, 40]), np.array([4, 4, 30])
    np.testing.assert_allclose(_zr_weights(lengths, 100, counts, 0.5), [12.5, 12.5, 1.0])
    # An empty sample weighs nothing (rather than dividing by zero).
    assert _zr_weights(np.array([100]), 100, np.array([0]), 0.5).tolist() == [0.0]


@pytest.mark.parametrize("fused", [False, True])
def test_lazy_adam_is_adam_on_the_rows_read_and_leaves_the_others_alone(fused):
    torch.manual_seed(0)
    G = Generator(7, 2, (3,), "sigmoid")
    init_weights(G, torch.Generator().manual_seed(0))
    reference = Generator(7, 2, (3,), "sigmoid")
    reference.load_state_dict(G.state_dict())
    lazy = _LazyAdam(G, lr=0.05, weight_decay=0.01, fused=fused)
    tables = reference.item_tables()
    dense = [p for p in reference.parameters() if all(p is not t for t in tables)]
    adam = torch.optim.Adam([{"params": dense, "weight_decay": 0.01}, {"params": tables}], lr=0.05)
    initial = {name: value.clone() for name, value in G.state_dict().items()}
    rows = SparseRows(torch.tensor([0, 0, 1]), torch.tensor([1, 4, 4]), 2, 7)
    items = torch.tensor([2, 4, 4, 5])
    noise = torch.randn(2, 2)

    def loss(net):
        return net.pair_scores(rows, noise, (torch.tensor([0, 1, 1, 0]), items)).square().sum()

    for _ in range(3):
        lazy.zero_grad()
        loss(G).backward()
        lazy.step()
        adam.zero_grad()
        loss(reference).backward()
        # Adam's coupled decay, on the rows read only; torch's Adam wants dense gradients.
        for table, read in ((reference.condition_weight, [1, 4]), (reference.item_weight, [2, 4, 5])):
            table.grad = table.grad.to_dense()
            table.grad[read] += 0.01 * table.data[read]
        adam.step()
    for name, value in G.state_dict().items():
        torch.testing.assert_close(value, reference.state_dict()[name])
    for table, read in (("condition_weight", [1, 4]), ("item_weight", [2, 4, 5])):
        moved = (getattr(G, table) != initial[table]).any(1).nonzero().ravel().tolist()
        assert moved == read


def test_samples_are_distinct_unobserved_allowed_items_in_the_counts_asked():
    rng = np.random.default_rng(0)
    X = sp.random(50, 30, density=0.3, format="csr", random_state=0)
    X.sort_indices()
    allowed = np.union1d(np.flatnonzero(np.arange(30) % 7 != 3), X.indices)
    first, second = rng.integers(0, 8, 50), rng.integers(0, 30, 50)
    (r1, i1), (r2, i2) = _sample_unobserved(X, [first, second], allowed, rng)
    for r in range(50):
        observed = set(X.indices[X.indptr[r]:X.indptr[r + 1]])
        a, b = i1[r1 == r], i2[r2 == r]
        available = len(allowed) - len(observed)
        assert len(set(a)) == len(a) == min(first[r], available)
        assert len(set(b)) == len(b) == min(second[r], available - len(a))
        assert not set(a) & observed and not set(b) & observed and not set(a) & set(b)
        assert set(a) <= set(allowed) and set(b) <= set(allowed)


def test_sparse_discriminator_input_has_the_dense_gradients():
    # The weighted embedding_bag of the shown scores equals the dense product
    # scores * mask @ W, in value and in gradient to the scores and to W.
    torch.manual_seed(0)
    D = Discriminator(6, (3,), "sigmoid")
    init_weights(D, torch.Generator().manual_seed(0))
    real = SparseRows(torch.tensor([0, 1]), torch.tensor([2, 4]), 2, 6)
    rows, items = torch.tensor([0, 0, 1, 1, 1]), torch.tensor([1, 2, 0, 4, 5])
    scores = torch.rand(5, requires_grad=True)
    sparse = D(real, SparseRows(rows, items, 2, 6, scores)).sum()
    sparse_grads = torch.autograd.grad(sparse, [scores, D.input_weight])

    dense_scores = torch.zeros(2, 6)
    dense_scores[rows, items] = scores
    act = torch.sigmoid
    h = act(D.condition_weight[[2, 4]] + D.bias + dense_scores @ D.input_weight)
    dense = D.tail[-1](h).sum()
    dense_grads = torch.autograd.grad(dense, [scores, D.input_weight])
    torch.testing.assert_close(sparse, dense)
    for a, b in zip(sparse_grads, dense_grads):
        torch.testing.assert_close(a.to_dense(), b)


FAST = dict(g_hidden_sizes=(32,), d_hidden_sizes=(16,), noise_dim=4, batch_size=32,
            g_learning_rate=3e-3, d_learning_rate=3e-3, max_iter=30, device="cpu")


def test_sampled_training_learns_the_block_structure():
    X, groups = block_interactions(n_users=120, n_items=300, n_blocks=3, density=0.3)
    # A pool of 2 negatives per interaction, far from the catalogue.
    gan = GANAugmenter(negatives_per_interaction=2.0, min_negatives=10, random_state=0, **FAST)
    scores = gan.fit(X).score_items(X)
    item_block = np.arange(300) * 3 // 300
    own = item_block[None, :] == groups[:, None]
    unobserved = X.toarray() == 0
    own_mean = (scores * (own & unobserved)).sum(1) / (own & unobserved).sum(1)
    other_mean = (scores * ~own).sum(1) / (~own).sum(1)
    assert (own_mean > other_mean).mean() > 0.95


def test_sampled_training_is_reproducible():
    X, _ = block_interactions(n_users=60, n_items=60)
    fit = [GANAugmenter(random_state=3, **dict(FAST, max_iter=3)).fit(X) for _ in range(2)]
    for a, b in zip(fit[0].generator_.parameters(), fit[1].generator_.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_cold_items_are_never_sampled_as_negatives():
    X, _ = block_interactions(n_users=40, n_items=30)
    X = X.tolil()
    X[:, [0, 11, 29]] = 0
    X = sp.csr_matrix(X)
    X.eliminate_zeros()
    warm = torch.from_numpy(np.bincount(X.indices, minlength=30) > 0)
    G = Generator(30, 2, (4,), "sigmoid", item_attributes=torch.eye(30), warm_items=warm)
    config = TrainingConfig.from_params(GANAugmenter(
        zr_ratio=1.0, pm_ratio=0.0, zr_coef=0.1, negatives_per_interaction=None, min_negatives=0,
        item_dropout=0.5, condition_dropout=0.0).get_params())
    step = _TrainingStep(
        G, Discriminator(30, (3,), "sigmoid"), config, g_optimizer=None, d_optimizer=None,
        negatives_allowed=warm, generator=torch.Generator(), sampler=np.random.default_rng(0),
    )
    shown, (rows, items, weights) = step._samples(X, SparseRows.from_csr(X, "cpu"), zr=True)
    np.testing.assert_array_equal(weights.numpy(), 1.0)  # sampled in full
    # zr_ratio=1 without a cap: every unobserved warm item, and no cold one.
    unobserved_warm = (X.toarray() == 0) & warm.numpy()[None, :]
    sampled = np.zeros((40, 30), dtype=bool)
    sampled[rows.numpy(), items.numpy()] = True
    np.testing.assert_array_equal(sampled, unobserved_warm)


def test_progress_shows_the_losses_and_a_validation_score_only_when_there_is_one(capsys):
    X, _ = block_interactions(seed=0)
    GANAugmenter(verbose=1, random_state=0, **dict(FAST, max_iter=2)).fit(X)
    plain = capsys.readouterr().err
    GANAugmenter(verbose=1, early_stopping=True, random_state=0, **dict(FAST, max_iter=2)).fit(X)
    stopped = capsys.readouterr().err
    assert "g_loss=" in plain and "d_loss=" in plain and "val=" not in plain
    assert "val=" in stopped and "val=nan" not in stopped
