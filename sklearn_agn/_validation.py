"""Input validation shared by every estimator: the data contract of SPEC.md.

``X`` is a users x items matrix of non-negative implicit feedback. Estimators
work on a canonical CSR copy (sorted indices, duplicates summed, explicit zeros
dropped) and never modify the caller's matrix.
"""

import numbers

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import check_array, check_non_negative, validate_data

#: Stored values at or above this are real interactions; generated feedback
#: from ``GANAugmenter`` carries weights strictly below it (SPEC.md contract).
REAL_INTERACTION_THRESHOLD = 1.0


def check_interactions(estimator, X, *, reset, dtype=(np.float64, np.float32)):
    """Validate ``X`` and return it as a canonical CSR matrix of floats.

    ``reset=True`` records ``n_features_in_`` (the number of items); with
    ``reset=False`` the item count must match the fitted one. The returned
    matrix is a copy whenever canonicalisation would otherwise touch ``X``.
    """
    name = type(estimator).__name__
    if not reset and hasattr(estimator, "n_features_in_"):
        n_items = estimator.n_features_in_
        n_cols = _n_columns(X)
        if n_cols is not None and n_cols != n_items:
            raise ValueError(
                f"X has {n_cols} features, but {name} is expecting {n_items} "
                f"features as input. Rows are users and columns are items, so "
                f"X must have one column per item seen in fit ({n_items})."
            )
    binary = _is_boolean(X)
    X = validate_data(
        estimator,
        X,
        accept_sparse="csr",
        dtype=dtype,
        reset=reset,
        ensure_min_samples=1,
        ensure_min_features=1,
    )
    return _canonical(X, f"{name} (interaction values)", binary=binary)


def as_interactions(X, *, name="X", dtype=(np.float64, np.float32)):
    """Validate ``X`` outside an estimator; same contract as :func:`check_interactions`."""
    binary = _is_boolean(X)
    X = check_array(X, accept_sparse="csr", dtype=dtype, input_name=name)
    return _canonical(X, name, binary=binary)


def _is_boolean(X):
    dtype = getattr(X, "dtype", None)
    return isinstance(dtype, np.dtype) and dtype == np.bool_


def _canonical(X, whom, binary=False):
    check_non_negative(X, whom)
    if not sp.issparse(X):
        X = sp.csr_matrix(X)
    elif X.format != "csr":
        X = X.tocsr()
    if not X.has_canonical_format or (X.data == 0).any():
        X = X.copy()  # canonicalising works in place: never on the caller's matrix
        X.sum_duplicates()
        X.eliminate_zeros()
    if binary and X.nnz and X.data.max() > 1:
        # Duplicate entries of a boolean matrix are one True (``toarray`` and
        # ``sum`` agree), but casting to float sums them (scipy's ``astype``).
        X = X.copy()
        np.minimum(X.data, 1, out=X.data)
    return X


def _n_columns(X):
    shape = getattr(X, "shape", None)
    if shape is not None and len(shape) == 2:
        return shape[1]
    return None


def real_interactions(X):
    """Boolean CSR mask of the real (value >= 1) entries of canonical ``X``."""
    mask = X.copy()
    mask.data = X.data >= REAL_INTERACTION_THRESHOLD
    mask.eliminate_zeros()
    return mask.astype(bool)


def check_k(k, n_items, name="k"):
    """Validate a top-k cut-off against the catalogue size."""
    if isinstance(k, (bool, np.bool_)) or not isinstance(k, numbers.Integral):
        raise TypeError(f"{name} must be a positive integer, got {k!r}.")
    if k < 1:
        raise ValueError(f"{name} must be >= 1, got {k}.")
    if k > n_items:
        raise ValueError(
            f"{name}={k} is larger than the catalogue: the model knows only "
            f"{n_items} items."
        )
    return int(k)


def same_sparse_container(X_in, X_csr):
    """Return ``X_csr`` as ``csr_array`` if ``X_in`` was a sparse array, else ``csr_matrix``."""
    if isinstance(X_in, sp.sparray):
        return sp.csr_array(X_csr)
    return sp.csr_matrix(X_csr)
