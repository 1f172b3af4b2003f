"""Membership-inference metrics: hand-computed values, a planted leak, an independent release."""

import math

import numpy as np
import pytest
import scipy.sparse as sp

from sklearn_agn.datasets import make_interactions
from sklearn_agn.metrics import (dcr_membership_auc, distance_to_closest_record,
                                 membership_auc, reconstruction_scores)

X_SMALL = np.array([[1, 1, 0, 0], [0, 0, 1, 1], [0, 0, 0, 0]])
RELEASE = np.array([[1, 1, 1, 0], [1, 0, 0, 0]])


def test_membership_auc_hand_computed():
    # Pairs (member, non-member): 3 > 2, 3 > 0, 1 < 2, 1 > 0: 3 of 4.
    assert membership_auc([3, 1], [2, 0]) == 0.75
    # Ties count one half: (1, 1) 0.5, (1, 0) 1, twice: 3 of 4.
    assert membership_auc([1, 1], [1, 0]) == 0.75
    assert membership_auc([5, 4], [1, 2]) == 1.0
    assert membership_auc([0], [1, 2]) == 0.0


@pytest.mark.parametrize("bad, message", [
    ([], "non-empty 1-D"),
    ([[1, 2]], "non-empty 1-D"),
    ([1, np.nan], "NaN or infinite"),
])
def test_membership_auc_rejects_bad_scores(bad, message):
    with pytest.raises(ValueError, match=message):
        membership_auc(bad, [0.5])
    with pytest.raises(ValueError, match="non_member_scores"):
        membership_auc([0.5], bad)


def test_distance_to_closest_record_hand_computed():
    # Row 0 = {0, 1}: Jaccard to {0, 1, 2} is 1 - 2/3, to {0} 1 - 1/2.
    # Row 1 = {2, 3}: to {0, 1, 2} 1 - 1/4, to {0} 1. Row 2 is empty: 1.
    np.testing.assert_allclose(distance_to_closest_record(X_SMALL, RELEASE),
                               [1 / 3, 0.75, 1.0])
    # Cosine: 1 - 2/sqrt(6) (vs 1 - 1/sqrt(2)); 1 - 1/sqrt(6); 1.
    np.testing.assert_allclose(distance_to_closest_record(X_SMALL, RELEASE, metric="cosine"),
                               [1 - 2 / math.sqrt(6), 1 - 1 / math.sqrt(6), 1.0])


def test_distance_reads_sets_of_items_in_batches():
    ratings = sp.csr_matrix(X_SMALL * np.array([5, 3, 4, 1]))  # values are not weights
    expected = distance_to_closest_record(X_SMALL, RELEASE)
    np.testing.assert_allclose(distance_to_closest_record(ratings, RELEASE, batch_size=1),
                               expected)
    # An empty row is at distance 0 from an empty released row.
    with_empty = np.vstack([RELEASE, np.zeros(4)])
    assert distance_to_closest_record(X_SMALL, with_empty)[2] == 0.0


def test_distance_leaves_inputs_untouched():
    X = sp.csr_matrix(X_SMALL * 2.0)
    release = sp.csr_matrix(RELEASE * 3.0)
    before = [m.copy() for m in (X, release)]
    distance_to_closest_record(X, release)
    for after, copy in zip((X, release), before):
        assert (after != copy).nnz == 0 and after.data.max() == copy.data.max()


def test_distance_errors():
    with pytest.raises(ValueError, match="metric must be one of"):
        distance_to_closest_record(X_SMALL, RELEASE, metric="euclidean")
    with pytest.raises(ValueError, match="3 items .* release has 4"):
        distance_to_closest_record(X_SMALL[:, :3], RELEASE)
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        distance_to_closest_record(X_SMALL, RELEASE, batch_size=0)


def _population():
    """600 users of one synthetic population: members, non-members, and others."""
    X = make_interactions(900, 200, 12000, random_state=0)
    return X[:300], X[300:600], X[600:]


def test_planted_leak_release_copying_members_scores_near_one():
    members, non_members, _ = _population()
    assert dcr_membership_auc(members, non_members, release=members.copy()) > 0.95
    # A generator that memorises rows: given a candidate, it reconstructs the
    # closest training row, so a member's own items all score 1.
    training = members.toarray().astype(bool)

    def memorising_scores(X):
        X = X.toarray().astype(bool)
        common = X.astype(float) @ training.T.astype(float)
        union = X.sum(1)[:, None] + training.sum(1)[None, :] - common
        return training[np.argmax(common / union, axis=1)].astype(float)

    auc = membership_auc(reconstruction_scores(members, memorising_scores(members)),
                         reconstruction_scores(non_members, memorising_scores(non_members)))
    assert auc > 0.95


def test_release_independent_of_members_scores_about_half():
    members, non_members, others = _population()
    # The AUC of 300 against 300 exchangeable scores has sd
    # sqrt(601 / (12 * 300 * 300)) = 0.024; 0.1 is over 4 sd.
    assert abs(dcr_membership_auc(members, non_members, release=others) - 0.5) < 0.1


def test_reconstruction_scores_hand_computed_and_errors():
    X = np.array([[1, 1, 0], [0, 0, 2]])
    scores = [[0.9, 0.5, 0.2], [0.3, 0.3, 0.1]]
    np.testing.assert_allclose(reconstruction_scores(X, scores), [0.7, 0.1])
    with pytest.raises(ValueError, match="shape"):
        reconstruction_scores(X, np.zeros((2, 2)))
    with pytest.raises(ValueError, match="Row 1 of X has no item"):
        reconstruction_scores(np.array([[1, 0, 0], [0, 0, 0]]), scores)
    with pytest.raises(ValueError, match="NaN or infinite"):
        reconstruction_scores(X, [[np.nan, 0.5, 0.2], [0.3, 0.3, 0.1]])
