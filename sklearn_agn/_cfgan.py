"""CFGAN networks, training loop and scoring (Chae et al., CIKM 2018).

Everything here takes canonical CSR matrices, numpy arrays or tensors and
returns arrays; parameter validation and the scikit-learn API live in
:mod:`sklearn_agn.augmentation`.

The generator reads a user's row (the condition) through an ``embedding_bag``
sum, i.e. a sparse-times-dense product, so a row is never densified on the way
in; the only dense tensors are ``(batch_size, n_items)`` outputs and masks.
It is trained with CFGAN's "ZP" scheme: the discriminator sees the generated
scores only on the user's observed items plus a random sample of unobserved
ones (partial masking, PM), and the generator is pulled to zero on another
random sample of unobserved items (zero reconstruction, ZR). Without them the
generator wins trivially by scoring every item 1.
"""

import copy
import math

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from torch.torch_version import TorchVersion

from .metrics import ndcg_at_k

_ACTIVATIONS = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu}

# The fused Adam kernel is several times faster on CPU for these wide layers,
# but CPU support only arrived in torch 2.4.
_FUSED_ADAM_ON_CPU = TorchVersion(torch.__version__) >= "2.4"


class _SparseRows:
    """A batch of binary sparse rows in the layout ``embedding_bag`` reads."""

    def __init__(self, rows, indices, n_rows, n_cols):
        # ``rows``/``indices``: row-sorted coordinates of the ones.
        self.n_rows, self.n_cols = n_rows, n_cols
        self.rows, self.indices = rows, indices
        counts = torch.bincount(rows, minlength=n_rows)
        self.offsets = torch.cumsum(counts, 0) - counts

    @classmethod
    def from_csr(cls, X, device):
        """The sparsity pattern of CSR ``X`` (its values are ignored)."""
        counts = np.diff(X.indptr)
        rows = torch.from_numpy(np.repeat(np.arange(X.shape[0]), counts)).to(device)
        indices = torch.from_numpy(X.indices.astype(np.int64)).to(device)
        return cls(rows, indices, *X.shape)

    def dense_mask(self):
        """The rows as a dense float 0/1 tensor of shape ``(n_rows, n_cols)``."""
        mask = torch.zeros(self.n_rows, self.n_cols, device=self.indices.device)
        mask[self.rows, self.indices] = 1
        return mask


def _sparse_linear(rows, weight):
    """``rows @ weight`` for binary sparse ``rows``; ``weight`` is (n_items, width)."""
    return F.embedding_bag(rows.indices, weight, rows.offsets, mode="sum")


def _mlp_tail(sizes, out_features):
    """The linear layers after the first: ``sizes[0] -> ... -> out_features``."""
    widths = list(sizes) + [out_features]
    return nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:]))


class Generator(nn.Module):
    """Condition (a sparse user row) + noise -> a score in (0, 1) for every item."""

    def __init__(self, n_items, noise_dim, hidden_sizes, activation):
        super().__init__()
        self.noise_dim = noise_dim
        self.activation = activation
        self.condition_weight = nn.Parameter(torch.empty(n_items, hidden_sizes[0]))
        self.noise_weight = nn.Parameter(torch.empty(noise_dim, hidden_sizes[0]))
        self.bias = nn.Parameter(torch.empty(hidden_sizes[0]))
        self.tail = _mlp_tail(hidden_sizes, n_items)

    def forward(self, rows, noise):
        act = _ACTIVATIONS[self.activation]
        h = act(_sparse_linear(rows, self.condition_weight) + noise @ self.noise_weight + self.bias)
        for layer in self.tail[:-1]:
            h = act(layer(h))
        return torch.sigmoid(self.tail[-1](h))


