"""scikit-learn's common estimator checks, with the inapplicable ones explained.

The reasons live in :mod:`sklearn_agn.estimator_checks`, which users can pass
to ``check_estimator`` themselves.
"""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_agn import MFRecommender
from sklearn_agn.baselines import EASE, ItemKNN, MostPopular
from sklearn_agn.estimator_checks import expected_failed_checks

# Each estimator twice: with its defaults, as users construct it, and with
# k=1, which runs the predict checks that the defaults' k=10 cannot run on the
# checks' 2-to-5-item data.
ESTIMATORS = [
    MFRecommender(),
    MFRecommender(n_factors=4, n_iter=3, k=1),
    *(Est() for Est in (MostPopular, EASE, ItemKNN)),
    *(Est(k=1) for Est in (MostPopular, EASE, ItemKNN)),
]


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failed_checks,
                         xfail_strict=True)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
