"""Weighted alternating least squares for implicit feedback (Hu, Koren & Volinsky 2008).

Every entry ``r_ui`` of the interaction matrix has preference ``p_ui = 1`` if
stored (real or generated) and 0 otherwise, and confidence ``c_ui = 1 +
alpha * r_ui`` (1 where nothing is stored). With item factors ``Y`` fixed, the
factors of row ``u`` solve the normal equations

    (Y^T Y + Y^T (C_u - I) Y + lambda_u I) x_u = Y^T C_u p_u,

where only the stored entries of the row enter the correction term, so the
cost is O(nnz * f^2 + n_rows * f^3) and never touches the dense matrix. Rows
are solved together in padded batches (rows of similar length side by side)
with batched matrix products and Cholesky factorisations, on CPU or GPU.

``lambda_u = regularization * (n_u + 1) ** regularization_exponent``: exponent
0 is the classic constant penalty, exponent 1 scales it with the row's number
of interactions, the frequency-scaled form that Rendle et al. (2021) found to
tune best.
"""

import numpy as np
import scipy.sparse as sp
import torch

# Entries (padded row length x rows) of one batch; bounds the temporary
# (batch, length, n_factors) tensor to about 2**18 * n_factors floats.
_BATCH_ENTRIES = 2**18


def solve_rows(R, Y, *, alpha, regularization, regularization_exponent, prox=None,
               prox_reg=0.0):
    """Least-squares factors of every row of ``R`` against fixed factors ``Y``.

    Parameters
    ----------
    R : csr_matrix of shape (n_rows, n_cols)
        Canonical interaction matrix (non-negative values).
    Y : torch.Tensor of shape (n_cols, n_factors)
        Fixed factors of the columns.
    alpha, regularization, regularization_exponent : float
        Confidence scale and penalty (see module docstring).
    prox : torch.Tensor of shape (n_rows, n_factors), default=None
        Previous factors of the rows; with ``prox_reg > 0`` the solution is
        pulled towards them (a proximal step, used by ``partial_fit``).
    prox_reg : float, default=0.0
        Weight of ``||x_u - prox_u||^2``.

    Returns
    -------
    X : torch.Tensor of shape (n_rows, n_factors)
    """
    n_rows, f = R.shape[0], Y.shape[1]
    device, dtype = Y.device, Y.dtype
    gram = Y.T @ Y
    eye = torch.eye(f, device=device, dtype=dtype)
    lengths = np.diff(R.indptr)
    lambdas = regularization * (lengths + 1.0) ** regularization_exponent + prox_reg
    out = torch.zeros((n_rows, f), device=device, dtype=dtype)
    order = np.argsort(lengths, kind="stable")
    for batch in _length_batches(lengths[order]):
        rows = order[batch]
        cols, weights = _padded_row_entries(R, rows, lengths[rows])
        cols = torch.from_numpy(cols).to(device)
        conf = torch.from_numpy(weights).to(device=device, dtype=dtype) * alpha
        present = torch.from_numpy(weights > 0).to(device=device, dtype=dtype)
        Yb = Y[cols]  # (batch, length, f); padding gathers row 0 with weight 0
        A = gram + torch.bmm(Yb.transpose(1, 2) * conf[:, None, :], Yb)
        lam = torch.from_numpy(lambdas[rows]).to(device=device, dtype=dtype)
        A = A + lam[:, None, None] * eye
        b = torch.bmm((present + conf)[:, None, :], Yb)[:, 0, :]
        rows_t = torch.from_numpy(rows).to(device)
        if prox is not None and prox_reg > 0:
            b = b + prox_reg * prox[rows_t]
        out[rows_t] = torch.cholesky_solve(b[:, :, None], torch.linalg.cholesky(A))[:, :, 0]
    return out


def _length_batches(sorted_lengths):
    """Slices of rows, sorted by length, padded cheaply and within the budget.

    A batch holds rows at most twice as long as its shortest one, so padding
    at most doubles the work, and at most ``_BATCH_ENTRIES`` padded entries.
    """
    padded = np.maximum(sorted_lengths, 1)
    start, n = 0, len(padded)
    while start < n:
        stop = int(np.searchsorted(padded, 2 * padded[start], side="right"))
        stop = max(start + 1, min(stop, start + _BATCH_ENTRIES // padded[stop - 1]))
        yield slice(start, stop)
        start = stop


def _padded_row_entries(R, rows, lengths):
    """Column indices and values of ``rows`` padded to the longest (value 0)."""
    width = max(int(lengths.max()) if len(lengths) else 0, 1)
    offsets = np.arange(width)
    valid = offsets[None, :] < lengths[:, None]
    positions = R.indptr[rows][:, None] + offsets[None, :]
    positions = np.where(valid, positions, 0)
    cols = np.where(valid, R.indices[positions] if R.nnz else 0, 0).astype(np.int64)
    values = np.where(valid, R.data[positions] if R.nnz else 0, 0).astype(np.float64)
    return cols, values


def als(R, item_factors, *, n_iter, alpha, regularization, regularization_exponent,
        callback=None):
    """Alternate ``n_iter`` times between user and item least squares.

    Parameters
    ----------
    R : csr_matrix of shape (n_users, n_items)
        Canonical interaction matrix.
    item_factors : torch.Tensor of shape (n_items, n_factors)
        Starting item factors (random, or the current ones when warm).
    callback : callable, default=None
        Called as ``callback(iteration, user_factors, item_factors)`` after
        every iteration (progress bars, interruption points).

    Returns
    -------
    item_factors : torch.Tensor of shape (n_items, n_factors)
    """
    Rt = sp.csr_matrix(R.T)
    params = dict(alpha=alpha, regularization=regularization,
                  regularization_exponent=regularization_exponent)
    for it in range(n_iter):
        user_factors = solve_rows(R, item_factors, **params)
        item_factors = solve_rows(Rt, user_factors, **params)
        if callback is not None:
            callback(it, user_factors, item_factors)
    return item_factors