class Discriminator(nn.Module):
    """(condition, real row or masked generated row) -> logit of "real"."""

    def __init__(self, n_items, hidden_sizes, activation):
        super().__init__()
        self.activation = activation
        self.condition_weight = nn.Parameter(torch.empty(n_items, hidden_sizes[0]))
        self.input_weight = nn.Parameter(torch.empty(n_items, hidden_sizes[0]))
        self.bias = nn.Parameter(torch.empty(hidden_sizes[0]))
        self.tail = _mlp_tail(hidden_sizes, 1)

    def forward(self, rows, fake=None):
        """Logits for the real rows (``fake is None``) or a dense generated batch."""
        act = _ACTIVATIONS[self.activation]
        h = _sparse_linear(rows, self.condition_weight) + self.bias
        if fake is None:
            # In user-based CFGAN the real row is the condition itself.
            h = h + _sparse_linear(rows, self.input_weight)
        else:
            h = h + fake @ self.input_weight
        h = act(h)
        for layer in self.tail[:-1]:
            h = act(layer(h))
        return self.tail[-1](h).squeeze(1)


def _init_weights(module, generator):
    """Glorot-uniform weights and small uniform biases, drawn from ``generator``.

    Drawing from an explicit ``torch.Generator`` rather than torch's global
    seed makes a fit reproducible from ``random_state`` alone.
    """
    with torch.no_grad():
        for param in module.parameters():
            if param.ndim == 2:
                bound = math.sqrt(6.0 / sum(param.shape))
                param.uniform_(-bound, bound, generator=generator)
            else:
                param.uniform_(-0.01, 0.01, generator=generator)


def _batches(n_rows, batch_size):
    for start in range(0, n_rows, batch_size):
        yield slice(start, min(start + batch_size, n_rows))


def _noise(n_rows, noise_dim, device, generator=None):
    """Standard normal noise, or its mean (zeros) when ``generator`` is None."""
    if generator is None:
        return torch.zeros(n_rows, noise_dim, device=device)
    return torch.randn(n_rows, noise_dim, device=device, generator=generator)


def _negative_sample(observed, ratio, generator):
    """Keep each unobserved item of each row with probability ``ratio``."""
    draw = torch.rand(observed.shape, device=observed.device, generator=generator)
    return ((draw < ratio) & (observed == 0)).to(observed.dtype)


def _bce(logits, target):
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


