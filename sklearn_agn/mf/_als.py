"""Weighted alternating least squares for implicit feedback (Hu, Koren & Volinsky 2008).

The entry point of the ALS modules: :func:`als` alternates between the user
and the item half-sweeps of fit (evaluating the objective after each sweep
when it has a tolerance); :func:`solve_rows` solves the rows of one
half-sweep exactly (fold-in), :func:`solve` by the model's solver
(``partial_fit``'s item update). The model, its objective and its equations
are in :mod:`sklearn_agn.mf._als_equations`, the two solvers in
:mod:`sklearn_agn.mf._als_cholesky` (exact) and :mod:`sklearn_agn.mf._als_cg`
(conjugate gradient), the thread policy in :mod:`sklearn_agn._threads`.
"""

from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp
import torch

from .._threads import torch_num_threads
from .._validation import entry_ids
from ._als_cg import conjugate_gradient, solve_rows_cg
from ._als_cholesky import solve_rows
from ._als_equations import entry_coefficients, real_counts, row_lambdas
from ._sparse_pattern import SparsePattern

__all__ = ["SOLVERS", "ALSResult", "als", "solve", "solve_rows"]

SOLVERS = ("cholesky", "cg")

# Below this many interactions, one block: the threads would cost more than they save.
_MIN_BLOCK_NNZ = 2**16


class ALSResult(NamedTuple):
    """What :func:`als` returns."""

    #: The users' factors of the last sweep, shape (n_users, n_factors).
    users: torch.Tensor
    #: The items' factors, solved against ``users``, shape (n_items, n_factors).
    items: torch.Tensor
    #: The number of sweeps run.
    n_iter: int
    #: The objective after each sweep run; None without ``tol``.
    loss_curve: list | None
    #: Whether ``tol`` stopped the sweeps (False without ``tol``).
    converged: bool


def als(R, item_factors, *, n_iter, alpha, regularization, regularization_exponent,
        preferences=None, real=None, solver="cg", cg_steps=3, tol=None, n_threads=None,
        callback=None):
    """Alternate at most ``n_iter`` times between user and item least squares.

    With ``tol``, the objective of :mod:`sklearn_agn.mf._als_equations` is
    evaluated after every sweep (users, then items), and the sweeps stop once
    it decreases by less than ``tol`` times its previous value. Without, it is
    not evaluated: it costs about a tenth of a CG sweep.

    With ``n_threads`` (CPU only, from ``_MIN_BLOCK_NNZ`` interactions on) the
    rows (then the columns) are split into ``n_threads`` blocks of about equal
    work, solved side by side by a pool of Python threads each running torch
    single-threaded (torch releases the GIL): a few long parallel tasks per
    half-sweep, rather than many short parallel regions per operation, which
    degrade badly when the cores are shared with other processes. Every row's
    solution depends on its own data only, so the blocks do not change the
    results beyond rounding. ``n_threads=None`` runs one block and leaves
    torch's thread count alone.

    Parameters
    ----------
    R : csr_matrix of shape (n_users, n_items)
        Canonical interaction matrix.
    item_factors : torch.Tensor of shape (n_items, n_factors)
        Starting item factors (random, or the current ones when warm); not
        modified.
    n_iter : int
        Largest number of sweeps.
    alpha, regularization, regularization_exponent : float
        Confidence scale and penalty (see :mod:`sklearn_agn.mf._als_equations`).
    preferences : ndarray of shape (R.nnz,), default=None
        Preference of every stored entry, aligned with ``R.data``; None: all 1.
    real : ndarray of bool of shape (R.nnz,), default=None
        Which stored entries are real (they set the penalties); None: all.
    solver : {"cholesky", "cg"}, default="cg"
        Exact batched Cholesky solves, or ``cg_steps`` conjugate-gradient
        steps warm-started from the previous sweep (user factors start at 0).
    cg_steps : int, default=3
        CG steps per half-sweep with ``solver="cg"``.
    tol : float, default=None
        Stop once ``loss[k-1] - loss[k] < tol * loss[k-1]``; None: run
        ``n_iter`` sweeps, the objective not evaluated.
    n_threads : int, default=None
        Number of blocks solved side by side (see above).
    callback : callable, default=None
        Called as ``callback(n_sweeps, loss)`` after every sweep (progress
        bars); ``loss`` is None without ``tol``.

    Returns
    -------
    result : ALSResult
    """
    if solver not in SOLVERS:
        raise ValueError(f"solver must be one of {SOLVERS}, got {solver!r}.")
    params = dict(alpha=alpha, regularization=regularization,
                  regularization_exponent=regularization_exponent)
    n_blocks = 1
    if n_threads is not None and item_factors.device.type == "cpu" \
            and R.nnz >= _MIN_BLOCK_NNZ:
        n_blocks = max(1, min(n_threads, R.shape[0], R.shape[1]))
    n_sweeps, loss_curve, converged = 0, None if tol is None else [], False
    with _BlockRunner(n_blocks) as run:
        if solver == "cg":
            sweeps = _cg_sweeps(R, item_factors, preferences, real, cg_steps=cg_steps,
                                with_loss=tol is not None, run=run, **params)
        else:
            sweeps = _cholesky_sweeps(R, item_factors, preferences, real,
                                      with_loss=tol is not None, run=run, **params)
        for users, items, loss in sweeps:
            n_sweeps += 1
            if callback is not None:
                callback(n_sweeps, loss)
            if tol is not None:
                loss_curve.append(loss)
                converged = n_sweeps > 1 and loss_curve[-2] - loss < tol * loss_curve[-2]
            if converged or n_sweeps == n_iter:
                break
    return ALSResult(users, items, n_sweeps, loss_curve, converged)


