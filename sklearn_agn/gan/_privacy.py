"""User-level differentially private CFGAN training: DP-SGD through Opacus.

One user (one row of ``X``) is the unit of privacy. Every step of either
network reads real rows (the discriminator its real and generated rows, the
generator its condition and zero-reconstruction targets), so both are trained
with DP-SGD: users are drawn by Poisson sampling (each with probability
``sample_rate``, Opacus' sampler), each user's gradient is clipped to
``max_grad_norm`` (the user's two discriminator rows, real and generated, are
one sample), Gaussian noise of ``noise_multiplier * max_grad_norm`` is added to
the sum, and Opacus' RDP accountant composes all the steps of both networks.

The steps run on dense rows through ``nn.Linear`` layers, with plain Adam, not
on the sampled training path of :mod:`._training` (sparse embedding tables,
negatives shared by a batch's rows, lazy Adam): noise is added to every
coordinate of every parameter at every step, so every row of the per-item
tables changes whatever the batch reads, and Opacus computes per-user gradient
norms for its own layers, not for functional ``embedding_bag`` calls. Its
ghost clipping gets them from each layer's input and output gradient, without
per-user gradients (which, materialised, made an epoch 19 times slower on
ML100K). Negatives (PM and ZR) are drawn for each row independently of the
others, so that a user's gradient depends on that user's row alone, as
DP-SGD's analysis assumes.

The lengths of the training rows, which :meth:`GANAugmenter.sample` draws
from, are released as a histogram with the Gaussian mechanism, accounted in
the same budget (a share ``HISTOGRAM_SHARE`` of epsilon).
"""

import dataclasses
import functools
import math
import warnings

import numpy as np
import scipy.sparse as sp
import torch
from scipy.optimize import brentq
from torch import nn
from torch.nn import functional as F

from ._inference import generator_scores, noise, scoring_copy
from ._networks import ACTIVATIONS, Generator, _mlp_tail, init_weights
from ._training import _FUSED_ADAM_ON_CPU, TrainingLog, _negative_counts, _zr_weights

# Share of epsilon spent on the histogram of the row lengths, alone.
HISTOGRAM_SHARE = 0.1


def require_opacus():
    try:
        import opacus  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            "Training GANAugmenter with dp_epsilon needs Opacus, which is not installed: "
            "pip install 'sklearn-agn[privacy]'."
        ) from exc


def alphas():
    """The RDP orders the accountant optimises over: Opacus' defaults, and larger ones.

    The histogram's single full-data release at a small share of epsilon is
    spent best at orders beyond Opacus' defaults (up to 63).
    """
    from opacus.accountants import RDPAccountant

    return RDPAccountant.DEFAULT_ALPHAS + [80, 96, 128, 192, 256, 384, 512, 768, 1024]


def spent_epsilon(history, delta, orders=None):
    """Epsilon of Opacus' RDP accountant for ``history`` at ``delta``, on ``orders``.

    ``orders`` defaults to :func:`alphas`.
    """
    from opacus.accountants import RDPAccountant

    accountant = RDPAccountant()
    accountant.history = list(history)
    return accountant.get_epsilon(delta=delta, alphas=alphas() if orders is None else orders)


# Calibration costs a fraction of a second (Opacus' accountant is plain
# Python), and searches fit the same settings on folds of the same size again
# and again.
@functools.lru_cache(maxsize=64)
def calibrate(epsilon, delta, sample_rate, n_steps):
    """Noise multipliers of the training steps and of the length histogram.

    The histogram (one Gaussian release of the whole data) gets the noise that
    spends ``HISTOGRAM_SHARE * epsilon`` on its own
    (:func:`opacus.accountants.utils.get_noise_multiplier`); the training
    steps the smallest noise such that all of it together spends at most
    ``epsilon`` by Opacus' RDP accountant on its integer orders, where it is
    fast. On all its orders (:func:`alphas`, which the fitted ``epsilon_``
    reports) it spends at most that, a few percent less at large epsilons.

    Returns
    -------
    noise_multiplier, histogram_noise_multiplier : float
    history : tuple of (noise_multiplier, sample_rate, n_steps)
        What the accountant composes, training steps first.
    """
    with warnings.catch_warnings():
        # The searches try noise far off the answer, where the best order is
        # at an end of the range: the bound there is loose, and not used.
        warnings.filterwarnings("ignore", "Optimal order is the", UserWarning)
        return _calibrate(epsilon, delta, sample_rate, n_steps)