def fit_cfgan(X, *, validation, params, device, seed, progress):
    """Train a CFGAN generator on the sparsity pattern of canonical CSR ``X``.

    Parameters
    ----------
    X : csr_matrix of shape (n_users, n_items)
        Training rows; stored entries are interactions.
    validation : tuple of two csr_matrix or None
        ``(X_in, X_out)``: rows to condition on and their held-out items. The
        generator's NDCG@``params["validation_k"]`` on ``X_out`` is computed
        every epoch; training stops after ``params["n_iter_no_change"]``
        epochs without improvement and the best epoch's weights are kept.
    params : dict
        The estimator's network and optimisation hyper-parameters.
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
    n_rows, n_items = X.shape
    p = params
    init_gen = torch.Generator().manual_seed(seed)
    # Training draws happen on the training device, from its own generator.
    train_gen = torch.Generator(device=device).manual_seed(seed + 1)

    G = Generator(n_items, p["noise_dim"], p["g_hidden_sizes"], p["activation"])
    D = Discriminator(n_items, p["d_hidden_sizes"], p["activation"])
    _init_weights(G, init_gen)
    _init_weights(D, init_gen)
    G.to(device)
    D.to(device)
    fused = device.type == "cuda" or _FUSED_ADAM_ON_CPU
    # Adam's coupled weight decay is the gradient of an L2 penalty on G.
    g_opt = torch.optim.Adam(
        G.parameters(), lr=p["g_learning_rate"], weight_decay=p["alpha"], fused=fused
    )
    d_opt = torch.optim.Adam(D.parameters(), lr=p["d_learning_rate"], fused=fused)

    def batches():
        order = torch.randperm(n_rows, generator=train_gen, device=device).cpu().numpy()
        for part in _batches(n_rows, p["batch_size"]):
            rows = _SparseRows.from_csr(X[order[part]], device)
            noise = _noise(rows.n_rows, p["noise_dim"], device, train_gen)
            yield rows, rows.dense_mask(), noise

    def masked(scores, observed):
        # PM: the discriminator sees the scores on the observed items and on
        # a sample of unobserved ones, where a real row holds zeros.
        return scores * (observed + _negative_sample(observed, p["pm_ratio"], train_gen))

    history = {"generator_loss": [], "discriminator_loss": [], "validation_score": []}
    best_score, best_epoch, best_state, stale = -np.inf, 0, None, 0
    for epoch in range(1, p["max_epochs"] + 1):
        G.train()
        d_losses = []
        for _ in range(p["d_steps"]):
            for rows, observed, noise in batches():
                with torch.no_grad():
                    fake = masked(G(rows, noise), observed)
                loss = _bce(D(rows), 1.0) + _bce(D(rows, fake), 0.0)
                d_opt.zero_grad()
                loss.backward()
                d_opt.step()
                d_losses.append(loss.item())

        g_losses = []
        for _ in range(p["g_steps"]):
            for rows, observed, noise in batches():
                scores = G(rows, noise)
                loss = _bce(D(rows, masked(scores, observed)), 1.0)
                if p["zr_coef"] and p["zr_ratio"]:
                    zero = _negative_sample(observed, p["zr_ratio"], train_gen)
                    loss = loss + p["zr_coef"] * (scores.square() * zero).sum(dim=1).mean()
                g_opt.zero_grad()
                loss.backward()
                g_opt.step()
                g_losses.append(loss.item())

        history["discriminator_loss"].append(float(np.mean(d_losses)))
        history["generator_loss"].append(float(np.mean(g_losses)))
        if validation is None:
            score, best_epoch = float("nan"), epoch
        else:
            G.eval()
            score = validation_ndcg(G, *validation, p["validation_k"], p["batch_size"], device)
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
        if validation is not None and stale >= p["n_iter_no_change"]:
            break

    if best_state is not None:
        G.load_state_dict(best_state)
    # Kept on the CPU so that a fitted estimator pickles and loads anywhere.
    return G.cpu().eval(), history, best_epoch


@torch.no_grad()
def generator_scores(G, device, X, batch_size):
    """Dense ``(n_rows, n_items)`` float32 generator scores for the rows of CSR ``X``.

    The noise is held at its mean (zero) so that scores are deterministic.
    """
    out = np.empty(X.shape, dtype=np.float32)
    for part in _batches(X.shape[0], batch_size):
        rows = _SparseRows.from_csr(X[part], device)
        out[part] = G(rows, _noise(rows.n_rows, G.noise_dim, device)).cpu().numpy()
    return out


@torch.no_grad()
def top_unobserved(G, device, X, n_top, batch_size):
    """The ``n_top[r]`` best-scored unobserved items of each row ``r`` of CSR ``X``.

    Noise is held at its mean. ``n_top[r]`` must not exceed the row's number
    of unobserved items; rows with ``n_top == 0`` are not scored.

    Returns
    -------
    rows, items : ndarray of int
    scores : ndarray of float32
        Coordinates and generator scores of the chosen items.
    """
    targets = np.flatnonzero(n_top > 0)
    rows_out, items_out, scores_out = [], [], []
    for part in _batches(len(targets), batch_size):
        batch_rows = targets[part]
        rows = _SparseRows.from_csr(X[batch_rows], device)
        scores = G(rows, _noise(len(batch_rows), G.noise_dim, device))
        scores[rows.rows, rows.indices] = -torch.inf
        want = n_top[batch_rows]
        values, items = torch.topk(scores, int(want.max()), dim=1)
        keep = np.arange(values.shape[1])[None, :] < want[:, None]
        rows_out.append(np.broadcast_to(batch_rows[:, None], keep.shape)[keep])
        items_out.append(items.cpu().numpy()[keep])
        scores_out.append(values.cpu().numpy()[keep])
    if not rows_out:
        return np.empty(0, np.intp), np.empty(0, np.intp), np.empty(0, np.float32)
    return np.concatenate(rows_out), np.concatenate(items_out), np.concatenate(scores_out)


@torch.no_grad()
def validation_ndcg(G, X_in, X_out, k, batch_size, device):
    """NDCG@k of the generator's ranking of the unobserved items of ``X_in`` against ``X_out``."""
    k = min(k, X_in.shape[1])
    ranked = np.empty((X_in.shape[0], k), dtype=np.intp)
    for part in _batches(X_in.shape[0], batch_size):
        rows = _SparseRows.from_csr(X_in[part], device)
        scores = G(rows, _noise(rows.n_rows, G.noise_dim, device))
        scores[rows.rows, rows.indices] = -torch.inf
        ranked[part] = torch.topk(scores, k, dim=1).indices.cpu().numpy()
    return ndcg_at_k(X_out, ranked, k)