def solve(R, Y, x0=None, *, solver, cg_steps, **equations):
    """The factors of the rows of ``R`` against fixed factors ``Y``, by ``solver``.

    "cholesky" solves exactly (:func:`solve_rows`, ``x0`` unused); "cg" runs
    ``cg_steps`` conjugate-gradient steps from ``x0`` (zeros if None).
    ``equations``: the keyword arguments of :func:`solve_rows`.
    """
    if solver == "cg":
        return solve_rows_cg(R, Y, x0, cg_steps=cg_steps, **equations)
    return solve_rows(R, Y, **equations)


class _Loss:
    """The objective of ALS at given factors, with the dense part by the Gram trick.

    The squared error over every pair ``(u, i)``, ``sum c_ui (p_ui -
    s_ui)^2`` with ``s_ui = x_u . y_i``, is the error of a matrix of zeros
    with confidence 1, ``sum s_ui^2 = <X^T X, Y^T Y>`` (Frobenius product
    of the two Gram matrices), corrected on the stored entries by ``c (p -
    s)^2 - s^2 = c p^2 - 2 c p s + (c - 1) s^2``; the penalties
    ``lambda |x|^2`` of every user and item are added as the solvers apply
    them. Cost ``O(nnz * f + (n_users + n_items) * f^2)``, a fraction of a
    sweep's. The products are those of the solver's dtype (whose rounding
    bounds the precision of the factors anyway), summed in float64.

    Parameters
    ----------
    parts : list of (SparsePattern, slice, torch.Tensor, torch.Tensor)
        Per block of rows: the pattern of its entries, its rows, and the
        ``c - 1`` and ``c p`` of its entries in the pattern's order.
    weights, targets : ndarray of shape (nnz,)
        ``c - 1`` and ``c p`` of every stored entry (any order).
    user_lambdas, item_lambdas : ndarray
        The penalty of every user and of every item.
    device : torch.device
    """

    def __init__(self, parts, weights, targets, user_lambdas, item_lambdas, device):
        self.parts = parts
        self.constant = float(np.sum(targets**2 / (1.0 + weights)))  # sum of c p^2
        self.user_lambdas, self.item_lambdas = (
            torch.from_numpy(np.asarray(lambdas, dtype=np.float64)).to(device)
            for lambdas in (user_lambdas, item_lambdas))

    def __call__(self, users, items):
        loss = self.constant
        for pattern, rows, weights, targets in self.parts:
            s = pattern.sddmm(users[rows], items)
            loss += float((weights * s - 2.0 * targets).mul_(s).sum(dtype=torch.float64))
        user_gram, user_penalty = _gram_and_penalty(users, self.user_lambdas)
        item_gram, item_penalty = _gram_and_penalty(items, self.item_lambdas)
        return loss + float(torch.sum(user_gram * item_gram) + user_penalty + item_penalty)


