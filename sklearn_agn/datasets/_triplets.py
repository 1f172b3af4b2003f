"""Files of already encoded interactions: ``user item [value]`` lines."""

import numbers
import warnings

import numpy as np
import scipy.sparse as sp

from ..preprocessing import _interaction_matrix
from ._base import _existing_file


def _check_shape(shape):
    if (
        not isinstance(shape, (tuple, list))
        or len(shape) != 2
        or not all(isinstance(n, numbers.Integral) and n >= 0 for n in shape)
    ):
        raise ValueError(
            f"shape must be a pair of non-negative integers (n_users, n_items), got {shape!r}."
        )
    return int(shape[0]), int(shape[1])


def load_triplets(path, *, shape=None, binarize=True, sep=None):
    """Load a ``user item [value]`` text file into a CSR matrix.

    Parameters
    ----------
    path : str or path-like
        One interaction a line; integer user and item indices starting at 0,
        an optional value (e.g. a rating) in a third column. Further columns
        (e.g. a timestamp) are ignored; lines starting with ``#`` are skipped.
    shape : tuple of int, default=None
        ``(n_users, n_items)``; the largest indices + 1 when None. Pass the
        same shape for a train and a test file so their rows and columns line
        up. Required when the file holds no interaction.
    binarize : bool, default=True
        Store 1 for every interaction (implicit feedback), whatever its value.
        When False, the third column is stored (1 where there is none); the
        values of a pair listed twice are summed and zero values are dropped.
    sep : str, default=None
        Column separator, a single character; any whitespace when None.

    Returns
    -------
    X : csr_matrix of shape (n_users, n_items), dtype float32
        Canonical: sorted indices, no duplicates, no explicit zeros.

    Raises
    ------
    FileNotFoundError
        If ``path`` is not a file.
    ValueError
        If a line is malformed (non-numeric field, varying number of columns),
        an id is negative or not an integer, an id does not fit ``shape``, or
        a value used (``binarize=False``) is negative or not finite.

    Examples
    --------
    >>> import tempfile, os
    >>> from sklearn_agn.datasets import load_triplets
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = os.path.join(tmp, "train.txt")
    ...     with open(path, "w") as f:
    ...         _ = f.write("0 1 5\\n1 0 3\\n1 2 4\\n")
    ...     X = load_triplets(path)
    >>> X.toarray()
    array([[0., 1., 0.],
           [1., 0., 1.]], dtype=float32)
    """
    path = _existing_file(path)
    if shape is not None:
        shape = _check_shape(shape)
    data = _read_columns(path, sep)
    if data.size == 0:
        if shape is None:
            raise ValueError(f"{path} holds no interaction; pass shape to get an empty matrix.")
        return sp.csr_matrix(shape, dtype=np.float32)
    users, items, shape = _indices(data, path, shape)
    values = None if binarize else _values(data, path)
    return _interaction_matrix(users, items, shape, values, binarize=binarize)


def _read_columns(path, sep):
    """The numbers of the file, one row a line, at least two-dimensional."""
    with warnings.catch_warnings():
        # An empty file is handled by the caller with a clearer message.
        warnings.filterwarnings("ignore", message=".*input contained no data")
        try:
            data = np.loadtxt(path, delimiter=sep, ndmin=2, dtype=np.float64)
        except ValueError as exc:
            raise ValueError(f"{path}: malformed line: {exc}") from exc
    if data.size and data.shape[1] < 2:
        raise ValueError(
            f"{path}: expected at least two columns (user item [value]), got {data.shape[1]}."
        )
    return data


def _indices(data, path, shape):
    """User and item indices of the first two columns, and the shape they fit."""
    for col, name in ((0, "user"), (1, "item")):
        ids = data[:, col]
        bad = ~np.isfinite(ids) | (ids < 0) | (ids % 1 != 0)
        if bad.any():
            raise ValueError(
                f"{path}: {name} ids must be non-negative integers, got {ids[bad][0].item()!r}."
            )
    users, items = data[:, 0].astype(np.int64), data[:, 1].astype(np.int64)
    if shape is None:
        shape = (int(users.max()) + 1, int(items.max()) + 1)
    for ids, name, bound in ((users, "user", shape[0]), (items, "item", shape[1])):
        if ids.max() >= bound:
            raise ValueError(
                f"{path}: {name} id {ids.max()} does not fit shape {shape}: {name} ids "
                f"must be < {bound}."
            )
    return users, items, shape


def _values(data, path):
    """The third column, checked (None, every value 1, when there is none)."""
    if data.shape[1] < 3:
        return None
    values = data[:, 2]
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        raise ValueError(
            f"{path}: values must be finite and non-negative, got {values[bad][0].item()!r}; "
            f"pass binarize=True to count every line as one interaction."
        )
    return values
