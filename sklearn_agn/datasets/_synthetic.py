"""Synthetic implicit feedback with a planted low-rank structure, and item attributes."""

import numbers

import numpy as np
import scipy.sparse as sp
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, validate_params


@validate_params(
    {
        "item_factors": ["array-like"],
        "n_features": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_active": [Interval(numbers.Integral, 1, None, closed="left")],
        "noise": [Interval(numbers.Real, 0, 1, closed="both")],
        "random_state": ["random_state"],
    },
    prefer_skip_nested_validation=True,
)
def make_item_attributes(item_factors, n_features=20, *, n_active=3, noise=0.2,
                         random_state=None):
    """Generate binary item attributes that reveal the planted clusters of items.

    Meant for the ``item_factors`` returned by :func:`make_interactions`: the
    ``n_features`` attributes (think of genres or tags) are dealt out to the
    clusters in turn, so cluster ``c`` owns the features ``f`` with
    ``f % n_clusters == c``. Each item gets ``n_active`` draws: with
    probability ``1 - noise`` a feature of its own cluster, otherwise any
    feature; repeated draws merge, so an item has 1 to ``n_active``
    attributes. With ``noise=0`` the attributes identify the cluster exactly;
    with ``noise=1`` they carry no information.

    Parameters
    ----------
    item_factors : array-like of shape (n_items, n_clusters)
        Each item's cluster is ``item_factors[i].argmax()``.
    n_features : int, default=20
        Number of attributes, at least the number of clusters.
    n_active : int, default=3
        Attribute draws per item.
    noise : float in [0, 1], default=0.2
        Probability that a draw ignores the item's cluster.
    random_state : int, RandomState instance or None, default=None
        Seed of the draws.

    Returns
    -------
    item_attributes : csr_matrix of shape (n_items, n_features), dtype float64
        1 where an item has an attribute.

    Examples
    --------
    >>> from sklearn_agn.datasets import make_interactions, make_item_attributes
    >>> X, _, item_factors = make_interactions(
    ...     500, 100, 5000, n_factors=4, random_state=0, return_factors=True)
    >>> A = make_item_attributes(item_factors, n_features=12, random_state=0)
    >>> A.shape
    (100, 12)
    """
    item_factors = np.asarray(item_factors)
    if item_factors.ndim != 2:
        raise ValueError(f"item_factors must be 2-D, got shape {item_factors.shape}.")
    n_items, n_clusters = item_factors.shape
    if n_features < n_clusters:
        raise ValueError(
            f"n_features={n_features} is smaller than the {n_clusters} clusters: some "
            "cluster would own no attribute."
        )
    rng = check_random_state(random_state)
    cluster = item_factors.argmax(axis=1)
    # Features owned by cluster c: c, c + n_clusters, c + 2 * n_clusters, ...
    owned = np.bincount(np.arange(n_features) % n_clusters, minlength=n_clusters)
    draws = np.repeat(cluster, n_active)
    own = draws + n_clusters * rng.randint(0, np.iinfo(np.int32).max, draws.size) % owned[draws]
    anywhere = rng.randint(n_features, size=draws.size)
    features = np.where(rng.random_sample(draws.size) < noise, anywhere, own)
    attributes = sp.csr_matrix((np.ones(draws.size), (np.repeat(np.arange(n_items), n_active),
                                                      features)), shape=(n_items, n_features))
    attributes.sum_duplicates()
    attributes.data[:] = 1.0
    return attributes


# Users per chunk are chosen so that a chunk holds about this many interactions:
# make_interactions needs about 100 bytes of working memory per slot.
_CHUNK_INTERACTIONS = 1 << 22
# Sampling rounds from the planted model before the remaining shortfall of
# the heaviest users is drawn uniformly among their unseen items.
_MODEL_ROUNDS = 16
# Lowest acceptance rate assumed when sizing a user's next batch of draws.
_MIN_ACCEPTANCE = 1 / 64


