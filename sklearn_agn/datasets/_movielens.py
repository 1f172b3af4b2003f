"""MovieLens: the ratings files GroupLens distributes, and MovieLens-100K with attributes."""

import io
import numbers
import os
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.utils import Bunch
from sklearn.utils._param_validation import Interval, validate_params

from ..preprocessing import _id_lookup, _interaction_matrix, _positions
from . import _movielens_features
from ._base import _existing_file, _import_pandas

_MOVIELENS_FILES = ("u.data", "ratings.dat", "ratings.csv")
_MOVIELENS_COLUMNS = {
    "user_id": np.int64,
    "item_id": np.int64,
    "rating": np.float64,
    "timestamp": np.int64,
}


def load_movielens(path):
    """Read a MovieLens ratings file into a DataFrame of raw ids.

    The formats GroupLens distributes are recognised from the file's content:

    - ML-100K ``u.data`` (and its ``u1.base``, ``ua.test``... splits):
      tab-separated ``user item rating timestamp``, no header;
    - ML-1M and ML-10M ``ratings.dat``: ``user::item::rating::timestamp``;
    - ML-20M, ML-25M, ML-32M and ml-latest ``ratings.csv``: comma-separated
      with a ``userId,movieId,rating,timestamp`` header.

    Ids are kept as they are in the file (MovieLens ids start at 1 and have
    gaps); :class:`~sklearn_agn.preprocessing.InteractionEncoder` maps them
    to the rows and columns of an interaction matrix and back.

    Parameters
    ----------
    path : str or path-like
        The ratings file, or a directory holding one of ``u.data``,
        ``ratings.dat`` or ``ratings.csv`` (e.g. the unpacked ``ml-1m/``).

    Returns
    -------
    ratings : pandas.DataFrame
        One row per rating, in file order, with columns ``user_id`` (int64),
        ``item_id`` (int64), ``rating`` (float64) and ``timestamp`` (int64,
        seconds since the Unix epoch).

    Raises
    ------
    ImportError
        If pandas is not installed.
    FileNotFoundError
        If ``path`` is neither a file nor a directory holding a ratings file.
    ValueError
        If the file is not in one of the formats above or a line is malformed.

    Examples
    --------
    >>> from sklearn_agn.datasets import load_movielens
    >>> from sklearn_agn.preprocessing import InteractionEncoder
    >>> ratings = load_movielens("ml-100k/u.data")  # doctest: +SKIP
    >>> encoder = InteractionEncoder()  # doctest: +SKIP
    >>> X = encoder.fit_transform(ratings)  # doctest: +SKIP
    >>> X.shape  # doctest: +SKIP
    (943, 1682)
    """
    pd = _import_pandas("load_movielens")
    path = Path(path)
    if path.is_dir():
        found = [path / name for name in _MOVIELENS_FILES if (path / name).is_file()]
        if not found:
            raise FileNotFoundError(
                f"{path} holds none of the MovieLens ratings files {_MOVIELENS_FILES}."
            )
        path = found[0]
    path = _existing_file(path)
    raw = path.read_bytes()
    first_line = raw.lstrip().split(b"\n", 1)[0]
    header = None
    if b"::" in first_line:
        # pandas parses multi-character separators only with its slow Python
        # engine; a single tab lets the C engine read ML-10M in seconds.
        raw, sep = raw.replace(b"::", b"\t"), "\t"
    elif first_line.startswith(b"userId,"):
        sep, header = ",", 0
    elif b"\t" in first_line:
        sep = "\t"
    else:
        raise ValueError(
            f"{path} is not a MovieLens ratings file: its first line {first_line[:80]!r} is "
            f"neither tab-separated (u.data), '::'-separated (ratings.dat) nor the "
            f"'userId,movieId,rating,timestamp' header (ratings.csv)."
        )
    try:
        return pd.read_csv(
            io.BytesIO(raw),
            sep=sep,
            header=header,
            names=list(_MOVIELENS_COLUMNS),
            dtype=_MOVIELENS_COLUMNS,
        )
    except ValueError as exc:  # pandas' ParserError is a ValueError too
        raise ValueError(f"{path}: malformed MovieLens ratings file: {exc}") from exc


