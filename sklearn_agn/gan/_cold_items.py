"""Generated feedback on cold items: which rows get an item nobody has interacted with.

A cold item (no interaction in ``fit``, or added since from its attributes)
is scored by the generator from its attributes. A row gets it when its score
reaches the item's threshold, set in ``fit`` so that the rows of ``fit``
transformed by this rule give the item to a set share of them: a decision on
the row alone, whatever the rows transformed with it.
"""

import numpy as np
from sklearn.utils import gen_batches

from . import _inference


def thresholds(generator, device, X, cold_items, n_top, batch_size, *, user_attributes=None):
    """``(thresholds, new_item_threshold)`` of the cold items, on the rows of ``fit``.

    An item's threshold is the score of the ``n_top``-th best row of ``X``
    that does not hold it. Items added later have none of these rows to be
    ranked on: they get ``new_item_threshold``, the median threshold of the
    cold items of ``fit`` (without any, of the warm items scored from their
    attributes alone). Scores are compared in the dtype the inference
    returns them, as in :func:`feedback`. A generator without item
    attributes, or ``n_top == 0``, gives every item an infinite threshold.
    """
    if generator.item_attributes is None or n_top == 0:
        return np.full(cold_items.size, np.inf), np.inf
    scorer = _inference.scoring_copy(generator, device)

    def kth_best(items):
        _, found, scores = _inference.top_rows(
            scorer, device, X, items, n_top, batch_size, user_attributes=user_attributes
        )
        # inf for an item every row holds: no row can get it.
        thresholds = np.full(items.size, np.inf, dtype=scores.dtype)
        np.minimum.at(thresholds, np.searchsorted(items, found), scores)
        return thresholds

    cold = reference = kth_best(cold_items)
    # Keeping the rows of ``fit`` (or their hidden representations) until
    # items are added would store users' data in the model. A typical cold
    # item's threshold, the median (robust to an odd item), stands for them
    # instead: a new item then reaches about as many users like those of
    # ``fit`` as a typical cold item does when it appeals to them as much,
    # more when it appeals more. Without cold items in ``fit``, the warm items
    # scored from their attributes alone, the view item dropout trains to
    # stand for a cold item, take their place.
    if not cold_items.size:
        scorer.warm_items.zero_()
        reference = kth_best(np.arange(X.shape[1]))
    reference = reference[np.isfinite(reference)]
    return cold, float(np.median(reference)) if reference.size else np.inf


def feedback(generator, device, X, cold_items, thresholds, batch_size, *, user_attributes=None):
    """``(rows, items, scores)``: the cold items each row of ``X`` gets.

    A row gets a cold item it does not hold when its score reaches the
    item's threshold (items of infinite threshold are never given).
    """
    reachable = np.isfinite(thresholds)
    items, thresholds = cold_items[reachable], thresholds[reachable]
    held = X[:, items].tocsr()
    found = []
    for part in gen_batches(X.shape[0], batch_size):
        scores = _inference.generator_scores(
            generator,
            device,
            X[part],
            batch_size,
            user_attributes=None if user_attributes is None else user_attributes[part],
        )[:, items]
        rows, columns = np.nonzero((scores >= thresholds) & (held[part].toarray() == 0))
        found.append((rows + part.start, items[columns], scores[rows, columns]))
    return tuple(np.concatenate(parts) for parts in zip(*found))
