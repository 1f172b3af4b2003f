"""Synthetic-data release baselines: privacy mechanisms, shapes, reproducibility, validation."""

import math

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_agn import MFRecommender
from sklearn_agn.baselines import MFSampler, PopularitySampler, RandomizedResponseSampler
from sklearn_agn.datasets import make_interactions

X = make_interactions(120, 30, 900, random_state=0)


def _samplers(epsilon=None):
    return [PopularitySampler(epsilon=epsilon, random_state=0),
            MFSampler(MFRecommender(n_factors=4, n_iter=3, random_state=0), epsilon=epsilon,
                      random_state=0),
            RandomizedResponseSampler(epsilon=epsilon, random_state=0)]


@parametrize_with_checks(_samplers(epsilon=2.0))
def test_sklearn_compatible(estimator, check):
    check(estimator)


def _within_binomial(successes, trials, p, n_sd=4):
    """Whether a count of successes lies within n_sd binomial standard deviations of trials * p."""
    return abs(successes - trials * p) <= n_sd * math.sqrt(trials * p * (1 - p))


def test_randomized_response_flips_each_cell_with_user_level_probability():
    X_big = sp.random(2000, 500, density=0.05, format="csr", random_state=0)
    # epsilon per user / 500 cells = 1 per cell: flip probability 1 / (1 + e).
    sampler = RandomizedResponseSampler(epsilon=500.0, random_state=0).fit(X_big)
    p = 1 / (1 + math.e)
    assert sampler.flip_probability_ == pytest.approx(p, rel=1e-12)
    observed = X_big.astype(bool)
    released = sampler.release_.astype(bool)
    n_observed = observed.nnz
    n_unobserved = X_big.shape[0] * X_big.shape[1] - n_observed
    # Observed cells dropped, unobserved cells added: both flipped at rate p.
    assert _within_binomial((observed > released).nnz, n_observed, p)
    assert _within_binomial((released > observed).nnz, n_unobserved, p)
    assert set(np.unique(sampler.release_.data)) == {1.0}


def test_randomized_response_with_a_vanishing_flip_probability():
    # 500 per cell: a flip probability of 7e-218, whose geometric gaps
    # overflow int64; the release is the rows.
    sampler = RandomizedResponseSampler(epsilon=500.0 * X.shape[1], random_state=0).fit(X)
    assert 0 < sampler.flip_probability_ < 1e-200
    assert (sampler.release_ != X.astype(bool).astype(float)).nnz == 0


def test_randomized_response_without_epsilon_releases_the_rows():
    ratings = X.copy()
    ratings.data[:] = 4.0
    sampler = RandomizedResponseSampler().fit(ratings)
    assert sampler.flip_probability_ == 0.0
    assert (sampler.release_ != X.astype(bool).astype(float)).nnz == 0
    # As many rows as the release: every row once.
    rows = sampler.sample(X.shape[0], random_state=0)
    assert sorted(map(tuple, rows.toarray())) == sorted(map(tuple, sampler.release_.toarray()))


def test_popularity_sampler_exact_counts_and_frequencies():
    one_each = sp.csr_matrix((np.ones(6), ([0, 1, 2, 3, 4, 5], [0, 1, 1, 2, 2, 2])),
                             shape=(6, 4))
    sampler = PopularitySampler().fit(one_each)
    np.testing.assert_allclose(sampler.item_popularity_, [1 / 6, 2 / 6, 3 / 6, 0])
    np.testing.assert_allclose(sampler.row_length_distribution_, [0, 1, 0, 0, 0])
    rows = sampler.sample(6000, random_state=0)
    counts = np.bincount(rows.indices, minlength=4)
    assert rows.nnz == 6000 and counts[3] == 0
    for count, p in zip(counts[:3], sampler.item_popularity_[:3]):
        assert _within_binomial(count, 6000, p)


def test_popularity_sampler_bounds_each_users_contribution():
    # One user with all 100 items: with max_row_length=5, only 5 of them are
    # counted (the L1 sensitivity the noise is calibrated to). An epsilon this
    # large makes the noise negligible.
    full = sp.csr_matrix(np.ones((1, 100)))
    sampler = PopularitySampler(epsilon=1e7, max_row_length=5, random_state=0).fit(full)
    assert (sampler.item_popularity_ > 0.1).sum() == 5
    # The length 100 falls in the bin [64, 101) of the private histogram:
    # its mass is spread evenly over the lengths of the bin.
    assert sampler.row_length_distribution_[64:].min() == pytest.approx(1 / 37, rel=1e-3)
    assert sampler.row_length_distribution_[:64].max() < 1e-4


def test_mf_sampler_with_epsilon_fits_on_randomized_response():
    recommender = MFRecommender(n_factors=4, n_iter=3, random_state=0)
    private = MFSampler(recommender, epsilon=9.0, random_state=0).fit(X)
    assert not hasattr(recommender, "item_factors_")  # the caller's recommender is cloned
    # The MF reads nothing but the randomized response of the rows at 0.9 of
    # the budget (the rest goes to the lengths): the same seed draws the same
    # release.
    release = RandomizedResponseSampler(epsilon=0.9 * 9.0, random_state=0).fit(X).release_
    np.testing.assert_array_equal(private.recommender_.item_factors_,
                                  recommender.fit(release).item_factors_)
    public = MFSampler(recommender, random_state=0).fit(X)
    assert not np.allclose(private.recommender_.item_factors_,
                           public.recommender_.item_factors_)


@pytest.mark.parametrize("epsilon", [None, 2.0])
def test_samples_are_binary_rows_of_the_catalogue(epsilon):
    for sampler in _samplers(epsilon):
        rows = sampler.fit(X).sample(50, random_state=1)
        assert isinstance(rows, sp.csr_matrix), type(sampler).__name__
        assert rows.shape == (50, X.shape[1]) and rows.dtype == np.float64
        assert rows.nnz and set(np.unique(rows.data)) == {1.0}
        assert rows.has_canonical_format


def test_random_state_reproducibility():
    for sampler in _samplers(epsilon=2.0):
        first = sampler.fit(X).sample(40, random_state=3)
        again = sampler.fit(X).sample(40, random_state=3)
        other = sampler.sample(40, random_state=4)
        name = type(sampler).__name__
        assert (first != again).nnz == 0, name
        assert (first != other).nnz > 0, name


@pytest.mark.parametrize("epsilon", [0, -1.0, math.inf, "1"])
def test_bad_epsilon_raises(epsilon):
    for sampler in _samplers():
        sampler.set_params(epsilon=epsilon)
        with pytest.raises(InvalidParameterError, match="'epsilon' parameter"):
            sampler.fit(X)


def test_bad_n_samples_and_unfitted():
    for sampler in _samplers():
        with pytest.raises(NotFittedError):
            sampler.sample(3)
        sampler.fit(X)
        for bad in (0, 2.0, True):
            with pytest.raises(ValueError, match="n_samples must be a positive integer"):
                sampler.sample(bad)


def test_callers_matrix_untouched():
    ratings = X.copy()
    ratings.data = np.arange(1, ratings.nnz + 1, dtype=np.float64)
    before = ratings.copy()
    for sampler in _samplers(epsilon=2.0):
        sampler.fit(ratings).sample(10, random_state=0)
        np.testing.assert_array_equal(ratings.data, before.data)
        np.testing.assert_array_equal(ratings.indices, before.indices)
        np.testing.assert_array_equal(ratings.indptr, before.indptr)
