"""Loaders for interaction data: triplet files."""

import numpy as np
import scipy.sparse as sp

__all__ = ["load_triplets"]


def load_triplets(path, *, shape=None, binarize=True, sep=None):
    """Load a ``user item [value]`` text file into a CSR matrix.

    Parameters
    ----------
    path : str or path-like
        One interaction a line; integer user and item indices starting at 0,
        an optional value (e.g. a rating) in a third column.
    shape : tuple of int, default=None
        ``(n_users, n_items)``; the largest indices + 1 when None. Pass the
        same shape for a train and a test file so their columns line up.
    binarize : bool, default=True
        Store 1 for every interaction (implicit feedback) instead of the value.
    sep : str, default=None
        Column separator; any whitespace when None.

    Returns
    -------
    X : csr_matrix of shape (n_users, n_items), dtype float32
    """
    data = np.loadtxt(path, delimiter=sep, ndmin=2)
    if data.shape[1] < 2:
        raise ValueError(f"{path}: expected at least two columns (user item), got {data.shape[1]}.")
    users, items = data[:, 0], data[:, 1]
    if (users < 0).any() or (items < 0).any() or (users % 1).any() or (items % 1).any():
        raise ValueError(f"{path}: user and item ids must be non-negative integers.")
    users, items = users.astype(np.int64), items.astype(np.int64)
    values = np.ones(len(users)) if binarize or data.shape[1] < 3 else data[:, 2]
    if shape is None:
        shape = (int(users.max()) + 1, int(items.max()) + 1) if len(users) else (0, 0)
    elif len(users) and (users.max() >= shape[0] or items.max() >= shape[1]):
        raise ValueError(f"{path}: ids exceed the given shape {shape}.")
    X = sp.csr_matrix((values, (users, items)), shape=shape, dtype=np.float32)
    if binarize:
        X.data[:] = 1.0  # duplicates were summed; an interaction is still one
    return X
