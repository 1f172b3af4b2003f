"""Membership inference against a synthetic-data release: how much it leaks its training users.

An attacker holds candidate rows and tries to tell the users a release was
trained on (members) from users it never saw (non-members), by a score that
should be higher for members. The attack's success is the ROC AUC of that
score (:func:`sklearn.metrics.roc_auc_score`): 0.5 when the release says
nothing about who was in, 1 when it gives every member away. The scores the
literature on generative models uses (Hayes et al., PoPETs 2019; Chen et
al., "GAN-Leaks", CCS 2020; Stadler et al., USENIX Security 2022):

- the distance to the closest record: a member's row tends to lie closer to
  some row of the release than a non-member's
  (:func:`distance_to_closest_record`, :func:`dcr_membership_auc`);
- the model's own score: a generator (or a discriminator) that learned its
  training rows reconstructs a member's items better
  (:func:`reconstruction_scores`, then :func:`membership_auc`).
"""

import numbers

import numpy as np
import scipy.sparse as sp
from sklearn.metrics import roc_auc_score

from .._validation import as_interactions

__all__ = [
    "membership_auc",
    "distance_to_closest_record",
    "dcr_membership_auc",
    "reconstruction_scores",
]

DCR_METRICS = ("jaccard", "cosine")


def _check_scores(scores, name):
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 1 or scores.size == 0:
        raise ValueError(
            f"{name} must be a non-empty 1-D array of one score per candidate, got shape "
            f"{scores.shape}."
        )
    if not np.isfinite(scores).all():
        raise ValueError(f"{name} holds NaN or infinite scores: every candidate needs a score.")
    return scores


def membership_auc(member_scores, non_member_scores):
    """ROC AUC of telling members from non-members by a score, higher for members.

    The probability that a random member scores above a random non-member
    (ties count one half): 0.5 when the score says nothing about membership,
    1 when every member scores above every non-member, below 0.5 when
    members score lower.

    Parameters
    ----------
    member_scores : array-like of shape (n_members,)
        The attack's score of each member (a user the release was trained on).
    non_member_scores : array-like of shape (n_non_members,)
        The attack's score of each non-member.

    Returns
    -------
    auc : float
        In [0, 1].

    Raises
    ------
    ValueError
        If either set of scores is empty, not 1-D, or holds NaN or infinity.

    Examples
    --------
    >>> from sklearn_agn.metrics import membership_auc
    >>> membership_auc([3, 1], [2, 0])  # 3 of the 4 pairs ranked right
    0.75
    """
    members = _check_scores(member_scores, "member_scores")
    non_members = _check_scores(non_member_scores, "non_member_scores")
    labels = np.r_[np.ones(members.size), np.zeros(non_members.size)]
    return float(roc_auc_score(labels, np.r_[members, non_members]))


def _binary(X, name):
    X = as_interactions(X, name=name)
    return sp.csr_matrix((np.ones(X.nnz), X.indices, X.indptr), shape=X.shape)


def distance_to_closest_record(X, release, *, metric="jaccard", batch_size=1024):
    """Each row's distance to the closest row of a release, on the rows' sets of items.

    Rows are read as sets of items (any stored positive value is an item).
    With ``A`` and ``B`` two rows' sets:

    - ``"jaccard"``: ``1 - |A & B| / |A | B|``;
    - ``"cosine"``: ``1 - |A & B| / sqrt(|A| |B|)``.

    Two empty rows are at distance 0 and an empty row is at distance 1 from
    any other. Intersections are products of sparse matrices, ``batch_size``
    rows of ``X`` against the whole release at a time: memory is bounded by
    ``batch_size * n_release`` floats, and no row is densified.

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_candidates, n_items)
        The candidates' rows.
    release : {array-like, sparse matrix} of shape (n_release, n_items)
        The released (synthetic) rows.
    metric : {"jaccard", "cosine"}, default="jaccard"
        The distance between two rows.
    batch_size : int, default=1024
        Candidate rows compared at once.

    Returns
    -------
    distances : ndarray of shape (n_candidates,)
        In [0, 1]; 0 for a candidate whose row is in the release.

    Raises
    ------
    ValueError
        If ``metric`` is unknown, ``batch_size`` is not a positive integer,
        the release is empty, or the two matrices have different numbers of
        items (columns).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_agn.metrics import distance_to_closest_record
    >>> X = np.array([[1, 1, 0, 0], [0, 0, 1, 1]])
    >>> release = np.array([[1, 1, 1, 0], [1, 0, 0, 0]])
    >>> distance_to_closest_record(X, release)  # 1 - 2/3, 1 - 1/4
    array([0.33333333, 0.75      ])
    """
    if metric not in DCR_METRICS:
        raise ValueError(f"metric must be one of {DCR_METRICS}, got {metric!r}.")
    if (
        isinstance(batch_size, (bool, np.bool_))
        or not isinstance(batch_size, numbers.Integral)
        or batch_size < 1
    ):
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}.")
    X, release = _binary(X, "X"), _binary(release, "release")
    if X.shape[1] != release.shape[1]:
        raise ValueError(
            f"X has {X.shape[1]} items (columns) and release has {release.shape[1]}: both must "
            "be rows over the same catalogue."
        )
    sizes, release_sizes = np.diff(X.indptr), np.diff(release.indptr)
    release_T = release.T.tocsc()
    distances = np.empty(X.shape[0])
    for start in range(0, X.shape[0], batch_size):
        stop = min(start + batch_size, X.shape[0])
        common = (X[start:stop] @ release_T).toarray()
        a, b = sizes[start:stop, None], release_sizes[None, :]
        if metric == "jaccard":
            whole = a + b - common
        else:
            whole = np.sqrt(a * b)
        with np.errstate(invalid="ignore", divide="ignore"):
            similarity = common / whole
        # 0 / 0: an empty row against another, alike only when both are empty.
        similarity[whole == 0] = 0.0
        similarity[(a == 0) & (b == 0)] = 1.0
        distances[start:stop] = 1.0 - similarity.max(axis=1)
    return distances


