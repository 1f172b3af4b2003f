"""Scoring with a trained CFGAN generator: scores, top items per row, top rows per item, samples.

Noise is held at its mean (zero) except in :func:`sample_rows`, so that scores
are deterministic. Every function works in batches of ``batch_size`` rows, in
the dtype of the generator it is given: estimators score with the float64
copy of :func:`scoring_copy`, so that a row's scores do not depend on the
other rows of its batch (see there).
"""

import copy

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.utils import gen_batches

from ..metrics import ndcg_at_k
from ._networks import SparseRows


def scoring_copy(G, device):
    """A float64 copy of generator ``G`` on ``device``, for inference.

    In float32 a matrix product's result for one row can change in the last
    bit with the rows around it: BLAS kernels block the rows of a batch, and
    which kernel (hence which order of the sums) a row gets depends on its
    position, the batch size and the CPU. Then a user's scores, and the items
    chosen by ranking them, would depend on who else is in the call. In
    float64 these differences are about 1e-16, so the scores rounded to
    float32 at the end are the same for a row alone or anywhere in a batch
    (unless one lands within 1e-16 of a float32 rounding boundary).
    """
    return copy.deepcopy(G).to(device=device, dtype=torch.float64)


def _dtype(G):
    return next(G.parameters()).dtype


def noise(n_rows, noise_dim, device, generator=None, dtype=torch.float32):
    """Standard normal noise, or its mean (zeros) when ``generator`` is None.

    Drawn in float32 whatever ``dtype``, so that a seed draws the same noise.
    """
    if generator is None:
        return torch.zeros(n_rows, noise_dim, device=device, dtype=dtype)
    return torch.randn(n_rows, noise_dim, device=device, generator=generator).to(dtype)


def user_features_batch(user_attributes, rows, device, dtype=torch.float32):
    """Dense user attributes of ``rows`` as a tensor of ``dtype`` (None passes through)."""
    if user_attributes is None:
        return None
    batch = user_attributes[rows]
    if sp.issparse(batch):
        batch = batch.toarray()
    return torch.as_tensor(np.asarray(batch), device=device, dtype=dtype)


def _batch_scores(G, X, part, device, user_attributes):
    """Generator scores of the rows ``part`` of ``X`` and their sparse pattern."""
    dtype = _dtype(G)
    rows = SparseRows.from_csr(X[part], device)
    h = noise(rows.n_rows, G.noise_dim, device, dtype=dtype)
    return G(rows, h, user_features_batch(user_attributes, part, device, dtype)), rows


@torch.no_grad()
def generator_scores(G, device, X, batch_size, user_attributes=None):
    """Dense ``(n_rows, n_items)`` float32 generator scores for the rows of CSR ``X``."""
    out = np.empty(X.shape, dtype=np.float32)
    for part in gen_batches(X.shape[0], batch_size):
        out[part] = _batch_scores(G, X, part, device, user_attributes)[0].float().cpu().numpy()
    return out


@torch.no_grad()
def top_unobserved(G, device, X, n_top, batch_size, user_attributes=None):
    """The ``n_top[r]`` best-scored unobserved items of each row ``r`` of CSR ``X``.

    ``n_top[r]`` must not exceed the row's number of unobserved items; rows
    with ``n_top == 0`` are not scored.

    Returns
    -------
    rows, items : ndarray of int
    scores : ndarray of float32
        Coordinates and generator scores of the chosen items.
    """
    targets = np.flatnonzero(n_top > 0)
    if targets.size == 0:
        return np.empty(0, np.intp), np.empty(0, np.intp), np.empty(0, np.float32)
    rows_out, items_out, scores_out = [], [], []
    for part in gen_batches(len(targets), batch_size):
        batch_rows = targets[part]
        scores, rows = _batch_scores(G, X, batch_rows, device, user_attributes)
        scores[rows.rows, rows.indices] = -torch.inf
        want = n_top[batch_rows]
        values, items = torch.topk(scores, int(want.max()), dim=1)
        keep = np.arange(values.shape[1])[None, :] < want[:, None]
        rows_out.append(np.broadcast_to(batch_rows[:, None], keep.shape)[keep])
        items_out.append(items.cpu().numpy()[keep])
        scores_out.append(values.float().cpu().numpy()[keep])
    return np.concatenate(rows_out), np.concatenate(items_out), np.concatenate(scores_out)


@torch.no_grad()
def top_rows(G, device, X, items, n_top, batch_size, user_attributes=None):
    """The ``n_top`` rows of CSR ``X`` that score each of ``items`` highest, where unobserved.

    A running top-``n_top`` per item is merged batch after batch, so memory
    stays ``(batch_size + n_top) * len(items)``.

    Returns
    -------
    rows, items : ndarray of int
    scores : ndarray of float32
        Coordinates and generator scores of the chosen entries (entries the
        row already holds are never chosen).
    """
    n_items = len(items)
    if n_items == 0 or n_top == 0:
        return np.empty(0, np.intp), np.empty(0, np.intp), np.empty(0, np.float32)
    columns = torch.as_tensor(items, dtype=torch.int64, device=device)
    best = torch.full((0, n_items), -torch.inf, device=device, dtype=_dtype(G))
    best_rows = torch.empty((0, n_items), dtype=torch.int64, device=device)
    X_items = X[:, items].tocsr()
    for part in gen_batches(X.shape[0], batch_size):
        scores = _batch_scores(G, X, part, device, user_attributes)[0][:, columns]
        held = torch.as_tensor(X_items[part].toarray() > 0, device=device)
        scores[held] = -torch.inf
        row_ids = torch.arange(part.start, part.stop, device=device)[:, None].expand(-1, n_items)
        best = torch.cat([best, scores])
        best_rows = torch.cat([best_rows, row_ids])
        k = min(n_top, best.shape[0])
        best, order = torch.topk(best, k, dim=0)
        best_rows = torch.gather(best_rows, 0, order)
    keep = torch.isfinite(best)
    item_ids = torch.as_tensor(items, device=device)[None, :].expand_as(best)
    return (
        best_rows[keep].cpu().numpy(),
        item_ids[keep].cpu().numpy(),
        best[keep].float().cpu().numpy(),
    )


@torch.no_grad()
def validation_ndcg(G, X_in, X_out, k, batch_size, device, user_attributes=None):
    """NDCG@k of the generator's ranking of the unobserved items of ``X_in`` against ``X_out``."""
    k = min(k, X_in.shape[1])
    ranked = np.empty((X_in.shape[0], k), dtype=np.intp)
    for part in gen_batches(X_in.shape[0], batch_size):
        scores, rows = _batch_scores(G, X_in, part, device, user_attributes)
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
    rounds. A generator conditioned on user attributes is sampled with them
    unknown (zero).

    Returns
    -------
    rows, items : ndarray of int
        Coordinates of the drawn items, row-sorted.
    """
    generator = torch.Generator(device=device).manual_seed(seed)
    scores_dtype = _dtype(G)
    n_items = len(item_popularity)
    popularity = torch.as_tensor(item_popularity, dtype=torch.float32, device=device)
    rows_out, items_out = [np.empty(0, np.int64)], [np.empty(0, np.int64)]
    for part in gen_batches(len(lengths), batch_size):
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
            pattern = SparseRows(*chosen.nonzero(as_tuple=True), n_rows, n_items)
            scores = G(pattern, noise(n_rows, G.noise_dim, device, generator, scores_dtype))
            uniform = torch.rand(scores.shape, device=device, generator=generator).to(scores_dtype)
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
