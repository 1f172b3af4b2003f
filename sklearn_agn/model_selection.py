"""Splits that respect users and time: per-user and temporal hold-outs, user-level CV."""

import numbers
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.model_selection import BaseCrossValidator, KFold
from sklearn.utils import check_random_state

from ._validation import as_interactions, check_feedback, same_sparse_container

__all__ = ["holdout_split", "leave_last_out_split", "temporal_split", "UserKFold"]


def holdout_split(X, test_size=0.2, *, min_train=1, random_state=None):
    """Hold out a fraction of each user's interactions.

    Every user (row) with ``n`` interactions moves ``round(test_size * n)`` of
    them, chosen at random, to the test matrix (halves round up), but never so
    many that fewer than ``min_train`` stay in train.

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_users, n_items)
        Interactions. It is not modified.
    test_size : float in (0, 1), default=0.2
        Fraction of each user's interactions moved to the test matrix.
    min_train : int, default=1
        Interactions each user keeps in train whatever ``test_size`` says; a
        user with ``min_train`` interactions or fewer keeps them all, so with
        the default a single-interaction user keeps it in train.
    random_state : int, RandomState instance or None, default=None
        Seed of the draw that picks the held-out interactions; an int makes
        the split reproducible.

    Returns
    -------
    X_train, X_test : sparse matrix of shape (n_users, n_items)
        Disjoint matrices whose sum is ``X`` (canonical: explicit zeros and
        duplicates are gone), as ``csr_array`` when ``X`` is a sparse array
        and ``csr_matrix`` otherwise.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_agn.model_selection import holdout_split
    >>> X = np.array([[1, 1, 1, 1, 0], [0, 1, 0, 0, 0]])
    >>> X_train, X_test = holdout_split(X, test_size=0.5, random_state=0)
    >>> X_train.getnnz(axis=1), X_test.getnnz(axis=1)
    (array([2, 1], dtype=int32), array([2, 0], dtype=int32))
    """
    if isinstance(test_size, (bool, np.bool_)) or not isinstance(test_size, numbers.Real):
        raise TypeError(f"test_size must be a float in (0, 1), got {test_size!r}.")
    if not 0 < test_size < 1:
        raise ValueError(f"test_size must lie in (0, 1), got {test_size!r}.")
    if isinstance(min_train, (bool, np.bool_)) or not isinstance(min_train, numbers.Integral):
        raise TypeError(f"min_train must be a non-negative integer, got {min_train!r}.")
    if min_train < 0:
        raise ValueError(f"min_train must be >= 0, got {min_train}.")
    X_in = X
    X = _as_real_interactions(X)
    rng = check_random_state(random_state)
    counts = np.diff(X.indptr)
    # np.rint rounds halves to even (2.5 -> 2 but 1.5 -> 2): round halves up
    # instead, so that users with a similar activity lose similar shares.
    n_test = np.floor(counts * float(test_size) + 0.5).astype(np.int64)
    n_test = np.minimum(n_test, np.maximum(counts - min_train, 0))
    # One random key per interaction; within each row the n_test smallest go to test.
    keys = rng.random_sample(X.nnz)
    rows = np.repeat(np.arange(X.shape[0]), counts)
    order = np.lexsort((keys, rows))
    rank_in_row = np.empty(X.nnz, dtype=np.int64)
    rank_in_row[order] = np.arange(X.nnz) - np.repeat(X.indptr[:-1], counts)
    is_test = rank_in_row < n_test[rows]
    return (
        same_sparse_container(X_in, _select(X, rows, ~is_test)),
        same_sparse_container(X_in, _select(X, rows, is_test)),
    )


def _check_timestamps(X, timestamps):
    """The time of every stored entry of canonical ``X``, aligned with ``X.data``."""
    shape = getattr(timestamps, "shape", None)
    if not sp.issparse(timestamps) or shape != X.shape:
        raise ValueError(
            f"timestamps must be a sparse matrix of X's shape {X.shape} holding the time of "
            f"each stored interaction, got {type(timestamps).__name__} of shape {shape}."
        )
    times = timestamps.tocsr().astype(np.float64)
    if not times.has_canonical_format:
        times = times.copy()
        times.sum_duplicates()
    if not np.isfinite(times.data).all():
        raise ValueError("timestamps must be finite numbers (e.g. seconds since the epoch).")
    if not (np.array_equal(times.indptr, X.indptr) and np.array_equal(times.indices, X.indices)):
        raise ValueError(
            "timestamps must store exactly one time per stored interaction of X (the same "
            "sparsity pattern): build both from the same records."
        )
    return times.data