def dcr_membership_auc(members, non_members, release, *, metric="jaccard", batch_size=1024):
    """Membership AUC of the distance-to-closest-record attack on a release.

    A candidate closer to the release is taken for a member: the score is
    minus :func:`distance_to_closest_record`. A release that copies its
    training rows scores near 1; one that is independent of them, 0.5.

    Parameters
    ----------
    members : {array-like, sparse matrix} of shape (n_members, n_items)
        Rows of users the release was trained on.
    non_members : {array-like, sparse matrix} of shape (n_non_members, n_items)
        Rows of users it never saw, from the same population.
    release : {array-like, sparse matrix} of shape (n_release, n_items)
        The released rows.
    metric : {"jaccard", "cosine"}, default="jaccard"
        The distance between two rows (see :func:`distance_to_closest_record`).
    batch_size : int, default=1024
        Candidate rows compared at once.

    Returns
    -------
    auc : float
        In [0, 1]; see :func:`membership_auc`.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_agn.metrics import dcr_membership_auc
    >>> members = np.array([[1, 1, 0, 0], [0, 1, 1, 0]])
    >>> non_members = np.array([[0, 0, 1, 1], [1, 0, 0, 1]])
    >>> dcr_membership_auc(members, non_members, release=members)  # a copy leaks all
    1.0
    """
    def minus_distance(X):
        return -distance_to_closest_record(X, release, metric=metric, batch_size=batch_size)

    return membership_auc(minus_distance(members), minus_distance(non_members))


def reconstruction_scores(X, item_scores):
    """Each row's mean item score over its own items: the reconstruction attack's score.

    ``item_scores`` is what a model gives every item when it reads the row,
    e.g. :meth:`sklearn_agn.GANAugmenter.score_items` (the generator's
    reconstruction of the row). A model that memorised its training rows
    gives a member's own items higher scores than a non-member's; feed the
    members' and non-members' results to :func:`membership_auc`.

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_candidates, n_items)
        The candidates' rows; any stored positive value is one of its items.
    item_scores : array-like of shape (n_candidates, n_items)
        The model's score of every item for every row of ``X``.

    Returns
    -------
    scores : ndarray of shape (n_candidates,)
        The mean of ``item_scores[i, j]`` over the items ``j`` of row ``i``.

    Raises
    ------
    ValueError
        If the shapes differ, a row of ``X`` has no item (nothing to
        reconstruct), or a score of one of its items is NaN or infinite.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_agn.metrics import reconstruction_scores
    >>> X = np.array([[1, 1, 0], [0, 0, 1]])
    >>> reconstruction_scores(X, [[0.9, 0.5, 0.2], [0.3, 0.3, 0.1]])
    array([0.7, 0.1])
    """
    X = _binary(X, "X")
    item_scores = np.asarray(item_scores, dtype=np.float64)
    if item_scores.shape != X.shape:
        raise ValueError(
            f"item_scores has shape {item_scores.shape}, X has shape {X.shape}: one score per "
            "item for every row of X is needed."
        )
    lengths = np.diff(X.indptr)
    if not lengths.all():
        raise ValueError(
            f"Row {np.flatnonzero(lengths == 0)[0]} of X has no item: the reconstruction "
            "attack scores a row by its own items. Leave empty rows out of the candidates."
        )
    rows = np.repeat(np.arange(X.shape[0]), lengths)
    own = item_scores[rows, X.indices]
    if not np.isfinite(own).all():
        raise ValueError("item_scores holds NaN or infinite scores of the rows' items.")
    return np.bincount(rows, weights=own, minlength=X.shape[0]) / lengths
