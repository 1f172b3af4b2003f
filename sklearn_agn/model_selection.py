"""Splits that respect users: per-user hold-out and cross-validation over rows."""

import numpy as np
import scipy.sparse as sp
from sklearn.utils import check_random_state

from ._validation import as_interactions

__all__ = ["holdout_split"]


def holdout_split(X, test_size=0.2, *, min_train=1, random_state=None):
    """Hold out a fraction of each user's interactions.

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_users, n_items)
        Interactions.
    test_size : float in (0, 1), default=0.2
        Fraction of each user's interactions moved to the test matrix,
        rounded to the nearest integer per user.
    min_train : int, default=1
        Interactions each user keeps in train whatever ``test_size`` says; a
        user with ``min_train`` interactions or fewer keeps them all.
    random_state : int, RandomState instance or None, default=None
        Seed of the shuffle that picks the held-out interactions.

    Returns
    -------
    X_train, X_test : csr_matrix of shape (n_users, n_items)
        Disjoint matrices whose sum is ``X`` (canonical form).
    """
    if not 0 < test_size < 1:
        raise ValueError(f"test_size must lie in (0, 1), got {test_size!r}.")
    if min_train < 0:
        raise ValueError(f"min_train must be >= 0, got {min_train!r}.")
    X = as_interactions(X)
    rng = check_random_state(random_state)
    counts = np.diff(X.indptr)
    n_test = np.minimum(np.rint(counts * test_size).astype(np.int64),
                        np.maximum(counts - min_train, 0))
    # One random key per interaction; within each row the n_test smallest go to test.
    keys = rng.random_sample(X.nnz)
    rows = np.repeat(np.arange(X.shape[0]), counts)
    order = np.lexsort((keys, rows))
    rank_in_row = np.empty(X.nnz, dtype=np.int64)
    rank_in_row[order] = np.arange(X.nnz) - np.repeat(X.indptr[:-1], counts)
    is_test = rank_in_row < n_test[rows]
    return _select(X, ~is_test), _select(X, is_test)


def _select(X, keep):
    """The entries of canonical CSR ``X`` where ``keep`` is True, as new CSR."""
    rows = np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows[keep], minlength=X.shape[0]))])
    return sp.csr_matrix((X.data[keep], X.indices[keep], indptr), shape=X.shape)