def leave_last_out_split(X, timestamps, *, n_test=1, min_train=1):
    """Hold out each user's latest interactions.

    Every user (row) moves their ``n_test`` most recent interactions to the
    test matrix, but never so many that fewer than ``min_train`` stay in
    train. Interactions at the same time are ordered by item index (the
    higher index counts as the later one), so the split is deterministic.

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_users, n_items)
        Interactions. It is not modified.
    timestamps : sparse matrix of shape (n_users, n_items)
        The time of each stored interaction of ``X`` (any numbers that order
        events, e.g. seconds since the epoch), with exactly ``X``'s sparsity
        pattern.
    n_test : int, default=1
        Number of interactions each user moves to test.
    min_train : int, default=1
        Interactions each user keeps in train whatever ``n_test`` says.

    Returns
    -------
    X_train, X_test : sparse matrix of shape (n_users, n_items)
        Disjoint matrices whose sum is ``X`` (canonical), as ``csr_array``
        when ``X`` is a sparse array and ``csr_matrix`` otherwise.

    See Also
    --------
    temporal_split : One cut-off time for every user.

    Examples
    --------
    >>> import numpy as np
    >>> import scipy.sparse as sp
    >>> from sklearn_agn.model_selection import leave_last_out_split
    >>> X = sp.csr_matrix(np.array([[1, 1, 1], [1, 0, 1]]))
    >>> times = sp.csr_matrix(np.array([[30, 10, 20], [5, 0, 7]]))
    >>> X_train, X_test = leave_last_out_split(X, times)
    >>> X_test.toarray()
    array([[1., 0., 0.],
           [0., 0., 1.]])

    From a log such as :func:`~sklearn_agn.datasets.load_movielens` returns
    (one record per user and item), build the times from the same records as
    the matrix of an :class:`~sklearn_agn.preprocessing.InteractionEncoder`:
    ``sp.csr_matrix((ratings.timestamp, (encoder.user_index(ratings.user_id),
    encoder.item_index(ratings.item_id))), shape=X.shape)``.
    """
    for value, name, low in ((n_test, "n_test", 1), (min_train, "min_train", 0)):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
            raise TypeError(f"{name} must be an integer, got {value!r}.")
        if value < low:
            raise ValueError(f"{name} must be >= {low}, got {value}.")
    X_in = X
    X = _as_real_interactions(X)
    times = _check_timestamps(X, timestamps)
    counts = np.diff(X.indptr)
    rows = np.repeat(np.arange(X.shape[0]), counts)
    n_held = np.minimum(n_test, np.maximum(counts - min_train, 0))
    # Rank of each entry in its row from the latest (0) back; indices break ties.
    order = np.lexsort((-X.indices, -times, rows))
    rank_in_row = np.empty(X.nnz, dtype=np.int64)
    rank_in_row[order] = np.arange(X.nnz) - np.repeat(X.indptr[:-1], counts)
    is_test = rank_in_row < n_held[rows]
    return (
        same_sparse_container(X_in, _select(X, rows, ~is_test)),
        same_sparse_container(X_in, _select(X, rows, is_test)),
    )