def _calibrate(epsilon, delta, sample_rate, n_steps):
    from opacus.accountants.utils import get_noise_multiplier

    try:
        sigma_histogram = get_noise_multiplier(
            target_epsilon=HISTOGRAM_SHARE * epsilon, target_delta=delta, sample_rate=1.0,
            steps=1, alphas=alphas(),
        )
    except ValueError as exc:  # Opacus: "The privacy budget is too low."
        raise ValueError(
            f"dp_epsilon={epsilon} is too small for Opacus' accountant at dp_delta={delta}: "
            "no noise reaches it. Raise dp_epsilon or dp_delta."
        ) from exc
    integers = [order for order in alphas() if float(order).is_integer()]

    def history(sigma):
        return ((sigma, sample_rate, n_steps), (sigma_histogram, 1.0, 1))

    def excess(sigma, orders=integers):
        return spent_epsilon(history(sigma), delta, orders) - epsilon

    # Epsilon falls as the noise grows: bracket the target, then solve.
    low, high = 0.5, 10.0
    while excess(low) < 0:
        low /= 2
    while excess(high) > 0:
        high *= 2
        if high > 1e6:  # Opacus' limit too
            raise ValueError(
                f"dp_epsilon={epsilon} is too small for Opacus' accountant at "
                f"dp_delta={delta}: no noise reaches it. Raise dp_epsilon or dp_delta."
            )
    sigma = brentq(excess, low, high, rtol=1e-4)
    while excess(sigma) > 0:
        sigma *= 1 + 1e-4
    return sigma, sigma_histogram, history(sigma)


def private_row_lengths(lengths, n_items, noise_multiplier, rng):
    """A sample of row lengths drawn from a noisy histogram of ``lengths``.

    The bins are fixed before seeing the data: 0, 1, [2, 4), [4, 8), ... up
    to ``n_items``. A user falls in one bin, so the counts have L2 sensitivity
    1 and Gaussian noise of standard deviation ``noise_multiplier`` makes them
    private. The noisy counts, clipped at zero, then give as many lengths as
    ``lengths`` holds, drawn by bin and uniformly within it (post-processing).
    """
    powers = 2 ** np.arange(int(n_items).bit_length() + 1)
    edges = np.unique(np.minimum(np.concatenate([[0], powers]), n_items + 1))
    counts = np.bincount(np.searchsorted(edges, lengths, side="right") - 1,
                         minlength=len(edges) - 1)
    weights = np.clip(counts + noise_multiplier * rng.standard_normal(counts.size), 0, None)
    if weights.sum() == 0:
        weights = np.ones_like(weights)
    bins = rng.choice(weights.size, size=len(lengths), p=weights / weights.sum())
    return rng.integers(edges[bins], edges[bins + 1])


class DenseGenerator(nn.Module):
    """:class:`~._networks.Generator` without side information, on dense rows.

    Made of ``nn.Linear`` layers, whose per-sample gradients Opacus computes;
    :meth:`to_generator` gives the :class:`Generator` with the same scores.
    """

    def __init__(self, n_items, noise_dim, hidden_sizes, activation):
        super().__init__()
        self.n_items, self.noise_dim = n_items, noise_dim
        self.hidden_sizes, self.activation = hidden_sizes, activation
        self.condition = nn.Linear(n_items, hidden_sizes[0])
        self.noise = nn.Linear(noise_dim, hidden_sizes[0], bias=False)
        self.hidden = _mlp_tail(hidden_sizes[:-1], hidden_sizes[-1])
        self.output = nn.Linear(hidden_sizes[-1], n_items)

    def forward(self, rows, noise_):
        act = ACTIVATIONS[self.activation]
        h = act(self.condition(rows) + self.noise(noise_))
        for layer in self.hidden:
            h = act(layer(h))
        return torch.sigmoid(self.output(h))

    @torch.no_grad()
    def to_generator(self):
        """The :class:`Generator` that scores as this one does, on the CPU."""
        G = Generator(self.n_items, self.noise_dim, self.hidden_sizes, self.activation)
        G.condition_weight.copy_(self.condition.weight.T)
        G.bias.copy_(self.condition.bias)
        G.noise_weight.copy_(self.noise.weight.T)
        G.hidden.load_state_dict(self.hidden.state_dict())
        G.item_weight.copy_(self.output.weight)
        G.item_bias.copy_(self.output.bias)
        return G.cpu()


