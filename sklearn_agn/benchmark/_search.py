"""Search spaces: drawing settings from them, and telling when a choice sits on an edge.

A search space is what :class:`sklearn.model_selection.ParameterSampler`
takes: a dict ``{name: list of values or scipy.stats distribution}``, or a
list of such dicts (one is drawn uniformly, then a setting from it).
"""

from numbers import Real

import numpy as np
from sklearn.model_selection import ParameterGrid, ParameterSampler

#: A chosen value within this share of its range's mass from either end (in
#: log space for a log-uniform distribution) is reported as on the edge.
EDGE_MARGIN = 0.1


def _subspaces(space):
    return space if isinstance(space, list) else [space]


def space_size(space):
    """Number of distinct settings of a space of lists only; None when it has a distribution."""
    if all(isinstance(values, list) for sub in _subspaces(space) for values in sub.values()):
        return len(ParameterGrid(space))
    return None


def sample_settings(space, budget, random_state):
    """At most ``budget`` settings drawn from ``space``, as plain Python values.

    A space of lists only has its settings drawn without replacement (all of
    them when there are at most ``budget``); otherwise ``budget`` settings
    are drawn independently.
    """
    size = space_size(space)
    n_iter = budget if size is None else min(budget, size)
    return [{name: _plain(value) for name, value in setting.items()}
            for setting in ParameterSampler(space, n_iter, random_state=random_state)]


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


def describe(values):
    """Short text of a list of values or a distribution, e.g. ``loguniform(0.1, 1e+03)``."""
    if isinstance(values, list):
        return "{" + ", ".join(map(str, values)) + "}"
    low, high = values.support()
    return f"{values.dist.name}({low:g}, {high:g})"


def _contains(values, value):
    if isinstance(values, list):
        return value in values
    low, high = values.support()
    return isinstance(value, Real) and low <= value <= high


def range_edges(space, params, margin=EDGE_MARGIN):
    """Tuned parameters whose value in ``params`` lies on the edge of its range in ``space``.

    A value drawn from a distribution is on the edge when its cumulative
    probability is below ``margin`` or above ``1 - margin`` (for a
    log-uniform range: within the lowest or highest 10% of the range in log
    space); a value from a list of at least three numbers is on the edge when
    it is the smallest or the largest (a list of two has no inside). Lists of
    one value are fixed, not tuned, and never reported.

    Returns
    -------
    dict
        ``{name: "low end of <range>" or "high end of <range>"}``, empty when
        no choice is on an edge; ranges are those of the first sub-space that
        holds ``params``.
    """
    for sub in _subspaces(space):
        if set(sub) != set(params) or not all(_contains(sub[n], params[n]) for n in sub):
            continue
        edges = {}
        for name, values in sub.items():
            value = params[name]
            if isinstance(values, list):
                numbers = [v for v in values if isinstance(v, Real) and not isinstance(v, bool)]
                if len(numbers) < 3 or len(numbers) != len(values):
                    continue
                low, high = value == min(numbers), value == max(numbers)
            else:
                position = values.cdf(value)
                low, high = position < margin, position > 1 - margin
            if low or high:
                edges[name] = f"{'low' if low else 'high'} end of {describe(values)}"
        return edges
    return {}
