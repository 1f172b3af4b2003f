"""The stored entries of a sparse matrix and the three sparse products CG needs."""

import warnings

import numpy as np
import scipy.sparse as sp
import torch


class SparsePattern:
    """The pattern of a CSR matrix ``R`` and products over its stored entries.

    With ``R`` of shape (n_rows, n_cols) and ``nnz`` stored entries ``e =
    (row_e, col_e)``, for a vector ``v`` of per-entry values:

    - ``sddmm(A, B)``: ``A[row_e] . B[col_e]`` for every entry (shape (nnz,));
    - ``rows_dot(v, B)``: ``R_v @ B``, shape (n_rows, f);
    - ``cols_dot(v, A)``: ``R_v.T @ A``, shape (n_cols, f),

    where ``R_v`` is ``R``'s pattern holding ``v``. One pattern serves both
    half-sweeps of ALS, so ``R`` is never transposed on the CPU. Values are
    not kept: the caller passes the per-entry values each product needs.
    """

    def __init__(self, R, device, dtype):
        self.shape = R.shape
        self.device, self.dtype = device, dtype
        self.nnz = R.nnz
        index_dtype = np.int32 if max(R.nnz, *R.shape) < np.iinfo(np.int32).max else np.int64
        self.indptr = np.asarray(R.indptr, dtype=index_dtype)
        self.indices = np.asarray(R.indices, dtype=index_dtype)
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
