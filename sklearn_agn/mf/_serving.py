"""Serving helpers of matrix factorisation: fold-in, scores, ranking, similar items, explanations.

Functions on numpy arrays (item factors, users' rows, the model's ``alpha``
and the users' penalties ``lambda_u``), which ``MFRecommender`` uses for
``predict``, ``decision_function`` and ``fold_in`` and exposes as methods.
Serving runs on the CPU in numpy whatever the model's ``device``: one user's
request is a few small solves and a product with part of the item factors,
where torch's per-operation overhead cost more than the work, and numpy's
BLAS (OpenBLAS) multiplied 100,000 items by one user in 1.1 ms against 1.6 ms
for torch's (MKL) on the benchmark machine, an AMD EPYC.

Exact scores. A user's factors and scores are computed in float64 and the
scores rounded to the model's dtype once, with the same operations for a row
whatever the rows around it, so that a row's scores do not depend on the rows
scored with it (see ``MFRecommender``'s Notes).

Explanations follow ``implicit``'s ``explain`` (Hu, Koren & Volinsky 2008,
section 5): with the item factors ``Y`` fixed, a user's factors are the exact
fold-in solution ``x_u = A_u^{-1} b_u`` with

    A_u = YᵀY + Σ_i (c_ui - 1) y_i y_iᵀ + λ_u I,    b_u = Σ_i c_ui p_ui y_i,

the sums over the items ``i`` of the user's row, ``c_ui = 1 + alpha r_ui`` and
``p_ui`` the preference of the entry (1 for a real interaction). The score of
item ``j`` is therefore linear in the user's history,

    y_jᵀ x_u = Σ_i c_ui p_ui (y_jᵀ A_u^{-1} y_i),

and term ``i`` is how much item ``i`` of the history contributed to it: the
contributions sum to the score.
"""

import numpy as np
import scipy.linalg
import scipy.sparse as sp
from sklearn.preprocessing import normalize

from .._similar_items import similar_items as _top_similar
from .._validation import check_item_indices
from ._als_equations import entry_coefficients

__all__ = ["fold_in", "rounded_products", "ItemsByNorm", "top_k", "similar_items", "explain"]

# Float32 scores of a chunk of rows in ``top_k`` (at most 16 MiB), and
# float64 products computed at a time by ``rounded_products`` and
# ``_candidate_scores`` (2 MiB, rounded while still in cache: 1,024 rows
# were scored in 12% less time than by 4 MiB).
_SCORE_CHUNK = 2**22
_PRODUCT_CHUNK = 2**18
# Items multiplied first by ``top_k`` (those of largest norm), before it
# checks whether the rest can reach the top k; then 4 times as many at a time.
_FIRST_BLOCK = 2048
_LOWEST = float(np.finfo(np.float32).min)


def fold_in(item_factors, gram, X, *, alpha, lambdas, preferences=None):
    """Exact factors of the rows of ``X``, in float64: ``x_u = A_u^{-1} b_u`` (module docstring).

    Parameters
    ----------
    item_factors : ndarray of shape (n_items, n_factors)
        Item factors ``Y`` (float32 or float64).
    gram : ndarray of shape (n_factors, n_factors)
        ``YᵀY`` in float64.
    X : csr_matrix of shape (n_rows, n_items)
        Canonical rows (positive values).
    alpha : float
        Confidence scale.
    lambdas : ndarray of shape (n_rows,)
        Each row's penalty ``λ_u``.
    preferences : ndarray of shape (X.nnz,), default=None
        Preference of every stored entry, aligned with ``X.data``; None: all 1.

    Returns
    -------
    users : ndarray of shape (n_rows, n_factors), float64
        Zero for an empty row (``b_u = 0``).

    Notes
    -----
    One Cholesky solve per row (the minimum-norm least-squares solution where
    ``A_u`` is singular, which needs no regularisation). A row's factors come
    from the same operations whatever the rows around it, so they do not
    depend on them, and one row costs a handful of BLAS and LAPACK calls. The
    batched torch solver of fit (``solve_rows``) took 0.40 ms of CPU time on
    one row against 0.11 ms here, and 160 to 200 ms on 1,024 rows against
    54 ms (100,000 items, 64 factors, one thread, load average 3.4).
    """
    weights, targets = entry_coefficients(X.data, alpha, preferences)
    roots = np.sqrt(weights)
    indptr = X.indptr.tolist()
    users = np.zeros((X.shape[0], gram.shape[0]))
    for row in range(X.shape[0]):
        lo, hi = indptr[row], indptr[row + 1]
        if lo < hi:
            factors = item_factors.take(X.indices[lo:hi], axis=0).astype(np.float64)
            A = _user_matrix(gram, factors, roots[lo:hi], lambdas[row])
            users[row] = _spd_solve(A, targets[lo:hi] @ factors)
    return users


