"""Top-n most similar items of given items, from any item-item similarity.

Shared by the ``similar_items`` of the item-based models (EASE, ItemKNN) and
of matrix factorisation (``mf._serving``): a model supplies the rows of its
item-item similarity for a batch of query items; ranking, excluding the query
item itself and batching live here once.
"""

import numpy as np
import scipy.sparse as sp
from sklearn.utils import gen_batches

from ._base import top_k
from ._validation import check_item_indices, check_k

# Query items whose similarity rows (n_items floats each) are ranked at once.
_QUERY_BATCH = 1024


def similar_items(similarity_rows, items, n, n_items):
    """The ``n`` items most similar to each of ``items``, best first.

    Parameters
    ----------
    similarity_rows : callable
        ``similarity_rows(batch)`` returns the dense ``(len(batch), n_items)``
        similarities of the items of ``batch`` to every item; ``-inf`` marks
        an item that is no neighbour at all (never returned).
    items : int or array-like of int
        Query item indices.
    n : int
        Number of similar items per query item.
    n_items : int
        Size of the catalogue.

    Returns
    -------
    similar : ndarray of intp, shape (n_queries, n), or (n,) for a single int
        Item indices, best first, the query item itself left out; ``-1`` pads
        rows with fewer than ``n`` neighbours. Ties go to the lower index.
    """
    items, single = check_item_indices(items, n_items, allow_int=True)
    n = check_k(n, n_items, name="n")
    out = np.empty((items.size, n), dtype=np.intp)
    for rows in gen_batches(items.size, _QUERY_BATCH):
        batch = items[rows]
        itself = sp.csr_matrix(
            (np.ones(batch.size, dtype=bool), (np.arange(batch.size), batch)),
            shape=(batch.size, n_items),
        )
        out[rows] = top_k(similarity_rows(batch), n, exclude=itself)
    return out[0] if single else out
