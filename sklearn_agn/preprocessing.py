"""From interaction logs with ids to users x items matrices, and back."""

from collections.abc import Hashable, Mapping

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.preprocessing import OrdinalEncoder
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted

__all__ = ["InteractionEncoder"]


class InteractionEncoder(TransformerMixin, BaseEstimator):
    """Encode ``(user id, item id[, value])`` records as a users x items CSR matrix.

    ``fit`` learns the sorted sets of user and item ids; ``transform`` turns
    records into a matrix whose rows are users and columns items, in that
    order. Recommendations (item indices, as returned by a recommender's
    ``predict``) map back to item ids with :meth:`inverse_transform_items`;
    :meth:`recommend` does both ways at once, serving users by id.

    Parameters
    ----------
    user_col : hashable, default="user_id"
        Name of the column holding user ids.
    item_col : hashable, default="item_id"
        Name of the column holding item ids.
    value_col : hashable, default=None
        Name of a column of non-negative values (ratings, play counts...).
        None counts every record as 1.
    binarize : bool, default=True
        Store 1 for every (user, item) pair listed at least once (implicit
        feedback), whatever its value. When False, the values of a pair
        listed several times are summed (so that without ``value_col``
        repeated events become counts) and pairs summing to 0 are dropped.
    handle_unknown : {"error", "ignore"}, default="error"
        What ``transform`` and the index look-ups do with an id the encoder
        does not know: raise a ``ValueError``, or drop the record (look-ups
        return ``-1``). An unknown user is one without a row: with
        ``transform(X, users=...)`` the rows are the given users, who need
        not have been seen in fit.

    Attributes
    ----------
    user_ids_ : ndarray of shape (n_users,)
        Sorted user ids seen in fit; user ``user_ids_[r]`` is row ``r``.
    item_ids_ : ndarray of shape (n_items,)
        Sorted item ids seen in fit; item ``item_ids_[j]`` is column ``j``.

    See Also
    --------
    sklearn_agn.datasets.load_movielens : Read MovieLens ratings into a DataFrame.
    sklearn_agn.datasets.load_triplets : Read files of already encoded indices.

    Examples
    --------
    >>> from sklearn_agn.preprocessing import InteractionEncoder
    >>> log = {"user_id": ["ann", "bob", "bob", "ann"],
    ...        "item_id": ["tea", "tea", "jam", "tea"]}
    >>> encoder = InteractionEncoder()
    >>> X = encoder.fit_transform(log)
    >>> encoder.user_ids_, encoder.item_ids_
    (array(['ann', 'bob'], dtype='<U3'), array(['jam', 'tea'], dtype='<U3'))
    >>> X.toarray()
    array([[0., 1.],
           [1., 1.]], dtype=float32)
    >>> encoder.inverse_transform_items([[0, 1], [1, -1]])
    array([['jam', 'tea'],
           ['tea', None]], dtype=object)
    """

    _parameter_constraints = {
        "user_col": [Hashable],
        "item_col": [Hashable],
        "value_col": [Hashable, None],
        "binarize": ["boolean"],
        "handle_unknown": [StrOptions({"error", "ignore"})],
    }

    def __init__(
        self,
        *,
        user_col="user_id",
        item_col="item_id",
        value_col=None,
        binarize=True,
        handle_unknown="error",
    ):
        self.user_col = user_col
        self.item_col = item_col
        self.value_col = value_col
        self.binarize = binarize
        self.handle_unknown = handle_unknown

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Learn the user and item ids.

        Parameters
        ----------
        X : DataFrame or mapping of column name to array-like
            Interaction records, one per row, with columns ``user_col``,
            ``item_col`` and, when set, ``value_col``: a pandas or polars
            DataFrame, a dict of equal-length arrays, or a structured array.
        y : None
            Ignored.

        Returns
        -------
        self : object
            Fitted encoder.
        """
        users, items, _ = self._records(X)
        if len(users) == 0:
            raise ValueError("X holds no interaction record: cannot learn any id.")
        self.user_ids_ = _sorted_ids(users, self.user_col)
        self.item_ids_ = _sorted_ids(items, self.item_col)
        self._user_lookup = _id_lookup(self.user_ids_)
        self._item_lookup = _id_lookup(self.item_ids_)
        return self

    def transform(self, X, users=None):
        """Build the users x items matrix of the records in ``X``.

        Parameters
        ----------
        X : DataFrame or mapping of column name to array-like
            Interaction records, as in :meth:`fit`.
        users : array-like of shape (n_rows,), default=None
            User ids giving the rows of the result, in order; they may include
            users not seen in fit (their rows are folded in by recommenders).
            None gives one row per user of ``user_ids_``.

        Returns
        -------
        X_out : csr_matrix of shape (n_rows, n_items), dtype float32
            Canonical (sorted indices, no duplicates, no explicit zeros);
            columns follow ``item_ids_``. A row without records is empty.
        """
        check_is_fitted(self)
        user_values, items, values = self._records(X)
        if users is None:
            return self._matrix(user_values, items, values, self.user_ids_, self._user_lookup)
        row_ids = self._row_ids(users)
        return self._matrix(user_values, items, values, row_ids, _id_lookup(row_ids))

    def _row_ids(self, users):
        """``users`` validated as the distinct ids of the rows of a matrix."""
        row_ids = _check_ids(np.asarray(users), "users")
        if len(_sorted_ids(row_ids, "users")) != len(row_ids):
            raise ValueError("users lists the same user twice: rows must be distinct users.")
        return row_ids

    def _matrix(self, user_values, items, values, row_ids, row_lookup):
        """CSR matrix of the records, one row per id of ``row_ids``."""
        rows = _positions(row_lookup, row_ids, user_values, "user")
        cols = _positions(self._item_lookup, self.item_ids_, items, "item")
        known = (rows >= 0) & (cols >= 0)
        if not known.all():
            if self.handle_unknown == "error":
                unknown_users = np.unique(user_values[rows < 0])
                unknown_items = np.unique(items[cols < 0])
                parts = [
                    f"{len(ids)} {what} ({_some(ids)})"
                    for ids, what in ((unknown_users, "user(s) without a row"),
                                      (unknown_items, "item(s) unseen in fit"))
                    if len(ids)
                ]
                raise ValueError(
                    f"X holds {' and '.join(parts)}. Pass handle_unknown='ignore' to drop "
                    f"their records, or users=[...] to choose the rows."
                )
            rows, cols, values = rows[known], cols[known], values[known]
        return _interaction_matrix(rows, cols, (len(row_ids), len(self.item_ids_)), values,
                                   binarize=self.binarize)

    def user_index(self, ids):
        """Rows of the given user ids.

        Parameters
        ----------
        ids : array-like
            User ids, any shape.

        Returns
        -------
        rows : ndarray of intp, same shape as ``ids``
            Index into ``user_ids_``; ``-1`` for an unknown id when
            ``handle_unknown="ignore"``.
        """
        check_is_fitted(self)
        return self._index(self._user_lookup, self.user_ids_, ids, "user")

    def item_index(self, ids):
        """Columns of the given item ids.

        Parameters
        ----------
        ids : array-like
            Item ids, any shape.

        Returns
        -------
        cols : ndarray of intp, same shape as ``ids``
            Index into ``item_ids_``; ``-1`` for an unknown id when
            ``handle_unknown="ignore"``.
        """
        check_is_fitted(self)
        return self._index(self._item_lookup, self.item_ids_, ids, "item")

    def recommend(self, estimator, X, users, k=None, *, exclude_items=None,
                  candidate_items=None, fill_value=None):
        """Recommend item ids to users given by id, from their records in ``X``.

        Builds the users' rows from their records (as :meth:`transform` with
        ``users=users`` would, ignoring the records of other users), asks the
        recommender for its top ``k`` through its ``recommend`` method, and
        maps the columns back to item ids. A user unseen in fit is a new user:
        their row holds their records in ``X``, empty when there are none,
        and the recommender folds it in like any other row.

        Parameters
        ----------
        estimator : fitted recommender
            A recommender of this package fitted on matrices built by this
            encoder (one column per id of ``item_ids_``).
        X : DataFrame or mapping of column name to array-like
            Interaction records holding the users' histories, as in
            :meth:`fit`; typically the whole log. Only the records of
            ``users`` are used.
        users : array-like of shape (n_users,)
            Distinct user ids to recommend for, in the order of the output rows.
        k : int, default=None
            Number of items per user; the recommender's ``k`` when None.
        exclude_items : array-like of item ids, default=None
            Items never to recommend to any of the users (besides each user's
            own real interactions, which are never recommended back).
        candidate_items : array-like of item ids, default=None
            When given, the only items that may be recommended.
        fill_value : object, default=None
            Written where a user has fewer than ``k`` eligible items (see
            :meth:`inverse_transform_items`).

        Returns
        -------
        item_ids : ndarray of shape (n_users, k)
            Recommended item ids per user, best first.

        Raises
        ------
        ValueError
            If ``exclude_items`` or ``candidate_items`` holds an id unseen in
            fit (whatever ``handle_unknown``), or the recommender was fitted
            on another number of items.
        """
        check_is_fitted(self)
        n_items = len(self.item_ids_)
        if getattr(estimator, "n_features_in_", n_items) != n_items:
            raise ValueError(
                f"{type(estimator).__name__} was fitted on {estimator.n_features_in_} items, "
                f"but this encoder knows {n_items}: fit it on a matrix from this encoder."
            )
        if not hasattr(estimator, "recommend"):
            raise TypeError(
                f"{type(estimator).__name__} has no recommend method: pass a recommender "
                "of sklearn_agn (e.g. MFRecommender, EASE)."
            )
        row_ids = self._row_ids(users)
        lookup = _id_lookup(row_ids)
        user_values, items, values = self._records(X)
        theirs = _positions(lookup, row_ids, user_values, "user") >= 0
        rows = self._matrix(user_values[theirs], items[theirs], values[theirs], row_ids, lookup)
        ranked = estimator.recommend(
            rows, k=k,
            exclude_items=self._known_items(exclude_items, "exclude_items"),
            candidate_items=self._known_items(candidate_items, "candidate_items"),
        )
        return self.inverse_transform_items(ranked, fill_value=fill_value)

    def _known_items(self, ids, name):
        """Columns of the item ids ``ids`` (None stays None); unseen ids are an error."""
        if ids is None:
            return None
        flat = _check_ids(np.asarray(ids).ravel(), name)
        cols = _positions(self._item_lookup, self.item_ids_, flat, "item")
        if (cols < 0).any():
            unknown = np.unique(flat[cols < 0])
            raise ValueError(
                f"{name} holds {len(unknown)} item id(s) unseen in fit ({_some(unknown)}): "
                f"the model can neither recommend nor exclude them."
            )
        return cols

    def inverse_transform_items(self, ranked, fill_value=None):
        """Map item indices (e.g. top-k recommendations) back to item ids.

        Parameters
        ----------
        ranked : array-like of int
            Column indices, any shape, typically the ``(n_users, k)`` output
            of a recommender's ``predict``; ``-1`` marks padding.
        fill_value : object, default=None
            Written where ``ranked`` is ``-1``.

        Returns
        -------
        item_ids : ndarray, same shape as ``ranked``
            Of the ids' dtype when ``fill_value`` shares it (e.g. ``-1`` for
            integer ids, ``""`` for string ids); of object dtype otherwise.
        """
        check_is_fitted(self)
        ranked = np.asarray(ranked)
        if not np.issubdtype(ranked.dtype, np.integer):
            raise TypeError(f"ranked must hold integer item indices, got dtype {ranked.dtype}.")
        n_items = len(self.item_ids_)
        bad = (ranked < -1) | (ranked >= n_items)
        if bad.any():
            raise ValueError(
                f"ranked holds index {ranked[bad][0]}, outside [-1, {n_items}): "
                f"the encoder knows {n_items} items and -1 marks padding."
            )
        ids = self.item_ids_
        dtype = np.dtype(object)
        if fill_value is not None:
            fill = np.asarray(fill_value)
            # Same kind only: never cast the ids (ints to floats) or the fill value
            # (-1 to the string "-1").
            if fill.dtype.kind == ids.dtype.kind:
                dtype = np.result_type(ids, fill)
        out = ids.astype(dtype)[np.maximum(ranked, 0)]
        out[ranked == -1] = fill_value
        return out

    def _index(self, lookup, known, ids, what):
        ids = np.asarray(ids)
        flat = _check_ids(ids.ravel(), f"{what} ids")
        pos = _positions(lookup, known, flat, what)
        if self.handle_unknown == "error" and (pos < 0).any():
            unknown = np.unique(flat[pos < 0])
            raise ValueError(f"{len(unknown)} {what} id(s) unseen in fit: {_some(unknown)}.")
        return pos.reshape(ids.shape)

    def _records(self, X):
        """The validated user ids, item ids and float values of ``X``."""
        if hasattr(X, "columns"):
            names = list(X.columns)
        elif isinstance(X, Mapping):
            names = list(X.keys())
        elif isinstance(X, np.ndarray) and X.dtype.names is not None:
            names = list(X.dtype.names)
        else:
            raise TypeError(
                f"X must be a DataFrame or a mapping of column name to array (e.g. "
                f"{{{self.user_col!r}: user_ids, {self.item_col!r}: item_ids}}), got "
                f"{type(X).__name__}. A users x items matrix needs no encoding."
            )
        wanted = {"user_col": self.user_col, "item_col": self.item_col}
        if self.value_col is not None:
            wanted["value_col"] = self.value_col
        missing = [f"{param}={name!r}" for param, name in wanted.items() if name not in names]
        if missing:
            raise ValueError(
                f"X has no column {', '.join(missing)}; its columns are {names}. Set "
                f"user_col, item_col and value_col to the names of your columns."
            )
        users = _check_ids(_column(X, self.user_col), f"column {self.user_col!r}")
        items = _check_ids(_column(X, self.item_col), f"column {self.item_col!r}")
        if len(users) != len(items):
            raise ValueError(
                f"columns {self.user_col!r} and {self.item_col!r} have different lengths "
                f"({len(users)} and {len(items)})."
            )
        if self.value_col is None:
            return users, items, np.ones(len(users))
        values = _column(X, self.value_col)
        try:
            values = np.asarray(values, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"column {self.value_col!r} must hold numbers, got dtype {values.dtype}."
            ) from exc
        if values.shape != users.shape:
            raise ValueError(
                f"column {self.value_col!r} has {len(values)} values for {len(users)} records."
            )
        bad = ~np.isfinite(values) | (values < 0)
        if bad.any():
            raise ValueError(
                f"column {self.value_col!r} must hold finite non-negative values, got "
                f"{values[bad][0].item()!r}: interaction values are implicit feedback."
            )
        return users, items, values

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.dict = True
        tags.input_tags.string = True
        return tags


def _interaction_matrix(rows, cols, shape, values=None, *, binarize=True):
    """The CSR matrix of the records ``(rows[i], cols[i], values[i])``, dtype float32.

    The one place where records become a matrix: the encoder, the file loaders
    and the benchmarks build theirs here. Canonical: sorted indices, the
    values of a pair listed several times summed, no explicit zeros. With
    ``binarize`` every pair listed is 1, whatever its values; ``values=None``
    counts every record as 1.
    """
    if values is None:
        values = np.ones(len(rows), dtype=np.float32)
    X = sp.csr_matrix((values, (rows, cols)), shape=shape, dtype=np.float32)
    X.sum_duplicates()
    if binarize:
        X.data[:] = 1.0  # duplicates were summed; an interaction is still one
    X.eliminate_zeros()
    return X


def _some(ids):
    """The first few of ``ids`` for an error message."""
    return ", ".join(map(repr, ids[:5].tolist())) + (", ..." if len(ids) > 5 else "")


def _column(X, name):
    """Column ``name`` of ``X`` as a 1-d ndarray, missing entries as NaN or None."""
    col = X[name]
    if hasattr(col, "isna"):  # pandas: nullable dtypes hold pd.NA, which compares as NA
        missing = col.isna().to_numpy()
        if missing.any():
            return np.where(missing, None, col.to_numpy(dtype=object))
        return col.to_numpy()
    return np.asarray(col)


def _check_ids(ids, name):
    """``ids`` as a 1-d array, checked for missing values."""
    if ids.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {ids.shape}.")
    if ids.dtype.kind in "fc":
        missing = np.isnan(ids)
    elif ids.dtype.kind == "O":
        missing = np.frompyfunc(_is_missing, 1, 1)(ids).astype(bool)
    else:
        return ids
    if missing.any():
        raise ValueError(
            f"{name} holds {int(missing.sum())} missing ids (NaN or None), first at "
            f"position {int(np.flatnonzero(missing)[0])}: drop those records first."
        )
    return ids


def _is_missing(value):
    try:
        return value is None or bool(value != value)  # NaN and NaT differ from themselves
    except TypeError:  # pd.NA: its comparisons are NA, which has no truth value
        return True


def _sorted_ids(ids, name):
    try:
        return np.unique(ids)
    except TypeError as exc:
        raise TypeError(
            f"{name} ids cannot be sorted: they mix types that do not compare (e.g. "
            f"strings and integers). Convert them to one type first."
        ) from exc


def _id_lookup(known):
    """An ``OrdinalEncoder`` from each id of the distinct ids ``known`` to its position.

    Ids outside ``known`` encode as -1. The encoder needs its categories sorted,
    so it maps to positions in sorted order, which ``_positions`` translates.
    """
    order = np.argsort(known, kind="stable")
    encoder = OrdinalEncoder(
        categories=[known[order]], handle_unknown="use_encoded_value", unknown_value=-1,
        dtype=np.int64,
    )
    return encoder.fit(known[order][:, None]), order


def _positions(lookup, known, ids, what):
    """Index of each of ``ids`` in the ids ``known`` (through ``lookup``), -1 where absent."""
    if len(ids) == 0:
        return np.zeros(0, dtype=np.intp)
    # Numbers against strings would be cast to the known ids' kind by the
    # encoder (1 matching "1"); they never name the same thing.
    if {_id_kind(ids.dtype), _id_kind(known.dtype)} == {"number", "text"}:
        raise TypeError(
            f"{what} ids of dtype {ids.dtype} cannot be compared with the encoder's "
            f"{what} ids of dtype {known.dtype}."
        )
    encoder, order = lookup
    try:
        sorted_pos = encoder.transform(ids[:, None])[:, 0]
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"{what} ids of dtype {ids.dtype} cannot be compared with the encoder's "
            f"{what} ids of dtype {known.dtype}."
        ) from exc
    return np.where(sorted_pos >= 0, order[sorted_pos], -1).astype(np.intp)


def _id_kind(dtype):
    """``"number"``, ``"text"`` or ``"object"`` (anything else, checked value by value)."""
    if dtype.kind in "biuf":
        return "number"
    if dtype.kind in "US":
        return "text"
    return "object"
