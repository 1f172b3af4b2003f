"""Fits that either complete or leave the estimator as it was."""

import functools


def atomic_fit(fit):
    """Decorate a ``fit``-like method: if it raises, the estimator's attributes are put back.

    scikit-learn's ``validate_data(reset=True)`` records ``n_features_in_``
    before any training; without this, an interrupted refit (KeyboardInterrupt
    included) would leave the new item count beside the old model, and an
    interrupted first fit would pass ``check_is_fitted`` with no model. The
    decorated methods rebind learned attributes rather than mutate them in
    place, so a shallow snapshot is enough.
    """

    @functools.wraps(fit)
    def wrapper(self, *args, **kwargs):
        state = dict(vars(self))
        try:
            return fit(self, *args, **kwargs)
        except BaseException:
            vars(self).clear()
            vars(self).update(state)
            raise

    return wrapper