def _user_matrix(gram, factors, roots, regularization):
    """``A_u = gram + Σ_i w_i y_i y_iᵀ + λ_u I`` of the history's ``factors``, ``roots`` the
    square roots of their weights ``w_i = c_ui - 1``."""
    weighted = factors * roots[:, None]
    A = weighted.T @ weighted  # symmetric to the last bit (one syrk)
    A += gram
    A.reshape(-1)[::A.shape[0] + 1] += regularization
    return A


def _spd_solve(A, b):
    """``A x = b`` by Cholesky; the minimum-norm least-squares solution where ``A`` is singular."""
    _, x, info = scipy.linalg.lapack.dposv(A, b[:, None])
    if info:
        return np.linalg.pinv(A, hermitian=True) @ b
    return x[:, 0]


def rounded_products(users, items, dtype):
    """``users @ items.T`` of float64 ``users``, rounded to ``dtype``: every row's scores.

    ``items`` (float32 or float64) are converted to float64 and multiplied by
    chunks of at most ``_PRODUCT_CHUNK`` products, rounded while still in
    cache: in one piece, the products and their rounding took 1.7 times as
    long, and a float64 copy of all the item factors for one user took as
    long as the products.
    """
    n_rows, n_items = users.shape[0], items.shape[0]
    out = np.empty((n_rows, n_items), dtype=dtype)
    if items.dtype == np.float64 and out.dtype == np.float64:
        return np.matmul(users, items.T, out=out)
    step = min(max(1, _PRODUCT_CHUNK // max(n_rows, items.shape[1])), n_items)
    buffer = np.empty(n_rows * step)
    for start in range(0, n_items, step):
        part = items[start:start + step]
        products = buffer[:n_rows * part.shape[0]].reshape(n_rows, part.shape[0])
        np.matmul(users, part.astype(np.float64).T, out=products)
        out[:, start:start + part.shape[0]] = products
    return out


class ItemsByNorm:
    """Item factors sorted by decreasing norm, the order of ``top_k``'s search.

    Attributes
    ----------
    order : ndarray of intp, shape (n_items,)
        Item indices by decreasing norm of their factors (ties by index).
    rank : ndarray of intp, shape (n_items,)
        Each item's position in ``order``.
    factors : ndarray of shape (n_items, n_factors)
        ``item_factors[order]``, contiguous.
    norms : ndarray of shape (n_items,), float64
        Their norms, decreasing.
    """

    def __init__(self, item_factors):
        norms = np.sqrt(np.einsum("ij,ij->i", item_factors, item_factors, dtype=np.float64))
        self.order = np.argsort(-norms, kind="stable")
        self.rank = np.empty_like(self.order)
        self.rank[self.order] = np.arange(self.order.size)
        self.factors = item_factors[self.order]
        self.norms = norms[self.order]


def top_k(users, items, k, banned, seen, *, dtype):
    """Each row's top ``k`` by exact score, from a float32 product and few exact scores.

    The exact score of an item is the float64 product rounded to ``dtype``
    (``rounded_products``); scoring every item so costs about three times a
    float32 product. The float32 product of a row is within ``bound`` of
    every exact score: with ``t`` the k-th best float32 score of some items,
    k items score at least ``t - bound`` exactly, so the exact top k, ties at
    its boundary included, lies among the items of float32 score at least
    ``t - 2 * bound``, and excludes every item ``y`` with ``|y| |u| < t - 3 *
    bound`` (Cauchy-Schwarz). The items are multiplied by decreasing norm, in
    blocks of growing size, until the next item's norm is that small. On a
    catalogue whose norms spread, as popularity does, that is early: of
    100,000 items (``make_interactions``, 20,000 users, 64 factors), 0.2%
    could reach a user's k-th score, and the first 2,048 sufficed for 499
    of 500 users. Only the items of float32 score at least ``t - 2 *
    bound`` are scored exactly and ranked.

    Parameters
    ----------
    users : ndarray of shape (n_rows, n_factors), float64
        The rows' factors. The norm of each, times the largest norm of an
        item's, must be below 1e30 (a float32 product of larger factors may
        overflow).
    items : ItemsByNorm
        Item factors (float32) sorted by decreasing norm.
    k : int
        Number of items per row, at most ``n_items``.
    banned : ndarray of bool of shape (n_items,)
        Items never to return.
    seen : sparse matrix of bool of shape (n_rows, n_items), CSR
        Entries never to return.
    dtype : numpy dtype
        The scores' type.

    Returns
    -------
    ranked : ndarray of intp, shape (n_rows, k)
        Item indices by descending exact score, ties to the lower index (as
        ``top_k`` of ``sklearn_agn._base`` ranks every item's exact score);
        ``-1`` pads rows with fewer than ``k`` eligible items.
    """
    n_rows, n_factors = users.shape
    n_items = items.order.size
    user_norms = np.sqrt(np.einsum("ij,ij->i", users, users))
    # |float32 product - exact| <= (f + 1) eps |y| |u| (summation, rounding
    # u to float32) and |rounded - exact| <= (1 + f eps') eps |y| |u|, with
    # eps = 2**-24 and |y| at most the largest norm; underflow adds at most
    # 2**-150 per rounding of a product, a sum or a component of u (times
    # |y_i|): twice each, for margin.
    bounds = (n_factors + 2) * 2.0**-23 * items.norms[0] * user_norms \
        + (n_factors + 2) * 2.0**-149 * (items.norms[0] + 1)
    step = max(1, _SCORE_CHUNK // n_items)
    approx = np.empty((min(step, n_rows), n_items), dtype=np.float32)
    low = users.astype(np.float32)
    banned = banned[items.order] if banned.any() else None
    if not seen.data.all():
        seen = seen.copy()
        seen.eliminate_zeros()
    # The seen entries: row and position in the order of the search.
    seen_rows = np.repeat(np.arange(n_rows), seen.indptr[1:] - seen.indptr[:-1])
    seen_at = items.rank[seen.indices]
    ranked = np.full((n_rows, k), -1, dtype=np.intp)
    for start in range(0, n_rows, step):
        stop = min(start + step, n_rows)
        scores, bound = approx[:stop - start], bounds[start:stop]
        entries = slice(seen.indptr[start], seen.indptr[stop])
        owners, positions = seen_rows[entries] - start, seen_at[entries]
        done = 0
        while True:
            block = slice(done, min(max(_FIRST_BLOCK, 4 * done), n_items))
            np.matmul(low[start:stop], items.factors[block].T, out=scores[:, block])
            # Excluded items at -inf: below every threshold, never candidates.
            if banned is not None:
                scores[:, block][:, banned[block]] = -np.inf
            new = (positions >= block.start) & (positions < block.stop)
            scores[owners[new], positions[new]] = -np.inf
            done = block.stop
            kth = (np.partition(scores[:, :done], done - k, axis=1)[:, done - k] if done >= k
                   else np.full(stop - start, -np.inf))
            # Compared in float64, where the float32 scores are exact.
            threshold = kth - 2 * bound
            if done == n_items or (items.norms[done] * user_norms[start:stop]
                                   < threshold - bound).all():
                break
        # A row with fewer than k eligible items: every one is a candidate, not the -inf.
        threshold = np.maximum(threshold, _LOWEST)
        rows, at = np.nonzero(scores[:, :done] >= threshold[:, None])
        exact = _candidate_scores(users[start:stop], items.factors, rows, at, dtype)
        candidates = items.order[at]
        # By row, descending exact score, then ascending item.
        order = np.lexsort((candidates, -exact, rows))
        rows, candidates = rows[order], candidates[order]
        place = np.arange(rows.size) - np.searchsorted(rows, rows)
        keep = place < k
        ranked[start + rows[keep], place[keep]] = candidates[keep]
    return ranked


def _candidate_scores(users, items, rows, candidates, dtype):
    """The float64 products ``users[rows] . items[candidates]``, rounded to ``dtype``.

    An elementwise product and numpy's pairwise sum over the factors: the same
    operations for a pair whatever the other pairs, so a row is ranked alone
    as in any batch.
    """
    step = max(1, _PRODUCT_CHUNK // items.shape[1])
    if rows.size <= step:
        return np.add.reduce(users[rows] * items[candidates], axis=1).astype(dtype)
    out = np.empty(rows.size, dtype=dtype)
    for start in range(0, rows.size, step):
        pairs = slice(start, start + step)
        out[pairs] = np.add.reduce(users[rows[pairs]] * items[candidates[pairs]], axis=1)
    return out


def similar_items(item_factors, items, n=10):
    """The items whose factors point most in the direction of each of ``items``.

    Parameters
    ----------
    item_factors : ndarray of shape (n_items, n_factors)
        Item factors of a fitted model.
    items : int or array-like of int
        Query item indices.
    n : int, default=10
        Number of similar items per query item.

    Returns
    -------
    similar : ndarray of intp, shape (n_queries, n), or (n,) for a single int
        Item indices by decreasing cosine similarity of their factors to the
        query item's, the query item itself left out. An item whose factors
        are zero has cosine 0 with every item.
    """
    unit = normalize(np.asarray(item_factors, dtype=np.float64))
    return _top_similar(lambda batch: unit[batch] @ unit.T, items, n, unit.shape[0])


def explain(item_factors, user_row, items, *, alpha, user_regularization, preferences=None):
    """How much each item of a user's history contributed to the scores of ``items``.

    Parameters
    ----------
    item_factors : ndarray of shape (n_items, n_factors)
        Item factors ``Y`` of a fitted model.
    user_row : {array-like, sparse matrix} of shape (n_items,) or (1, n_items)
        The user's interactions ``r_u`` (stored values); its non-zero
        entries are the history.
    items : int or array-like of int
        Items whose scores are explained.
    alpha : float
        Confidence scale: entry ``r_ui`` has confidence ``c_ui = 1 + alpha * r_ui``.
    user_regularization : float
        The user's penalty ``λ_u`` (for ``MFRecommender``:
        ``regularization * (n_u + 1) ** regularization_exponent``).
    preferences : array-like of shape (n_history,), default=None
        Preference ``p_ui`` of each history entry, in the order of
        ``history``; 1 for every entry when None (all entries real).

    Returns
    -------
    history : ndarray of intp, shape (n_history,)
        The items of the user's row, ascending.
    contributions : ndarray of shape (n_queries, n_history), or (n_history,) for a single int
        ``contributions[q, h]``: the part of the score of ``items[q]`` due to
        ``history[h]``, ``c_ui p_ui y_jᵀ A_u⁻¹ y_i``. Each row sums to the
        score (up to rounding).
    scores : ndarray of shape (n_queries,), or a float for a single int
        ``y_jᵀ x_u``, the score of each item for the user (the model's
        ``decision_function``), computed in float64.
    """
    Y = np.asarray(item_factors, dtype=np.float64)
    n_items = Y.shape[0]
    row = sp.csr_matrix(user_row, dtype=np.float64)
    if row.shape != (1, n_items):
        raise ValueError(
            f"user_row must be one row of {n_items} items (the model's catalogue), "
            f"got shape {row.shape}."
        )
    row.sum_duplicates()
    row.eliminate_zeros()
    if (row.data < 0).any():
        raise ValueError("user_row must be non-negative: it holds implicit feedback.")
    items, single = check_item_indices(items, n_items, allow_int=True)
    history, values = row.indices.astype(np.intp), row.data
    if preferences is None:
        preferences = np.ones(history.size)
    preferences = np.asarray(preferences, dtype=np.float64)
    if preferences.shape != history.shape:
        raise ValueError(
            f"preferences must give one value per item of the user's row "
            f"({history.size}), got shape {preferences.shape}."
        )
    Y_hist = Y[history]
    confidence = 1.0 + alpha * values
    A = _user_matrix(Y.T @ Y, Y_hist, np.sqrt(alpha * values), user_regularization)
    # A_u⁻¹ y_i for every history item, through one Cholesky factorisation.
    solved = scipy.linalg.cho_solve(scipy.linalg.cho_factor(A), Y_hist.T)
    contributions = (Y[items] @ solved) * (confidence * preferences)
    scores = contributions.sum(axis=1)
    if single:
        return history, contributions[0], float(scores[0])
    return history, contributions, scores
