"""Scorers for scikit-learn's searches, built on the ranking metrics."""



from ._ranking import RANKING_METRICS, _check_positive_int


class _RankingScorer:
    """Scorer ``(estimator, X, y) -> float`` for ``GridSearchCV(scoring=...)``.

    It asks the estimator (or a pipeline ending in one) for its top ``k``
    through ``predict(X, k=k)``, so the cut-off is the scorer's, not the
    estimator's, and compares them to the held-out ``y``.
    """

    def __init__(self, metric, k):
        self.metric = metric
        self.k = k

    def __call__(self, estimator, X, y=None):
        if y is None:
            raise ValueError(
                f"{self!r} needs y, the held-out interactions of the users in X: "
                "pass it to fit (e.g. GridSearchCV.fit(X_train, X_test))."
            )
        ranked = estimator.predict(X, k=self.k)
        return RANKING_METRICS[self.metric](y, ranked, self.k)

    def __repr__(self):
        return f"make_ranking_scorer({self.metric!r}, k={self.k})"


def make_ranking_scorer(metric="ndcg", k=10):
    """Make a scorer from a ranking metric name and a cut-off.

    Parameters
    ----------
    metric : {"precision", "recall", "ndcg", "mrr", "hit_rate"}, default="ndcg"
        Name of the metric, a key of :data:`RANKING_METRICS`.
    k : int, default=10
        Cut-off; the scorer calls ``estimator.predict(X, k=k)``.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y)``, higher is better, where ``y`` holds the
        held-out interactions of the users in ``X``. Usable as
        ``GridSearchCV(scoring=scorer)``, in a ``scoring`` dict, and in
        ``cross_validate``; picklable, so it works with ``n_jobs``.

    Notes
    -----
    ``GridSearchCV`` accepts a sparse ``y``, but ``cross_validate`` and
    ``cross_val_score`` check that ``y`` is array-like, which excludes sparse
    matrices: pass ``y.toarray()`` there. A fitted search's ``predict`` takes
    no ``k``, so to score a search in nested cross-validation leave
    ``scoring=None``: the search's ``score`` applies its refit scorer.
    """
    if not isinstance(metric, str) or metric not in RANKING_METRICS:
        raise ValueError(
            f"Unknown ranking metric {metric!r}; choose from {sorted(RANKING_METRICS)}."
        )
    return _RankingScorer(metric, _check_positive_int(k, "k"))


def get_ranking_scorer(name):
    """Scorer from a ``"metric@k"`` string, e.g. ``"ndcg@20"`` or ``"precision@5"``.

    Parameters
    ----------
    name : str
        A key of :data:`RANKING_METRICS`, ``@``, and a positive integer cut-off.

    Returns
    -------
    scorer : callable
        ``make_ranking_scorer(metric, k)``.
    """
    if not isinstance(name, str):
        raise TypeError(f"Scorer name must be a string like 'ndcg@20', got {name!r}.")
    metric, sep, k = name.partition("@")
    if not sep or not (k.isascii() and k.isdigit()):
        raise ValueError(f"Expected a scorer name like 'ndcg@20', got {name!r}.")
    return make_ranking_scorer(metric, int(k))