def _gram_and_penalty(factors, lambdas):
    """``factors.T @ factors`` and ``sum lambda |factor|^2``, in float64 from ``factors``' dtype."""
    norms = torch.einsum("ij,ij->i", factors, factors)
    return (factors.T @ factors).double(), lambdas @ norms.double()


class _BlockRunner:
    """Runs a list of thunks on ``n_blocks`` threads, torch single-threaded meanwhile."""

    def __init__(self, n_blocks):
        self.n_blocks = n_blocks

    def __enter__(self):
        self._pool = None
        if self.n_blocks > 1:
            self._single_threaded = torch_num_threads(1)
            self._single_threaded.__enter__()
            self._pool = ThreadPoolExecutor(max_workers=self.n_blocks,
                                            thread_name_prefix="sklearn_agn_als")
        return self

    def __exit__(self, *exc):
        if self._pool is not None:
            self._pool.shutdown()
            self._single_threaded.__exit__(*exc)

    def blocks(self, weights):
        """Contiguous slices of about equal total ``weights``, one per block."""
        if self.n_blocks == 1:
            return [slice(0, len(weights))]
        cumulative = np.cumsum(weights, dtype=np.float64)
        cuts = np.searchsorted(cumulative, cumulative[-1] * np.arange(1, self.n_blocks)
                               / self.n_blocks)
        bounds = np.unique(np.concatenate([[0], cuts, [len(weights)]]))
        return [slice(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:])]

    def __call__(self, thunks):
        if self._pool is None:
            for thunk in thunks:
                thunk()
            return
        futures = [self._pool.submit(thunk) for thunk in thunks]
        for future in futures:
            future.result()


def transpose_entries(R, *per_entry):
    """``R.T`` as canonical CSR, with per-entry arrays (or None) reordered to match."""
    ids = entry_ids(R).T.tocsr()
    order = ids.data - 1
    Rt = sp.csr_matrix((R.data[order], ids.indices, ids.indptr), shape=ids.shape)
    return (Rt, *(None if a is None else a[order] for a in per_entry))


def _row_entries(R, block, values):
    """The entries of ``values`` (aligned with ``R.data``) in the rows ``block``."""
    return None if values is None else values[R.indptr[block.start]:R.indptr[block.stop]]


def _cholesky_sweeps(R, item_factors, preferences, real, *, with_loss, run, alpha,
                     regularization, regularization_exponent):
    """Exact sweeps: yields the users, the items and the objective (or None) after each."""
    params = dict(alpha=alpha, regularization=regularization,
                  regularization_exponent=regularization_exponent)
    Rt, preferences_t, real_t = transpose_entries(R, preferences, real)
    device, dtype = item_factors.device, item_factors.dtype
    loss = None
    if with_loss:
        weights, targets = entry_coefficients(R.data, alpha, preferences)
        loss = _Loss([(SparsePattern(R, device, dtype), slice(None),
                       *(torch.from_numpy(v).to(device=device, dtype=dtype)
                         for v in (weights, targets)))],
                     weights, targets,
                     *(row_lambdas(real_counts(indptr, flags), regularization,
                                   regularization_exponent)
                       for indptr, flags in ((R.indptr, real), (Rt.indptr, real_t))),
                     device)
    f = item_factors.shape[1]
    # Work per row: its share of the batched products, plus its own factorisation.
    user_blocks = run.blocks(np.diff(R.indptr) + f / 3)
    item_blocks = run.blocks(np.diff(Rt.indptr) + f / 3)
    items = item_factors
    while True:
        users = torch.empty((R.shape[0], f), device=device, dtype=dtype)
        _solve_blocks(run, R, preferences, real, user_blocks, items, users, params)
        new_items = torch.empty_like(items)
        _solve_blocks(run, Rt, preferences_t, real_t, item_blocks, users, new_items, params)
        items = new_items
        yield users, items, None if loss is None else loss(users, items)


def _solve_blocks(run, R, preferences, real, blocks, fixed, out, params):
    gram = fixed.T @ fixed

    def task(block):
        def thunk():
            # Looked up in this module at call time (tests interrupt the loop here).
            out[block] = solve_rows(R[block], fixed, gram=gram,
                                    preferences=_row_entries(R, block, preferences),
                                    real=_row_entries(R, block, real), **params)
        return thunk

    run([task(block) for block in blocks])


