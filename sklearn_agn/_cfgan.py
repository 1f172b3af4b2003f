"""CFGAN training loop (Chae et al., CIKM 2018), with item and user side information.

Everything here takes canonical CSR matrices, numpy arrays or tensors and
returns arrays; parameter validation and the scikit-learn API live in
:mod:`sklearn_agn.augmentation`, the networks in :mod:`._gan_networks`, the
scoring of trained generators in :mod:`._gan_inference`.

The generator is trained with CFGAN's "ZP" scheme: the discriminator sees the
generated scores only on the user's observed items plus a random sample of
unobserved ones (partial masking, PM), and the generator is pulled to zero on
another random sample of unobserved items (zero reconstruction, ZR). Without
them the generator wins trivially by scoring every item 1. With item
attributes, items that have no training interaction are never sampled as
negatives: nothing is known about them, and pulling them to zero would teach
the attribute path that every cold item is unwanted.
"""

import copy

import numpy as np
import torch
from sklearn.utils import gen_batches
from torch.nn import functional as F
from torch.torch_version import TorchVersion

from ._gan_inference import noise, scoring_copy, user_features_batch, validation_ndcg
from ._gan_networks import Discriminator, Generator, SparseRows, features_tensor, init_weights

# The fused Adam kernel is several times faster on CPU for these wide layers,
# but CPU support only arrived in torch 2.4.
_FUSED_ADAM_ON_CPU = TorchVersion(torch.__version__) >= "2.4"


def _negative_sample(observed, ratio, generator, allowed=None):
    """Keep each unobserved (and ``allowed``) item of each row with probability ``ratio``."""
    draw = torch.rand(observed.shape, device=observed.device, generator=generator)
    keep = (draw < ratio) & (observed == 0)
    if allowed is not None:
        keep &= allowed
    return keep.to(observed.dtype)


def _bce(logits, target):
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


def _batches(X, user_attributes, batch_size, noise_dim, device, generator):
    """Shuffled mini-batches: ``(rows, observed, noise, user_features)``."""
    n_rows = X.shape[0]
    order = torch.randperm(n_rows, generator=generator, device=device).cpu().numpy()
    for part in gen_batches(n_rows, batch_size):
        batch = order[part]
        rows = SparseRows.from_csr(X[batch], device)
        yield (
            rows,
            rows.dense_mask(),
            noise(rows.n_rows, noise_dim, device, generator),
            user_features_batch(user_attributes, batch, device),
        )


class _TrainingStep:
    """One CFGAN update of the discriminator or of the generator, on one mini-batch.

    Holds the networks, their optimisers, the ZP scheme's settings and the
    random generator that draws negatives and dropouts.
    """

    def __init__(
        self,
        G,
        D,
        *,
        g_optimizer,
        d_optimizer,
        zr_ratio,
        pm_ratio,
        zr_coef,
        item_dropout,
        condition_dropout,
        negatives_allowed,
        generator,
    ):
        self.G, self.D = G, D
        self.g_optimizer, self.d_optimizer = g_optimizer, d_optimizer
        self.zr_ratio, self.pm_ratio, self.zr_coef = zr_ratio, pm_ratio, zr_coef
        self.item_dropout, self.condition_dropout = item_dropout, condition_dropout
        self.negatives_allowed = negatives_allowed
        self.rng = generator

    def _generate(self, rows, noise_, user_features):
        device = noise_.device
        # Item dropout: some warm items are scored from their attributes only.
        free = None
        if self.negatives_allowed is not None and self.item_dropout:
            draw = torch.rand(len(self.negatives_allowed), device=device, generator=self.rng)
            free = self.negatives_allowed & (draw >= self.item_dropout)
        # Condition dropout: some users are seen through their attributes only,
        # as a user with an empty row will be, and as many through their row
        # only, as a user whose attributes are unknown will be.
        if user_features is not None and self.condition_dropout:
            draw = torch.rand(rows.n_rows, device=device, generator=self.rng)
            rows = rows.drop_rows(draw < self.condition_dropout)
            hide = (draw >= self.condition_dropout) & (draw < 2 * self.condition_dropout)
            user_features = user_features * ~hide[:, None]
        return self.G(rows, noise_, user_features, free)

    def _masked(self, scores, observed):
        # PM: the discriminator sees the scores on the observed items and on
        # a sample of unobserved ones, where a real row holds zeros.
        negatives = _negative_sample(observed, self.pm_ratio, self.rng, self.negatives_allowed)
        return scores * (observed + negatives)

    def discriminator(self, rows, observed, noise_, user_features):
        """One discriminator update; returns its loss."""
        with torch.no_grad():
            fake = self._masked(self._generate(rows, noise_, user_features), observed)
        loss = _bce(self.D(rows), 1.0) + _bce(self.D(rows, fake), 0.0)
        self.d_optimizer.zero_grad()
        loss.backward()
        self.d_optimizer.step()
        return loss.item()

    def generator(self, rows, observed, noise_, user_features):
        """One generator update; returns its loss."""
        scores = self._generate(rows, noise_, user_features)
        loss = _bce(self.D(rows, self._masked(scores, observed)), 1.0)
        if self.zr_coef and self.zr_ratio:
            zero = _negative_sample(observed, self.zr_ratio, self.rng, self.negatives_allowed)
            loss = loss + self.zr_coef * (scores.square() * zero).sum(dim=1).mean()
        self.g_optimizer.zero_grad()
        loss.backward()
        self.g_optimizer.step()
        return loss.item()


