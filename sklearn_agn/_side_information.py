"""Side information: one numeric row of attributes per item, or per user, and the warm items.

Item attributes describe the columns of the interaction matrix, as
``CountVectorizer``'s ``vocabulary`` describes its features: they are a
constructor parameter of the estimators that use them, validated in ``fit``
against the number of items of ``X``. User attributes describe its rows and
are passed with the rows (``fit(X, user_attributes=...)``).
"""

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import check_array


def check_attributes(attributes, n_rows=None, *, name="item_attributes"):
    """Validate an ``(n_items, n_features)`` or ``(n_users, n_features)`` attribute matrix.

    ``name`` is ``"item_attributes"`` (one row per column of ``X``) or
    ``"user_attributes"`` (one row per row of ``X``); ``n_rows`` is the
    number of items or users it must describe. Returns it as float64.

    Dense input stays a dense array, sparse input becomes CSR; the caller's
    object is never modified.

    Raises
    ------
    TypeError
        If ``attributes`` is None, or holds non-numeric values (the offending
        DataFrame columns are named).
    ValueError
        If it holds NaN or infinity, is not 2-D, or (when ``n_rows`` is
        given) its number of rows differs from the number of items or users.
    """
    unit, axis = ("user", "rows") if name.startswith("user") else ("item", "columns")
    if attributes is None:
        raise TypeError(
            f"{name} is required: pass a numeric (n_{unit}s, n_features) matrix, one row of "
            f"attributes per {unit} ({axis[:-1]} of X)."
        )
    dtypes = getattr(attributes, "dtypes", None)
    if dtypes is not None and hasattr(dtypes, "items"):  # a pandas DataFrame
        bad = [str(col) for col, dtype in dtypes.items() if not _is_numeric(dtype)]
        if bad:
            raise TypeError(
                f"{name} must be numeric; columns {bad} are not. Encode them first "
                "(e.g. OneHotEncoder for categories, TfidfVectorizer for text)."
            )
    elif not sp.issparse(attributes):
        dtype = getattr(attributes, "dtype", None)
        if dtype is None:
            dtype = np.asarray(attributes).dtype
        if not _is_numeric(dtype):
            raise TypeError(
                f"{name} must be numeric, got an array of dtype {dtype}. Encode text or "
                "categories first (e.g. OneHotEncoder, TfidfVectorizer)."
            )
    attributes = check_array(attributes, accept_sparse="csr", dtype=np.float64,
                             input_name=name, ensure_min_features=1, ensure_min_samples=1)
    if n_rows is not None and attributes.shape[0] != n_rows:
        raise ValueError(
            f"{name} has {attributes.shape[0]} rows, but X has {n_rows} {unit}s ({axis}): "
            f"it needs exactly one row of attributes per {unit}, in the order of X's {axis}."
        )
    return attributes


def _is_numeric(dtype):
    try:
        return np.issubdtype(np.dtype(dtype), np.number) or np.dtype(dtype) == np.bool_
    except TypeError:  # pandas extension dtypes (string, category...)
        return getattr(dtype, "kind", "O") in "biuf"


def warm_items(X):
    """Boolean mask of the columns of canonical CSR ``X`` with a stored entry."""
    return np.bincount(X.indices, minlength=X.shape[1]) > 0
