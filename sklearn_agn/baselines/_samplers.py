"""Synthetic-data releases to compare ``GANAugmenter.sample`` with, private or not.

Each sampler learns from real interaction rows in ``fit`` and draws
brand-new binary rows with ``sample(n_samples, random_state)``, as
:meth:`~sklearn_agn.GANAugmenter.sample` does. With ``epsilon``, what
``sample`` returns is epsilon-differentially private (pure DP, delta = 0)
for one user's row; the neighbouring relation of each sampler is stated in
its docstring:

- :class:`PopularitySampler`: a user's row added or removed, as Opacus
  accounts DP-SGD in ``GANAugmenter(dp_epsilon=...)``;
- :class:`RandomizedResponseSampler` and :class:`MFSampler`: a user's row
  replaced by any other row. A release of one noisy row per user shows how
  many users there are, so no add-or-remove guarantee is possible for it;
  an add-or-remove guarantee at epsilon implies a replace-one guarantee at
  2 epsilon, so at the same number these two promise less than the GAN.
"""

import math
import numbers

import numpy as np
import scipy.sparse as sp
from scipy.special import expit
from sklearn.base import BaseEstimator, _fit_context, clone
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.validation import check_is_fitted

from .._fit_state import atomic_fit
from .._validation import check_interactions, check_n_samples
from ..mf._recommender import MFRecommender

__all__ = ["PopularitySampler", "MFSampler", "RandomizedResponseSampler"]

# Share of epsilon spent on the histogram of the row lengths (as GANAugmenter does).
LENGTH_SHARE = 0.1

# Candidate rows whose item keys are drawn at once: bounds memory at
# _BATCH * n_items floats.
_BATCH = 1024


def _length_distribution(lengths, n_items, epsilon, sensitivity, rng):
    """Probability of every row length ``0 .. n_items``, private with ``epsilon``.

    Without ``epsilon``: the empirical distribution of ``lengths``. With it,
    the lengths are counted in bins fixed before seeing the data (0, 1,
    [2, 4), [4, 8), ... up to ``n_items``), so that few bins share the
    noise; Laplace noise of scale ``sensitivity / epsilon`` on each count
    (``sensitivity``: the L1 change of the counts when one user changes),
    clipped at zero, spread evenly over the lengths of its bin.
    """
    if epsilon is None:
        counts = np.bincount(lengths, minlength=n_items + 1).astype(np.float64)
        return counts / counts.sum()
    powers = 2 ** np.arange(int(n_items).bit_length() + 1)
    edges = np.unique(np.minimum(np.concatenate([[0], powers]), n_items + 1))
    bins = np.searchsorted(edges, lengths, side="right") - 1
    counts = np.bincount(bins, minlength=len(edges) - 1).astype(np.float64)
    noisy = np.clip(counts + rng.laplace(0.0, sensitivity / epsilon, counts.size), 0, None)
    if noisy.sum() == 0:  # all the noise negative: nothing is known, every bin alike
        noisy[:] = 1.0
    widths = np.diff(edges)
    distribution = np.repeat(noisy / widths, widths)
    return distribution / distribution.sum()


def _draw_rows(log_weights, lengths, n_items, rng):
    """Rows of ``lengths[i]`` distinct items, drawn without replacement by weight.

    ``log_weights(start, stop)`` gives the log-weights of the items for rows
    ``start:stop`` (a row vector when they are the same for every row);
    ``-inf`` items are never drawn, and a row asks for at most as many items
    as have a finite weight. Exponential races (Gumbel top-k: the items of
    the largest ``log w + Gumbel`` keys) draw the items of a whole batch at
    once, with the law of successive weighted draws without replacement.
    """
    n_rows, rows, items = len(lengths), [], []
    for start in range(0, n_rows, _BATCH):
        stop = min(start + _BATCH, n_rows)
        # Every row's own Gumbel noise over the same or its own log-weights.
        keys = log_weights(start, stop) + rng.gumbel(size=(stop - start, n_items))
        order = np.argsort(-keys, axis=1)
        size = np.minimum(lengths[start:stop], np.isfinite(keys).sum(axis=1))
        taken = np.arange(order.shape[1])[None, :] < size[:, None]
        rows.append(np.nonzero(taken)[0] + start)
        items.append(order[taken])
    return np.concatenate(rows), np.concatenate(items)