class DenseDiscriminator(nn.Module):
    """:class:`~._networks.Discriminator` on dense rows, made of ``nn.Linear`` layers."""

    def __init__(self, n_items, hidden_sizes, activation):
        super().__init__()
        self.activation = activation
        self.condition = nn.Linear(n_items, hidden_sizes[0])
        self.input = nn.Linear(n_items, hidden_sizes[0], bias=False)
        self.tail = _mlp_tail(hidden_sizes, 1)

    def forward(self, condition, shown):
        """Logits of "real" of rows ``shown`` (real, or masked generated), shape ``shown[..., 0]``.

        ``condition`` holds the real rows, aligned with ``shown``.
        """
        act = ACTIVATIONS[self.activation]
        h = act(self.condition(condition) + self.input(shown))
        for layer in self.tail[:-1]:
            h = act(layer(h))
        return self.tail[-1](h).squeeze(-1)


def _bce(logits, target):
    return F.binary_cross_entropy_with_logits(
        logits, torch.full_like(logits, target), reduction="none"
    )


class _PrivateStep:
    """One DP-SGD update of the discriminator or of the generator, on a Poisson batch.

    Each step computes one loss per user and hands it to Opacus' ghost
    clipping (:class:`opacus.utils.fast_gradient_clipping_utils.DPTensorFastGradientClipping`):
    a first backward pass gives each user's gradient norm from the layers'
    activations and output gradients, without per-sample gradients, and a
    second one the sum of the clipped gradients; the optimiser adds the noise
    and divides by the expected batch size.
    """

    def __init__(self, G, D, g_optimizer, d_optimizer, config, generator):
        self.G, self.D, self.config = G, D, config
        self.g_optimizer, self.d_optimizer = g_optimizer, d_optimizer
        self.rng = generator

    def _masks(self, rows, zr):
        """PM mask (and ZR mask and weights when ``zr``), drawn row by row.

        A row's negatives are the first of its unobserved items in its own
        random order, PM then ZR, in the counts and ZR weights of the sampled
        path (:func:`._training._negative_counts`), which depend on the row's
        length alone.
        """
        config, n_items = self.config, rows.shape[1]
        lengths = rows.sum(dim=1).cpu().numpy().astype(np.int64)
        pool = config.negatives_per_interaction, config.min_negatives
        pm = torch.as_tensor(_negative_counts(lengths, n_items, config.pm_ratio, *pool),
                             device=rows.device)[:, None]
        keys = torch.rand(rows.shape, device=rows.device, generator=self.rng)
        # Observed items last: a row's counts never exceed its unobserved items.
        order = keys.masked_fill(rows > 0, 2.0).argsort(dim=1)
        position = torch.arange(n_items, device=rows.device)[None, :]

        def mask(chosen):
            # ``chosen`` says which positions of ``order`` to take, row by row.
            return torch.zeros_like(rows).scatter_(1, order, chosen.to(rows.dtype))

        pm_mask = mask(position < pm)
        if not zr:
            return pm_mask, None
        counts = _negative_counts(lengths, n_items, config.zr_ratio, *pool)
        weights = _zr_weights(lengths, n_items, counts, config.zr_ratio).astype(np.float32)
        zr_end = pm + torch.as_tensor(counts, device=rows.device)[:, None]
        zr_mask = mask((position >= pm) & (position < zr_end))
        return pm_mask, zr_mask * torch.as_tensor(weights, device=rows.device)[:, None]

    def _update(self, module, optimizer, losses):
        from opacus.utils.fast_gradient_clipping_utils import DPTensorFastGradientClipping

        optimizer.zero_grad(set_to_none=True)
        DPTensorFastGradientClipping(module, optimizer, losses, loss_reduction="sum").backward()
        optimizer.step()
        return losses.detach().mean().item() if len(losses) else float("nan")

    def discriminator(self, rows, noise_):
        """One discriminator update; returns its mean loss per user."""
        pm_mask, _ = self._masks(rows, zr=False)
        with torch.no_grad():
            fake = self.G(rows, noise_) * (rows + pm_mask)
        # A user's real and generated rows are one sample: one clipped gradient.
        logits = self.D(rows[:, None, :].expand(-1, 2, -1), torch.stack([rows, fake], dim=1))
        losses = _bce(logits[:, 0], 1.0) + _bce(logits[:, 1], 0.0)
        return self._update(self.D, self.d_optimizer, losses)

    def generator(self, rows, noise_):
        """One generator update; returns its mean loss per user."""
        config = self.config
        zr = bool(config.zr_coef and config.zr_ratio)
        pm_mask, zr_weights = self._masks(rows, zr)
        # D is fixed here: no gradient and no norm of its own, through both
        # backward passes.
        self.D.disable_hooks()
        self.D.requires_grad_(False)
        try:
            scores = self.G(rows, noise_)
            losses = _bce(self.D(rows, scores * (rows + pm_mask)), 1.0)
            if zr:
                losses = losses + config.zr_coef * (zr_weights * scores.square()).sum(dim=1)
            return self._update(self.G, self.g_optimizer, losses)
        finally:
            self.D.requires_grad_(True)
            self.D.enable_hooks()


