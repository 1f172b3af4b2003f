"""Which of scikit-learn's common estimator checks cannot apply, and why.

Pass the result to ``check_estimator(est, expected_failed_checks=...)`` or
``parametrize_with_checks([est], expected_failed_checks=...)``::

    from sklearn.utils.estimator_checks import check_estimator
    from sklearn_agn import MFRecommender
    from sklearn_agn.estimator_checks import expected_failed_checks

    est = MFRecommender()
    check_estimator(est, expected_failed_checks=expected_failed_checks(est))
"""

from ._base import BaseRecommender

__all__ = ["expected_failed_checks"]

_TOP_K_OUTPUT = (
    "predict returns an (n_users, k) matrix of recommended item indices; the "
    "check expects one value per row, as a classifier or regressor gives."
)
_MATRIX_TARGET = (
    "score's y is the (n_users, n_items) matrix of held-out interactions; the "
    "check passes a 1-D target, which score rejects with a ValueError."
)
_K_EXCEEDS_CATALOGUE = (
    "the check's data has fewer items than k={k}, and predict raises a "
    "ValueError when k is larger than the catalogue. The same check passes "
    "with k=1 (see tests/test_estimator_checks.py)."
)
# Checks whose data has 2 to 5 columns and that call predict with the default k.
_PREDICT_ON_SMALL_DATA = [
    "check_dict_unchanged",
    "check_estimators_dtypes",
    "check_estimators_pickle",
    "check_f_contiguous_array_estimator",
    "check_fit_idempotent",
    "check_methods_sample_order_invariance",
    "check_methods_subset_invariance",
]

def expected_failed_checks(estimator):
    """Common checks that cannot pass for ``estimator``, with the reason.

    Parameters
    ----------
    estimator : estimator instance
        A recommender of this library.

    Returns
    -------
    dict
        ``{check_name: reason}``.
    """
    if not isinstance(estimator, BaseRecommender):
        return {}
    failures = {
        "check_estimator_sparse_array": _TOP_K_OUTPUT,
        "check_estimator_sparse_matrix": _TOP_K_OUTPUT,
        "check_fit_score_takes_y": _MATRIX_TARGET,
        "check_pipeline_consistency": _MATRIX_TARGET,
    }
    if estimator.k > 1:
        reason = _K_EXCEEDS_CATALOGUE.format(k=estimator.k)
        failures.update({name: reason for name in _PREDICT_ON_SMALL_DATA})
    return failures