def _cg_sweeps(R, item_factors, preferences, real, *, cg_steps, with_loss, run, alpha,
               regularization, regularization_exponent):
    """CG sweeps: yields the users, the items and the objective (or None) after each."""
    device, dtype = item_factors.device, item_factors.dtype
    f = item_factors.shape[1]
    weights, targets = entry_coefficients(R.data, alpha, preferences)
    is_real = np.ones(R.nnz, dtype=bool) if real is None else np.asarray(real, dtype=bool)
    user_lambdas = row_lambdas(real_counts(R.indptr, is_real), regularization,
                               regularization_exponent)
    item_real = np.bincount(R.indices[is_real], minlength=R.shape[1])
    # Columns by decreasing popularity: the factors of the items most rows
    # touch sit together in memory, which makes the gathers of the sparse
    # products markedly more cache friendly on Zipf-like data.
    popularity = np.bincount(R.indices, minlength=R.shape[1])
    perm = np.argsort(-popularity, kind="stable")
    permuted = _permute_columns(entry_ids(R), perm)  # its data: where each entry comes from
    source = permuted.data - 1
    weights, targets = weights[source], targets[source]
    item_lambdas = row_lambdas(item_real[perm], regularization, regularization_exponent)
    row_lengths, col_lengths = np.diff(permuted.indptr), popularity[perm]
    # Work per row of a CG step: two sparse passes over its entries (~2f
    # flops each) and its dense products with the Gram matrix (~2f^2).
    user_blocks = run.blocks(row_lengths + f / 2)
    item_blocks = run.blocks(col_lengths + f / 2)

    def part(pattern, positions):
        # A block's pattern with the c - 1 and c p of its entries.
        return (SparsePattern(pattern, device, dtype),
                *(torch.from_numpy(v[positions]).to(device=device, dtype=dtype)
                  for v in (weights, targets)))

    if len(user_blocks) == 1 and len(item_blocks) == 1:
        user_parts = item_parts = [part(permuted, slice(None))]
    else:
        # The users' blocks take rows of R, the items' blocks its columns
        # (all the users' entries on those items).
        user_parts = [part(permuted[b], slice(permuted.indptr[b.start],
                                               permuted.indptr[b.stop]))
                      for b in user_blocks]
        ids = entry_ids(permuted)
        item_parts = [part(sub, sub.data - 1) for sub in (ids[:, b] for b in item_blocks)]
    loss = None
    if with_loss:
        loss = _Loss([(pattern, block, w, t)
                      for (pattern, w, t), block in zip(user_parts, user_blocks)],
                     weights, targets, user_lambdas, item_lambdas, device)
    del R, permuted, source  # the parts hold what the sweeps need
    perm_t = torch.from_numpy(perm).to(device)
    items = item_factors[perm_t].contiguous()
    users = torch.zeros((len(row_lengths), f), device=device, dtype=dtype)

    def sweep(parts, blocks, fixed, x, side, lambdas):
        gram = fixed.T @ fixed

        def task(part, block):
            pattern, w, t = part
            return lambda: conjugate_gradient(pattern, fixed, x[block], side=side, weights=w,
                                              targets=t, lambdas=lambdas[block],
                                              steps=cg_steps, gram=gram)

        run([task(p, b) for p, b in zip(parts, blocks)])

    while True:
        sweep(user_parts, user_blocks, items, users, "rows", user_lambdas)
        sweep(item_parts, item_blocks, users, items, "cols", item_lambdas)
        # The loss of the items in the permuted order, as the parts see them.
        yield users, _unpermute(items, perm_t), None if loss is None else loss(users, items)


def _unpermute(rows, perm):
    out = torch.empty_like(rows)
    out[perm] = rows
    return out


def _permute_columns(R, perm):
    """``R[:, perm]`` for canonical CSR ``R``, canonical too."""
    inverse = np.empty_like(perm)
    inverse[perm] = np.arange(len(perm))
    Rp = sp.csr_matrix((R.data.copy(), inverse[R.indices].astype(R.indices.dtype), R.indptr),
                       shape=R.shape)
    Rp.has_sorted_indices = False
    Rp.sort_indices()
    return Rp
