"""EASE: a linear item-item autoencoder with a closed-form solution."""

from numbers import Real

import numpy as np
from scipy.linalg import lapack
from sklearn.base import _fit_context
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from .._base import BaseRecommender
from .._fit_state import atomic_fit
from .._similar_items import similar_items
from .._validation import check_interactions


class EASE(BaseRecommender):
    """Embarrassingly Shallow AutoEncoder for implicit feedback (Steck, 2019).

    Learns an item-item weight matrix ``B`` with a zero diagonal that
    reconstructs each user row from the user's other items,
    ``min_B ||X - X B||² + l2_reg ||B||²`` subject to ``diag(B) = 0``, whose
    solution is closed-form:

    ``P = (XᵀX + l2_reg I)⁻¹``,  ``B = I - P / diag(P)`` (column-wise), ``diag(B) = 0``.

    A user's item scores are ``x B`` for their row ``x``, so any row, seen in
    fit or new, is scored the same way.

    Parameters
    ----------
    l2_reg : float, default=500.0
        Strength ``λ`` of the L2 penalty on ``B``; must be positive. 500 was
        chosen by NDCG@20 on a validation split of MovieLens-100K (CFGAN
        split); denser or larger data usually wants a larger value.
    k : int, default=10
        Number of items returned by :meth:`predict` and scored by :meth:`score`.
    metric : {"precision", "recall", "ndcg", "mrr", "hit_rate"}, default="ndcg"
        Ranking metric of :meth:`score`, at cut-off ``k``.
    batch_size : int, default=4096
        Number of user rows scored at once; bounds the scoring memory at
        ``batch_size * n_items`` floats.

    Attributes
    ----------
    item_weights_ : ndarray of shape (n_items, n_items), dtype float64
        The weight matrix ``B``: ``item_weights_[i, j]`` is how much an
        interaction with item ``i`` raises the score of item ``j``. Its
        diagonal is zero.
    n_features_in_ : int
        Number of items seen in fit.

    See Also
    --------
    ItemKNN : Item-based neighbourhood recommender with a sparse similarity.
    MostPopular : Non-personalised popularity ranking.

    Notes
    -----
    Memory grows with the square of the catalogue: ``fit`` works on one
    dense ``n_items x n_items`` float64 matrix, factorised and inverted in
    place, which the fitted model keeps as ``item_weights_``: ``8 * n_items**2``
    bytes, i.e. 23 MB for 1,682 items, 800 MB for 10,000, 80 GB for 100,000.
    While it is built, the sparse Gram matrix ``XᵀX`` exists alongside (up to
    ``12 * n_items**2`` bytes more when most item pairs co-occur). Beyond a
    few tens of thousands of items use :class:`ItemKNN`, whose similarity is
    sparse, or ``MFRecommender``. The inverse is computed in float64 from a
    Cholesky factorisation (``XᵀX + λI`` is symmetric positive definite for
    ``λ > 0``) for numerical stability when ``λ`` is small next to the item
    counts on the Gram matrix's diagonal.

    Stored values are used as they are: binarise ``X`` (1 per interaction)
    for the model of the paper. Generated feedback (weights in (0, 1) from
    ``GANAugmenter``) enters the Gram matrix and the user's row with its weight,
    so it counts less than a real interaction.

    References
    ----------
    .. [1] H. Steck, "Embarrassingly Shallow Autoencoders for Sparse Data",
       The Web Conference (WWW) 2019. https://arxiv.org/abs/1905.03375

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_agn.baselines import EASE
    >>> X = np.array([[1, 1, 0, 0],
    ...               [1, 1, 1, 0],
    ...               [0, 0, 1, 1]])
    >>> model = EASE(l2_reg=1.0, k=1).fit(X)
    >>> np.diag(model.item_weights_)
    array([0., 0., 0., 0.])
    >>> model.predict([[1, 0, 0, 0]])
    array([[1]])
    """

    _parameter_constraints = {
        **BaseRecommender._base_parameter_constraints,
        "l2_reg": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(self, l2_reg=500.0, *, k=10, metric="ndcg", batch_size=4096):
        self.l2_reg = l2_reg
        self.k = k
        self.metric = metric
        self.batch_size = batch_size

    @_fit_context(prefer_skip_nested_validation=True)
    @atomic_fit
    def fit(self, X, y=None):
        """Solve for the item-item weight matrix.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_users, n_items)
            Training interactions.
        y : None
            Ignored.

        Returns
        -------
        self : EASE
            The fitted recommender.
        """
        X = check_interactions(self, X, reset=True).X.astype(np.float64)
        gram = (X.T @ X).toarray()
        if not np.isfinite(gram).all():
            raise ValueError(
                "XᵀX overflows float64: the values of X are too large (max "
                f"{X.data.max():.3g}); rescale X or binarise it."
            )
        gram[np.diag_indices_from(gram)] += self.l2_reg
        # P = (XᵀX + λI)⁻¹ through LAPACK's Cholesky inverse, in place: fewer
        # flops than solving against the identity and a single dense matrix in
        # memory. The Gram matrix is symmetric, so its transpose, a Fortran-
        # ordered view, is the same matrix in the layout LAPACK overwrites.
        factor, info = lapack.dpotrf(gram.T, lower=False, clean=False, overwrite_a=True)
        if info == 0:
            P, info = lapack.dpotri(factor, lower=False, overwrite_c=True)
        if info != 0:
            raise np.linalg.LinAlgError(
                f"XᵀX + l2_reg * I is not numerically positive definite (LAPACK "
                f"info={info}); increase l2_reg (now {self.l2_reg})."
            )
        for i in range(P.shape[0] - 1):  # dpotri fills the upper triangle only
            P[i + 1 :, i] = P[i, i + 1 :]
        # B = I - P / diag(P), written over P: off the diagonal B = -P / diag(P).
        P /= -np.diag(P)
        P[np.diag_indices_from(P)] = 0.0
        self.item_weights_ = P
        return self

    def similar_items(self, items, n=10):
        """The items most recommended alongside each of ``items``.

        Item ``j``'s similarity to item ``i`` is ``item_weights_[i, j]``, how
        much an interaction with ``i`` raises the score of ``j``: the ranking
        is what the model recommends to a user whose only interaction is ``i``.

        Parameters
        ----------
        items : int or array-like of int
            Item indices (columns of the training matrix).
        n : int, default=10
            Number of similar items per item.

        Returns
        -------
        similar : ndarray of shape (n_queries, n), or (n,) for a single int
            Item indices, most similar first, the item itself left out.
        """
        check_is_fitted(self)
        return similar_items(lambda batch: self.item_weights_[batch], items, n,
                             self.n_features_in_)

    def _score_rows(self, feedback):
        return feedback.X @ self.item_weights_
