"""MovieLens-100K's item and user attributes, as scikit-learn column transformers.

The encoders are returned fitted by :func:`load_movielens_100k`, so that
new items or users are encoded the same way; the functions they apply live
at module level, so that they pickle.
"""

import numpy as np

from ._base import _import_pandas

# The 19 genre flags of ``u.item``, in the order of ``u.genre`` (used when
# that file is absent).
ML100K_GENRES = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
    "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery",
    "Romance", "Sci-Fi", "Thriller", "War", "Western",
)


def item_encoder(genres, release_date, title_tfidf):
    """The unfitted ``ColumnTransformer`` of the item attributes of ``u.item``."""
    from sklearn.compose import ColumnTransformer
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.impute import MissingIndicator, SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, SplineTransformer

    parts = [("genre", "passthrough", list(genres))]
    if release_date == "decade":
        parts.append(("release", make_pipeline(
            FunctionTransformer(_release_decade, feature_names_out=_decade_names),
            OneHotEncoder(handle_unknown="ignore")), ["release_date"]))
    else:
        year = FunctionTransformer(_release_year, feature_names_out="one-to-one")
        parts += [
            ("release", make_pipeline(year, SimpleImputer(strategy="median"),
                                      SplineTransformer(n_knots=12, degree=3,
                                                        knots="quantile")), ["release_date"]),
            ("release_missing", make_pipeline(year, MissingIndicator(features="all")),
             ["release_date"]),
        ]
    if title_tfidf:
        # Words only (no years: the decade says it), each in at least two titles.
        parts.append(("title", TfidfVectorizer(min_df=2, token_pattern=r"(?u)\b[^\W\d_]\w+\b"),
                      "title"))
    return ColumnTransformer(parts, sparse_threshold=1.0, verbose_feature_names_out=True)


def user_encoder(age_bins, zip_prefix):
    """The unfitted ``ColumnTransformer`` of the user attributes of ``u.user``."""
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, KBinsDiscretizer, OneHotEncoder

    parts = [
        ("age", KBinsDiscretizer(n_bins=age_bins, encode="onehot", strategy="quantile"), ["age"]),
        ("demographics", OneHotEncoder(handle_unknown="ignore"), ["gender", "occupation"]),
    ]
    if zip_prefix is not None:
        parts.append(("zip", make_pipeline(
            FunctionTransformer(_zip_prefix, kw_args={"digits": zip_prefix},
                                feature_names_out=_zip_names),
            OneHotEncoder(handle_unknown="ignore")), ["zip_code"]))
    return ColumnTransformer(parts, sparse_threshold=1.0)


def _release_decade(dates):
    """Release decades ("1990s"; "unknown" when the date is missing) of a date column."""
    pd = _import_pandas("load_movielens_100k")
    frame = pd.DataFrame(dates)
    years = pd.to_datetime(frame.iloc[:, 0], format="%d-%b-%Y", errors="coerce").dt.year
    decade = (years // 10 * 10).astype("Int64").astype(str) + "s"
    return decade.where(years.notna(), "unknown").to_frame("decade")


def _release_year(dates):
    """Fractional release years (1995.5: mid-1995; NaN when missing) of a date column."""
    pd = _import_pandas("load_movielens_100k")
    frame = pd.DataFrame(dates)
    dates = pd.to_datetime(frame.iloc[:, 0], format="%d-%b-%Y", errors="coerce")
    return (dates.dt.year + (dates.dt.day_of_year - 1) / 365.25).to_frame("release_date")


def _zip_prefix(codes, digits=1):
    """First ``digits`` characters of a zip-code column, as strings."""
    pd = _import_pandas("load_movielens_100k")
    frame = pd.DataFrame(codes)
    return frame.iloc[:, 0].astype(str).str[:digits].to_frame("zip_prefix")


def _decade_names(transformer, names):
    return np.array(["decade"], dtype=object)


def _zip_names(transformer, names):
    return np.array(["zip_prefix"], dtype=object)
