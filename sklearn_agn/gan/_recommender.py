"""The CFGAN generator used on its own as a recommender."""

from sklearn.base import _fit_context, clone
from sklearn.utils._param_validation import HasMethods

from .._base import BaseRecommender
from .._fit_state import atomic_fit
from .._validation import check_interactions
from ._augmenter import GANAugmenter

__all__ = ["CFGANRecommender"]


class CFGANRecommender(BaseRecommender):
    """Recommend the items a CFGAN's generator scores highest.

    Fits a clone of ``augmenter`` (a :class:`~sklearn_agn.gan._augmenter.GANAugmenter`)
    on the interactions and ranks each user's unseen items by the generator's
    score given the user's row (:meth:`GANAugmenter.score_items
    <sklearn_agn.gan._augmenter.GANAugmenter.score_items>`, noise held at its
    mean). This is CFGAN used as a recommender, as in the paper, with the
    library's ``predict``, ``decision_function`` and ``score``.

    The model is user-based like the generator: a row seen in ``fit`` and a
    brand-new row are scored the same way, by conditioning on the row. Only
    the augmenter's training parameters matter here: its ``transform``
    parameters (``sparse_threshold``, ``n_generated``, ``generated_weight``)
    are not used.

    Parameters
    ----------
    augmenter : GANAugmenter or None, default=None
        The GAN to train, cloned in ``fit``; None means ``GANAugmenter()``.
        Pass an instance to set its parameters, and tune them as
        ``augmenter__<name>`` in a search (e.g. ``augmenter__max_iter``).
        Its ``random_state`` seeds the training.
    k : int, default=10
        Number of items ``predict`` returns per user, and the cut-off of ``score``.
    metric : {"ndcg", "precision", "recall", "mrr", "hit_rate"}, default="ndcg"
        Ranking metric of ``score``.
    batch_size : int, default=1024
        Rows scored at a time by ``predict``; bounds its memory to
        ``batch_size * n_items`` scores. The generator itself runs in batches
        of the augmenter's ``batch_size``.

    Attributes
    ----------
    augmenter_ : GANAugmenter
        The fitted clone of ``augmenter``.
    n_features_in_ : int
        Number of items seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_items,)
        Item names, when ``X`` was a DataFrame with string column names.

    See Also
    --------
    sklearn_agn.gan._augmenter.GANAugmenter : The GAN, also used to add
        generated feedback to sparse rows.
    sklearn_agn.MFRecommender : Matrix factorisation, alone or after
        ``GANAugmenter``.

    Notes
    -----
    A user's real interactions are never recommended back; the generator
    scores them too, and ``predict`` drops them.

    References
    ----------
    .. [1] D.-K. Chae, J.-S. Kang, S.-W. Kim and J.-T. Lee, "CFGAN: A Generic
       Collaborative Filtering Framework based on Generative Adversarial
       Networks", CIKM 2018, pp. 137-146.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_agn import CFGANRecommender
    >>> from sklearn_agn.gan._augmenter import GANAugmenter
    >>> rng = np.random.RandomState(0)
    >>> X = (rng.random_sample((40, 30)) < 0.3).astype(float)
    >>> gan = GANAugmenter(max_iter=2, random_state=0)
    >>> model = CFGANRecommender(gan, k=3).fit(X)
    >>> model.predict(X[:2]).shape
    (2, 3)
    """

    _parameter_constraints = {
        **BaseRecommender._base_parameter_constraints,
        "augmenter": [HasMethods(["fit", "score_items"]), None],
    }

    def __init__(self, augmenter=None, *, k=10, metric="ndcg", batch_size=1024):
        self.augmenter = augmenter
        self.k = k
        self.metric = metric
        self.batch_size = batch_size

    # The augmenter validates its own parameters when it is fitted.
    @_fit_context(prefer_skip_nested_validation=False)
    @atomic_fit
    def fit(self, X, y=None):
        """Train the GAN on the interactions ``X``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_users, n_items)
            Interactions; any stored positive value counts as one.
        y : None
            Ignored.

        Returns
        -------
        self : CFGANRecommender
            The fitted recommender.
        """
        # Handed on marked: the augmenter learns from the real interactions only.
        X = check_interactions(self, X, reset=True).marked()
        augmenter = GANAugmenter() if self.augmenter is None else clone(self.augmenter)
        self.augmenter_ = augmenter.fit(X)
        return self

    def _score_rows(self, feedback):
        return self.augmenter_.score_items(feedback.X)
