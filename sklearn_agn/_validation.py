"""Input validation shared by every estimator: the data contract (README, "Data contract").

``X`` is a users x items matrix of non-negative implicit feedback. Estimators
work on a canonical CSR copy (sorted indices, duplicates summed, explicit zeros
dropped) and never modify the caller's matrix.

Real and generated feedback. Every stored entry of a matrix is a real
interaction, whatever its value (a play count, a half-star rating, a log1p of
counts), unless the matrix is marked: :class:`~sklearn_agn.GANAugmenter`
returns a CSR matrix that records, in an attribute, the pattern of the entries
it generated (:func:`mark_generated`). The mark is only how a ``Pipeline``
carries that from one step to the next: it belongs to the matrix object, and
an operation that builds a new matrix (slicing, arithmetic, ``copy``) drops
it, and then every entry counts as real. That is the safe failure: a real
interaction is never recommended back, and at worst generated feedback is
treated as real.

Inside the library the mark is read in one place, :func:`_feedback`, which
every validation goes through: an estimator's method validates its input
once, into a :class:`Feedback` (the canonical matrix, which entries are
real, their preferences), and passes that value on to its solver, its
fold-in and its seen-item filter, slicing it with :meth:`Feedback.rows` and
:meth:`Feedback.columns`, which keep every entry's flags.
"""

import dataclasses
import numbers

import numpy as np
import scipy.sparse as sp
from sklearn.utils.validation import check_array, check_non_negative, validate_data

# Attribute of a CSR matrix holding the boolean CSR pattern of its generated entries.
_GENERATED = "_sklearn_agn_generated"


@dataclasses.dataclass(frozen=True, eq=False)
class Feedback:
    """Interactions as the library reads them, built once per call by validation.

    Built by :func:`check_interactions` (in an estimator) or
    :func:`check_feedback` (outside one), never by hand.

    Attributes
    ----------
    X : csr_matrix or csr_array of shape (n_users, n_items)
        The canonical matrix, the caller's own where it already was one
        (never modified). ``real`` says which entries are real, not a mark.
    real : ndarray of bool of shape (X.nnz,) or None
        Which stored entries, aligned with ``X.data``, are real interactions;
        None when all of them are (no generated feedback), which the solvers
        take as such without per-entry arrays.
    preferences : ndarray of shape (X.nnz,) or None
        Preference of every stored entry: 1 for a real interaction, the
        stored weight, in (0, 1], for generated feedback, so that generated
        entries count less as their weight goes down and vanish as it goes
        to 0. None when every entry is real (all 1).
    """

    X: object
    real: object = None
    preferences: object = None

    def real_mask(self):
        """Boolean CSR mask of the real entries of ``X``: the seen-item filter."""
        return self._mask(self.real)

    def generated_mask(self):
        """Boolean CSR mask of the generated entries of ``X`` (empty if there is none)."""
        return self._mask(np.zeros(self.X.nnz, dtype=bool) if self.real is None else ~self.real)

    def _mask(self, keep):
        X = self.X
        if keep is None:  # every stored entry
            return sp.csr_matrix((np.ones(X.nnz, dtype=bool), X.indices.copy(), X.indptr.copy()),
                                 shape=X.shape)
        indptr = np.concatenate([[0], np.cumsum(keep, dtype=X.indptr.dtype)])[X.indptr]
        return sp.csr_matrix((np.ones(indptr[-1], dtype=bool), X.indices[keep], indptr),
                             shape=X.shape)

    def rows(self, rows):
        """The feedback of the rows ``rows`` (a slice or an array of row indices)."""
        return self._take(rows)

    def columns(self, columns):
        """The feedback of the columns ``columns`` (a slice or an array of item indices)."""
        return self._take((slice(None), columns))

    def _take(self, key):
        X = self.X[key]
        if self.real is None:
            X.sort_indices()  # a new matrix: picking columns may leave them unsorted
            return Feedback(X)
        # Where each entry of the result comes from: its flags follow it.
        source = entry_ids(self.X)[key]
        X.sort_indices()
        source.sort_indices()  # the same pattern as X, in the same order
        taken = source.data - 1
        return Feedback(X, self.real[taken], self.preferences[taken])

    def marked(self):
        """``X`` carrying the mark of its generated entries, to hand on to another step.

        A new matrix object on the same arrays when ``X`` holds generated
        feedback (the mark is never set on the caller's matrix), else ``X``.
        """
        if self.real is None:
            return self.X
        return mark_generated(type(self.X)(self.X), self.generated_mask())


