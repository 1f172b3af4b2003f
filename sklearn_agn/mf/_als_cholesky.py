"""Exact solver of the ALS normal equations: batched Cholesky factorisations.

Rows are solved together in padded batches (rows of similar length side by
side) with batched matrix products and Cholesky factorisations, on CPU or
GPU. Cost ``O(nnz * f^2 + n_rows * f^3)``: the ``f^3`` term makes it the slow
solver from a few dozen factors on (see :mod:`sklearn_agn.mf._als_cg`).
"""

import numpy as np
import torch

from ._als_equations import entry_coefficients, real_counts, row_lambdas

# Entries (padded row length x rows) of one batch; bounds the temporary
# (batch, length, n_factors) tensor to about 2**18 * n_factors floats. A batch
# also holds at most 2**18 / n_factors rows, which bounds its (batch,
# n_factors, n_factors) normal equations to the same size.
_BATCH_ENTRIES = 2**18


def solve_rows(R, Y, *, alpha, regularization, regularization_exponent, preferences=None,
               real=None, gram=None, lambdas=None, curvature=None, prior=None):
    """Exact least-squares factors of every row of ``R`` against fixed factors ``Y``.

    Solves, for every row ``u``, ``(gram + sum_i (c_ui - 1) y_i y_i^T +
    diag(lambda_u + curvature_u)) x_u = sum_i c_ui p_ui y_i + prior_u`` (see
    :mod:`sklearn_agn.mf._als_equations`).

    Parameters
    ----------
    R : csr_matrix of shape (n_rows, n_cols)
        Canonical interaction matrix (positive values).
    Y : torch.Tensor of shape (n_cols, n_factors)
        Fixed factors of the columns. With ``gram`` given, the rows are
        solved in ``gram``'s dtype and only the factors ``R``'s entries use
        are converted to it (fold-in solves against float32 item factors
        in float64 without a float64 copy of them all).
    alpha, regularization, regularization_exponent : float
        Confidence scale and penalty.
    preferences : ndarray of shape (R.nnz,), default=None
        Preference of every stored entry, aligned with ``R.data`` (1 for
        real entries, the weight of generated ones); None: all real.
    real : ndarray of bool of shape (R.nnz,), default=None
        Which stored entries are real interactions (they set the penalty);
        None: all.
    gram : torch.Tensor of shape (n_factors, n_factors), default=None
        The shared term, ``Y.T @ Y`` when None (pass it when cached, or the
        Gram matrix of more rows than ``Y`` holds: ``partial_fit``).
    lambdas : ndarray of shape (n_rows,), default=None
        Penalties overriding those computed from the real entries.
    curvature : ndarray of shape (n_rows, n_factors), default=None
        Per-row diagonal added to the matrix (``partial_fit``'s prior).
    prior : torch.Tensor of shape (n_rows, n_factors), default=None
        Per-row term added to the right-hand side (``partial_fit``'s prior).

    Returns
    -------
    X : torch.Tensor of shape (n_rows, n_factors)
    """
    n_rows, f = R.shape[0], Y.shape[1]
    if gram is None:
        gram = Y.T @ Y
    device, dtype = gram.device, gram.dtype
    weights, targets = entry_coefficients(R.data, alpha, preferences)
    if lambdas is None:
        lambdas = row_lambdas(real_counts(R.indptr, real), regularization,
                              regularization_exponent)
    diagonal = np.broadcast_to(np.asarray(lambdas, dtype=np.float64)[:, None], (n_rows, f))
    if curvature is not None:
        diagonal = diagonal + curvature
    lengths = np.diff(R.indptr)
    out = torch.empty((n_rows, f), device=device, dtype=dtype)
    order = np.argsort(lengths, kind="stable")
    for batch in _length_batches(lengths[order], max(1, _BATCH_ENTRIES // f)):
        rows = order[batch]
        cols, positions, valid = _padded_row_entries(R, rows, lengths[rows])
        cols = torch.from_numpy(cols).to(device)
        Yb = Y[cols].to(dtype)  # (batch, length, f); padding gathers row 0 with weight 0
        c_p, c_minus_1 = (_padded(v, positions, valid, gram) for v in (targets, weights))
        # b_u = sum over stored entries of c p y.
        b = torch.bmm(c_p[:, None, :], Yb)[:, 0, :]
        # A_u = gram + sum over stored entries of (c - 1) y y^T + diag = gram + W^T W + diag.
        Yb.mul_(torch.sqrt(c_minus_1)[:, :, None])
        A = torch.baddbmm(gram, Yb.transpose(1, 2), Yb)
        A.diagonal(dim1=1, dim2=2).add_(
            torch.from_numpy(np.ascontiguousarray(diagonal[rows])).to(device=device,
                                                                      dtype=dtype))
        rows_t = torch.from_numpy(rows).to(device)
        if prior is not None:
            b = b + prior[rows_t]
        out[rows_t] = _spd_solve(A, b)
    return out


def _spd_solve(A, b):
    """Solve the batch ``A x = b`` by Cholesky; least squares where A is singular."""
    L, info = torch.linalg.cholesky_ex(A)
    x = torch.cholesky_solve(b[:, :, None], L)[:, :, 0]
    bad = info != 0
    if bool(bad.any()):
        # Only without regularisation: fall back to the minimum-norm solution.
        x[bad] = (torch.linalg.pinv(A[bad], hermitian=True) @ b[bad][:, :, None])[:, :, 0]
    return x


def _padded(values, positions, valid, like):
    """Per-entry ``values`` laid out as the padded batch (0 in the padding)."""
    padded = np.where(valid, values[positions], 0.0) if len(values) else np.zeros(valid.shape)
    return torch.from_numpy(padded).to(device=like.device, dtype=like.dtype)


def _length_batches(sorted_lengths, max_rows):
    """Slices of rows, sorted by length, padded cheaply and within the budget.

    A batch holds rows at most twice as long as its shortest one, so padding
    at most doubles the work, at most ``_BATCH_ENTRIES`` padded entries and
    at most ``max_rows`` rows.
    """
    padded = np.maximum(sorted_lengths, 1)
    start, n = 0, len(padded)
    while start < n:
        stop = int(np.searchsorted(padded, 2 * padded[start], side="right"))
        stop = min(stop, start + max_rows)
        stop = max(start + 1, min(stop, start + _BATCH_ENTRIES // padded[stop - 1]))
        yield slice(start, stop)
        start = stop


def _padded_row_entries(R, rows, lengths):
    """Column indices and entry positions of ``rows``, padded to the longest.

    Returns the columns (0 where padded), the positions of the entries in
    ``R.data`` (0 where padded) and the mask of real (unpadded) slots.
    """
    width = max(int(lengths.max()) if len(lengths) else 0, 1)
    offsets = np.arange(width)
    valid = offsets[None, :] < lengths[:, None]
    positions = np.where(valid, R.indptr[rows][:, None] + offsets[None, :], 0)
    cols = np.where(valid, R.indices[positions] if R.nnz else 0, 0).astype(np.int64)
    return cols, positions, valid