def private_networks(n_items, config, *, noise_multiplier, max_grad_norm, expected_batch_size,
                     device, seed):
    """The networks and optimisers of DP training: ``(G, D, g_optimizer, d_optimizer)``.

    ``G`` and ``D`` are Opacus' ghost-clipping wrappers of a
    :class:`DenseGenerator` and a :class:`DenseDiscriminator`; the optimisers
    are Adam (coupled weight decay on the generator, as on the sampled path)
    wrapped to add seeded noise of ``noise_multiplier * max_grad_norm``.
    """
    from opacus.grad_sample import GradSampleModuleFastGradientClipping
    from opacus.optimizers import DPOptimizerFastGradientClipping

    init_gen = torch.Generator().manual_seed(seed)
    G = DenseGenerator(n_items, config.noise_dim, config.g_hidden_sizes, config.activation)
    D = DenseDiscriminator(n_items, config.d_hidden_sizes, config.activation)
    init_weights(G, init_gen)
    init_weights(D, init_gen)

    fused = device.type == "cuda" or _FUSED_ADAM_ON_CPU

    def private(module, lr, weight_decay, offset):
        module = GradSampleModuleFastGradientClipping(
            module.to(device), batch_first=True, loss_reduction="sum",
            max_grad_norm=max_grad_norm,
        )
        optimizer = DPOptimizerFastGradientClipping(
            torch.optim.Adam(module.parameters(), lr=lr, weight_decay=weight_decay, fused=fused),
            noise_multiplier=noise_multiplier,
            max_grad_norm=max_grad_norm,
            expected_batch_size=expected_batch_size,
            loss_reduction="mean",
            generator=torch.Generator(device=device).manual_seed(seed + offset),
        )
        return module, optimizer

    G, g_optimizer = private(G, config.g_learning_rate, config.g_weight_decay, 1)
    D, d_optimizer = private(D, config.d_learning_rate, 0.0, 2)
    return G, D, g_optimizer, d_optimizer


