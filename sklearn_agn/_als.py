"""Weighted alternating least squares for implicit feedback (Hu, Koren & Volinsky 2008).

Every entry ``r_ui`` of the interaction matrix has preference ``p_ui = 1`` if
stored (real or generated) and 0 otherwise, and confidence ``c_ui = 1 +
alpha * r_ui`` (1 where nothing is stored). With item factors ``Y`` fixed, the
factors of row ``u`` solve the normal equations

    (Y^T Y + Y^T (C_u - I) Y + lambda_u I) x_u = Y^T C_u p_u,

where only the stored entries of the row enter the correction term, so the
work never touches the dense matrix. Two solvers:

- ``"cholesky"`` (exact): rows are solved together in padded batches (rows of
  similar length side by side) with batched matrix products and Cholesky
  factorisations, on CPU or GPU. Cost O(nnz * f^2 + n_rows * f^3).
- ``"cg"``: a few conjugate-gradient steps per sweep, started from the
  previous sweep's factors (Takacs, Pilaszy & Tikk 2011; the default solver
  of ``implicit``). The matrix ``A_u`` is never formed: a product ``A_u p``
  costs one sampled dense-dense product (``p_u . y_i`` for the stored
  entries) and one sparse-dense product. Cost O(cg_steps * (nnz * f +
  n_rows * f^2)), so it is the solver of choice for many factors. It is
  inexact per sweep but converges over the sweeps of ALS; with enough steps
  (at most ``f`` in exact arithmetic) it reaches the exact solution.

``lambda_u = regularization * (n_u + 1) ** regularization_exponent``: exponent
0 is the classic constant penalty, exponent 1 scales it with the row's number
of interactions, the frequency-scaled form that Rendle et al. (2021) found to
tune best.
"""

import contextlib
import warnings
from concurrent.futures import ThreadPoolExecutor

import joblib
import numpy as np
import scipy.sparse as sp
import torch

# Entries (padded row length x rows) of one batch; bounds the temporary
# (batch, length, n_factors) tensor to about 2**18 * n_factors floats. A batch
# also holds at most 2**18 / n_factors rows, which bounds its (batch,
# n_factors, n_factors) normal equations to the same size.
_BATCH_ENTRIES = 2**18

SOLVERS = ("cholesky", "cg")


