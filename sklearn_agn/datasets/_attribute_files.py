"""Item attributes from files: a wide or long CSV, or a sparse matrix saved as ``.npz``."""

import os

import numpy as np
import scipy.sparse as sp
from sklearn.utils import Bunch
from sklearn.utils._param_validation import StrOptions, validate_params

from ._base import _existing_file, _import_pandas


@validate_params(
    {
        "path": [str, os.PathLike],
        "format": [StrOptions({"auto", "wide", "long", "npz"})],
        "item_ids": ["array-like", str, os.PathLike, None],
        "sep": [str],
    },
    prefer_skip_nested_validation=True,
)
def load_item_attributes(path, *, format="auto", item_ids=None, sep=","):
    """Read item attributes from a wide or long CSV, or a sparse matrix saved as ``.npz``.

    Attributes come in three shapes; the same attributes give the same matrix
    whichever shape they come in:

    - ``"wide"``: a header line, then one line per item, its id, then one
      numeric column per attribute (one-hot tags, an embedding)::

          item_id,comedy,drama
          7,1,0
          9,0,1

    - ``"long"``: a header line, then one line per item and attribute, the
      shape tags, categories and words come in. ``item_id,tag`` lines give
      each of an item's tags the value 1 (multi-hot: a tag listed twice counts
      once); ``item_id,attribute,value`` lines give the attribute its numeric
      value (an attribute listed twice for an item is an error). A line whose
      attribute is empty lists an item without any (an all-zero row). Encoded
      by :class:`~sklearn.feature_extraction.DictVectorizer`: one column per
      attribute name, in sorted order; items in order of first appearance::

          item_id,tag
          7,comedy
          9,drama

    - ``"npz"``: a sparse matrix saved by :func:`scipy.sparse.save_npz`, one
      row per item, for vocabularies too large for a dense CSV (20,000 tags);
      ``item_ids`` gives the ids of its rows, and its features are named
      ``x0, x1, ...``.

    Parameters
    ----------
    path : str or path-like
        The attribute file.
    format : {"auto", "wide", "long", "npz"}, default="auto"
        Shape of the file. "auto" reads a ``.npz`` file as "npz", a CSV of two
        or three columns whose second column holds text (tag or attribute
        names) as "long", and any other CSV as "wide"; a long file whose
        attribute names are numbers (tag ids) needs ``format="long"``.
    item_ids : array-like, str or path-like, default=None
        With "npz" only, where it is required: the ids of the matrix's rows,
        in order, as an array-like or as a text file of one id per line.
    sep : str, default=","
        Column separator of a CSV.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the attributes:

        item_ids : ndarray of shape (n_items,)
            Ids of the rows: a wide CSV's first column or the npz's
            ``item_ids`` in their order; a long CSV's ids in order of first
            appearance.
        item_attributes : csr_matrix of shape (n_items, n_features), float64
            One row per item (no explicit zeros), whatever the format.
        feature_names : ndarray of str
            Names of the attribute columns: a wide CSV's header, a long CSV's
            attribute names, ``x0, x1, ...`` for an npz matrix.

    Raises
    ------
    ImportError
        If pandas is not installed.
    FileNotFoundError
        If ``path`` (or an ``item_ids`` file) is not a file.
    ValueError
        If the file is malformed or holds no item or no attribute, an
        attribute value is not numeric, missing or infinite, an id is missing
        or listed twice, or ``item_ids`` is missing with "npz", given with a
        CSV, or does not hold one id per row of the matrix.

    Examples
    --------
    >>> import tempfile, os
    >>> from sklearn_agn.datasets import load_item_attributes
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     wide, long = os.path.join(tmp, "wide.csv"), os.path.join(tmp, "long.csv")
    ...     with open(wide, "w") as f:
    ...         _ = f.write("item_id,comedy,drama\\n7,1,0\\n9,1,1\\n")
    ...     with open(long, "w") as f:
    ...         _ = f.write("item_id,tag\\n7,comedy\\n9,drama\\n9,comedy\\n")
    ...     data, same = load_item_attributes(wide), load_item_attributes(long)
    >>> data.item_ids, data.feature_names
    (array([7, 9]), array(['comedy', 'drama'], dtype=object))
    >>> data.item_attributes.toarray()
    array([[1., 0.],
           [1., 1.]])
    >>> (same.item_attributes != data.item_attributes).nnz
    0
    """
    pd = _import_pandas("load_item_attributes")
    path = _existing_file(path)
    if format == "auto" and path.suffix == ".npz":
        format = "npz"
    if format == "npz":
        if item_ids is None:
            raise ValueError(
                f"{path}: an npz matrix holds no item ids; pass item_ids, the ids of its rows "
                "in order (a list, or a text file with one id per line)."
            )
        ids, attributes, names = _npz_attributes(path, item_ids, pd)
    else:
        if item_ids is not None:
            raise ValueError(
                f"item_ids is for an npz matrix only; the ids of a CSV ({path}) are its first "
                "column."
            )
        format, (ids, attributes, names) = _csv_attributes(path, format, sep, pd)
    _check_attribute_table(path, format, ids, attributes, pd)
    attributes.eliminate_zeros()
    return Bunch(item_ids=ids, item_attributes=attributes, feature_names=names)


