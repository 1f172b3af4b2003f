"""Matrix factorisation with a ridge map from item attributes to item factors.

Collaborative filtering learns a factor for every item that users interacted
with; an item without interactions (a cold item, e.g. one added to the
catalogue today) gets none. Learning a linear map from the warm items'
attributes to their factors, and applying it to the cold items' attributes,
places those in the same space as the warm ones (Gantner et al., 2010), so
they are ranked against users' factors like any other item.
"""

from numbers import Real

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.base import _fit_context, clone
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import Ridge
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.validation import check_is_fitted

from .._base import BaseRecommender
from .._fit_state import atomic_fit
from .._side_information import check_attributes, warm_items
from .._torch_utils import torch_dtype
from .._validation import check_interactions
from ._recommender import MFRecommender, _rounded_products

__all__ = ["AttributeRidgeMF"]


class AttributeRidgeMF(BaseRecommender):
    """MF whose cold items get factors mapped from their attributes by ridge regression.

    ``fit`` trains the matrix factorisation ``mf`` on ``X``, then fits a
    :class:`~sklearn.linear_model.Ridge` regression from the attributes of the
    warm items (items with a stored entry in ``X``) to their learned factors.
    Every cold item (no entry in ``X``) gets the factor the regression
    predicts from its attributes; warm items keep their learned factors.
    Users are folded in by ``mf`` as usual and scored against all the factors,
    so cold items compete with warm ones in every user's ranking.

    Items that arrive after ``fit`` are added with :meth:`add_items`, from
    their attributes alone, without refitting.

    Parameters
    ----------
    mf : estimator, default=None
        The matrix factorisation, unfitted: an object with ``fit``,
        ``fold_in`` and, after fit, ``item_factors_``, such as
        :class:`~sklearn_agn.MFRecommender`. ``MFRecommender()`` when None.
        It is cloned in ``fit``; its parameters are tuned as ``mf__<name>``.
        A model fitted beforehand (on a sample, on Spark with
        :class:`~sklearn_agn.spark.SparkALS`...) is passed as
        ``sklearn.frozen.FrozenEstimator(model)``: ``fit`` then keeps its
        factors and only learns the map, from the items it learned (its
        ``item_interaction_counts_`` when it has them, else the items with an
        entry in ``X``).
    item_attributes : {array-like, sparse matrix} of shape (n_items, n_features)
        Numeric attributes, one row per item (column of ``X``): one-hot
        genres, TF-IDF of titles, embeddings... Required.
    ridge_alpha : float, default=10.0
        L2 penalty of the ridge regression (``Ridge(alpha=ridge_alpha)``).
    k : int, default=10
        Number of items returned by :meth:`predict` and scored by :meth:`score`.
    metric : {"precision", "recall", "ndcg", "mrr", "hit_rate"}, default="ndcg"
        Ranking metric of :meth:`score`, at cut-off ``k``.
    batch_size : int, default=1024
        Number of user rows scored at once.

    Attributes
    ----------
    mf_ : estimator
        The fitted matrix factorisation (a clone of ``mf``).
    ridge_ : sklearn.linear_model.Ridge
        The fitted map from attributes to item factors.
    item_factors_ : ndarray of shape (n_items, n_factors)
        ``mf_``'s factors for warm items, the mapped factors for cold items
        and for the items added by :meth:`add_items`.
    cold_items_ : ndarray of shape (n_items,), dtype=bool
        Which items got a mapped factor.
    n_features_in_ : int
        Number of items: those seen in fit plus those added since.

    See Also
    --------
    sklearn_agn.baselines.AttributeKNN : Content-based neighbourhood baseline.
    sklearn_agn.baselines.FeaturePopularity : Popularity of the items' attributes.

    Notes
    -----
    A user's factor is folded in from the items seen in ``fit`` only:
    interactions with items added by :meth:`add_items` are not used (refit
    to learn from them), but those items are scored and can be recommended.

    References
    ----------
    .. [1] Z. Gantner, L. Drumond, C. Freudenthaler, S. Rendle and
       L. Schmidt-Thieme, "Learning attribute-to-feature mappings for
       cold-start recommendations", ICDM 2010.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_agn import MFRecommender
    >>> from sklearn_agn.mf._attribute_ridge import AttributeRidgeMF
    >>> X = np.array([[1, 1, 0, 0, 0],
    ...               [1, 1, 0, 0, 0],
    ...               [0, 0, 1, 1, 0],
    ...               [0, 0, 1, 1, 0]])
    >>> genres = np.array([[1, 0], [1, 0], [0, 1], [0, 1], [1, 0]])  # item 4 is cold
    >>> model = AttributeRidgeMF(MFRecommender(n_factors=2, random_state=0),
    ...                          item_attributes=genres, ridge_alpha=0.1, k=1).fit(X)
    >>> model.cold_items_
    array([False, False, False, False,  True])
    >>> model.predict([[1, 1, 0, 0, 0]])  # a fan of the first genre
    array([[4]])
    >>> model = model.add_items([[0, 1]])  # a new item of the second genre
    >>> model.predict([[0, 0, 1, 1, 0, 0]])
    array([[5]])
    """

    _parameter_constraints = {
        **BaseRecommender._base_parameter_constraints,
        "mf": [HasMethods(["fit", "fold_in"]), None],
        "item_attributes": ["array-like", "sparse matrix", None],
        "ridge_alpha": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(self, mf=None, *, item_attributes=None, ridge_alpha=10.0, k=10, metric="ndcg",
                 batch_size=1024):
        self.mf = mf
        self.item_attributes = item_attributes
        self.ridge_alpha = ridge_alpha
        self.k = k
        self.metric = metric
        self.batch_size = batch_size

    @_fit_context(prefer_skip_nested_validation=False)
    @atomic_fit
    def fit(self, X, y=None):
        """Fit the MF on ``X``, then the map from warm items' attributes to their factors.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_users, n_items)
            Training interactions; items without any entry are cold.
        y : None
            Ignored.

        Returns
        -------
        self : AttributeRidgeMF
            The fitted recommender.
        """
        feedback = check_interactions(self, X, reset=True)
        X = feedback.X
        attributes = check_attributes(self.item_attributes, X.shape[1])
        mf = clone(MFRecommender() if self.mf is None else self.mf)
        warm = _items_learned_by(mf, X) if isinstance(mf, FrozenEstimator) else warm_items(X)
        if not warm.any():
            raise ValueError("X has no interaction: there is no warm item to learn the map from.")
        mf = mf.fit(feedback.marked(), y)  # marked: the MF weighs generated feedback
        factors = np.array(mf.item_factors_, copy=True)
        ridge = Ridge(alpha=self.ridge_alpha).fit(attributes[warm], factors[warm])
        if not warm.all():
            factors[~warm] = _predict_factors(ridge, attributes[~warm])
        self.mf_, self.ridge_ = mf, ridge
        self.item_factors_, self.cold_items_ = factors, ~warm
        return self

    def add_items(self, item_attributes):
        """Append new items to the catalogue, with factors mapped from their attributes.

        The new items become the last columns: after adding ``m`` items to a
        model fitted on ``n``, rows passed to ``predict`` must have ``n + m``
        columns, and item ``n + j`` is the item of row ``j`` of
        ``item_attributes``. Nothing is refitted: the MF and the map stay as
        they are, so adding items is cheap and does not change the scores of
        the items already there.

        Parameters
        ----------
        item_attributes : {array-like, sparse matrix} of shape (n_new_items, n_features)
            Attributes of the new items, with the same columns (features) as
            the ``item_attributes`` the model was fitted with.

        Returns
        -------
        self : AttributeRidgeMF
            The model, with ``n_features_in_`` grown by ``n_new_items``.
        """
        check_is_fitted(self)
        attributes = check_attributes(item_attributes)
        if attributes.shape[1] != self.ridge_.n_features_in_:
            raise ValueError(
                f"item_attributes has {attributes.shape[1]} features (columns), but the model "
                f"was fitted with {self.ridge_.n_features_in_}: new items must be described "
                "by the same features, encoded by the same fitted encoder."
            )
        new_factors = _predict_factors(self.ridge_, attributes).astype(self.item_factors_.dtype)
        self.item_factors_ = np.vstack([self.item_factors_, new_factors])
        self.cold_items_ = np.concatenate([self.cold_items_,
                                           np.ones(attributes.shape[0], dtype=bool)])
        self.n_features_in_ = self.item_factors_.shape[0]
        return self

    def _score_rows(self, feedback):
        # The users' factors come from the MF's own items: the Gram matrix of
        # fold-in stays the one the MF was trained with. The slice keeps the
        # flags, so that generated feedback is weighted as in fit.
        n_mf = self.mf_.n_features_in_
        # Folded in and scored in float64, rounded once, as the MF scores: a
        # row's scores do not depend on the rows around it.
        users = self.mf_._fold_in(feedback.columns(slice(n_mf)))
        items = torch.from_numpy(self.item_factors_).to(device=users.device)
        scores = _rounded_products(users, items, torch_dtype(self.mf_.dtype)).cpu().numpy()
        empty = np.diff(feedback.X.indptr) == 0
        if empty.any():
            # An empty row folds in to a zero factor, which ties every item: as
            # in the MF, a new user is scored by popularity (items added since
            # fit have none).
            scores[empty] = 0
            scores[empty, :n_mf] = self.mf_.decision_function(sp.csr_matrix((1, n_mf)))
        return scores


def _items_learned_by(frozen, X):
    """Items a model fitted beforehand learned a factor from, checked against ``X``'s columns.

    An item seen in its fit but absent from ``X`` (a sample of rows) is warm:
    its learned factor is kept, not replaced by the map's.
    """
    n_items = frozen.item_factors_.shape[0]
    if n_items != X.shape[1]:
        raise ValueError(f"X has {X.shape[1]} items (columns), but the fitted mf has factors "
                         f"for {n_items}: pass rows in the columns of the mf's fit.")
    counts = getattr(frozen, "item_interaction_counts_", None)
    return warm_items(X) if counts is None else np.asarray(counts) > 0


def _predict_factors(ridge, attributes):
    """Ridge prediction as a 2-D array (one factor row per item)."""
    if sp.issparse(attributes):
        attributes = attributes.tocsr()
    return np.asarray(ridge.predict(attributes)).reshape(attributes.shape[0], -1)
