"""Ranking quality across groups of users: per-group metrics and the gap between groups.

A recommender can serve some users far better than others: sparse users
worse than active ones, one gender or age band worse than another. The
functions here take group labels, one per user (row), and report a ranking
metric per group and the largest gap between groups, as fairlearn's
:class:`~fairlearn.metrics.MetricFrame` does for classifiers:

- :func:`group_ranking_metrics`: the metric per group, its standard error,
  and the largest difference and the smallest ratio between groups
  (NumPy only);
- :func:`ranking_metric_frame`: the same figures as a fairlearn
  ``MetricFrame``, for its tools (several metrics at once, intersections of
  several sensitive features, control features); it needs the optional
  extra ``pip install 'sklearn-agn[fairness]'``;
- :func:`activity_groups`: quantile groups of users by their number of
  training interactions, sparsest first.

As in :mod:`sklearn_agn.metrics`, only users with at least one held-out item
are evaluated: a group is made of its users that have one, and a group
without any is not reported (a ``MetricFrame`` lists an empty intersection
of several features as NaN). Item-side measures of exposure (long-tail
share, Gini of exposure) are in :mod:`sklearn_agn.metrics`.
"""

import numpy as np
from scipy.stats import rankdata
from sklearn.utils import Bunch

from ._validation import check_feedback
from .metrics import ranking_metric_per_user
from .metrics._ranking import _check_positive_int

__all__ = ["activity_groups", "group_ranking_metrics", "ranking_metric_frame"]


def activity_groups(X_train, n_groups=4):
    """Label every user by the quantile group of their number of training interactions.

    Users are ranked by their number of real interactions in ``X_train``
    (generated feedback does not count) and cut into ``n_groups`` groups of
    about equal size, sparsest first. Users who share a count stay together,
    in the group of the first of them in rank order, so ties can merge
    neighbouring groups: a merged group's label names the groups it spans,
    and no group is empty.

    Parameters
    ----------
    X_train : {array-like, sparse matrix} of shape (n_users, n_items)
        Training interactions.
    n_groups : int, default=4
        Number of groups (4: quartiles).

    Returns
    -------
    groups : ndarray of shape (n_users,), dtype object
        Each user's label: ``"Q1"`` (sparsest) to ``"Q4"`` for quartiles, or
        ``"Q1-Q3"`` when ties merged Q1 to Q3. Numbers are zero-padded from
        ten groups on (``"Q01"``), so that sorted labels are in activity order.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_agn.fairness import activity_groups
    >>> X = np.array([[1, 0, 0], [1, 1, 0], [1, 1, 1], [1, 1, 1]])
    >>> activity_groups(X, n_groups=4)
    array(['Q1', 'Q2', 'Q3-Q4', 'Q3-Q4'], dtype=object)
    """
    n_groups = _check_positive_int(n_groups, "n_groups")
    counts = check_feedback(X_train, name="X_train").real_mask().getnnz(axis=1)
    labels = np.empty(counts.size, dtype=object)
    group = (rankdata(counts, method="min").astype(np.int64) - 1) * n_groups // counts.size
    starts = np.unique(group)
    ends = np.append(starts[1:], n_groups) - 1
    width = len(str(n_groups)) if n_groups >= 10 else 1
    for start, end in zip(starts, ends):
        name = f"Q{start + 1:0{width}d}" + (f"-Q{end + 1:0{width}d}" if end > start else "")
        labels[group == start] = name
    return labels


def _is_missing(label):
    try:
        return label is None or bool(label != label)  # NaN and NaT differ from themselves
    except (TypeError, ValueError):  # pandas.NA has no truth value
        return True


def _evaluated_groups(groups, evaluated):
    """Labels of the ``evaluated`` users; ValueError for a wrong length or a missing label."""
    groups = np.asarray(groups)
    if groups.ndim != 1:
        raise ValueError(f"groups must be a 1-D array of one label per user, got shape "
                         f"{groups.shape}.")
    if groups.size != evaluated.size:
        raise ValueError(f"groups has {groups.size} labels but y_true has {evaluated.size} "
                         "users (rows): give one label per user, in the order of the rows.")
    if groups.dtype.kind in "fc":
        missing = np.isnan(groups)
    elif groups.dtype.kind == "O":
        missing = np.array([_is_missing(label) for label in groups], dtype=bool)
    else:
        missing = np.zeros(groups.size, dtype=bool)
    missing &= evaluated
    if missing.any():
        raise ValueError(f"groups holds {missing.sum()} missing labels (NaN or None) of users "
                         f"with a held-out item, the first for user "
                         f"{np.flatnonzero(missing)[0]}: give every user a group, or drop "
                         "the users without one.")
    return groups[evaluated]