def temporal_split(X, timestamps, *, cutoff=None, test_size=None):
    """Split the interactions at one time: earlier ones train, later ones test.

    The same cut-off applies to every user, as when a model trained on the
    past serves the future: a user may have only test interactions (a new
    user) or only training ones.

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_users, n_items)
        Interactions. It is not modified.
    timestamps : sparse matrix of shape (n_users, n_items)
        The time of each stored interaction of ``X``, with exactly ``X``'s
        sparsity pattern (see :func:`leave_last_out_split`).
    cutoff : float, default=None
        Interactions at or after this time go to test. Give either
        ``cutoff`` or ``test_size``.
    test_size : float in (0, 1), default=None
        Choose the cut-off as the time of the ``ceil(test_size * nnz)``-th
        latest interaction, so that at least that share of the interactions
        (more when several share the cut-off time) goes to test.

    Returns
    -------
    X_train, X_test : sparse matrix of shape (n_users, n_items)
        Disjoint matrices whose sum is ``X`` (canonical), as ``csr_array``
        when ``X`` is a sparse array and ``csr_matrix`` otherwise.

    See Also
    --------
    leave_last_out_split : Each user's latest interactions.

    Examples
    --------
    >>> import numpy as np
    >>> import scipy.sparse as sp
    >>> from sklearn_agn.model_selection import temporal_split
    >>> X = sp.csr_matrix(np.array([[1, 1, 1], [1, 0, 1]]))
    >>> times = sp.csr_matrix(np.array([[30, 10, 20], [5, 0, 7]]))
    >>> X_train, X_test = temporal_split(X, times, cutoff=20)
    >>> X_test.toarray()
    array([[1., 0., 1.],
           [0., 0., 0.]])
    """
    if (cutoff is None) == (test_size is None):
        raise ValueError("Give exactly one of cutoff (a time) and test_size (a fraction).")
    if test_size is not None:
        if isinstance(test_size, (bool, np.bool_)) or not isinstance(test_size, numbers.Real):
            raise TypeError(f"test_size must be a float in (0, 1), got {test_size!r}.")
        if not 0 < test_size < 1:
            raise ValueError(f"test_size must lie in (0, 1), got {test_size!r}.")
    elif isinstance(cutoff, (bool, np.bool_)) or not isinstance(cutoff, numbers.Real):
        raise TypeError(f"cutoff must be a time (a number), got {cutoff!r}.")
    X_in = X
    X = _as_real_interactions(X)
    times = _check_timestamps(X, timestamps)
    if test_size is not None:
        if not X.nnz:
            raise ValueError("X holds no interaction to split.")
        n_test = int(np.ceil(test_size * X.nnz))
        cutoff = np.sort(times)[X.nnz - n_test]
    rows = np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))
    is_test = times >= cutoff
    return (
        same_sparse_container(X_in, _select(X, rows, ~is_test)),
        same_sparse_container(X_in, _select(X, rows, is_test)),
    )


def _as_real_interactions(X):
    """The canonical matrix of ``X``, refusing a matrix that holds generated feedback.

    A split would drop the mark (generated entries would turn real) and could
    hold generated entries out as targets: split the real interactions, then
    augment the training part (a ``Pipeline`` does).
    """
    feedback = check_feedback(X)
    if feedback.real is not None:
        raise ValueError(
            "X holds generated feedback (the output of GANAugmenter.transform): split the "
            "real interactions first, then augment the training part."
        )
    return feedback.X


def _select(X, rows, keep):
    """The entries of canonical CSR ``X`` where ``keep`` is True, as new CSR.

    ``rows`` is the row of every stored entry.
    """
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows[keep], minlength=X.shape[0]))])
    return sp.csr_matrix((X.data[keep], X.indices[keep], indptr), shape=X.shape)