def _flipped_cells(n_cells, probability, rng):
    """Sorted positions, among ``n_cells``, of independent Bernoulli(``probability``) successes.

    Drawn as a Bernoulli process, by the geometric gaps between successes:
    the cost is that of the successes, never of the ``n_cells`` cells.
    """
    if probability == 0:
        return np.empty(0, dtype=np.int64)
    chunk = min(int(n_cells * probability * 1.05) + 1024, 1 << 22)
    positions, last = [], -1
    while last < n_cells:
        gaps = rng.geometric(probability, size=chunk)
        # A gap past the int64 range comes back negative: it ends the process
        # like any gap past the last cell.
        gaps[gaps < 1] = n_cells + 1
        position = last + np.cumsum(np.minimum(gaps, n_cells + 1))
        positions.append(position[position < n_cells])
        last = position[-1]
    return np.concatenate(positions)


def _randomized_response(X, epsilon_per_cell, rng):
    """Binary CSR ``X``, every cell flipped with probability ``1 / (1 + exp(epsilon_per_cell))``.

    Each cell, observed or not, is reported truthfully with probability
    ``e^eps / (1 + e^eps)``: the two values of a cell are told apart with
    odds at most ``e^eps``, so a cell is ``eps``-DP. Flips are drawn on the
    flat index of the cells (:func:`_flipped_cells`) and applied as a
    symmetric difference with the observed ones: nothing of shape
    ``n_users x n_items`` is allocated but the result.
    """
    n_rows, n_items = X.shape
    probability = expit(-epsilon_per_cell)  # 1 / (1 + e^eps), 0 at inf
    observed = np.repeat(np.arange(n_rows, dtype=np.int64), np.diff(X.indptr)) * n_items \
        + X.indices
    cells = np.setxor1d(observed, _flipped_cells(n_rows * n_items, probability, rng),
                        assume_unique=True)
    return sp.csr_matrix((np.ones(cells.size), (cells // n_items, cells % n_items)),
                         shape=X.shape)


class _Sampler(BaseEstimator):
    """What the samplers share: validation, the binary rows they learn from, ``sample``'s checks."""

    _parameter_constraints = {
        "epsilon": [Interval(numbers.Real, 0, math.inf, closed="neither"), None],
        "random_state": ["random_state"],
    }

    def _binary_rows(self, X):
        """The real interactions of ``X`` as a new binary CSR matrix (``n_features_in_`` set)."""
        return check_interactions(self, X, reset=True).real_mask().astype(np.float64)

    def _check_n_samples(self, n_samples):
        check_is_fitted(self)
        check_n_samples(n_samples)

    def _draw(self, n_samples, rng, log_weights):
        """``n_samples`` rows, lengths from ``row_length_distribution_``, items by ``log_weights``.

        ``log_weights`` as in :func:`_draw_rows`.
        """
        n_items = self.n_features_in_
        lengths = rng.choice(n_items + 1, size=n_samples, p=self.row_length_distribution_)
        rows, items = _draw_rows(log_weights, lengths, n_items, rng)
        return sp.csr_matrix((np.ones(rows.size), (rows, items)), shape=(n_samples, n_items))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.input_tags.positive_only = True
        return tags


class PopularitySampler(_Sampler):
    """Synthetic rows drawn from item popularity and the histogram of row lengths.

    A row's length is drawn from the training rows' lengths; its items, as
    many, without replacement, with probability proportional to their
    number of training interactions. Items that appear together in a real
    row are not any likelier together here: the floor of a synthetic-data
    release, which keeps only what the marginals say.

    With ``epsilon``, ``sample``'s rows (and ``item_popularity_``,
    ``row_length_distribution_``) are epsilon-differentially private for
    a user's row added or removed (the relation under which Opacus accounts
    ``GANAugmenter(dp_epsilon=...)``), with delta = 0:

    - every user's row is cut to at most ``max_row_length`` of its items,
      drawn at random, so that a user changes the item counts by at most
      ``max_row_length`` in L1; Laplace noise of scale
      ``max_row_length / ((1 - 0.1) * epsilon)`` on each count, clipped at
      zero, makes them private;
    - the row lengths are counted in bins fixed beforehand (0, 1, [2, 4),
      [4, 8), ...), to which a user adds 1; Laplace noise of scale
      ``1 / (0.1 * epsilon)`` on each, clipped at zero; a length is drawn
      uniformly within its bin.

    Parameters
    ----------
    epsilon : float or None, default=None
        Privacy budget, in (0, inf); None: no noise, and the exact counts.
    max_row_length : int, default=64
        With ``epsilon``: the most items a user contributes to the counts.
        Smaller bounds need less noise but cut the long rows; set it from
        what is known of the data beforehand, not from the data.
    random_state : int, RandomState instance or None, default=None
        Seeds the cuts and the noise of ``fit``.

    Attributes
    ----------
    item_popularity_ : ndarray of shape (n_items,)
        The probability of every item in the draws: its share of the
        (noisy, with ``epsilon``) counts.
    row_length_distribution_ : ndarray of shape (n_items + 1,)
        The probability of every row length ``0 .. n_items``.
    n_features_in_ : int
        Number of items seen in fit.

    See Also
    --------
    sklearn_agn.GANAugmenter.sample : The release these baselines are compared with.
    MFSampler : Rows drawn from a matrix factorisation's scores.
    RandomizedResponseSampler : The real rows, each cell flipped at random.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_agn.baselines import PopularitySampler
    >>> X = np.array([[1, 1, 0, 0], [0, 1, 1, 0], [0, 1, 0, 0]])
    >>> sampler = PopularitySampler().fit(X)
    >>> sampler.item_popularity_
    array([0.2, 0.6, 0.2, 0. ])
    >>> sampler.sample(5, random_state=0).shape
    (5, 4)
    """

    _parameter_constraints = {
        **_Sampler._parameter_constraints,
        "max_row_length": [Interval(numbers.Integral, 1, None, closed="left")],
    }

    def __init__(self, *, epsilon=None, max_row_length=64, random_state=None):
        self.epsilon = epsilon
        self.max_row_length = max_row_length
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=True)
    @atomic_fit
    def fit(self, X, y=None):
        """Count the items and the row lengths of ``X``, with noise when ``epsilon`` is set.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_users, n_items)
            Training interactions; any stored positive value is one
            interaction, and entries a ``GANAugmenter`` marked as generated
            are left out.
        y : None
            Ignored.

        Returns
        -------
        self : PopularitySampler
            The fitted sampler.
        """
        X = self._binary_rows(X)
        rng = check_random_state(self.random_state)
        lengths = np.diff(X.indptr)
        items = X.indices
        if self.epsilon is not None:
            # A random max_row_length of each row's items: the n smallest of
            # random keys within the row.
            rows = np.repeat(np.arange(X.shape[0]), lengths)
            order = np.lexsort((rng.random_sample(X.nnz), rows))
            rank = np.empty(X.nnz, dtype=np.int64)
            rank[order] = np.arange(X.nnz) - np.repeat(X.indptr[:-1], lengths)
            items = items[rank < self.max_row_length]
        counts = np.bincount(items, minlength=X.shape[1]).astype(np.float64)
        if self.epsilon is not None:
            scale = self.max_row_length / ((1 - LENGTH_SHARE) * self.epsilon)
            counts = np.clip(counts + rng.laplace(0.0, scale, counts.size), 0, None)
        if counts.sum() == 0:  # no interaction, or all the noise negative: every item alike
            counts[:] = 1.0
        self.item_popularity_ = counts / counts.sum()
        self.row_length_distribution_ = _length_distribution(
            lengths, X.shape[1], None if self.epsilon is None else LENGTH_SHARE * self.epsilon,
            1, rng)
        return self

    def sample(self, n_samples=1, random_state=None):
        """Draw brand-new synthetic rows.

        Parameters
        ----------
        n_samples : int, default=1
            Number of rows to draw.
        random_state : int, RandomState instance or None, default=None
            Seeds the draws; None uses numpy's global random state.

        Returns
        -------
        X_new : csr_matrix of shape (n_samples, n_items)
            The synthetic rows; every stored value is 1.
        """
        self._check_n_samples(n_samples)
        with np.errstate(divide="ignore"):  # an item never counted: log 0 = -inf, never drawn
            log_popularity = np.log(self.item_popularity_)
        return self._draw(n_samples, check_random_state(random_state),
                          lambda start, stop: log_popularity)

    def score_items(self, X):
        """The sampler's score of every item for every row of ``X``: its popularity.

        The model a membership attack reads (see
        :func:`sklearn_agn.metrics.reconstruction_scores`); the same for
        every row.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_users, n_items)
            Interaction rows.

        Returns
        -------
        scores : ndarray of shape (n_users, n_items)
            ``item_popularity_`` for every row.
        """
        check_is_fitted(self)
        n_rows = check_interactions(self, X, reset=False).X.shape[0]
        return np.tile(self.item_popularity_, (n_rows, 1))


class MFSampler(_Sampler):
    """Synthetic rows drawn from the scores of a matrix factorisation for synthetic users.

    ``fit`` fits the recommender on the rows, folds them in, and keeps the
    mean and covariance of their user factors. A synthetic user gets a
    factor drawn from that Gaussian, a length drawn from the rows' lengths,
    and as many items, without replacement, with probability proportional
    to the recommender's score (scores at or below zero count as a tiny
    positive weight).

    With ``epsilon``, ``sample``'s rows are epsilon-differentially private
    for a user's row replaced by any other row (delta = 0): the recommender
    never sees the rows but their randomized response
    (:class:`RandomizedResponseSampler`'s, spending ``(1 - 0.1) * epsilon``
    on each user's row), and the lengths come from a histogram with Laplace
    noise (``0.1 * epsilon``: bins fixed beforehand, a replaced row moves a
    count down and one up, noise of scale ``2 / (0.1 * epsilon)``);
    everything after is post-processing. At a small epsilon per user, every
    cell of the randomized response is close to a coin flip, and so are the
    recommender's scores.

    Parameters
    ----------
    recommender : estimator with ``fit``, ``fold_in`` and ``item_factors_``, default=None
        The matrix factorisation, cloned before fitting;
        ``MFRecommender(random_state=...)`` seeded from ``random_state``
        when None.
    epsilon : float or None, default=None
        Privacy budget, in (0, inf); None: the recommender is fitted on the
        rows themselves.
    random_state : int, RandomState instance or None, default=None
        Seeds the noise of ``fit`` and the default recommender.

    Attributes
    ----------
    recommender_ : estimator
        The fitted clone of ``recommender``.
    user_factor_mean_ : ndarray of shape (n_factors,)
        Mean of the training rows' folded-in factors.
    user_factor_covariance_ : ndarray of shape (n_factors, n_factors)
        Their covariance (zero with a single row).
    row_length_distribution_ : ndarray of shape (n_items + 1,)
        The probability of every row length ``0 .. n_items``.
    n_features_in_ : int
        Number of items seen in fit.

    See Also
    --------
    PopularitySampler : Rows drawn from item popularity alone.
    RandomizedResponseSampler : The real rows, each cell flipped at random.

    Examples
    --------
    >>> from sklearn_agn import MFRecommender
    >>> from sklearn_agn.baselines import MFSampler
    >>> from sklearn_agn.datasets import make_interactions
    >>> X = make_interactions(50, 20, 300, random_state=0)
    >>> sampler = MFSampler(MFRecommender(n_factors=4, random_state=0), random_state=0).fit(X)
    >>> sampler.sample(3, random_state=0).shape
    (3, 20)
    """

    _parameter_constraints = {
        **_Sampler._parameter_constraints,
        "recommender": [HasMethods(["fit", "fold_in"]), None],
    }

    def __init__(self, recommender=None, *, epsilon=None, random_state=None):
        self.recommender = recommender
        self.epsilon = epsilon
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=False)
    @atomic_fit
    def fit(self, X, y=None):
        """Fit the recommender on ``X`` (its randomized response with ``epsilon``).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_users, n_items)
            Training interactions; any stored positive value is one
            interaction, and entries a ``GANAugmenter`` marked as generated
            are left out.
        y : None
            Ignored.

        Returns
        -------
        self : MFSampler
            The fitted sampler.
        """
        X = self._binary_rows(X)
        rng = check_random_state(self.random_state)
        lengths = np.diff(X.indptr)
        if self.epsilon is not None:
            X = _randomized_response(X, (1 - LENGTH_SHARE) * self.epsilon / X.shape[1], rng)
        if self.recommender is None:
            recommender = MFRecommender(random_state=rng.randint(np.iinfo(np.int32).max))
        else:
            recommender = clone(self.recommender)
        self.recommender_ = recommender.fit(X)
        factors = np.asarray(self.recommender_.fold_in(X), dtype=np.float64)
        self.user_factor_mean_ = factors.mean(axis=0)
        self.user_factor_covariance_ = (
            np.cov(factors, rowvar=False).reshape(factors.shape[1], factors.shape[1])
            if factors.shape[0] > 1 else np.zeros((factors.shape[1],) * 2)
        )
        self.row_length_distribution_ = _length_distribution(
            lengths, X.shape[1], None if self.epsilon is None else LENGTH_SHARE * self.epsilon,
            2, rng)
        return self

    def sample(self, n_samples=1, random_state=None):
        """Draw brand-new synthetic rows.

        Parameters
        ----------
        n_samples : int, default=1
            Number of rows to draw.
        random_state : int, RandomState instance or None, default=None
            Seeds the draws; None uses numpy's global random state.

        Returns
        -------
        X_new : csr_matrix of shape (n_samples, n_items)
            The synthetic rows; every stored value is 1.
        """
        self._check_n_samples(n_samples)
        rng = check_random_state(random_state)
        users = rng.multivariate_normal(self.user_factor_mean_, self.user_factor_covariance_,
                                        size=n_samples)
        items = np.asarray(self.recommender_.item_factors_, dtype=np.float64)
        tiny = np.finfo(np.float64).tiny

        def log_weights(start, stop):
            return np.log(np.clip(users[start:stop] @ items.T, tiny, None))

        return self._draw(n_samples, rng, log_weights)

    def score_items(self, X):
        """The recommender's score of every item for every row of ``X``, folded in.

        The model a membership attack reads (see
        :func:`sklearn_agn.metrics.reconstruction_scores`).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_users, n_items)
            Interaction rows.

        Returns
        -------
        scores : ndarray of shape (n_users, n_items)
            ``recommender_.decision_function(X)``.
        """
        check_is_fitted(self)
        return self.recommender_.decision_function(X)