def group_ranking_metrics(y_true, ranked, groups, k=None, metric="ndcg"):
    """A ranking metric per group of users, and the largest gap between groups.

    Each group's value is the mean of the metric over its users that have a
    held-out item (the users :func:`~sklearn_agn.metrics.ndcg_at_k` and the
    other ``*_at_k`` functions average over), as
    ``MetricFrame(...).by_group`` gives it (:func:`ranking_metric_frame`).

    Parameters
    ----------
    y_true : {array-like, sparse matrix} of shape (n_users, n_items)
        Held-out interactions; every stored positive value is a relevant item.
    ranked : array-like of int, shape (n_users, n_ranked)
        Recommended item indices per user, best first; ``-1`` marks an empty
        slot. Each item appears at most once per row.
    groups : array-like of shape (n_users,)
        One label per user (row): strings or numbers, e.g. the output of
        :func:`activity_groups` or a column of
        ``load_movielens_100k(path).user_info`` such as ``"gender"``.
        Only the labels of users with a held-out item are read; none of
        them may be missing (NaN, None).
    k : int, default=None
        Cut-off, at most ``n_ranked``; ``n_ranked`` when None.
    metric : {"precision", "recall", "ndcg", "mrr", "hit_rate"}, default="ndcg"
        Name of the metric, a key of :data:`~sklearn_agn.metrics.RANKING_METRICS`.

    Returns
    -------
    result : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the attributes:

        overall : float
            The metric over all evaluated users (what ``ndcg_at_k`` returns).
        by_group : dict
            ``{label: value}`` per group, labels sorted.
        sem : dict
            ``{label: standard error}`` of each group's mean over its users
            (sample standard deviation over the square root of their number;
            NaN for a group of one user): how much a group's value would move
            with other users drawn from the same population.
        n_users : dict
            ``{label: number of evaluated users}``.
        difference : float
            Largest value minus smallest, ``MetricFrame.difference()``.
        ratio : float
            Smallest value over largest, ``MetricFrame.ratio()``; NaN when
            every group scores 0.

    Raises
    ------
    ValueError
        If ``groups`` is not one label per row of ``y_true``, a user with a
        held-out item has no label, or the users with a held-out item fall
        in fewer than two groups (there is no gap to measure).
    TypeError
        If the labels cannot be sorted together (strings mixed with numbers).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_agn.fairness import group_ranking_metrics
    >>> y_true = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]])
    >>> ranked = np.array([[0, 1], [0, 1], [0, 1]])
    >>> result = group_ranking_metrics(y_true, ranked, ["a", "a", "b"], metric="hit_rate")
    >>> result.by_group, result.difference
    ({'a': 1.0, 'b': 0.0}, 1.0)
    """
    values = ranking_metric_per_user(y_true, ranked, k, metric)
    evaluated = ~np.isnan(values)
    values, groups = values[evaluated], _evaluated_groups(groups, evaluated)
    try:
        labels, codes = np.unique(groups, return_inverse=True)
    except TypeError as exc:
        raise TypeError("groups must hold labels that sort together (all strings or all "
                        f"numbers): {exc}") from exc
    if labels.size < 2:
        raise ValueError(f"The users with a held-out item fall in {labels.size} group(s) "
                         f"({labels.tolist()}): a gap between groups needs at least two.")
    n = np.bincount(codes)
    means = np.bincount(codes, weights=values) / n
    squares = np.bincount(codes, weights=(values - means[codes]) ** 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        sem = np.sqrt(squares / (n - 1) / n)  # 0 / 0 = NaN for a group of one user
    labels = labels.tolist()
    top = means.max()
    return Bunch(
        overall=float(values.mean()),
        by_group=dict(zip(labels, means.tolist())),
        sem=dict(zip(labels, sem.tolist())),
        n_users=dict(zip(labels, n.tolist())),
        difference=float(top - means.min()),
        ratio=float(means.min() / top) if top > 0 else float("nan"),
    )


def _import_fairlearn():
    try:
        from fairlearn.metrics import MetricFrame
    except ImportError as exc:
        raise ImportError(
            "ranking_metric_frame needs fairlearn, which is not installed: "
            "pip install 'sklearn-agn[fairness]'."
        ) from exc
    return MetricFrame


class _GroupMean:
    """MetricFrame metric: the mean of precomputed per-user values over a group's users.

    MetricFrame hands a metric the slices of ``y_true`` and ``y_pred`` that
    belong to a group; here ``y_true`` holds user positions, so one frame can
    carry several metrics, each computed once for every user.
    """

    def __init__(self, values):
        self.values = values

    def __call__(self, users, _):
        return float(self.values[np.asarray(users)].mean())


def _rows(features, keep):
    """Rows ``keep`` (a boolean mask) of an array, list, or pandas object."""
    if features is None:
        return None
    if hasattr(features, "iloc"):
        return features.iloc[np.flatnonzero(keep)]
    return np.asarray(features)[keep]


def ranking_metric_frame(y_true, ranked, sensitive_features, k=None, metrics="ndcg", *,
                         control_features=None):
    """Ranking metrics by group of users as a fairlearn ``MetricFrame``.

    Each user with a held-out item is one sample of the frame; a metric's
    value for a group is its mean over the group's users, so that ``by_group``
    matches :func:`group_ranking_metrics`. The frame brings fairlearn's tools:
    ``difference()`` and ``ratio()`` between groups, ``group_min()`` and
    ``group_max()``, intersections of several sensitive features, and
    ``control_features``.

    Parameters
    ----------
    y_true : {array-like, sparse matrix} of shape (n_users, n_items)
        Held-out interactions; every stored positive value is a relevant item.
    ranked : array-like of int, shape (n_users, n_ranked)
        Recommended item indices per user, best first; ``-1`` marks an empty
        slot. Each item appears at most once per row.
    sensitive_features : array-like of shape (n_users,) or (n_users, n_features)
        One label per user (row), or one column per feature (a pandas
        DataFrame keeps its column names): the groups to compare, as
        ``MetricFrame`` takes them.
    k : int, default=None
        Cut-off, at most ``n_ranked``; ``n_ranked`` when None.
    metrics : str or list of str, default="ndcg"
        Names among :data:`~sklearn_agn.metrics.RANKING_METRICS`; the
        frame's columns.
    control_features : array-like of shape (n_users,) or (n_users, n_features), default=None
        Features within whose values the groups are compared, as
        ``MetricFrame`` takes them.

    Returns
    -------
    frame : fairlearn.metrics.MetricFrame
        Over the users with at least one held-out item.

    Raises
    ------
    ImportError
        If fairlearn is not installed (``pip install 'sklearn-agn[fairness]'``).
    ValueError
        If a feature does not have one row per row of ``y_true``, or (from
        ``MetricFrame``) an evaluated user's label is missing.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_agn.fairness import ranking_metric_frame
    >>> y_true = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]])
    >>> ranked = np.array([[0, 1], [0, 1], [0, 1]])
    >>> frame = ranking_metric_frame(y_true, ranked, ["a", "a", "b"],
    ...                              metrics=["hit_rate", "mrr"])  # doctest: +SKIP
    >>> frame.by_group  # doctest: +SKIP
                         hit_rate   mrr
    sensitive_feature_0
    a                         1.0  0.75
    b                         0.0  0.00
    """
    MetricFrame = _import_fairlearn()
    names = [metrics] if isinstance(metrics, str) else list(metrics)
    if not names:
        raise ValueError("metrics must name at least one ranking metric.")
    values = {name: ranking_metric_per_user(y_true, ranked, k, name) for name in names}
    evaluated = ~np.isnan(values[names[0]])
    n_users = evaluated.size
    for features, name in ((sensitive_features, "sensitive_features"),
                           (control_features, "control_features")):
        if features is not None and len(features) != n_users:
            raise ValueError(f"{name} has {len(features)} rows but y_true has {n_users} "
                             "users (rows): give one row per user, in the order of the rows.")
    users = np.arange(int(evaluated.sum()))
    return MetricFrame(
        metrics={name: _GroupMean(values[name][evaluated]) for name in names},
        y_true=users,
        y_pred=users,
        sensitive_features=_rows(sensitive_features, evaluated),
        control_features=_rows(control_features, evaluated),
    )
