"""Recommenders that score items from their attributes, so cold items get a score too.

An item with no interaction in the training matrix (a *cold* item) has nothing
a collaborative model can learn from; its attributes (genres, text, tags) are
all there is. These baselines set the bar any cold-start method must clear.
"""

from numbers import Integral

import numpy as np
import scipy.sparse as sp
from sklearn.base import _fit_context
from sklearn.preprocessing import normalize
from sklearn.utils._param_validation import Interval

from .._base import BaseRecommender
from .._fit_state import atomic_fit
from .._side_information import check_attributes, warm_items
from .._validation import check_interactions

#: Dense similarity entries computed at once by ``AttributeKNN.fit`` (32 MB of
#: float64); only the kept neighbours are stored.
_BLOCK_ENTRIES = 2**22


class FeaturePopularity(BaseRecommender):
    """Rank cold items by the popularity of their attributes.

    A warm item (one with a real interaction in ``X``) is scored by its
    popularity, the number of users who interacted with it. An attribute's
    popularity is the mean popularity of the warm items that have it, weighted
    by the attribute's value; a cold item is scored by the mean popularity of
    its attributes, weighted the same way. Both are on the scale of an item's
    number of users, so warm and cold items can be ranked together. The
    ranking is the same for every user.

    Parameters
    ----------
    item_attributes : {array-like, sparse matrix} of shape (n_items, n_features)
        Non-negative numeric attributes, one row per item (column of ``X``),
        e.g. one-hot genres. Required.
    k : int, default=10
        Number of items returned by :meth:`predict` and scored by :meth:`score`.
    metric : {"precision", "recall", "ndcg", "mrr", "hit_rate"}, default="ndcg"
        Ranking metric of :meth:`score`, at cut-off ``k``.
    batch_size : int, default=4096
        Number of user rows scored at once.

    Attributes
    ----------
    item_scores_ : ndarray of shape (n_items,)
        The score of every item: its popularity if warm, the weighted mean
        popularity of its attributes if cold (0 for a cold item without
        attributes or whose attributes no warm item has).
    feature_popularity_ : ndarray of shape (n_features,)
        Mean popularity of the warm items having each attribute.
    n_features_in_ : int
        Number of items seen in fit.

    See Also
    --------
    AttributeKNN : Personalised scores from attribute similarity.
    sklearn_agn.mf._attribute_ridge.AttributeRidgeMF : MF with a map from attributes to factors.
    MostPopular : Popularity without attributes.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_agn.baselines import FeaturePopularity
    >>> X = np.array([[1, 1, 0, 0],
    ...               [1, 0, 0, 0],
    ...               [1, 0, 0, 0]])
    >>> genres = np.array([[1, 0], [0, 1], [1, 0], [0, 1]])  # items 2, 3 are cold
    >>> model = FeaturePopularity(item_attributes=genres, k=2).fit(X)
    >>> model.item_scores_
    array([3., 1., 3., 1.])
    """

    _parameter_constraints = {
        **BaseRecommender._base_parameter_constraints,
        "item_attributes": ["array-like", "sparse matrix", None],
    }

    def __init__(self, item_attributes=None, *, k=10, metric="ndcg", batch_size=4096):
        self.item_attributes = item_attributes
        self.k = k
        self.metric = metric
        self.batch_size = batch_size

    @_fit_context(prefer_skip_nested_validation=True)
    @atomic_fit
    def fit(self, X, y=None):
        """Count warm items' users and average them over attributes.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_users, n_items)
            Training interactions; generated feedback marked by a
            :class:`~sklearn_agn.GANAugmenter` is not counted.
        y : None
            Ignored.

        Returns
        -------
        self : FeaturePopularity
            The fitted recommender.
        """
        real = check_interactions(self, X, reset=True).real_mask()
        attributes = _check_non_negative(check_attributes(self.item_attributes, real.shape[1]))
        popularity = np.bincount(real.indices, minlength=real.shape[1]).astype(np.float64)
        self.feature_popularity_, self.item_scores_ = _feature_popularity(
            attributes, popularity, warm_items(real))
        return self

    def _score_rows(self, feedback):
        return np.tile(self.item_scores_, (feedback.X.shape[0], 1))


def _feature_popularity(attributes, popularity, warm):
    """Attribute popularity (weighted mean over warm items) and every item's score."""
    attributes = sp.csr_matrix(attributes)
    warm_attributes = attributes[warm]
    mass = np.asarray(warm_attributes.sum(axis=0)).ravel()
    total = warm_attributes.T @ popularity[warm]
    feature_popularity = np.divide(total, mass, out=np.zeros_like(total), where=mass > 0)
    weight = np.asarray(attributes.sum(axis=1)).ravel()
    mean = np.divide(attributes @ feature_popularity, weight, out=np.zeros_like(weight),
                     where=weight > 0)
    return feature_popularity, np.where(warm, popularity, mean)