def _csv_attributes(path, format, sep, pd):
    """Format of an attribute CSV ("auto" resolved), and its ids, CSR attributes and names."""
    # Long attribute names are kept as written (tag "007" is not 7).
    dtype = {1: str} if format == "long" else None
    try:
        frame = pd.read_csv(path, sep=sep, dtype=dtype)
    except ValueError as exc:
        raise ValueError(f"{path}: malformed attribute file: {exc}") from exc
    if frame.shape[1] < 2:
        raise ValueError(
            f"{path}: needs an item id column and at least one attribute column."
        )
    if len(frame) == 0:
        raise ValueError(f"{path} lists no item.")
    if frame.iloc[:, 0].isna().any():
        raise ValueError(f"{path}: an item id is missing (an empty first column).")
    if format == "auto":
        text = not pd.api.types.is_numeric_dtype(frame.dtypes.iloc[1])
        format = "long" if text and frame.shape[1] <= 3 else "wide"
    reader = _long_attributes if format == "long" else _wide_attributes
    return format, reader(frame, path, pd)


def _check_attribute_table(path, format, ids, attributes, pd):
    """ValueError unless the file lists items, each once, and attributes, all finite."""
    if len(ids) == 0:
        raise ValueError(f"{path} lists no item.")
    if attributes.shape[1] == 0:
        raise ValueError(f"{path}: no item has an attribute.")
    if not np.isfinite(attributes.data).all():
        raise ValueError(
            f"{path}: attribute values must be finite (no missing value, NaN or inf)."
        )
    duplicated = pd.Series(ids).duplicated().to_numpy()
    if duplicated.any():
        hint = (" (one line per item and attribute is the long format: pass format='long')"
                if format == "wide" else "")
        raise ValueError(f"{path}: item id {ids[duplicated][0]} is listed twice{hint}.")


def _wide_attributes(frame, path, pd):
    """Ids, CSR attributes and names of a wide attribute frame (id, then numeric columns)."""
    values = frame.iloc[:, 1:]
    bad = [str(c) for c, dtype in values.dtypes.items() if not pd.api.types.is_numeric_dtype(dtype)]
    if bad:
        raise ValueError(
            f"{path}: attribute columns must be numeric; {bad} are not. Tags or categories "
            "one per line (item_id,tag or item_id,attribute,value) are the long format."
        )
    return (frame.iloc[:, 0].to_numpy(), sp.csr_matrix(values.to_numpy(np.float64)),
            np.asarray(values.columns, dtype=object))


def _long_attributes(frame, path, pd):
    """Ids, CSR attributes and names of a long attribute frame, through DictVectorizer."""
    from sklearn.feature_extraction import DictVectorizer

    if frame.shape[1] > 3:
        raise ValueError(
            f"{path}: a long attribute file has two columns (item_id,tag) or three "
            f"(item_id,attribute,value), not {frame.shape[1]}."
        )
    names = frame.iloc[:, 1]
    listed = names.notna().to_numpy()
    if frame.shape[1] == 3:
        column = frame.iloc[:, 2]
        if not pd.api.types.is_numeric_dtype(column.dtype):
            raise ValueError(f"{path}: the value column {column.name!r} must be numeric.")
        values = column.to_numpy(np.float64)
    else:
        values = np.ones(len(frame))
    rows, ids = pd.factorize(frame.iloc[:, 0].to_numpy())
    records = [{} for _ in ids]
    for row, name, value in zip(rows[listed], names[listed].astype(str), values[listed]):
        if frame.shape[1] == 3 and name in records[row]:
            raise ValueError(f"{path}: item {ids[row]} has attribute {name!r} twice.")
        records[row][name] = value
    vectorizer = DictVectorizer(dtype=np.float64)
    attributes = sp.csr_matrix(vectorizer.fit_transform(records))
    return ids, attributes, vectorizer.get_feature_names_out()


def _npz_attributes(path, item_ids, pd):
    """Ids, CSR attributes and names of a matrix saved by ``scipy.sparse.save_npz``."""
    try:
        attributes = sp.csr_matrix(sp.load_npz(path), dtype=np.float64)
    except ValueError as exc:  # not an npz file, or one of dense arrays
        raise ValueError(f"{path}: not a sparse matrix saved by scipy.sparse.save_npz.") from exc
    if isinstance(item_ids, (str, os.PathLike)):
        source = _existing_file(item_ids)
        try:
            frame = pd.read_csv(source, header=None)
        except ValueError as exc:
            raise ValueError(f"{source}: malformed item id file: {exc}") from exc
        if frame.shape[1] != 1:
            raise ValueError(f"{source}: expected one item id per line, no separator.")
        item_ids = frame.iloc[:, 0]
    ids = np.asarray(item_ids)
    if ids.ndim != 1 or len(ids) != attributes.shape[0]:
        raise ValueError(
            f"{path}: the matrix has {attributes.shape[0]} rows, but item_ids holds "
            f"{ids.size} ids: it needs one id per row, in order."
        )
    names = np.array([f"x{j}" for j in range(attributes.shape[1])], dtype=object)
    return ids, attributes, names
