"""Most-popular recommender: the same ranking of the catalogue for everyone."""

import numpy as np
from sklearn.base import _fit_context

from .._base import BaseRecommender
from .._fit_state import atomic_fit
from .._validation import check_interactions


class MostPopular(BaseRecommender):
    """Recommend the items most users interacted with.

    Every user gets the same ranking of the catalogue, minus the items they
    already interacted with. It is the floor any personalised recommender must
    clear.

    Parameters
    ----------
    k : int, default=10
        Number of items returned by :meth:`predict` and scored by :meth:`score`.
    metric : {"precision", "recall", "ndcg", "mrr", "hit_rate"}, default="ndcg"
        Ranking metric of :meth:`score`, at cut-off ``k``.
    batch_size : int, default=4096
        Number of user rows scored at once; bounds memory at
        ``batch_size * n_items`` floats.

    Attributes
    ----------
    item_popularity_ : ndarray of shape (n_items,)
        Number of users with a real interaction with each item in the
        training matrix. Generated feedback (the entries ``GANAugmenter``
        marks as generated) is ignored: popularity measures what real
        users did, and counting the generator's guesses would feed its own
        popularity bias back into the ranking. A value above 1 (a play count,
        a rating) counts once, like any other interaction.
    n_features_in_ : int
        Number of items seen in fit.

    See Also
    --------
    ItemKNN : Item-based neighbourhood recommender.
    EASE : Linear item-item autoencoder with a closed-form solution.

    References
    ----------
    .. [1] P. Cremonesi, Y. Koren and R. Turrin, "Performance of recommender
       algorithms on top-N recommendation tasks", RecSys 2010.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_agn.baselines import MostPopular
    >>> X = np.array([[1, 1, 0, 0],
    ...               [0, 1, 1, 0],
    ...               [0, 1, 0, 1]])
    >>> model = MostPopular(k=2).fit(X)
    >>> model.item_popularity_
    array([1., 3., 1., 1.])
    >>> model.predict(X)
    array([[2, 3],
           [0, 3],
           [0, 2]])
    """

    _parameter_constraints = {**BaseRecommender._base_parameter_constraints}

    def __init__(self, *, k=10, metric="ndcg", batch_size=4096):
        self.k = k
        self.metric = metric
        self.batch_size = batch_size

    @_fit_context(prefer_skip_nested_validation=True)
    @atomic_fit
    def fit(self, X, y=None):
        """Count each item's real interactions.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_users, n_items)
            Training interactions; entries a ``GANAugmenter`` marked as
            generated are not counted.
        y : None
            Ignored.

        Returns
        -------
        self : MostPopular
            The fitted recommender.
        """
        real = check_interactions(self, X, reset=True).real_mask()
        counts = np.bincount(real.indices, minlength=real.shape[1])
        self.item_popularity_ = counts.astype(np.float64)
        return self

    def _score_rows(self, feedback):
        return np.tile(self.item_popularity_, (feedback.X.shape[0], 1))