def _check_non_negative(attributes):
    data = attributes.data if sp.issparse(attributes) else attributes
    if (data < 0).any():
        raise ValueError(
            "item_attributes must be non-negative for FeaturePopularity (they weigh the "
            "mean popularity), got negative values."
        )
    return attributes


class AttributeKNN(BaseRecommender):
    """Content-based item-KNN: items are neighbours when their attributes are alike.

    The similarity of items ``i`` and ``j`` is the cosine of their attribute
    rows. Every item, warm or cold, keeps its ``n_neighbors`` most similar
    *warm* items (items with an interaction in ``X``; an item is not its own
    neighbour). A user's score for item ``j`` is the sum of the similarities
    of ``j``'s neighbours that are in the user's row, weighted by the row's
    values, as in :class:`ItemKNN` with attribute similarity in place of
    co-occurrence. A cold item is thus recommended to users whose histories
    hold items with similar attributes.

    Parameters
    ----------
    item_attributes : {array-like, sparse matrix} of shape (n_items, n_features)
        Numeric attributes, one row per item (column of ``X``). Required.
    n_neighbors : int, default=50
        Number of most similar warm items kept for each item.
    k : int, default=10
        Number of items returned by :meth:`predict` and scored by :meth:`score`.
    metric : {"precision", "recall", "ndcg", "mrr", "hit_rate"}, default="ndcg"
        Ranking metric of :meth:`score`, at cut-off ``k``.
    batch_size : int, default=4096
        Number of user rows scored at once.

    Attributes
    ----------
    item_similarity_ : csr_matrix of shape (n_items, n_items)
        ``item_similarity_[i, j]`` is the cosine of items ``i`` and ``j`` when
        ``i`` is warm and among the ``n_neighbors`` warm items most similar to
        ``j``; otherwise not stored. Ties for the last place are broken
        arbitrarily but reproducibly.
    n_features_in_ : int
        Number of items seen in fit.

    See Also
    --------
    ItemKNN : The same model with co-occurrence similarity (warm items only).
    FeaturePopularity : Non-personalised attribute baseline.

    References
    ----------
    .. [1] M. J. Pazzani and D. Billsus, "Content-based recommendation
       systems", The Adaptive Web, 2007.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_agn.baselines import AttributeKNN
    >>> X = np.array([[1, 0, 0, 0],
    ...               [0, 1, 0, 0]])
    >>> genres = np.array([[1, 0], [0, 1], [1, 0], [0, 1]])  # items 2, 3 are cold
    >>> model = AttributeKNN(item_attributes=genres, n_neighbors=1, k=1).fit(X)
    >>> model.predict(X)  # user 0 liked item 0, whose genre item 2 shares
    array([[2],
           [3]])
    """

    _parameter_constraints = {
        **BaseRecommender._base_parameter_constraints,
        "item_attributes": ["array-like", "sparse matrix", None],
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(self, item_attributes=None, *, n_neighbors=50, k=10, metric="ndcg",
                 batch_size=4096):
        self.item_attributes = item_attributes
        self.n_neighbors = n_neighbors
        self.k = k
        self.metric = metric
        self.batch_size = batch_size

    @_fit_context(prefer_skip_nested_validation=True)
    @atomic_fit
    def fit(self, X, y=None):
        """Find each item's most similar warm items by attributes.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_users, n_items)
            Training interactions.
        y : None
            Ignored.

        Returns
        -------
        self : AttributeKNN
            The fitted recommender.
        """
        X = check_interactions(self, X, reset=True).X
        attributes = check_attributes(self.item_attributes, X.shape[1])
        self.item_similarity_ = _attribute_neighbours(
            normalize(sp.csr_matrix(attributes, dtype=np.float64)), np.flatnonzero(warm_items(X)), self.n_neighbors)
        return self

    def _score_rows(self, feedback):
        return (feedback.X @ self.item_similarity_).toarray()


def _attribute_neighbours(normalized, warm, n_neighbors):
    """Sparse ``(n_items, n_items)`` cosine to each item's ``n_neighbors`` best warm items."""
    n_items = normalized.shape[0]
    n_keep = min(n_neighbors, warm.size)
    rows, cols, vals = [], [], []
    if n_keep:
        warm_t = normalized[warm].T.tocsc()
        block = max(1, _BLOCK_ENTRIES // warm.size)
        for start in range(0, n_items, block):
            stop = min(start + block, n_items)
            # sim[a, b]: cosine of item start + a and warm item warm[b].
            sim = (normalized[start:stop] @ warm_t).toarray()
            own = np.flatnonzero((warm >= start) & (warm < stop))
            sim[warm[own] - start, own] = 0.0  # an item is not its own neighbour
            top = np.argpartition(-sim, n_keep - 1, axis=1)[:, :n_keep]
            top_sim = np.take_along_axis(sim, top, axis=1)
            kept = top_sim > 0
            rows.append(warm[top[kept]])
            cols.append(np.broadcast_to(np.arange(start, stop)[:, None], top.shape)[kept])
            vals.append(top_sim[kept])
    if not rows:
        return sp.csr_matrix((n_items, n_items))
    return sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                         shape=(n_items, n_items))
