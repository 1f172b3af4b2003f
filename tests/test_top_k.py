"""top_k: ranking, the seen-item filter, padding, and ties broken by the lower index."""

import numpy as np
import pytest
import scipy.sparse as sp

from sklearn_agn import _base
from sklearn_agn._base import top_k


def _reference(scores, k, exclude=None):
    """Sort every row by (score descending, index ascending); -1 for excluded."""
    scores = np.asarray(scores, dtype=np.float64).copy()
    if exclude is not None:
        scores[exclude.toarray().astype(bool)] = -np.inf
    scores[np.isnan(scores)] = -np.inf
    n_items = scores.shape[1]
    out = []
    for row in scores:
        order = np.lexsort((np.arange(n_items), -row))[:k]
        out.append(np.where(np.isneginf(row[order]), -1, order))
    return np.array(out)


def test_ties_at_the_boundary_go_to_the_lowest_indices():
    # Many items tied at the k-th score: argpartition would return an
    # arbitrary subset of them; top_k must return the lowest indices.
    n_items = 1000
    scores = np.zeros((3, n_items))
    scores[0, 500] = 1.0  # one clear winner, then 999 tied items
    scores[1, [700, 900]] = 2.0  # two winners
    scores[2] = 0.5  # everything tied
    np.testing.assert_array_equal(top_k(scores, 4), [[500, 0, 1, 2], [700, 900, 0, 1],
                                                     [0, 1, 2, 3]])


def test_ties_in_the_middle_and_at_the_boundary_of_float32_scores():
    rng = np.random.RandomState(0)
    scores = rng.randint(0, 5, size=(50, 200)).astype(np.float32)
    for k in (1, 7, 40, 199, 200):
        np.testing.assert_array_equal(top_k(scores, k), _reference(scores, k))


@pytest.mark.parametrize("seed", range(5))
def test_matches_the_reference_with_exclusions_padding_and_nan(seed):
    rng = np.random.RandomState(seed)
    n_rows, n_items = rng.randint(1, 30), rng.randint(1, 60)
    scores = rng.randint(0, 3, size=(n_rows, n_items)).astype(float)
    scores[rng.rand(n_rows, n_items) < 0.05] = np.nan
    mask = rng.rand(n_rows, n_items) < 0.4
    if n_rows > 1:
        mask[0] = True  # a row with nothing eligible
    exclude = sp.csr_matrix(mask)
    for k in {1, max(1, n_items // 2), n_items}:
        got = top_k(scores, k, exclude=exclude)
        np.testing.assert_array_equal(got, _reference(scores, k, exclude))


def test_chunking_does_not_change_results(monkeypatch):
    rng = np.random.RandomState(1)
    scores = rng.randint(0, 4, size=(37, 90)).astype(np.float32)
    exclude = sp.csr_matrix(rng.rand(37, 90) < 0.3)
    expected = top_k(scores, 9, exclude=exclude)
    monkeypatch.setattr(_base, "_TOP_K_CHUNK", 200)  # two rows at a time
    np.testing.assert_array_equal(top_k(scores, 9, exclude=exclude), expected)
    np.testing.assert_array_equal(expected, _reference(scores, 9, exclude))


def test_scores_are_not_modified_and_explicit_false_is_not_excluded():
    scores = np.array([[3.0, 2.0, 1.0]])
    exclude = sp.csr_matrix((np.array([False, True]), np.array([0, 1]), np.array([0, 2])),
                            shape=(1, 3))
    np.testing.assert_array_equal(top_k(scores, 2, exclude=exclude), [[0, 2]])
    np.testing.assert_array_equal(scores, [[3.0, 2.0, 1.0]])