def check_interactions(estimator, X, *, reset, dtype=(np.float64, np.float32)):
    """Validate ``X`` into the :class:`Feedback` of its canonical CSR matrix of floats.

    ``reset=True`` records ``n_features_in_`` (the number of items); with
    ``reset=False`` the item count must match the fitted one. The matrix is a
    copy whenever canonicalisation would otherwise touch ``X``.
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
    X_in = X
    if reset or not _valid_csr(estimator, X, dtype):
        X = validate_data(
            estimator,
            X,
            accept_sparse="csr",
            dtype=dtype,
            reset=reset,
            ensure_min_samples=1,
            ensure_min_features=1,
        )
    return _feedback(X_in, _canonical(X, f"{name} (interaction values)", binary=_is_boolean(X_in)))


def _valid_csr(estimator, X, dtype):
    """Whether ``validate_data(estimator, X, reset=False)`` would return ``X`` as it is.

    True for a non-empty CSR matrix of finite floats of an accepted ``dtype``,
    its columns already checked against ``n_features_in_``, for an estimator
    fitted without feature names: what serving passes, one row at a time,
    checked here in microseconds where ``validate_data`` takes about a
    millisecond (more than scoring the row). Anything else, invalid input
    included, goes through ``validate_data``, which raises its own errors.
    """
    return (sp.issparse(X) and X.format == "csr"
            and isinstance(dtype, (tuple, list)) and X.dtype in dtype
            and X.shape[0] >= 1 and X.shape[1] >= 1
            and hasattr(estimator, "n_features_in_")
            and not hasattr(estimator, "feature_names_in_")
            and np.isfinite(X.data).all())


def check_feedback(X, *, name="X", dtype=(np.float64, np.float32)):
    """Validate ``X`` outside an estimator; same contract as :func:`check_interactions`."""
    X_in = X
    X = check_array(X, accept_sparse="csr", dtype=dtype, input_name=name)
    return _feedback(X_in, _canonical(X, name, binary=_is_boolean(X_in)))


def as_interactions(X, *, name="X", dtype=(np.float64, np.float32)):
    """The canonical matrix of :func:`check_feedback`, still marked, to hand on to estimators."""
    return check_feedback(X, name=name, dtype=dtype).marked()


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


def _marker(X):
    """The mark of ``X`` or None: read by :func:`_feedback` only."""
    return getattr(X, _GENERATED, None) if sp.issparse(X) else None


def _feedback(X_in, X):
    """The :class:`Feedback` of ``X``, canonical ``X_in``: the one place that reads the mark."""
    mask = _marker(X_in)
    if mask is None:
        return Feedback(X)
    if not sp.issparse(mask) or mask.shape != X.shape:
        raise ValueError(
            f"The generated-feedback mark of X has shape {getattr(mask, 'shape', None)}, "
            f"X has shape {X.shape}: the mark no longer describes X."
        )
    mask = sp.csr_matrix(mask, dtype=bool)
    generated = _entry_flags(X, mask)
    if generated.sum() != mask.nnz:
        raise ValueError(
            "X is marked as holding generated feedback on entries it does not store: "
            "the mark no longer describes X (was X modified in place?)."
        )
    if not generated.any():
        return Feedback(X)
    if X.data[generated].max() > 1:
        raise ValueError(
            "Generated feedback must have weights in (0, 1]; X holds a marked entry of "
            f"{X.data[generated].max():.3g} (was X modified in place?)."
        )
    preferences = np.ones(X.nnz, dtype=np.float64)
    preferences[generated] = X.data[generated]
    return Feedback(X, ~generated, preferences)


def entry_ids(R):
    """``R``'s pattern holding ``1 + the index of each entry in R.data``.

    Slicing, transposing or masking it tells where every entry of the result
    comes from, so per-entry arrays (preferences, real flags) follow ``R``
    through any reshaping (1-based, so no entry is an explicit zero that
    scipy drops).
    """
    return sp.csr_matrix((np.arange(1, R.nnz + 1, dtype=np.int64), R.indices, R.indptr),
                         shape=R.shape)


def _entry_flags(X, mask):
    """Boolean array aligned with canonical ``X.data``: True where ``mask`` is set."""
    flags = np.zeros(X.nnz, dtype=bool)
    if mask.nnz:
        hits = entry_ids(X).multiply(mask).tocsr()
        hits.eliminate_zeros()
        flags[hits.data.astype(np.int64) - 1] = True
    return flags


def mark_generated(X, mask):
    """Record that the entries of ``X`` where ``mask`` is set are generated feedback.

    ``X`` must be a CSR matrix created by the caller of this function (never a
    user's matrix: the mark is an attribute set on the object). Returns ``X``.
    """
    setattr(X, _GENERATED, sp.csr_matrix(mask, dtype=bool))
    return X


def take_rows(X, rows):
    """``X[rows]``, still marked: rows of a matrix to hand on to estimators."""
    return check_feedback(X).rows(rows).marked()


def check_item_indices(items, n_items, name="items", *, allow_int=False):
    """``items`` as a 1-D intp array of indices into a catalogue of ``n_items`` items.

    With ``allow_int``, a single int is accepted too, and the result is
    ``(indices, single)``, ``single`` saying whether one int was given.
    """
    single = (allow_int and isinstance(items, numbers.Integral)
              and not isinstance(items, (bool, np.bool_)))
    array = np.atleast_1d(np.asarray(items)) if single else np.asarray(items)
    if array.ndim != 1:
        raise ValueError(f"{name} must be {'an int or ' if allow_int else ''}a 1-D array of "
                         f"item indices, got shape {array.shape}.")
    if array.size and not np.issubdtype(array.dtype, np.integer):
        raise TypeError(f"{name} must hold integer item indices, got dtype {array.dtype}.")
    if array.size and (array.min() < 0 or array.max() >= n_items):
        raise ValueError(
            f"{name} holds item indices outside the catalogue [0, {n_items}) of the model: "
            f"min {array.min()}, max {array.max()}."
        )
    array = array.astype(np.intp, copy=False)
    return (array, single) if allow_int else array


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


def check_n_samples(n_samples):
    """Validate the number of synthetic rows a sampler is asked to draw."""
    if (
        isinstance(n_samples, (bool, np.bool_))
        or not isinstance(n_samples, numbers.Integral)
        or n_samples < 1
    ):
        raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}.")


def same_sparse_container(X_in, X_csr):
    """Return ``X_csr`` as ``csr_array`` if ``X_in`` was a sparse array, else ``csr_matrix``."""
    if isinstance(X_in, sp.sparray):
        return sp.csr_array(X_csr)
    return sp.csr_matrix(X_csr)