@contextlib.contextmanager
def torch_threads(n_jobs):
    """Run the block with ``n_jobs`` torch intra-op threads, then restore.

    ``None`` leaves torch's setting alone; ``-1`` uses every CPU, ``-2`` all
    but one, and so on (the scikit-learn convention). The setting is
    process-wide while the block runs.
    """
    if n_jobs is None:
        yield
        return
    if n_jobs == 0:
        raise ValueError("n_jobs == 0 has no meaning; use None, a positive int or -1.")
    n_cpus = joblib.cpu_count()
    n_threads = n_jobs if n_jobs > 0 else max(n_cpus + 1 + n_jobs, 1)
    previous = torch.get_num_threads()
    if n_threads == previous:
        yield
        return
    torch.set_num_threads(n_threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def row_lambdas(lengths, regularization, regularization_exponent, extra=0.0):
    """Per-row penalty ``regularization * (n_u + 1) ** exponent + extra``."""
    return regularization * (np.asarray(lengths, dtype=np.float64) + 1.0) \
        ** regularization_exponent + extra


def solve_rows(R, Y, *, alpha, regularization, regularization_exponent, prox=None,
               prox_reg=0.0, gram=None):
    """Exact least-squares factors of every row of ``R`` against fixed factors ``Y``.

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
    gram : torch.Tensor of shape (n_factors, n_factors), default=None
        ``Y.T @ Y`` when the caller has it cached (fold-in at predict time);
        computed here otherwise.

    Returns
    -------
    X : torch.Tensor of shape (n_rows, n_factors)
    """
    n_rows, f = R.shape[0], Y.shape[1]
    device, dtype = Y.device, Y.dtype
    if gram is None:
        gram = Y.T @ Y
    lengths = np.diff(R.indptr)
    lambdas = row_lambdas(lengths, regularization, regularization_exponent, prox_reg)
    out = torch.empty((n_rows, f), device=device, dtype=dtype)
    order = np.argsort(lengths, kind="stable")
    for batch in _length_batches(lengths[order], max(1, _BATCH_ENTRIES // f)):
        rows = order[batch]
        cols, weights = _padded_row_entries(R, rows, lengths[rows])
        cols = torch.from_numpy(cols).to(device)
        weights = torch.from_numpy(weights).to(device=device, dtype=dtype)
        Yb = Y[cols]  # (batch, length, f); padding gathers row 0 with weight 0
        # b_u = sum_i c_ui p_ui y_i = sum over stored entries of (1 + alpha r_ui) y_i.
        coef = torch.where(weights > 0, 1.0 + alpha * weights, 0.0)
        b = torch.bmm(coef[:, None, :], Yb)[:, 0, :]
        # A_u = Y^T Y + sum_i alpha r_ui y_i y_i^T + lambda_u I = gram + W^T W.
        Yb.mul_(torch.sqrt(alpha * weights)[:, :, None])
        A = torch.baddbmm(gram, Yb.transpose(1, 2), Yb)
        lam = torch.from_numpy(lambdas[rows]).to(device=device, dtype=dtype)
        A.diagonal(dim1=1, dim2=2).add_(lam[:, None])
        rows_t = torch.from_numpy(rows).to(device)
        if prox is not None and prox_reg > 0:
            b = b + prox_reg * prox[rows_t]
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
    """Column indices and values of ``rows`` padded to the longest (value 0)."""
    width = max(int(lengths.max()) if len(lengths) else 0, 1)
    offsets = np.arange(width)
    valid = offsets[None, :] < lengths[:, None]
    positions = R.indptr[rows][:, None] + offsets[None, :]
    positions = np.where(valid, positions, 0)
    cols = np.where(valid, R.indices[positions] if R.nnz else 0, 0).astype(np.int64)
    values = np.where(valid, R.data[positions] if R.nnz else 0, 0).astype(np.float64)
    return cols, values


class SparsePattern:
    """The stored entries of ``R`` and the three sparse products CG needs.

    With ``R`` of shape (n_rows, n_cols) and ``nnz`` stored entries ``e =
    (row_e, col_e)``, for a vector ``v`` of per-entry values:

    - ``sddmm(A, B)``: ``A[row_e] . B[col_e]`` for every entry (shape (nnz,));
    - ``rows_dot(v, B)``: ``R_v @ B``, shape (n_rows, f);
    - ``cols_dot(v, A)``: ``R_v.T @ A``, shape (n_cols, f),

    where ``R_v`` is ``R``'s pattern holding ``v``. One pattern serves both
    half-sweeps of ALS, so ``R`` is never transposed on the CPU.
    """

    def __init__(self, R, device, dtype):
        self.shape = R.shape
        self.device, self.dtype = device, dtype
        self.nnz = R.nnz
        index_dtype = np.int32 if max(R.nnz, *R.shape) < np.iinfo(np.int32).max else np.int64
        self.indptr = np.asarray(R.indptr, dtype=index_dtype)
        self.indices = np.asarray(R.indices, dtype=index_dtype)
        self.values = torch.from_numpy(np.asarray(R.data)).to(device=device, dtype=dtype)
        self.row_lengths = np.diff(self.indptr)
        crow = torch.from_numpy(self.indptr).to(device)
        col = torch.from_numpy(self.indices).to(device)
        self._crow, self._col = crow, col
        with warnings.catch_warnings():
            # "Sparse CSR tensor support is in beta state": we use a stable subset.
            warnings.simplefilter("ignore", UserWarning)
            # Output of the sampled products, reused from call to call.
            self._sampled = self._csr(torch.zeros(self.nnz, device=device, dtype=dtype))
        self._cpu = device.type == "cpu"
        if not self._cpu:
            # No scatter-style transposed product in torch: keep R.T's pattern
            # and the permutation from R's entry order to R.T's.
            Rt = sp.csr_matrix((np.arange(R.nnz, dtype=np.int64), R.indices, R.indptr),
                               shape=R.shape).T.tocsr()
            self._t_crow = torch.from_numpy(Rt.indptr.astype(np.int64)).to(device)
            self._t_col = torch.from_numpy(Rt.indices.astype(np.int64)).to(device)
            self._t_perm = torch.from_numpy(Rt.data).to(device)

    def _csr(self, values, transpose=False):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            if transpose:
                return torch.sparse_csr_tensor(self._t_crow, self._t_col, values,
                                               size=self.shape[::-1])
            return torch.sparse_csr_tensor(self._crow, self._col, values, size=self.shape)

    def sddmm(self, A, B):
        """``(A[row_e] * B[col_e]).sum()`` for every stored entry ``e``."""
        if self.nnz == 0:
            return torch.zeros(0, device=self.device, dtype=self.dtype)
        # beta=0 ignores the input's values (the previous, finite, products),
        # so the output tensor serves as the input pattern too.
        torch.sparse.sampled_addmm(self._sampled, A, B.T, beta=0.0, out=self._sampled)
        return self._sampled.values()

    def rows_dot(self, v, B, out):
        """``out += R_v @ B``, in place."""
        if self.nnz:
            out.addmm_(self._csr(v), B)
        return out

    def cols_dot(self, v, A, out):
        """``out += R_v.T @ A``, in place."""
        if self.nnz == 0:
            return out
        if self._cpu:
            # scipy's CSC product scatters row by row: sequential reads of A,
            # writes into the (smaller, item-sized) output; several times
            # faster than gathering through R.T's pattern.
            Rv = sp.csr_matrix((v.numpy(), self.indices, self.indptr), shape=self.shape)
            return out.add_(torch.from_numpy(np.asarray(Rv.T @ A.numpy())))
        return out.addmm_(self._csr(v[self._t_perm], transpose=True), A)


def conjugate_gradient(pattern, fixed, x, *, side, alpha, lambdas, steps, gram=None):
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
    alpha : float
        Confidence scale.
    lambdas : ndarray
        Penalty of every row (or column) being solved.
    steps : int
        Number of CG steps.
    gram : torch.Tensor, default=None
        ``fixed.T @ fixed`` if already known.

    Returns
    -------
    x : torch.Tensor
        The same tensor, updated.
    """
    if gram is None:
        gram = fixed.T @ fixed
    lam = torch.from_numpy(np.asarray(lambdas)).to(device=x.device, dtype=x.dtype)[:, None]
    weight = alpha * pattern.values  # c - 1 on the stored entries
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

    # r = b - A x, with b = sum over stored entries of (1 + alpha r) y and
    # A x = (gram + lambda I) x + sum over stored entries of alpha r (y . x) y.
    coef = sddmm(x).mul_(weight).neg_().add_(weight).add_(1.0)
    residual = accumulate(coef, dense_part(x).neg_())
    direction = residual.clone()
    rs_old = _rowdot(residual, residual)
    tiny = torch.finfo(x.dtype).tiny
    for _ in range(steps):
        Ap = accumulate(sddmm(direction).mul_(weight), dense_part(direction))
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
                  cg_steps=3):
    """Factors of the rows of ``R`` by ``cg_steps`` CG steps from ``x0`` (zeros if None).

    The inexact counterpart of :func:`solve_rows`, with the same parameters.
    """
    pattern = SparsePattern(R, Y.device, Y.dtype)
    if x0 is None:
        x = torch.zeros((R.shape[0], Y.shape[1]), device=Y.device, dtype=Y.dtype)
    else:
        x = x0.clone()
    lambdas = row_lambdas(pattern.row_lengths, regularization, regularization_exponent)
    return conjugate_gradient(pattern, Y, x, side="rows", alpha=alpha, lambdas=lambdas,
                              steps=cg_steps)


def als(R, item_factors, *, n_iter, alpha, regularization, regularization_exponent,
        solver="cholesky", cg_steps=3, callback=None):
    """Alternate ``n_iter`` times between user and item least squares.

    On the CPU with several torch threads, the rows (then the columns) are
    split into as many blocks of about equal work, solved side by side by a
    pool of Python threads each running torch single-threaded (torch
    releases the GIL): a few long parallel tasks per half-sweep, rather than
    many short parallel regions per operation, which degrade badly when the
    cores are shared with other processes. Every row's solution depends on
    its own data only, so the blocks do not change the results beyond
    rounding.

    Parameters
    ----------
    R : csr_matrix of shape (n_users, n_items)
        Canonical interaction matrix.
    item_factors : torch.Tensor of shape (n_items, n_factors)
        Starting item factors (random, or the current ones when warm).
    solver : {"cholesky", "cg"}, default="cholesky"
        Exact batched Cholesky solves, or ``cg_steps`` conjugate-gradient
        steps warm-started from the previous sweep (user factors start at 0).
    cg_steps : int, default=3
        CG steps per half-sweep with ``solver="cg"``.
    callback : callable, default=None
        Called as ``callback(iteration, user_factors, item_factors)`` after
        every iteration (progress bars, interruption points).

    Returns
    -------
    item_factors : torch.Tensor of shape (n_items, n_factors)
    """
    params = dict(alpha=alpha, regularization=regularization,
                  regularization_exponent=regularization_exponent)
    if solver not in SOLVERS:
        raise ValueError(f"solver must be one of {SOLVERS}, got {solver!r}.")
    n_blocks = 1
    if item_factors.device.type == "cpu" and R.nnz >= _MIN_BLOCK_NNZ:
        n_blocks = max(1, min(torch.get_num_threads(), R.shape[0], R.shape[1]))
    with _BlockRunner(n_blocks) as run:
        if solver == "cg":
            return _als_cg(R, item_factors, n_iter=n_iter, cg_steps=cg_steps,
                           callback=callback, run=run, **params)
        return _als_cholesky(R, item_factors, n_iter=n_iter, callback=callback, run=run,
                             **params)


# Below this many interactions, one block: the threads would cost more than they save.
_MIN_BLOCK_NNZ = 2**16


class _BlockRunner:
    """Runs a list of thunks on ``n_blocks`` threads, torch single-threaded meanwhile."""

    def __init__(self, n_blocks):
        self.n_blocks = n_blocks

    def __enter__(self):
        self._pool = None
        if self.n_blocks > 1:
            self._threads = torch.get_num_threads()
            torch.set_num_threads(1)
            self._pool = ThreadPoolExecutor(max_workers=self.n_blocks,
                                            thread_name_prefix="sklearn_agn_als")
        return self

    def __exit__(self, *exc):
        if self._pool is not None:
            self._pool.shutdown()
            torch.set_num_threads(self._threads)

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


def _als_cholesky(R, item_factors, *, n_iter, alpha, regularization, regularization_exponent,
                  callback, run):
    params = dict(alpha=alpha, regularization=regularization,
                  regularization_exponent=regularization_exponent)
    Rt = sp.csr_matrix(R.T)
    f = item_factors.shape[1]
    # Work per row: its share of the batched products, plus its own factorisation.
    user_blocks = run.blocks(np.diff(R.indptr) + f / 3)
    item_blocks = run.blocks(np.diff(Rt.indptr) + f / 3)
    device, dtype = item_factors.device, item_factors.dtype
    items = item_factors
    for it in range(n_iter):
        users = torch.empty((R.shape[0], f), device=device, dtype=dtype)
        _solve_blocks(run, R, user_blocks, items, users, params)
        new_items = torch.empty_like(items)
        _solve_blocks(run, Rt, item_blocks, users, new_items, params)
        items = new_items
        if callback is not None:
            callback(it, users, items)
    return items


def _solve_blocks(run, R, blocks, fixed, out, params):
    gram = fixed.T @ fixed

    def task(block):
        def thunk():
            out[block] = solve_rows(R[block], fixed, gram=gram, **params)
        return thunk

    run([task(block) for block in blocks])


def _rowdot(a, b):
    """Row-wise dot products (einsum runs them as one batched product, fastest on CPU)."""
    return torch.einsum("ij,ij->i", a, b)


def _als_cg(R, item_factors, *, n_iter, cg_steps, alpha, regularization,
            regularization_exponent, callback, run):
    device, dtype = item_factors.device, item_factors.dtype
    f = item_factors.shape[1]
    # Columns by decreasing popularity: the factors of the items most rows
    # touch sit together in memory, which makes the gathers of the sparse
    # products markedly more cache friendly on Zipf-like data.
    popularity = np.bincount(R.indices, minlength=R.shape[1])
    perm = np.argsort(-popularity, kind="stable")
    R = _permute_columns(R, perm)
    row_lengths, col_lengths = np.diff(R.indptr), popularity[perm]
    user_lambdas = row_lambdas(row_lengths, regularization, regularization_exponent)
    item_lambdas = row_lambdas(col_lengths, regularization, regularization_exponent)
    # Work per row of a CG step: two sparse passes over its entries (~2f
    # flops each) and its dense products with the Gram matrix (~2f^2).
    user_blocks = run.blocks(row_lengths + f / 2)
    item_blocks = run.blocks(col_lengths + f / 2)
    if len(user_blocks) == 1 and len(item_blocks) == 1:
        pattern = SparsePattern(R, device, dtype)
        user_patterns = item_patterns = [pattern]
    else:
        # The users' blocks take rows of R, the items' blocks its columns
        # (all the users' entries on those items).
        user_patterns = [SparsePattern(R[block], device, dtype) for block in user_blocks]
        item_patterns = [SparsePattern(R[:, block], device, dtype) for block in item_blocks]
        del R  # the blocks hold copies of its entries
    perm_t = torch.from_numpy(perm).to(device)
    items = item_factors[perm_t].contiguous()
    users = torch.zeros((len(row_lengths), f), device=device, dtype=dtype)

    def sweep(patterns, blocks, fixed, x, side, lambdas):
        gram = fixed.T @ fixed

        def task(pattern, block):
            return lambda: conjugate_gradient(pattern, fixed, x[block], side=side, alpha=alpha,
                                              lambdas=lambdas[block], steps=cg_steps,
                                              gram=gram)

        run([task(p, b) for p, b in zip(patterns, blocks)])

    for it in range(n_iter):
        sweep(user_patterns, user_blocks, items, users, "rows", user_lambdas)
        sweep(item_patterns, item_blocks, users, items, "cols", item_lambdas)
        if callback is not None:
            callback(it, users, _unpermute(items, perm_t))
    return _unpermute(items, perm_t)


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