def fit_private_cfgan(X, config, *, noise_multiplier, max_grad_norm, sample_rate, n_steps_per_pass,
                      device, seed, progress=None):
    """Train a CFGAN generator on the rows of CSR ``X`` (ones: the pattern) with user-level DP-SGD.

    Runs ``config.max_iter`` epochs of ``config.d_steps`` then
    ``config.g_steps`` passes, each pass ``n_steps_per_pass`` steps on
    Poisson batches drawn with ``sample_rate``. The caller accounts for them
    (:func:`calibrate`).

    Returns
    -------
    generator : Generator
        On the CPU, in eval mode.
    log : TrainingLog
    """
    from opacus.utils.uniform_sampler import UniformWithReplacementSampler

    n_users, n_items = X.shape
    G, D, g_optimizer, d_optimizer = private_networks(
        n_items, config, noise_multiplier=noise_multiplier, max_grad_norm=max_grad_norm,
        expected_batch_size=sample_rate * n_users, device=device, seed=seed,
    )
    train_gen = torch.Generator(device=device).manual_seed(seed + 3)
    step = _PrivateStep(G, D, g_optimizer, d_optimizer, config, train_gen)
    sampler = UniformWithReplacementSampler(
        num_samples=n_users, sample_rate=sample_rate,
        generator=torch.Generator().manual_seed(seed + 4), steps=n_steps_per_pass,
    )

    def passes(n_passes):
        for _ in range(n_passes):
            for users in sampler:
                # An empty batch still takes its step: noise alone.
                rows = torch.as_tensor(X[users].toarray(), dtype=torch.float32, device=device)
                yield rows, noise(len(users), config.noise_dim, device, train_gen)

    log = TrainingLog([], [], None)
    for _ in range(config.max_iter):
        with warnings.catch_warnings():
            # Torch warns that the first layers' backward hooks see no input
            # gradient (the rows need none); Opacus reads their output's.
            warnings.filterwarnings("ignore", "Full backward hook is firing", UserWarning)
            d_losses = [step.discriminator(*batch) for batch in passes(config.d_steps)]
            g_losses = [step.generator(*batch) for batch in passes(config.g_steps)]
        log.discriminator_loss_curve.append(float(np.nanmean(d_losses)))
        log.loss_curve.append(float(np.nanmean(g_losses)))
        if progress is not None:
            progress.update(1)
            progress.set_postfix(g_loss=f"{log.loss_curve[-1]:.4f}",
                                 d_loss=f"{log.discriminator_loss_curve[-1]:.4f}")
    return G._module.to_generator().eval(), log


@dataclasses.dataclass
class PrivateFit:
    """What :func:`fit` returns: the generator, its log, and what was released and spent."""

    generator: Generator
    log: TrainingLog
    item_popularity: np.ndarray
    row_lengths: np.ndarray
    epsilon: float
    noise_multiplier: float


def fit(X, config, *, epsilon, delta, max_grad_norm, device, seed, progress=None):
    """Train a CFGAN generator on canonical CSR ``X`` within an ``(epsilon, delta)`` budget.

    Users are Poisson-sampled with the rate of Opacus' data loader for
    ``config.batch_size`` (one over the number of batches of a pass), for
    ``config.max_iter * (config.d_steps + config.g_steps)`` passes; the noise
    is calibrated by :func:`calibrate` for all of them plus the histogram of
    the row lengths.

    Returns
    -------
    PrivateFit
        ``item_popularity`` is the generator's scores of an empty row (noise
        at its mean), so that :meth:`GANAugmenter.sample` draws a row's first
        item from the private generator, not from the data; ``row_lengths``
        is drawn from the private histogram (:func:`private_row_lengths`);
        ``epsilon`` is what Opacus' accountant says all of it spent.
    """
    n_users, n_items = X.shape
    n_steps_per_pass = math.ceil(n_users / config.batch_size)
    sample_rate = 1 / n_steps_per_pass
    n_steps = config.max_iter * (config.d_steps + config.g_steps) * n_steps_per_pass
    sigma, sigma_histogram, history = calibrate(epsilon, delta, sample_rate, n_steps)
    generator, log = fit_private_cfgan(
        X, config, noise_multiplier=sigma, max_grad_norm=max_grad_norm, sample_rate=sample_rate,
        n_steps_per_pass=n_steps_per_pass, device=device, seed=seed, progress=progress,
    )
    row_lengths = private_row_lengths(
        np.diff(X.indptr), n_items, sigma_histogram, np.random.default_rng(seed + 5)
    )
    empty_row = sp.csr_matrix((1, n_items))
    popularity = generator_scores(scoring_copy(generator, device), device, empty_row, 1)
    return PrivateFit(generator, log, popularity[0].astype(np.float64), row_lengths,
                      spent_epsilon(history, delta), sigma)
