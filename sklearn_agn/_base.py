"""What every recommender shares: top-k prediction, batched scoring, ``score``.

A subclass learns something about items in ``fit`` and implements
``_score_rows(X)``, which maps a canonical CSR batch of user rows to a dense
``(n_rows, n_items)`` array of item scores (folding the rows in as needed).
Everything else, ranking, the seen-item filter, batching and evaluation, lives
here once.
"""

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._validation import check_interactions, check_k, real_interactions
from .metrics import RANKING_METRICS


def top_k(scores, k, exclude=None):
    """Indices of the ``k`` best scores per row, best first.

    ``exclude`` is a boolean sparse mask of entries never to return. Rows with
    fewer than ``k`` eligible items are padded with ``-1``. Ties are broken by
    the lower item index, so results are deterministic.
    """
    scores = np.array(scores, dtype=np.float64, copy=True)
    if exclude is not None and exclude.nnz:
        coo = exclude.tocoo()
        scores[coo.row, coo.col] = -np.inf
    n_items = scores.shape[1]
    if k < n_items:
        part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    else:
        part = np.broadcast_to(np.arange(n_items), scores.shape).copy()
    part_scores = np.take_along_axis(scores, part, axis=1)
    # lexsort: primary key the score (descending), secondary the item index.
    order = np.lexsort((part, -part_scores), axis=1)
    ranked = np.take_along_axis(part, order, axis=1)
    ranked_scores = np.take_along_axis(part_scores, order, axis=1)
    ranked[np.isneginf(ranked_scores)] = -1
    return ranked


class BaseRecommender(BaseEstimator):
    """Base class for top-k recommenders on a users x items matrix.

    Subclasses declare ``k``, ``metric`` and ``batch_size`` parameters (see
    ``_base_parameter_constraints``) and implement ``fit`` and ``_score_rows``.
    """

    _base_parameter_constraints = {
        "k": [Interval(Integral, 1, None, closed="left")],
        "metric": [StrOptions(set(RANKING_METRICS))],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
    }

    def _validate_rows(self, X):
        check_is_fitted(self)
        return check_interactions(self, X, reset=False)

    def _batches(self, n_rows):
        for start in range(0, n_rows, self.batch_size):
            yield slice(start, min(start + self.batch_size, n_rows))

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
        X = self._validate_rows(X)
        return np.vstack([self._score_rows(X[rows]) for rows in self._batches(X.shape[0])])

    def predict(self, X, k=None):
        """Recommend the top-k unseen items for each user row.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_users, n_items)
            User rows (users seen in fit or new ones). Entries with value >= 1
            are the user's real interactions and are never recommended;
            generated feedback (0 < value < 1) is used but not filtered.
        k : int, default=None
            Number of items to return; the estimator's ``k`` when None.

        Returns
        -------
        ranked : ndarray of shape (n_users, k), dtype=intp
            Item indices, best first; ``-1`` pads rows with fewer than ``k``
            unseen items.
        """
        X = self._validate_rows(X)
        k = check_k(self.k if k is None else k, self.n_features_in_)
        ranked = np.empty((X.shape[0], k), dtype=np.intp)
        for rows in self._batches(X.shape[0]):
            batch = X[rows]
            ranked[rows] = top_k(self._score_rows(batch), k, exclude=real_interactions(batch))
        return ranked

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
        X = self._validate_rows(X)
        if y is None:
            raise ValueError("score needs y, the held-out interactions of the rows of X.")
        expected = X.shape
        y_shape = getattr(y, "shape", None)
        if y_shape is None or tuple(y_shape) != expected:
            raise ValueError(
                f"y must be a (n_users, n_items) = {expected} matrix of held-out "
                f"interactions, got shape {y_shape}."
            )
        ranked = self.predict(X)
        return RANKING_METRICS[self.metric](y, ranked, self.k)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.input_tags.positive_only = True
        tags.target_tags.required = False
        return tags
