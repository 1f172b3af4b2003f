"""The weighted normal equations of implicit-feedback ALS, entry by entry.

Every stored entry ``(u, i)`` of the interaction matrix has a value
``r_ui``, a preference ``p_ui`` (1 for a real interaction, the weight ``w`` in
(0, 1] of generated feedback) and a confidence ``c_ui = 1 + alpha * r_ui``;
a missing entry has preference 0 and confidence 1. With item factors ``Y``
fixed, the factors of row ``u`` solve

    (Y^T Y + sum_i (c_ui - 1) y_i y_i^T + lambda_u I) x_u = sum_i c_ui p_ui y_i,

the sums running over the row's stored entries only, so the dense matrix is
never touched. A generated entry of weight ``w`` (value ``w``, preference
``w``) enters with ``c - 1 = alpha w`` and ``c p = (1 + alpha w) w``: as ``w``
goes to 0 it vanishes continuously and the model becomes the one fitted
without it. The penalty counts the row's real interactions ``n_u`` only,

    lambda_u = regularization * (n_u + 1) ** regularization_exponent,

so generated feedback does not regularise a user away (exponent 0 is the
classic constant penalty, 1 the frequency-scaled form of Rendle et al.).
Items are penalised alike, by their number of real interactions. The
half-sweeps of ALS solve these equations for the users, then for the items:
each minimises, the other side fixed, the objective

    sum over every (u, i) of c_ui (p_ui - x_u . y_i)^2
        + sum_u lambda_u |x_u|^2 + sum_i lambda_i |y_i|^2,

which ``sklearn_agn.mf._als`` evaluates without forming the dense matrix.
"""

import numpy as np


def entry_coefficients(values, alpha, preferences=None):
    """Per stored entry: ``c - 1 = alpha * r`` (weights) and ``c * p`` (targets).

    ``preferences`` None means every entry is real (preference 1).
    """
    weights = alpha * np.asarray(values, dtype=np.float64)
    targets = 1.0 + weights
    if preferences is not None:
        targets *= preferences
    return weights, targets


def real_counts(indptr, real=None):
    """Number of real entries of every row of a CSR structure (``real`` None: all)."""
    if real is None:
        return indptr[1:] - indptr[:-1]
    cumulative = np.concatenate([[0], np.cumsum(real, dtype=np.int64)])
    return np.diff(cumulative[indptr])


def row_lambdas(n_real, regularization, regularization_exponent):
    """Per-row penalty ``regularization * (n_real + 1) ** regularization_exponent``."""
    return regularization * (np.asarray(n_real, dtype=np.float64) + 1.0) \
        ** regularization_exponent