@validate_params(
    {
        "n_users": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_items": [Interval(numbers.Integral, 1, np.iinfo(np.int32).max, closed="both")],
        "n_interactions": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_factors": [Interval(numbers.Integral, 1, None, closed="left")],
        "user_activity_exponent": [Interval(numbers.Real, 0, None, closed="left")],
        "item_popularity_exponent": [Interval(numbers.Real, 0, None, closed="left")],
        "popularity_mix": [Interval(numbers.Real, 0, 1, closed="both")],
        "preference_concentration": [Interval(numbers.Real, 0, None, closed="neither")],
        "random_state": ["random_state"],
        "return_factors": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def make_interactions(
    n_users,
    n_items,
    n_interactions,
    *,
    n_factors=8,
    user_activity_exponent=0.5,
    item_popularity_exponent=1.0,
    popularity_mix=0.2,
    preference_concentration=0.1,
    random_state=None,
    return_factors=False,
):
    """Generate synthetic implicit feedback with a planted low-rank structure.

    The generative model:

    1. Items are split at random into ``n_factors`` clusters of equal size
       (up to one item), the users' tastes. Item popularity follows Zipf's
       law: the item of popularity rank ``r`` (a random permutation) has
       weight ``r ** -item_popularity_exponent``.
    2. Each user has a taste profile ``theta`` drawn from a symmetric
       Dirichlet(``preference_concentration``) over the clusters: a small
       concentration gives users one or two dominant tastes.
    3. User activity follows Zipf's law too: the user of activity rank ``r``
       expects a number of interactions proportional to
       ``r ** -user_activity_exponent``. Every user has at least one and at
       most ``n_items`` interactions, and the counts sum to exactly
       ``n_interactions`` (a multinomial draw, capped and redistributed).
    4. A user's items are drawn without replacement from the distribution
       ``P[u] = (1 - popularity_mix) * theta[u] @ V.T + popularity_mix * p``:
       with probability ``popularity_mix`` an item is chosen by global
       popularity ``p``; otherwise a cluster is chosen from ``theta[u]`` and
       an item within it by popularity (``V``, returned as ``item_factors``).

    Everything is sampled in chunks of users, vectorised, and never
    materialises an ``(n_users, n_items)`` array: memory is linear in
    ``n_interactions + n_users * n_factors + n_items``.

    Drawing without replacement is done by rejecting repeated items. A very
    active user may exhaust the items the model makes likely for them; after a
    fixed number of rounds the rest of such a user's interactions are drawn
    uniformly among the items they lack, which flattens the tail of the
    heaviest users' rows slightly (the counts stay exact).

    Parameters
    ----------
    n_users : int
        Number of users (rows).
    n_items : int
        Number of items (columns), at least ``n_factors``.
    n_interactions : int
        Number of stored interactions, between ``n_users`` (one per user)
        and ``n_users * n_items`` (all of them).
    n_factors : int, default=8
        Number of planted item clusters, the rank of the preference structure.
    user_activity_exponent : float, default=0.5
        Zipf exponent of the number of interactions per user; 0 makes all
        users equally active (up to multinomial noise).
    item_popularity_exponent : float, default=1.0
        Zipf exponent of item popularity; 0 makes all items equally popular.
    popularity_mix : float in [0, 1], default=0.2
        Probability that an interaction follows global popularity instead of
        the user's tastes; 1 removes the planted structure.
    preference_concentration : float > 0, default=0.1
        Dirichlet concentration of the users' taste profiles: small values
        give focused users, large ones users who like every cluster equally.
    random_state : int, RandomState instance or None, default=None
        Seed of every random choice; an int gives reproducible output.
    return_factors : bool, default=False
        Also return the planted user and item factors.

    Returns
    -------
    X : csr_matrix of shape (n_users, n_items), dtype float32
        Canonical, every stored value 1, ``X.nnz == n_interactions``, every
        row non-empty.
    user_factors : ndarray of shape (n_users, n_factors)
        The users' taste profiles ``theta`` (rows sum to 1); the planted
        cluster of user ``u`` is ``user_factors[u].argmax()``. Only returned
        when ``return_factors=True``.
    item_factors : ndarray of shape (n_items, n_factors)
        ``V``: one non-zero per row, in the item's cluster, holding the item's
        popularity normalised within its cluster (columns sum to 1); the
        cluster of item ``i`` is ``item_factors[i].argmax()``. Only returned
        when ``return_factors=True``.

    Examples
    --------
    >>> from sklearn_agn.datasets import make_interactions
    >>> X, user_factors, item_factors = make_interactions(
    ...     1000, 200, 20_000, n_factors=4, random_state=0, return_factors=True)
    >>> X.shape, X.nnz
    ((1000, 200), 20000)
    >>> user_factors.shape, item_factors.shape
    ((1000, 4), (200, 4))
    """
    if n_factors > n_items:
        raise ValueError(
            f"n_factors={n_factors} exceeds n_items={n_items}: a cluster would be empty."
        )
    if not n_users <= n_interactions <= n_users * n_items:
        raise ValueError(
            f"n_interactions={n_interactions} must lie between n_users={n_users} (one "
            f"interaction per user) and n_users * n_items={n_users * n_items} (all of them)."
        )
    rng = check_random_state(random_state)

    item_cluster = rng.permutation(n_items) % n_factors
    popularity = _zipf_weights(n_items, item_popularity_exponent, rng)
    theta = rng.standard_gamma(preference_concentration, size=(n_users, n_factors))
    # A tiny floor keeps a row whose gamma draws all underflow (possible for
    # very small concentrations) a valid, uniform profile.
    theta += np.finfo(np.float64).tiny
    theta /= theta.sum(axis=1, keepdims=True)
    degrees = _allocate(n_interactions, _zipf_weights(n_users, user_activity_exponent, rng),
                        n_items, rng)
    sampler = _ItemSampler(item_cluster, popularity, popularity_mix, n_factors)
    X = _sample_matrix(degrees, theta, sampler, n_items, rng)
    if not return_factors:
        return X
    item_factors = np.zeros((n_items, n_factors))
    item_factors[np.arange(n_items), item_cluster] = popularity / np.bincount(
        item_cluster, weights=popularity, minlength=n_factors
    )[item_cluster]
    return X, theta, item_factors


def _sample_matrix(degrees, theta, sampler, n_items, rng):
    """The CSR matrix of ``degrees[u]`` distinct items per user ``u``, drawn by ``sampler``.

    Users are sampled in chunks of about ``_CHUNK_INTERACTIONS`` interactions.
    """
    n_users, n_interactions = len(degrees), int(degrees.sum())
    indptr = np.concatenate([[0], np.cumsum(degrees)])
    indices = np.empty(n_interactions, dtype=np.int32)
    cuts = np.searchsorted(indptr, np.arange(_CHUNK_INTERACTIONS, n_interactions,
                                             _CHUNK_INTERACTIONS))
    bounds = np.unique(np.concatenate([[0], cuts, [n_users]]))
    for start, stop in zip(bounds[:-1], bounds[1:]):
        keys = _sample_rows(degrees[start:stop], theta[start:stop], sampler, n_items, rng)
        indices[indptr[start]:indptr[stop]] = keys % n_items
    X = sp.csr_matrix(
        (np.ones(n_interactions, dtype=np.float32), indices, indptr),
        shape=(n_users, n_items),
    )
    X.has_canonical_format = True  # rows were filled sorted and duplicate-free
    return X


def _zipf_weights(n, exponent, rng):
    """Weights ``rank ** -exponent`` with ranks in random order."""
    return (1.0 + rng.permutation(n)) ** -float(exponent)


def _allocate(total, weights, cap, rng):
    """Integer counts in ``[1, cap]`` summing to ``total``, extra mass ~ ``weights``."""
    counts = np.ones(len(weights), dtype=np.int64)
    remaining = total - len(weights)
    while remaining:
        # Users at the cap take no more; what overflowed it is drawn again
        # among the others. Terminates because total <= len(weights) * cap.
        p = np.where(counts < cap, weights, 0.0)
        counts += rng.multinomial(remaining, p / p.sum())
        overflow = np.maximum(counts - cap, 0)
        remaining = int(overflow.sum())
        counts -= overflow
    return counts


class _ItemSampler:
    """Draws items from the planted model by inverse-CDF lookups in one table.

    The table holds ``n_factors + 1`` blocks: block ``c < n_factors`` lists
    the items of cluster ``c`` with their cumulative popularity shifted into
    ``(c, c + 1]``; the last block lists every item with the global
    cumulative popularity. Drawing block ``c`` and ``u ~ U[0, 1)`` then takes
    a single ``searchsorted`` for ``c + u``, for all draws at once.
    """

    def __init__(self, item_cluster, popularity, popularity_mix, n_factors):
        in_cluster = np.argsort(item_cluster, kind="stable")
        starts = np.searchsorted(item_cluster[in_cluster], np.arange(n_factors + 1))
        blocks = [in_cluster[a:b] for a, b in zip(starts[:-1], starts[1:])]
        blocks.append(np.arange(len(item_cluster)))
        cdfs = []
        for c, block in enumerate(blocks):
            cdf = np.cumsum(popularity[block])
            cdf /= cdf[-1]
            cdf[-1] = 1.0  # exact block end, so c + u never leaks into block c + 1
            cdfs.append(c + cdf)
        self.items = np.concatenate(blocks)
        self.cdf = np.concatenate(cdfs)
        self.block_end = np.cumsum([len(block) for block in blocks])
        self.popularity_mix = popularity_mix
        self.n_factors = n_factors

    def draw(self, rows, theta, rng):
        """One item per entry of ``rows`` (indices into ``theta``'s rows)."""
        n_rows, k = theta.shape
        # Row r's cumulative taste profile, shifted into (r, r + 1]: a cluster
        # for every draw in one searchsorted, as for the items.
        profile = np.cumsum(theta, axis=1)
        profile[:, -1] = 1.0
        profile += np.arange(n_rows)[:, None]
        cluster = np.searchsorted(profile.ravel(), rows + rng.random_sample(len(rows)),
                                  side="right") - rows * k
        cluster = np.minimum(cluster, k - 1)  # r + u can round up to r + 1
        cluster[rng.random_sample(len(rows)) < self.popularity_mix] = self.n_factors
        pos = np.searchsorted(self.cdf, cluster + rng.random_sample(len(rows)), side="right")
        return self.items[np.minimum(pos, self.block_end[cluster] - 1)]


def _sample_rows(degrees, theta, sampler, n_items, rng):
    """Sorted keys ``row * n_items + item``, exactly ``degrees[row]`` distinct per row."""
    n_rows = len(degrees)
    keys = np.empty(0, dtype=np.int64)
    have = np.zeros(n_rows, dtype=np.int64)
    acceptance = np.ones(n_rows)
    n_round = 0
    while (have < degrees).any():
        deficit = degrees - have
        short = np.flatnonzero(deficit)
        model = n_round < _MODEL_ROUNDS
        if not model:
            acceptance = np.maximum(1.0 - have / n_items, 1.0 / n_items)
        # Draw enough that the expected number of new items covers the deficit.
        n_draw = np.ceil(deficit[short] / acceptance[short]).astype(np.int64)
        rows = np.repeat(short, n_draw)
        if model:
            items = sampler.draw(rows, theta, rng)
        else:
            items = rng.randint(n_items, size=len(rows))
        new = _sorted_unique(rows * n_items + items)
        if keys.size:
            pos = np.minimum(np.searchsorted(keys, new), keys.size - 1)
            new = new[keys[pos] != new]
        found = np.bincount(new // n_items, minlength=n_rows)
        acceptance[short] = np.maximum(found[short] / n_draw, _MIN_ACCEPTANCE)
        if (found > deficit).any():
            new = _keep_random(new, deficit, n_items, rng)
        have += np.bincount(new // n_items, minlength=n_rows)
        # Both runs are sorted: the stable sort (timsort) merges them in linear time.
        keys = np.sort(np.concatenate([keys, new]), kind="stable")
        n_round += 1
    return keys


def _sorted_unique(a):
    """``np.unique(a)`` for an int array, by one in-place sort.

    numpy >= 2.3 answers ``np.unique`` with a hash table followed by a sort,
    several times slower on the tens of millions of keys drawn here.
    """
    a.sort()
    return a[np.concatenate([[True], a[1:] != a[:-1]])]


def _keep_random(keys, quota, n_items, rng):
    """A random subset of sorted ``keys`` with at most ``quota[row]`` per row, sorted."""
    rows = keys // n_items
    order = np.lexsort((rng.random_sample(len(keys)), rows))
    first = np.searchsorted(rows, rows)  # keys are sorted, so rows are grouped
    rank = np.empty(len(keys), dtype=np.int64)
    rank[order] = np.arange(len(keys)) - first[order]
    return keys[rank < quota[rows]]