def fit_cfgan(
    X,
    *,
    item_attributes=None,
    user_attributes=None,
    validation=None,
    noise_dim,
    g_hidden_sizes,
    d_hidden_sizes,
    activation,
    g_learning_rate,
    d_learning_rate,
    g_weight_decay,
    g_steps,
    d_steps,
    zr_ratio,
    pm_ratio,
    zr_coef,
    item_dropout,
    condition_dropout,
    batch_size,
    max_epochs,
    n_iter_no_change,
    validation_k,
    device,
    seed,
    progress=None,
):
    """Train a CFGAN generator on the sparsity pattern of canonical CSR ``X``.

    Parameters
    ----------
    X : csr_matrix of shape (n_users, n_items)
        Training rows; stored entries are interactions.
    item_attributes : ndarray or sparse matrix of shape (n_items, n_item_features) or None
        Validated attributes of the columns of ``X``.
    user_attributes : ndarray or CSR matrix of shape (n_users, n_user_features) or None
        Validated attributes of the rows of ``X``.
    validation : tuple of two csr_matrix or None
        ``(X_in, X_out)``: rows (aligned with ``X`` and ``user_attributes``)
        to condition on and their held-out items. The generator's
        NDCG@``validation_k`` on ``X_out`` is computed every epoch; training
        stops after ``n_iter_no_change`` epochs without improvement and the
        best epoch's weights are kept.
    noise_dim, g_hidden_sizes, d_hidden_sizes, activation, g_learning_rate, \
d_learning_rate, g_weight_decay, g_steps, d_steps, zr_ratio, pm_ratio, zr_coef, \
item_dropout, condition_dropout, batch_size, max_epochs, n_iter_no_change, \
validation_k
        The estimator's hyper-parameters of the same names
        (:class:`~sklearn_agn.GANAugmenter`).
    device : torch.device
    seed : int
        Seeds weight initialisation, shuffling, noise and negative sampling.
    progress : tqdm progress bar or None
        Advanced once per epoch, with the current losses.

    Returns
    -------
    generator : Generator
        On the CPU, in eval mode.
    history : dict of lists
        ``generator_loss``, ``discriminator_loss``, ``validation_score``
        (NaN without ``validation``), one value per epoch.
    best_epoch : int
        The 1-based epoch whose weights the generator holds.
    """
    n_items = X.shape[1]
    init_gen = torch.Generator().manual_seed(seed)
    # Training draws happen on the training device, from its own generator.
    train_gen = torch.Generator(device=device).manual_seed(seed + 1)

    warm = None
    if item_attributes is not None:
        warm = torch.from_numpy(np.bincount(X.indices, minlength=n_items) > 0)
    G = Generator(
        n_items,
        noise_dim,
        g_hidden_sizes,
        activation,
        item_attributes=None if item_attributes is None else features_tensor(item_attributes),
        warm_items=warm,
        n_user_features=0 if user_attributes is None else user_attributes.shape[1],
    )
    D = Discriminator(n_items, d_hidden_sizes, activation)
    init_weights(G, init_gen)
    init_weights(D, init_gen)
    G.to(device)
    D.to(device)
    fused = device.type == "cuda" or _FUSED_ADAM_ON_CPU
    step = _TrainingStep(
        G,
        D,
        # Adam's coupled weight decay is the gradient of an L2 penalty on G.
        g_optimizer=torch.optim.Adam(
            G.parameters(), lr=g_learning_rate, weight_decay=g_weight_decay, fused=fused
        ),
        d_optimizer=torch.optim.Adam(D.parameters(), lr=d_learning_rate, fused=fused),
        zr_ratio=zr_ratio,
        pm_ratio=pm_ratio,
        zr_coef=zr_coef,
        item_dropout=item_dropout,
        condition_dropout=condition_dropout,
        negatives_allowed=None if warm is None else warm.to(device),
        generator=train_gen,
    )

    def passes(n_passes):
        for _ in range(n_passes):
            yield from _batches(X, user_attributes, batch_size, noise_dim, device, train_gen)

    history = {"generator_loss": [], "discriminator_loss": [], "validation_score": []}
    best_score, best_epoch, best_state, stale = -np.inf, 0, None, 0
    for epoch in range(1, max_epochs + 1):
        G.train()
        d_losses = [step.discriminator(*batch) for batch in passes(d_steps)]
        g_losses = [step.generator(*batch) for batch in passes(g_steps)]
        history["discriminator_loss"].append(float(np.mean(d_losses)))
        history["generator_loss"].append(float(np.mean(g_losses)))
        if validation is None:
            score, best_epoch = float("nan"), epoch
        else:
            G.eval()
            # Scored as the fitted estimator will score (float64): the
            # choice of epoch then does not depend on the CPU either.
            score = validation_ndcg(
                scoring_copy(G, device), *validation, validation_k, batch_size, device, user_attributes=user_attributes
            )
            if score > best_score:
                best_score, best_epoch, stale = score, epoch, 0
                best_state = copy.deepcopy(G.state_dict())
            else:
                stale += 1
        history["validation_score"].append(score)
        if progress is not None:
            progress.update(1)
            progress.set_postfix(
                g_loss=f"{history['generator_loss'][-1]:.4f}",
                d_loss=f"{history['discriminator_loss'][-1]:.4f}",
                val=f"{score:.4f}",
            )
        if validation is not None and stale >= n_iter_no_change:
            break

    if best_state is not None:
        G.load_state_dict(best_state)
    # Kept on the CPU so that a fitted estimator pickles and loads anywhere.
    return G.cpu().eval(), history, best_epoch