class UserKFold(BaseCrossValidator):
    """K-fold cross-validation over users, keeping every user's row whole.

    Made for ``cv=`` in :class:`~sklearn.model_selection.GridSearchCV` and
    :func:`~sklearn.model_selection.cross_validate` under the protocol of this
    package: ``X`` holds the users' training interactions and ``y`` their
    held-out interactions, a matrix of the same shape (e.g. both from
    :func:`holdout_split`). Each split fits on the rows of the training users
    and scores the recommendations for the rows of the test users, folded in
    at predict time, against the same rows of ``y``.

    Beyond :class:`~sklearn.model_selection.KFold` on rows:

    - with ``stratify=True``, folds are balanced in user activity (stored
      interactions in ``X``'s row): users sorted by activity are dealt to the
      folds in rounds of ``n_splits``, one user to each fold per round, so for
      every activity threshold the folds' counts of users at or below it
      differ by at most one, and every fold has light and heavy users;
    - when ``y`` is given, users without a held-out item, which no ranking
      metric can score, are never tested: they stay in every training set,
      and the test folds partition the users that have a held-out item.

    Parameters
    ----------
    n_splits : int, default=5
        Number of folds, at least 2.
    shuffle : bool, default=False
        Whether to randomise which fold each user goes to (with
        ``stratify=True``: the order within each round and among users of
        equal activity). Without shuffling the folds are deterministic: rounds
        alternate in direction, so no fold is always dealt the lighter user.
    random_state : int, RandomState instance or None, default=None
        Seed of the shuffle; only allowed with ``shuffle=True``. Pass an int
        for the same folds at every call of :meth:`split`. As with
        :class:`~sklearn.model_selection.KFold`, folds are deterministic by
        default (``shuffle=False``).
    stratify : bool, default=True
        Whether to balance user activity across folds. With False the users
        are split as :class:`~sklearn.model_selection.KFold` would split them.

    See Also
    --------
    holdout_split : Per-user hold-out producing the ``X``, ``y`` pair.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_agn.model_selection import UserKFold
    >>> X = np.array([[1, 0, 0], [1, 1, 0], [1, 1, 1], [0, 1, 0]])
    >>> y = np.array([[0, 1, 0], [0, 0, 1], [0, 0, 0], [1, 0, 0]])
    >>> cv = UserKFold(n_splits=3, shuffle=True, random_state=0)
    >>> for train, test in cv.split(X, y):
    ...     assert 2 in train  # user 2 has no held-out item: never tested
    """

    def __init__(self, n_splits=5, *, shuffle=False, random_state=None, stratify=True):
        if isinstance(n_splits, (bool, np.bool_)) or not isinstance(n_splits, numbers.Integral):
            raise TypeError(f"n_splits must be an integer, got {n_splits!r}.")
        if n_splits < 2:
            raise ValueError(
                f"Cross-validation needs at least 2 folds (n_splits >= 2), got {n_splits}."
            )
        if not isinstance(shuffle, (bool, np.bool_)):
            raise TypeError(f"shuffle must be True or False, got {shuffle!r}.")
        if not shuffle and random_state is not None:
            raise ValueError(
                "Setting a random_state has no effect since shuffle is False: leave "
                "random_state to its default (None), or set shuffle=True."
            )
        if not isinstance(stratify, (bool, np.bool_)):
            raise TypeError(f"stratify must be True or False, got {stratify!r}.")
        self.n_splits = int(n_splits)
        self.shuffle = bool(shuffle)
        self.random_state = random_state
        self.stratify = bool(stratify)

    def split(self, X, y=None, groups=None):
        """Generate the row indices of the training and test users of each fold.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_users, n_items)
            Training interactions; their row counts are the users' activity.
        y : {array-like, sparse matrix} of shape (n_users, n_items), default=None
            Held-out interactions. When given, users whose row of ``y`` is
            empty are in every training set and no test set.
        groups : None
            Ignored (with a warning when given), for API compatibility.

        Yields
        ------
        train : ndarray of int
            Row indices of the training users of the fold, sorted.
        test : ndarray of int
            Row indices of the test users of the fold, sorted.
        """
        if groups is not None:
            warnings.warn(f"The groups parameter is ignored by {type(self).__name__}.", UserWarning)
        X = as_interactions(X)
        n_users = X.shape[0]
        if y is None:
            candidates = np.arange(n_users)
        else:
            y = as_interactions(y, name="y")
            if y.shape != X.shape:
                raise ValueError(
                    f"y must hold the held-out interactions of the users of X, a matrix "
                    f"of X's shape {X.shape}; got shape {y.shape}."
                )
            candidates = np.flatnonzero(np.diff(y.indptr))
        if self.n_splits > candidates.size:
            whom = "users" if y is None else "users with a held-out item in y"
            raise ValueError(
                f"Cannot have n_splits={self.n_splits} greater than the number of "
                f"{whom}: {candidates.size}."
            )
        rng = check_random_state(self.random_state)
        if self.stratify:
            folds = self._stratified_folds(np.diff(X.indptr)[candidates], rng)
            test_sets = (candidates[folds == fold] for fold in range(self.n_splits))
        else:
            kfold = KFold(
                self.n_splits, shuffle=self.shuffle, random_state=rng if self.shuffle else None
            )
            test_sets = (candidates[test] for _, test in kfold.split(candidates))
        for test in test_sets:
            is_test = np.zeros(n_users, dtype=bool)
            is_test[test] = True
            yield np.flatnonzero(~is_test), test

    def _stratified_folds(self, activity, rng):
        """Fold of every user, dealt in rounds of ``n_splits`` by activity."""
        n_users, n_splits = activity.size, self.n_splits
        n_rounds = -(-n_users // n_splits)
        if self.shuffle:
            # Activity first, ties at random; each round a random order of folds.
            order = np.lexsort((rng.permutation(n_users), activity))
            deal = np.argsort(rng.random_sample((n_rounds, n_splits)), axis=1)
        else:
            order = np.argsort(activity, kind="stable")
            deal = np.tile(np.arange(n_splits), (n_rounds, 1))
            deal[1::2] = deal[1::2, ::-1]
        folds = np.empty(n_users, dtype=np.intp)
        # The last round may be partial: its users go to distinct folds, so
        # fold sizes differ by at most one.
        folds[order] = deal.ravel()[:n_users]
        return folds

    def get_n_splits(self, X=None, y=None, groups=None):
        """Return the number of splitting iterations, ``n_splits``.

        Parameters
        ----------
        X, y, groups : object
            Ignored, for API compatibility.

        Returns
        -------
        n_splits : int
            Number of folds.
        """
        return self.n_splits