@validate_params(
    {
        "path": [str, os.PathLike],
        "title_tfidf": ["boolean"],
        "zip_prefix": [Interval(numbers.Integral, 1, 5, closed="both"), None],
        "age_bins": [Interval(numbers.Integral, 2, None, closed="left")],
    },
    prefer_skip_nested_validation=True,
)
def load_movielens_100k(path, *, release_date="decade", title_tfidf=False, zip_prefix=None,
                        age_bins=6):
    """Load MovieLens-100K: interactions plus item and user attribute matrices.

    Reads ``u.data``, ``u.item`` (and ``u.genre`` if present) and ``u.user``
    from the unpacked ``ml-100k`` folder, in place. The attributes are built
    with scikit-learn's encoders, fitted here and returned, so that new items
    or users are encoded the same way (``item_encoder.transform(new_items)``, with
    ``new_items`` a frame with the columns of ``item_info``):

    - items: the 19 genre flags as they are, and the release date: with
      ``release_date="decade"``, the decade one-hot encoded
      (``FunctionTransformer`` then ``OneHotEncoder``; a missing date is the
      category "unknown"); with ``release_date="spline"``, a cubic B-spline
      basis of the fractional release year (``SplineTransformer``, 12 knots
      at quantiles; a missing date takes the median and is flagged by a
      ``MissingIndicator`` column); with ``title_tfidf=True``, TF-IDF of the
      title's words (``TfidfVectorizer``, words in at least two titles);
    - users: age in ``age_bins`` quantile bins (``KBinsDiscretizer``),
      gender and occupation one-hot (``OneHotEncoder``); with
      ``zip_prefix=d``, the first ``d`` characters of the zip code one-hot.

    Every rating counts as one implicit interaction.

    Parameters
    ----------
    path : str or path-like
        The ``ml-100k`` folder.
    release_date : {"decade", "spline"}, default="decade"
        Encoding of the release date. "decade" is the feature set of the
        published cold-start protocol; "spline" resolves the date to within
        months, which matters on MovieLens-100K (rated in 1997-98, when
        recent releases drew the most ratings): in the cold-start benchmark
        it lifted every method's NDCG@20 by about a quarter
        (:doc:`/cold_start`).
    title_tfidf : bool, default=False
        Add TF-IDF features of the titles to the item attributes.
    zip_prefix : int in [1, 5], default=None
        Add the zip code's first ``zip_prefix`` characters (one-hot) to the
        user attributes; not used when None.
    age_bins : int, default=6
        Number of quantile bins of the users' ages.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the attributes:

        interactions : csr_matrix of shape (n_users, n_items), dtype float32
            1 where the user rated the item; rows in the order of
            ``user_ids``, columns in the order of ``item_ids``.
        item_attributes : csr_matrix of shape (n_items, n_item_features)
            One row per item, in the order of ``item_ids``.
        user_attributes : csr_matrix of shape (n_users, n_user_features)
            One row per user, in the order of ``user_ids``.
        item_ids, user_ids : ndarray of int64
            MovieLens ids of the columns and rows (every id of ``u.item``
            and ``u.user``, sorted).
        item_feature_names, user_feature_names : ndarray of str
            Names of the attribute columns (``get_feature_names_out``).
        item_encoder, user_encoder : sklearn.compose.ColumnTransformer
            The fitted encoders, from the ``item_info`` and ``user_info`` frames.
        item_info, user_info : pandas.DataFrame
            The raw metadata of ``u.item`` and ``u.user``, one row per id,
            in the order of ``item_ids`` and ``user_ids``.
        ratings : pandas.DataFrame
            ``u.data`` as :func:`load_movielens` reads it.

    Raises
    ------
    FileNotFoundError
        If one of the files is missing.
    ValueError
        If ``u.data`` refers to an item or user missing from ``u.item`` or
        ``u.user``, or a file is malformed.

    Examples
    --------
    >>> from sklearn_agn.datasets import load_movielens_100k
    >>> data = load_movielens_100k("ml-100k")  # doctest: +SKIP
    >>> data.interactions.shape, data.item_attributes.shape  # doctest: +SKIP
    ((943, 1682), (1682, 27))
    """
    if release_date not in ("decade", "spline"):
        raise ValueError(f"release_date must be 'decade' or 'spline', got {release_date!r}.")
    path = Path(path)
    items, users, genres = _ml100k_tables(path)
    ratings = load_movielens(_existing_file(path / "u.data"))
    item_encoder = _movielens_features.item_encoder(genres, release_date, title_tfidf)
    user_encoder = _movielens_features.user_encoder(age_bins, zip_prefix)
    item_attributes = sp.csr_matrix(item_encoder.fit_transform(items), dtype=np.float64)
    user_attributes = sp.csr_matrix(user_encoder.fit_transform(users), dtype=np.float64)

    item_ids = items["item_id"].to_numpy(np.int64)
    user_ids = users["user_id"].to_numpy(np.int64)
    cols = _known_positions(item_ids, ratings["item_id"].to_numpy(), "item", path / "u.item")
    rows = _known_positions(user_ids, ratings["user_id"].to_numpy(), "user", path / "u.user")
    return Bunch(
        interactions=_interaction_matrix(rows, cols, (len(user_ids), len(item_ids))),
        item_attributes=item_attributes,
        user_attributes=user_attributes,
        item_ids=item_ids,
        user_ids=user_ids,
        item_feature_names=item_encoder.get_feature_names_out(),
        user_feature_names=user_encoder.get_feature_names_out(),
        item_encoder=item_encoder,
        user_encoder=user_encoder,
        item_info=items,
        user_info=users,
        ratings=ratings,
    )


_ML100K_ITEM_COLUMNS = ("item_id", "title", "release_date", "video_release_date", "imdb_url")
_ML100K_USER_COLUMNS = ("user_id", "age", "gender", "occupation", "zip_code")


def _ml100k_tables(path):
    """``u.item`` and ``u.user`` sorted by id, and the genre names (of ``u.genre`` if present)."""
    genre_file = path / "u.genre"
    genres = _movielens_features.ML100K_GENRES
    if genre_file.is_file():
        genres = tuple(line.split("|")[0] for line in
                       genre_file.read_text(encoding="latin-1").splitlines() if line.strip())
    items = _read_table(path / "u.item", _ML100K_ITEM_COLUMNS + genres)
    items = items.sort_values("item_id", ignore_index=True)
    items["title"] = items["title"].fillna("")
    users = _read_table(path / "u.user", _ML100K_USER_COLUMNS)
    users = users.sort_values("user_id", ignore_index=True)
    return items, users, genres


def _read_table(path, columns):
    pd = _import_pandas("load_movielens_100k")
    path = _existing_file(path)
    try:
        return pd.read_csv(path, sep="|", header=None, names=list(columns),
                           encoding="latin-1", dtype={"zip_code": str})
    except ValueError as exc:
        raise ValueError(f"{path}: malformed file: {exc}") from exc


def _known_positions(known_ids, ids, what, source):
    """Index of each of ``ids`` in ``known_ids``; ValueError naming an unknown one."""
    pos = _positions(_id_lookup(known_ids), known_ids, ids, what)
    if (pos < 0).any():
        raise ValueError(f"{what} id {ids[pos < 0][0]} of u.data is not in {source}.")
    return pos
