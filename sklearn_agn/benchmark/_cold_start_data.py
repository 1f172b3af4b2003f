"""The cold-start command's data: ratings and attribute files, their item ids matched."""

from pathlib import Path

import numpy as np

from ..datasets import load_item_attributes, load_movielens, load_movielens_100k
from ..preprocessing import InteractionEncoder

__all__ = ["load_data"]


def _read_ratings(path):
    """User and item ids of a ratings file: MovieLens formats, else a CSV of user,item,..."""
    try:
        ratings = load_movielens(path)
    except ValueError:
        import pandas as pd

        frame = pd.read_csv(path, sep=None, engine="python")
        ratings = frame.iloc[:, :2].set_axis(["user_id", "item_id"], axis=1)
    return ratings["user_id"].to_numpy(), ratings["item_id"].to_numpy()


def _describe_ids(ids):
    """The kind and the first few distinct ids of an id column, for an error message."""
    import pandas as pd

    kind = ("integers" if np.issubdtype(ids.dtype, np.integer) else
            "numbers" if np.issubdtype(ids.dtype, np.number) else "strings")
    first = pd.unique(ids)[:3].tolist()
    return f"{kind} {', '.join(map(repr, first))}, ..."


def _item_columns(item_ids, rated, items, ratings):
    """Column in ``item_ids`` of every rated item id, -1 for those without attributes.

    Ids are compared as numbers when both files' are numbers, else as text
    (12 in one file matches "12" in the other). ValueError, before anything
    is fitted, when the files share no item id.
    """
    import pandas as pd

    item_ids, rated = np.asarray(item_ids), np.asarray(rated)
    numbers = all(np.issubdtype(ids.dtype, np.number) for ids in (item_ids, rated))
    keys, wanted = (item_ids, rated) if numbers else (item_ids.astype(str), rated.astype(str))
    cols = pd.Index(keys).get_indexer(wanted)
    if not (cols >= 0).any():
        raise ValueError(
            f"No item id is in both the ratings ({ratings}: {_describe_ids(rated)}) and the "
            f"attribute file ({items}: {_describe_ids(item_ids)}): the attribute file must "
            "be keyed by the ratings' item ids."
        )
    return cols


def load_data(ratings, items, *, release_date="decade", title_tfidf=False, items_format="auto",
              item_ids=None):
    """Interactions, item attributes and (for ML-100K) user attributes, items aligned.

    ``items`` is ML-100K's ``u.item``, or any file
    :func:`~sklearn_agn.datasets.load_item_attributes` reads (with
    ``items_format`` as its ``format`` and ``item_ids``). Only the items that
    have both a rating and a row of attributes are kept; users are the ones
    with a rating on those items.

    Raises
    ------
    ValueError
        If no item id of the ratings has attributes.
    """
    items = Path(items)
    user_attributes = None
    if items.name == "u.item":
        data = load_movielens_100k(items.parent, release_date=release_date,
                                   title_tfidf=title_tfidf)
        user_table = (data.user_ids, data.user_attributes)
    else:
        data = load_item_attributes(items, format=items_format, item_ids=item_ids)
        user_table = None
    users, rated = _read_ratings(ratings)
    cols = _item_columns(data.item_ids, rated, items, ratings)
    known = cols >= 0
    # Items are encoded by their row of attributes: the columns of X are the
    # rated rows, in the attribute file's order.
    encoder = InteractionEncoder()
    X = encoder.fit_transform({"user_id": users[known], "item_id": cols[known]})
    attributes = data.item_attributes[encoder.item_ids_]
    if user_table is not None:
        user_attributes = user_table[1][np.searchsorted(user_table[0], encoder.user_ids_)]
    return X, attributes, user_attributes, int((~known).sum())