@torch.no_grad()
def sample_rows(G, device, item_popularity, lengths, batch_size, *, seed):
    """Grow brand-new rows of the given ``lengths`` with the generator.

    Each row starts from one item drawn with probability proportional to
    ``item_popularity``. Then, round after round, the generator scores the
    catalogue conditioned on the items drawn so far (with fresh noise) and the
    row draws as many new items as it already has, capped by its target
    length, without replacement, weighted by the odds ``s / (1 - s)`` of each
    item's score ``s`` (Gumbel top-k on the logits): close to independent
    Bernoulli(``s``) draws conditioned on how many items are drawn. Rows at
    most double per round, so a row of length ``L`` takes about ``log2(L)``
    rounds.

    Returns
    -------
    rows, items : ndarray of int
        Coordinates of the drawn items, row-sorted.
    """
    generator = torch.Generator(device=device).manual_seed(seed)
    n_items = len(item_popularity)
    popularity = torch.as_tensor(item_popularity, dtype=torch.float32, device=device)
    rows_out, items_out = [np.empty(0, np.int64)], [np.empty(0, np.int64)]
    for part in _batches(len(lengths), batch_size):
        target = torch.as_tensor(lengths[part], device=device)
        if not (target > 0).any():
            # Nothing to draw (and no popularity to draw from if X was empty).
            continue
        n_rows = len(target)
        arange = torch.arange(n_rows, device=device)
        chosen = torch.zeros(n_rows, n_items, dtype=torch.bool, device=device)
        first = torch.multinomial(popularity.expand(n_rows, n_items), 1, generator=generator)
        chosen[arange, first.squeeze(1)] = target > 0
        while True:
            have = chosen.sum(dim=1)
            need = torch.minimum(torch.clamp(have, min=1), target - have)
            if not (need > 0).any():
                break
            pattern = _SparseRows(*chosen.nonzero(as_tuple=True), n_rows, n_items)
            scores = G(pattern, _noise(n_rows, G.noise_dim, device, generator))
            uniform = torch.rand(scores.shape, device=device, generator=generator)
            gumbel = -torch.log(-torch.log(uniform.clamp(1e-12, 1 - 1e-7)))
            keys = torch.logit(scores, eps=1e-6) + gumbel
            keys[chosen] = -torch.inf
            k = int(need.max())
            picks = torch.topk(keys, k, dim=1).indices
            take = torch.arange(k, device=device)[None, :] < need[:, None]
            chosen[arange[:, None].expand(-1, k)[take], picks[take]] = True
        rows_idx, items_idx = chosen.nonzero(as_tuple=True)
        rows_out.append(rows_idx.cpu().numpy() + part.start)
        items_out.append(items_idx.cpu().numpy())
    return np.concatenate(rows_out), np.concatenate(items_out)