class RandomizedResponseSampler(_Sampler):
    """The real rows, every cell flipped at random: randomized response at the user level.

    ``fit`` draws the release once: every cell of the binary matrix, observed
    or not, is flipped with probability ``1 / (1 + exp(epsilon / n_items))``.
    ``sample`` draws rows of that release (without replacement while
    ``n_samples`` is at most the number of rows), so drawing again never
    draws new noise on the same user: everything it returns is
    post-processing of one release.

    The unit of privacy is a user's row: the release is epsilon-differentially
    private (delta = 0) for a row replaced by any other row. Each cell is
    reported truthfully with odds ``exp(epsilon / n_items)``, and a row has
    ``n_items`` cells, which compose to ``epsilon``. At ``epsilon`` of a
    few units and a catalogue of thousands, every cell is close to a coin
    flip: that is what user-level privacy costs randomized response. (The
    textbook use, each cell flipped with probability ``1 / (1 + e^eps)``,
    protects a single interaction at ``eps``, not a user, and is not
    offered here.)

    Parameters
    ----------
    epsilon : float or None, default=None
        Privacy budget of a user's row, in (0, inf); None: no flip, the
        release is the rows themselves (no privacy, the reference of a
        release that leaks everything).
    random_state : int, RandomState instance or None, default=None
        Seeds the flips of ``fit``.

    Attributes
    ----------
    flip_probability_ : float
        The probability of flipping each cell.
    release_ : csr_matrix of shape (n_users, n_items)
        The randomized rows, binary.
    n_features_in_ : int
        Number of items seen in fit.

    See Also
    --------
    PopularitySampler : Rows drawn from item popularity alone.
    MFSampler : Rows drawn from a matrix factorisation fitted on this release.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_agn.baselines import RandomizedResponseSampler
    >>> X = np.array([[1, 1, 0, 0], [0, 1, 1, 0], [0, 1, 0, 0]])
    >>> sampler = RandomizedResponseSampler(epsilon=4.0, random_state=0).fit(X)
    >>> round(sampler.flip_probability_, 4)  # 1 / (1 + e^(4 / 4))
    0.2689
    """

    def __init__(self, *, epsilon=None, random_state=None):
        self.epsilon = epsilon
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=True)
    @atomic_fit
    def fit(self, X, y=None):
        """Draw the randomized release of ``X``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_users, n_items)
            Training interactions; any stored positive value is one
            interaction, and entries a ``GANAugmenter`` marked as generated
            are left out.
        y : None
            Ignored.

        Returns
        -------
        self : RandomizedResponseSampler
            The fitted sampler.
        """
        X = self._binary_rows(X)
        epsilon_per_cell = math.inf if self.epsilon is None else self.epsilon / X.shape[1]
        self.flip_probability_ = float(expit(-epsilon_per_cell))
        self.release_ = _randomized_response(X, epsilon_per_cell,
                                             check_random_state(self.random_state))
        return self

    def sample(self, n_samples=1, random_state=None):
        """Draw rows of the release.

        Parameters
        ----------
        n_samples : int, default=1
            Number of rows to draw: distinct rows of ``release_`` while there
            are enough, drawn with replacement beyond.
        random_state : int, RandomState instance or None, default=None
            Seeds the draws; None uses numpy's global random state.

        Returns
        -------
        X_new : csr_matrix of shape (n_samples, n_items)
            The rows; every stored value is 1.
        """
        self._check_n_samples(n_samples)
        rng = check_random_state(random_state)
        n_rows = self.release_.shape[0]
        return self.release_[rng.choice(n_rows, size=n_samples, replace=n_samples > n_rows)]
