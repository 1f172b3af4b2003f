"""Inexact solver of the ALS normal equations: a few conjugate-gradient steps.

A few CG steps per sweep, started from the previous sweep's factors (Takacs,
Pilaszy & Tikk 2011; the default solver of ``implicit``). The matrix ``A_u``
is never formed: a product ``A_u p`` costs one sampled dense-dense product
(``p_u . y_i`` for the stored entries) and one sparse-dense product. Cost
``O(cg_steps * (nnz * f + n_rows * f^2))`` per half-sweep, against
``O(nnz * f^2 + n_rows * f^3)`` for Cholesky. Inexact per sweep, it converges
over the sweeps of ALS; with enough steps (at most ``f`` in exact
arithmetic) it reaches the exact solution.
"""

import numpy as np
import torch

from ._als_equations import entry_coefficients, real_counts, row_lambdas
from ._sparse_pattern import SparsePattern


def conjugate_gradient(pattern, fixed, x, *, side, weights, targets, lambdas, steps,
                       gram=None, curvature=None, prior=None):
    """``steps`` conjugate-gradient steps on the normal equations of one half-sweep.

    Every row's system ``A_u x_u = b_u`` is solved at once, vectorised over
    the rows, with the classic CG recurrences run per row.

    Parameters
    ----------
    pattern : SparsePattern
        Stored entries of the users x items matrix ``R``.
    fixed : torch.Tensor
        Factors held fixed: the columns' (``side="rows"``) or the rows'
        (``side="cols"``).
    x : torch.Tensor
        Starting factors of the side being solved, updated in place.
    side : {"rows", "cols"}
        Solve for the factors of the rows (users) or of the columns (items).
    weights, targets : torch.Tensor of shape (pattern.nnz,)
        ``c - 1`` and ``c * p`` of every stored entry, in the pattern's order.
    lambdas : ndarray
        Penalty of every row (or column) being solved.
    steps : int
        Number of CG steps.
    gram : torch.Tensor, default=None
        ``fixed.T @ fixed`` if already known, or the shared term of more rows
        than ``fixed`` holds (``partial_fit``).
    curvature : torch.Tensor of shape (n_solved, n_factors), default=None
        Per-row diagonal added to the matrix (``partial_fit``'s prior).
    prior : torch.Tensor of shape (n_solved, n_factors), default=None
        Per-row term added to the right-hand side (``partial_fit``'s prior).

    Returns
    -------
    x : torch.Tensor
        The same tensor, updated.
    """
    if gram is None:
        gram = fixed.T @ fixed
    lam = torch.from_numpy(np.asarray(lambdas)).to(device=x.device, dtype=x.dtype)[:, None]
    if curvature is not None:
        lam = lam + curvature  # the whole diagonal, per row and factor
    if side == "rows":
        def sddmm(v):
            return pattern.sddmm(v, fixed)

        def accumulate(values, out):
            return pattern.rows_dot(values, fixed, out)
    else:
        def sddmm(v):
            return pattern.sddmm(fixed, v)

        def accumulate(values, out):
            return pattern.cols_dot(values, fixed, out)

    def dense_part(v):
        # (gram + lambda I) v, the part of A v shared with empty rows.
        return torch.mm(v, gram).addcmul_(lam, v)

    # r = b - A x, with b = sum over stored entries of c p y and
    # A x = (gram + lambda I) x + sum over stored entries of (c - 1) (y . x) y.
    coef = sddmm(x).mul_(weights).neg_().add_(targets)
    residual = accumulate(coef, dense_part(x).neg_())
    if prior is not None:
        residual.add_(prior)
    direction = residual.clone()
    rs_old = _rowdot(residual, residual)
    tiny = torch.finfo(x.dtype).tiny
    for _ in range(steps):
        Ap = accumulate(sddmm(direction).mul_(weights), dense_part(direction))
        pAp = _rowdot(direction, Ap)
        # Converged rows (zero direction) take no step.
        step = torch.where(pAp > 0, rs_old / pAp.clamp_min(tiny), 0.0)[:, None]
        x.addcmul_(step, direction)
        residual.addcmul_(step, Ap, value=-1.0)
        rs_new = _rowdot(residual, residual)
        beta = torch.where(rs_old > 0, rs_new / rs_old.clamp_min(tiny), 0.0)[:, None]
        torch.addcmul(residual, direction, beta, out=direction)
        rs_old = rs_new
    return x


def solve_rows_cg(R, Y, x0=None, *, alpha, regularization, regularization_exponent,
                  preferences=None, real=None, cg_steps=3, gram=None, lambdas=None,
                  curvature=None, prior=None):
    """Factors of the rows of ``R`` by ``cg_steps`` CG steps from ``x0`` (zeros if None).

    The inexact counterpart of :func:`sklearn_agn.mf._als_cholesky.solve_rows`,
    with the same parameters.
    """
    pattern = SparsePattern(R, Y.device, Y.dtype)
    if curvature is not None:
        curvature = torch.from_numpy(curvature).to(device=Y.device, dtype=Y.dtype)
    if x0 is None:
        x = torch.zeros((R.shape[0], Y.shape[1]), device=Y.device, dtype=Y.dtype)
    else:
        x = x0.clone()
    weights, targets = (torch.from_numpy(v).to(device=Y.device, dtype=Y.dtype)
                        for v in entry_coefficients(R.data, alpha, preferences))
    if lambdas is None:
        lambdas = row_lambdas(real_counts(R.indptr, real), regularization,
                              regularization_exponent)
    return conjugate_gradient(pattern, Y, x, side="rows", weights=weights, targets=targets,
                              lambdas=lambdas, steps=cg_steps, gram=gram, curvature=curvature,
                              prior=prior)


def _rowdot(a, b):
    """Row-wise dot products (einsum runs them as one batched product, fastest on CPU)."""
    return torch.einsum("ij,ij->i", a, b)
