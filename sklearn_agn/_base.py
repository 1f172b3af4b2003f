"""What every recommender shares: top-k prediction, batched scoring, ``score``.

A subclass learns something about items in ``fit`` and implements
``_score_rows(feedback)``, which maps a batch of user rows, the
:class:`~sklearn_agn._validation.Feedback` of their canonical CSR matrix, to
a dense ``(n_rows, n_items)`` array of item scores (folding the rows in as
needed). Everything else, ranking, the seen-item filter, batching and
evaluation, lives here once; each public method validates its input once and
passes the ``Feedback`` down.
"""

import contextlib
from numbers import Integral

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._validation import check_interactions, check_item_indices, check_k
from .metrics import RANKING_METRICS

# Elements of the temporaries of ``top_k`` (rows x items) at a time: about
# 32 MiB of float64, small enough for the allocator to reuse from chunk to chunk.
_TOP_K_CHUNK = 2**22


def top_k(scores, k, exclude=None):
    """Indices of the ``k`` best scores per row, best first.

    ``exclude`` is a boolean sparse mask of entries never to return. Rows with
    fewer than ``k`` eligible items are padded with ``-1``. Ties are broken by
    the lower item index, so results are deterministic: in particular, among
    items tied at the k-th best score, the lowest indices are returned. NaN
    scores rank last, like excluded items.

    Works through the rows in chunks, so that its temporaries stay within a
    few times ``2**22`` elements whatever the size of ``scores``; ``scores``
    itself is not modified.
    """
    scores = np.asarray(scores)
    n_rows, n_items = scores.shape
    k = min(int(k), n_items)
    dtype = scores.dtype if scores.dtype in (np.float32, np.float64) else np.float64
    if exclude is not None and exclude.format != "csr":
        exclude = exclude.tocsr()
    ranked = np.empty((n_rows, k), dtype=np.intp)
    step = max(1, _TOP_K_CHUNK // max(n_items, 1))
    for start in range(0, n_rows, step):
        stop = min(start + step, n_rows)
        block = np.array(scores[start:stop], dtype=dtype, order="C", copy=True)
        if exclude is not None and exclude.nnz:
            lo, hi = exclude.indptr[start], exclude.indptr[stop]
            masked = exclude.data[lo:hi].astype(bool)
            rows = np.repeat(np.arange(stop - start), np.diff(exclude.indptr[start:stop + 1]))
            block[rows[masked], exclude.indices[lo:hi][masked]] = -np.inf
        ranked[start:stop] = _top_k_block(block, k)
    return ranked


def _top_k_block(block, k):
    """``top_k`` of a C-contiguous float block (modified), excluded items at -inf."""
    n_rows, n_items = block.shape
    nan = np.isnan(block)
    if nan.any():
        block[nan] = -np.inf
    scores = torch.from_numpy(block)
    if k == n_items:
        cols = np.argsort(-block, axis=1, kind="stable")
        values = np.take_along_axis(block, cols, axis=1)
    else:
        # One more than asked for: where the (k+1)-th score is below the k-th,
        # the top-k set is unambiguous. Where they are equal, items tied at
        # the boundary may be left out, and torch.topk picks which
        # arbitrarily: those rows are redone to keep the lowest indices.
        values, cols = torch.topk(scores, k + 1, dim=1)
        tie = (values[:, k] == values[:, k - 1]).numpy()
        cols = cols[:, :k].numpy()
        if tie.any():
            cols[tie] = _boundary_ties(block[tie], k)
        cols.sort(axis=1)
        values = np.take_along_axis(block, cols, axis=1)
        # Stable sort on the descending score: equal scores keep ascending indices.
        order = np.argsort(-values, axis=1, kind="stable")
        cols = np.take_along_axis(cols, order, axis=1)
        values = np.take_along_axis(values, order, axis=1)
    ranked = cols.astype(np.intp, copy=False)
    ranked[np.isneginf(values)] = -1
    return ranked


def _boundary_ties(block, k):
    """The top-k columns of each row, ascending, ties at the k-th score to the lowest index.

    Finds the k-th largest value of each row, takes every item strictly above
    it and fills the remaining slots with the lowest-index items equal to it.
    """
    n_rows, n_items = block.shape
    kth = np.partition(block, n_items - k, axis=1)[:, n_items - k][:, None]
    selected = block > kth
    tied = block == kth
    n_fill = k - selected.sum(axis=1)
    selected |= tied & (np.cumsum(tied, axis=1, dtype=np.int32) <= n_fill[:, None])
    # Exactly k per row; np.nonzero walks row-major, so columns come out ascending.
    return np.nonzero(selected)[1].reshape(n_rows, k)


class BaseRecommender(BaseEstimator):
    """Base class for top-k recommenders on a users x items matrix.

    Subclasses declare ``k``, ``metric`` and ``batch_size`` parameters (see
    ``_base_parameter_constraints``) and implement ``fit`` and ``_score_rows``.
    """

    # ``predict(X, k=...)`` asks for ``k`` by default, so that with metadata
    # routing enabled a Pipeline and a ranking scorer can pass it on.
    __metadata_request__predict = {"k": True}

    _base_parameter_constraints = {
        "k": [Interval(Integral, 1, None, closed="left")],
        "metric": [StrOptions(set(RANKING_METRICS))],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
    }

    def _threads(self):
        """Context in which the heavy work runs (thread limits); none by default."""
        return contextlib.nullcontext()

    def _validate_rows(self, X):
        check_is_fitted(self)
        return check_interactions(self, X, reset=False)

    def _batches(self, feedback):
        """``(rows, part)`` for each batch of ``batch_size`` rows: a slice and its feedback."""
        n_rows = feedback.X.shape[0]
        if n_rows <= self.batch_size:  # one batch: no copy to take
            yield slice(0, n_rows), feedback
            return
        # Not sklearn's gen_batches: its parameter validation costs more than
        # scoring one row (serving calls this once per request).
        for start in range(0, n_rows, self.batch_size):
            rows = slice(start, min(start + self.batch_size, n_rows))
            yield rows, feedback.rows(rows)

    def decision_function(self, X):
        """Score every item for every user row.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_users, n_items)
            User rows (users seen in fit or new ones).

        Returns
        -------
        scores : ndarray of shape (n_users, n_items)
            Higher is better. Computed in batches of ``batch_size`` rows.
        """
        feedback = self._validate_rows(X)
        with self._threads():
            parts = [self._score_rows(part) for _, part in self._batches(feedback)]
        # One batch is returned as it is: stacking would copy every score once more.
        return parts[0] if len(parts) == 1 else np.vstack(parts)

    def predict(self, X, k=None):
        """Recommend the top-k unseen items for each user row.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_users, n_items)
            User rows (users seen in fit or new ones). Every stored entry is a
            real interaction, never recommended back, whatever its value;
            only the entries a :class:`~sklearn_agn.GANAugmenter` marked as
            generated feedback stay eligible.
        k : int, default=None
            Number of items to return; the estimator's ``k`` when None. With
            metadata routing enabled, ``Pipeline.predict(X, k=...)`` and
            :func:`~sklearn_agn.metrics.make_ranking_scorer` route it here.

        Returns
        -------
        ranked : ndarray of shape (n_users, k), dtype=intp
            Item indices, best first; ``-1`` pads rows with fewer than ``k``
            unseen items.
        """
        return self.recommend(X, k)

    def recommend(self, X, k=None, *, exclude_items=None, candidate_items=None):
        """Top-k unseen items for each user row, with item filters.

        ``predict`` with two filters that serving needs: items never to
        return (out of stock, already shown) and the only items to return (a
        category page, a candidate set from another stage).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_users, n_items)
            User rows, as for :meth:`predict`; their real interactions are
            never returned.
        k : int, default=None
            Number of items to return; the estimator's ``k`` when None.
        exclude_items : array-like of int, default=None
            Item indices never to return, for any row.
        candidate_items : array-like of int, default=None
            When given, only these item indices may be returned.

        Returns
        -------
        ranked : ndarray of shape (n_users, k), dtype=intp
            Item indices, best first; ``-1`` pads rows with fewer than ``k``
            eligible items.
        """
        return self._recommend(self._validate_rows(X), k, exclude_items, candidate_items)

    def _recommend(self, feedback, k=None, exclude_items=None, candidate_items=None):
        """``recommend`` of validated rows: their :class:`~sklearn_agn._validation.Feedback`."""
        n_items = self.n_features_in_
        k = check_k(self.k if k is None else k, n_items)
        banned = np.zeros(n_items, dtype=bool)
        if exclude_items is not None:
            banned[check_item_indices(exclude_items, n_items, "exclude_items")] = True
        if candidate_items is not None:
            allowed = np.zeros(n_items, dtype=bool)
            allowed[check_item_indices(candidate_items, n_items, "candidate_items")] = True
            banned |= ~allowed
        ranked = np.empty((feedback.X.shape[0], k), dtype=np.intp)
        # Streams: one batch of scores (batch_size x n_items) alive at a time.
        with self._threads():
            for rows, part in self._batches(feedback):
                ranked[rows] = self._rank_rows(part, k, banned)
        return ranked

    def _rank_rows(self, feedback, k, banned):
        """``top_k`` of the scores of ``feedback``'s rows, ``banned`` items and real entries out.

        ``banned`` is a boolean array over the items. A subclass may rank
        without scoring every item, as long as the result is the one this gives.
        """
        scores = self._score_rows(feedback)
        if banned.any():
            scores[:, banned] = -np.inf
        return top_k(scores, k, exclude=feedback.real_mask())

    def score(self, X, y):
        """Ranking quality of the recommendations for ``X`` against held-out ``y``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_users, n_items)
            The users' known interactions (input to ``predict``).
        y : {array-like, sparse matrix} of shape (n_users, n_items)
            The users' held-out interactions.

        Returns
        -------
        score : float
            ``metric`` at ``k``, averaged over users with a held-out item.
        """
        feedback = self._validate_rows(X)
        if y is None:
            raise ValueError("score needs y, the held-out interactions of the rows of X.")
        expected = feedback.X.shape
        y_shape = getattr(y, "shape", None)
        if y_shape is None or tuple(y_shape) != expected:
            raise ValueError(
                f"y must be a (n_users, n_items) = {expected} matrix of held-out "
                f"interactions, got shape {y_shape}."
            )
        ranked = self._recommend(feedback)
        return RANKING_METRICS[self.metric](y, ranked, self.k)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.input_tags.positive_only = True
        tags.target_tags.required = False
        return tags
