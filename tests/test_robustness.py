"""Robustness of the public entry points against awkward and bad input (issue 6).

Every call below must either work, returning output that satisfies its
contract, or raise a ``ValueError``/``TypeError`` whose message names the
problem; never another exception. And the caller's objects (``X``, ``y``,
``ranked``) must be exactly as they were afterwards: same type, format,
dtype, shape, values, indices and index pointers. :func:`call_checked` is the
one helper that asserts both.

Under test: ``MFRecommender``, ``GANAugmenter``, ``MostPopular``, ``EASE``
(``fit``, ``predict``, ``decision_function``, ``transform``, ``score``,
``sample``), the ranking metrics (``precision_at_k``, ``recall_at_k``,
``ndcg_at_k``, ``mrr_at_k``, ``hit_rate_at_k``, ``catalogue_coverage``, checked
against a plain-Python reference) and the splitters (``holdout_split``,
``UserKFold``).

Inputs tried (property-based, by hypothesis)
--------------------------------------------
- shapes: 1 to 6 users x 1 to 6 items, so a single user, a single item and a
  1 x 1 matrix come up; empty rows (cold users), empty columns, all-empty X;
- containers: dense ``ndarray``, list of lists, ``csr_matrix``, ``csr_array``,
  ``csc_matrix``, ``csc_array``, ``coo_matrix``, ``coo_array``, and a
  non-canonical ``csr_matrix`` (unsorted indices, duplicate entries);
- dtypes: float64, float32, int64, int32, uint8, bool;
- values: 1, small counts, large counts (up to 1e6), generated weights in
  (0, 1); explicit stored zeros; duplicate entries (summed) in COO and CSR;
- defects, one cell each: NaN, +inf, -inf, a negative value;
- at predict/transform time: rows with a different number of items, and
  ``k`` from 1 to two more than the catalogue;
- metrics: ranked lists that are valid (with ``-1`` padding), float, out of
  range, with a repeated item, or for a different number of users; cut-offs
  ``k`` that are None, valid, larger than ``ranked``, 0, float or bool;
- splitters: valid and invalid ``test_size``, ``min_train``, ``n_splits``;
  ``y`` of another shape; more folds than users.

Named bad inputs (table-driven, :data:`BAD_INPUTS`, with the message expected)
are listed in that table; it doubles as documentation.

Bug fixed here (``_validation._canonical``): a boolean sparse matrix with
duplicate entries was read as holding 2.0 (scipy's ``astype`` sums them)
instead of True; see :func:`test_boolean_duplicates_count_once`.

Huge finite values (tests at the end of the file): ``MFRecommender`` raises a
ValueError when ``alpha * max(X)`` would overflow its solver's dtype, ``EASE``
when ``X.T @ X`` overflows float64.
"""

import copy
import math
import re
import warnings
from dataclasses import dataclass

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.exceptions import UndefinedMetricWarning

from sklearn_agn import GANAugmenter, MFRecommender
from sklearn_agn.baselines import EASE, MostPopular
from sklearn_agn.metrics import (
    catalogue_coverage,
    hit_rate_at_k,
    mrr_at_k,
    ndcg_at_k,
    precision_at_k,
    recall_at_k,
)
from sklearn_agn.model_selection import UserKFold, holdout_split

PROPERTY = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def make_mf():
    return MFRecommender(n_factors=4, n_iter=2, k=3, device="cpu", random_state=0)


def make_gan(**params):
    return GANAugmenter(
        g_hidden_sizes=(8,), d_hidden_sizes=(4,), noise_dim=2, max_iter=2,
        batch_size=16, g_steps=1, d_steps=1, device="cpu", random_state=0, **params,
    )


RECOMMENDERS = {
    "MFRecommender": make_mf,
    "MostPopular": lambda: MostPopular(k=3),
    "EASE": lambda: EASE(l2_reg=1.0, k=3),
}


# --------------------------------------------------------------------------
# The helper: works (or raises a clear ValueError/TypeError), input unchanged
# --------------------------------------------------------------------------

def _same_values(a, b):
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    return bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))


def assert_unchanged(obj, before, what="input"):
    """``obj`` is exactly ``before``: type, format, dtype, shape, stored arrays."""
    assert type(obj) is type(before), f"{what} changed type"
    if sp.issparse(obj):
        assert obj.format == before.format, f"{what} changed format"
        assert obj.dtype == before.dtype, f"{what} changed dtype"
        assert obj.shape == before.shape, f"{what} changed shape"
        if obj.format in ("csr", "csc", "bsr"):
            parts = ("data", "indices", "indptr")
        elif obj.format == "coo":
            parts = ("data", "row", "col")
        else:
            obj, before, parts = obj.toarray(), before.toarray(), ()
            assert _same_values(obj, before), f"{what} changed values"
        for part in parts:
            assert _same_values(getattr(obj, part), getattr(before, part)), (
                f"{what}.{part} was modified in place"
            )
    elif isinstance(obj, np.ndarray):
        assert _same_values(obj, before), f"{what} was modified in place"
    else:  # lists, scalars, None: repr compares nested lists, NaN included
        assert repr(obj) == repr(before), f"{what} was modified in place"


def call_checked(call, *inputs, raises=None, match=None):
    """Run ``call(*inputs)`` and check the robustness contract.

    ``raises=None``: the call must work; its result is returned.
    ``raises=ValueError`` or ``TypeError`` (or a tuple of them): it must raise
    that, with a message matching the regex ``match``; None is returned.
    ``raises="either"``: it may work or raise ``ValueError``/``TypeError``
    matching ``match``.
    In every case any other exception fails the test, and every input must be
    unchanged afterwards (compared with a deep copy taken before the call).
    """
    before = [copy.deepcopy(x) for x in inputs]
    name = getattr(call, "__qualname__", repr(call))
    try:
        try:
            result = call(*inputs)
        except (ValueError, TypeError) as exc:
            if raises is None:
                pytest.fail(f"{name} raised on valid input: {type(exc).__name__}: {exc}")
            allowed = (ValueError, TypeError) if raises == "either" else raises
            if not isinstance(exc, allowed):
                pytest.fail(f"{name} raised {type(exc).__name__} (expected {allowed}): {exc}")
            assert match is not None and re.search(match, str(exc)), (
                f"{name}: the message does not name the problem ({match!r}): {exc}"
            )
            return None
        except Exception as exc:  # noqa: BLE001 - this is what the test looks for
            pytest.fail(
                f"{name} raised {type(exc).__name__}, neither ValueError nor TypeError: {exc}"
            )
        if raises not in (None, "either"):
            pytest.fail(f"{name} did not raise {raises} ({match!r}); returned {result!r:.200}")
        return result
    finally:
        for i, (x, b) in enumerate(zip(inputs, before)):
            assert_unchanged(x, b, what=f"argument {i} of {name}")


# --------------------------------------------------------------------------
# Random interaction matrices
# --------------------------------------------------------------------------

FLOAT_DTYPES = (np.float64, np.float32)
DTYPES = FLOAT_DTYPES + (np.int64, np.int32, np.uint8, np.bool_)
CONTAINERS = (
    "ndarray", "list", "csr_matrix", "csr_array", "csc_matrix", "csc_array",
    "coo_matrix", "coo_array", "csr_noncanonical",
)
# Defect -> (value put in one cell, regex of the message that must name it).
DEFECTS = {
    "nan": (np.nan, r"contains NaN"),
    "inf": (np.inf, r"contains infinity"),
    "-inf": (-np.inf, r"contains infinity"),
    "negative": (-1.0, r"Negative values"),
}
VALUES = st.one_of(
    st.just(1.0),
    st.integers(1, 5).map(float),
    st.floats(0.05, 0.95),  # generated feedback
    st.floats(1.0, 1e6),  # large counts
)


@dataclass
class Sample:
    """A caller's matrix ``X`` and what any estimator must make of it."""

    X: object
    truth: np.ndarray  # float64 values of the canonical matrix (duplicates summed)
    defect: object
    dtype: type
    container: str

    @property
    def shape(self):
        return self.truth.shape

    @property
    def n_items(self):
        return self.truth.shape[1]

    @property
    def expected(self):
        """``call_checked`` keywords: works, or the defect's ValueError."""
        if self.defect is None:
            return {}
        return {"raises": ValueError, "match": DEFECTS[self.defect][1]}

    def is_sparray(self):
        return isinstance(self.X, sp.sparray)


def _split(v, dtype):
    """Two stored values whose sum (in ``dtype``) is ``v``: a duplicate entry."""
    if dtype is np.bool_:
        return v, v
    if np.dtype(dtype).kind == "f":
        return v / 2, v / 2  # exact in binary floating point
    return (v - 1, 1) if v >= 2 else (v, 0)


@st.composite
def interactions(draw, n_users=st.integers(1, 6), n_items=st.integers(1, 6), defects=True):
    """A :class:`Sample` of random shape, dtype, container and (maybe) defect."""
    n_users = draw(n_users, label="n_users")
    n_items = draw(n_items, label="n_items")
    shape = (n_users, n_items)
    stored = draw(arrays(np.bool_, shape), label="stored")
    values = draw(arrays(np.float64, shape, elements=VALUES), label="values")
    dense = np.where(stored, values, 0.0)
    defect = draw(st.sampled_from([None, *DEFECTS]) if defects else st.none(), label="defect")
    if defect in ("nan", "inf", "-inf"):
        dtype = draw(st.sampled_from(FLOAT_DTYPES))
    elif defect == "negative":
        dtype = draw(st.sampled_from(FLOAT_DTYPES + (np.int64, np.int32)))
    else:
        dtype = draw(st.sampled_from(DTYPES))
    if defect is not None:
        r, c = draw(st.integers(0, n_users - 1)), draw(st.integers(0, n_items - 1))
        dense[r, c] = DEFECTS[defect][0]
    if dtype is np.bool_:
        dense = dense > 0
    elif np.dtype(dtype).kind in "iu":
        dense = np.ceil(np.minimum(dense, np.iinfo(dtype).max)).astype(dtype)
    else:
        dense = dense.astype(dtype)
    truth = dense.astype(np.float64)
    container = draw(st.sampled_from(CONTAINERS), label="container")
    if container == "ndarray":
        return Sample(dense, truth, defect, dtype, container)
    if container == "list":
        return Sample(dense.tolist(), truth, defect, dtype, container)

    rows, cols = np.nonzero(dense)
    data = dense[rows, cols]
    entries = list(zip(rows.tolist(), cols.tolist(), data.tolist()))
    duplicates = draw(st.booleans(), label="duplicates") and container in (
        "coo_matrix", "coo_array", "csr_noncanonical")
    if duplicates:
        split = []
        for r, c, v in entries:
            if math.isfinite(v) and v > 0 and draw(st.booleans()):
                a, b = _split(v, dtype)
                split += [(r, c, a), (r, c, b)]
            else:
                split.append((r, c, v))
        entries = split
    if draw(st.booleans(), label="explicit zeros"):
        n_zeros = draw(st.integers(1, 3))
        for _ in range(n_zeros):
            entries.append((draw(st.integers(0, n_users - 1)),
                            draw(st.integers(0, n_items - 1)), 0))
    entries = draw(st.permutations(entries), label="entry order")
    r = np.array([e[0] for e in entries], dtype=np.int32)
    c = np.array([e[1] for e in entries], dtype=np.int32)
    v = np.array([e[2] for e in entries], dtype=dtype)
    if container == "csr_noncanonical":
        order = np.argsort(r, kind="stable")  # rows grouped, columns left unsorted
        indptr = np.concatenate([[0], np.cumsum(np.bincount(r, minlength=n_users))])
        X = sp.csr_matrix((v[order], c[order], indptr.astype(np.int32)), shape=shape)
    else:
        array = container.endswith("_array")
        coo = (sp.coo_array if array else sp.coo_matrix)((v, (r, c)), shape=shape)
        X = {"coo": coo, "csr": coo.tocsr(), "csc": coo.tocsc()}[container[:3]]
    return Sample(X, truth, defect, dtype, container)


def _expected_at_predict(sample, n_expected, name):
    """What ``predict``/``transform`` must do with ``sample`` after a fit on ``n_expected`` items.

    A wrong number of items is reported first, except for a list, whose
    columns are only known once it is converted (where a NaN, say, may be
    reported first: either message names a real problem).
    """
    if sample.n_items == n_expected:
        return sample.expected
    match = rf"X has {sample.n_items} features, but {name} is expecting {n_expected} features"
    if sample.container == "list" and sample.defect is not None:
        match = rf"{match}|{sample.expected['match']}"
    return {"raises": ValueError, "match": match}


def _expected_float_dtype(sample):
    """Float inputs keep their dtype; ints, bools and lists become float64."""
    keeps = sample.dtype is np.float32 and sample.container != "list"
    return np.float32 if keeps else np.float64


# --------------------------------------------------------------------------
# Recommenders: MFRecommender, MostPopular, EASE
# --------------------------------------------------------------------------

def check_ranking(ranked, truth, k):
    """``predict``'s contract for rows whose canonical values are ``truth``."""
    n_users, n_items = truth.shape
    assert ranked.shape == (n_users, k)
    assert ranked.dtype == np.intp
    assert ((ranked >= -1) & (ranked < n_items)).all()
    seen = truth > 0  # every stored entry of an unmarked matrix is a real interaction
    for row, is_seen in zip(ranked, seen):
        valid = row[row >= 0]
        # -1 only pads the end of a row ...
        assert (row[len(valid):] == -1).all(), row
        # ... and only when fewer than k items are eligible.
        assert len(valid) == min(k, n_items - is_seen.sum()), (row, is_seen)
        assert len(set(valid.tolist())) == len(valid), f"repeated item in {row}"
        assert not is_seen[valid].any(), f"recommends a seen item: {row}, seen {is_seen}"


@pytest.mark.parametrize("name", RECOMMENDERS)
@PROPERTY
@given(data=st.data())
def test_recommender_contract(name, data):
    fit_sample = data.draw(interactions(), label="X for fit")
    model = RECOMMENDERS[name]()
    fitted = call_checked(model.fit, fit_sample.X, **fit_sample.expected)
    if fit_sample.defect is not None:
        return
    assert fitted is model
    n_items = fit_sample.n_items
    assert model.n_features_in_ == n_items

    new = data.draw(interactions(n_items=st.one_of(st.just(n_items), st.integers(1, 7))),
                    label="X for predict")
    k = data.draw(st.integers(1, n_items + 2), label="k")
    expected = _expected_at_predict(new, n_items, name)
    scores = call_checked(model.decision_function, new.X, **expected)
    if k > n_items and not expected:
        expected = {"raises": ValueError, "match": r"larger than the catalogue"}
    ranked = call_checked(lambda X: model.predict(X, k=k), new.X, **expected)
    if expected:
        return

    assert scores.shape == new.shape and scores.dtype.kind == "f"
    assert np.isfinite(scores).all()
    check_ranking(ranked, new.truth, k)
    # The recommendations are the best-scored eligible items, best first.
    for row, s, truth in zip(ranked, scores, new.truth):
        valid = row[row >= 0]
        assert (np.diff(s[valid]) <= 0).all()
        others = np.setdiff1d(np.flatnonzero(truth == 0), valid)
        if len(valid) and len(others):
            assert s[valid].min() >= s[others].max()


# --------------------------------------------------------------------------
# GANAugmenter
# --------------------------------------------------------------------------

@PROPERTY
@given(data=st.data())
def test_gan_augmenter_contract(data):
    fit_sample = data.draw(interactions(), label="X for fit")
    threshold = data.draw(st.sampled_from([0, 3, 10]), label="sparse_threshold")
    n_generated = data.draw(st.sampled_from([2, 1.5]), label="n_generated")
    gan = make_gan(sparse_threshold=threshold, n_generated=n_generated)
    fitted = call_checked(gan.fit, fit_sample.X, **fit_sample.expected)
    if fit_sample.defect is not None:
        return
    assert fitted is gan
    n_items = fit_sample.n_items

    new = data.draw(interactions(n_items=st.one_of(st.just(n_items), st.integers(1, 7))),
                    label="X for transform")
    expected = _expected_at_predict(new, n_items, "GANAugmenter")
    out = call_checked(gan.transform, new.X, **expected)
    if expected:
        return

    # Container, shape, dtype.
    assert isinstance(out, sp.csr_array if new.is_sparray() else sp.csr_matrix)
    assert out.shape == new.shape
    assert out.dtype == _expected_float_dtype(new)
    dense = out.toarray().astype(np.float64)
    assert (out.data > 0).all(), "stored zeros in the output"
    real = new.truth > 0
    # Every real interaction is kept, binarised to 1.
    assert (dense[real] == 1).all()
    # Generated entries: unobserved items only, weights strictly in (0, 1).
    generated = (dense > 0) & ~real
    assert ((dense[generated] > 0) & (dense[generated] < 1)).all()
    counts = real.sum(axis=1)
    if isinstance(n_generated, int):
        n_add = np.full(len(counts), n_generated)
    else:
        n_add = np.ceil(n_generated * counts).astype(int)
    n_add = np.minimum(np.where(counts < threshold, n_add, 0), n_items - counts)
    np.testing.assert_array_equal(generated.sum(axis=1), n_add)
    # ... and they are the unobserved items the generator scores highest.
    scores = gan.score_items(new.X)
    assert scores.shape == new.shape
    for s, gen, obs in zip(scores, generated, real):
        rest = ~gen & ~obs
        if gen.any() and rest.any():
            # (a float32 tolerance: transform scores the rows in other batches)
            assert s[gen].min() >= s[rest].max() - 1e-6


# --------------------------------------------------------------------------
# Metrics
# --------------------------------------------------------------------------

METRICS = {
    "precision": precision_at_k,
    "recall": recall_at_k,
    "ndcg": ndcg_at_k,
    "mrr": mrr_at_k,
    "hit_rate": hit_rate_at_k,
}


def reference_metric(name, truth, ranked, k):
    """Plain-Python definition of each metric (module docstring of metrics.py)."""
    values = []
    for relevant_row, row in zip(truth > 0, ranked[:, :k]):
        relevant = set(np.flatnonzero(relevant_row).tolist())
        if not relevant:
            continue
        hits = [item >= 0 and item in relevant for item in row.tolist()]
        dcg = sum(1 / math.log2(rank + 2) for rank, hit in enumerate(hits) if hit)
        idcg = sum(1 / math.log2(rank + 2) for rank in range(min(k, len(relevant))))
        first = hits.index(True) + 1 if any(hits) else None
        values.append({
            "precision": sum(hits) / k,
            "recall": sum(hits) / len(relevant),
            "ndcg": dcg / idcg,
            "mrr": 1 / first if first else 0.0,
            "hit_rate": float(any(hits)),
        }[name])
    return float(np.mean(values)) if values else float("nan")


RANKED_FAULTS = {
    None: None,
    "float": (TypeError, r"integer item indices"),
    "out_of_range": (ValueError, r"outside \[0, \d+\)"),
    "repeated": (ValueError, r"more than once"),
    "rows": (ValueError, r"users \(rows\) but ranked has"),
    "1-D": (ValueError, r"2-D \(n_users, k\)"),
}
K_FAULTS = {
    "zero": (0, ValueError, r"k must be >= 1"),
    "float": (2.0, TypeError, r"k must be a positive integer"),
    "bool": (True, TypeError, r"k must be a positive integer"),
}


@st.composite
def rankings(draw, n_users, n_items):
    """A valid ``(n_users, n_cols)`` ranking: distinct items, then ``-1`` padding."""
    n_cols = draw(st.integers(1, n_items + 2), label="ranked columns")
    dtype = draw(st.sampled_from([np.int64, np.int32, np.int16, np.intp]))
    ranked = np.full((n_users, n_cols), -1, dtype=dtype)
    for u in range(n_users):
        items = draw(st.permutations(range(n_items)))
        m = draw(st.integers(0, min(n_cols, n_items)))
        ranked[u, :m] = items[:m]
    return ranked


@pytest.mark.parametrize("metric", METRICS)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_metric_contract(metric, data):
    sample = data.draw(interactions(), label="y_true")
    n_users, n_items = sample.shape
    ranked = data.draw(rankings(n_users, n_items), label="ranked")
    fault = data.draw(st.sampled_from(list(RANKED_FAULTS)), label="ranked fault")
    if fault == "float":
        ranked = ranked.astype(np.float64)
    elif fault == "out_of_range":
        ranked[0, 0] = data.draw(st.sampled_from([n_items, n_items + 5, -2]))
    elif fault == "repeated":
        ranked = np.hstack([ranked, ranked[:, :1]])
        ranked[0, -1] = ranked[0, 0] = max(ranked[0, 0], 0)
    elif fault == "rows":
        ranked = np.vstack([ranked, ranked[:1]])
    elif fault == "1-D":
        ranked = ranked[0]
    n_cols = ranked.shape[-1]
    k_choice = data.draw(st.sampled_from(["none", "valid", "too_large", *K_FAULTS]), label="k")
    k = {"none": None, "too_large": n_cols + 1}.get(k_choice)
    if k_choice == "valid":
        k = data.draw(st.integers(1, n_cols))
    elif k_choice in K_FAULTS:
        k = K_FAULTS[k_choice][0]

    # Validation order: y_true, then ranked, then the cut-off.
    if sample.defect is not None:
        expected = sample.expected
    elif fault is not None:
        expected = dict(zip(("raises", "match"), RANKED_FAULTS[fault]))
    elif k_choice == "too_large":
        expected = {"raises": ValueError, "match": rf"k={k} is larger than the {n_cols} columns"}
    elif k_choice in K_FAULTS:
        expected = dict(zip(("raises", "match"), K_FAULTS[k_choice][1:]))
    else:
        expected = {}
    undefined = not expected and not (sample.truth > 0).any()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = call_checked(lambda y, r: METRICS[metric](y, r, k), sample.X, ranked, **expected)
    if expected:
        return
    assert any(w.category is UndefinedMetricWarning for w in caught) == undefined
    assert isinstance(value, float)
    reference = reference_metric(metric, sample.truth, ranked, k or n_cols)
    if undefined:
        assert math.isnan(value)
    else:
        assert 0 <= value <= 1
        assert value == pytest.approx(reference, rel=1e-12, abs=1e-12)


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_catalogue_coverage_contract(data):
    n_users = data.draw(st.integers(1, 5))
    n_items = data.draw(st.integers(1, 6))
    ranked = data.draw(rankings(n_users, n_items))
    n_cols = ranked.shape[1]
    n_items_arg = data.draw(st.sampled_from([n_items, n_items - 1, 0, float(n_items), True]))
    k = data.draw(st.one_of(st.none(), st.integers(1, n_cols + 1)))
    if n_items_arg is True or isinstance(n_items_arg, float):
        expected = {"raises": TypeError, "match": r"n_items must be a positive integer"}
    elif n_items_arg == 0:
        expected = {"raises": ValueError, "match": r"n_items must be >= 1"}
    elif n_items_arg < n_items and ranked.max() >= n_items_arg:
        expected = {"raises": ValueError, "match": r"outside \["}
    elif k is not None and k > n_cols:
        expected = {"raises": ValueError, "match": r"larger than the"}
    else:
        expected = {}
    value = call_checked(lambda r: catalogue_coverage(r, n_items_arg, k), ranked, **expected)
    if expected:
        return
    top = ranked[:, : (k or n_cols)]
    assert value == len(set(top[top >= 0].tolist())) / n_items_arg
    assert 0 <= value <= 1


# --------------------------------------------------------------------------
# Splitters
# --------------------------------------------------------------------------

@PROPERTY
@given(data=st.data())
def test_holdout_split_contract(data):
    sample = data.draw(interactions(), label="X")
    test_size = data.draw(st.one_of(
        st.floats(0.01, 0.99), st.sampled_from([0, 1, 1.5, -0.1, "0.2", True])), label="test_size")
    min_train = data.draw(st.one_of(st.integers(0, 3), st.sampled_from([-1, 1.5])),
                          label="min_train")
    if isinstance(test_size, (str, bool)):
        expected = {"raises": TypeError, "match": r"test_size must be a float"}
    elif not 0 < test_size < 1:
        expected = {"raises": ValueError, "match": r"test_size must lie in \(0, 1\)"}
    elif isinstance(min_train, float):
        expected = {"raises": TypeError, "match": r"min_train must be a non-negative integer"}
    elif min_train < 0:
        expected = {"raises": ValueError, "match": r"min_train must be >= 0"}
    else:
        expected = sample.expected
    out = call_checked(
        lambda X: holdout_split(X, test_size, min_train=min_train, random_state=0),
        sample.X, **expected,
    )
    if expected:
        return
    X_train, X_test = out
    kind = sp.csr_array if sample.is_sparray() else sp.csr_matrix
    for part in (X_train, X_test):
        assert isinstance(part, kind) and part.format == "csr"
        assert part.shape == sample.shape
        assert part.dtype == _expected_float_dtype(sample)
        assert (part.data > 0).all()
    train, test = X_train.toarray(), X_test.toarray()
    assert not ((train > 0) & (test > 0)).any(), "train and test overlap"
    np.testing.assert_array_equal(train + test, sample.truth.astype(train.dtype))
    counts = (sample.truth > 0).sum(axis=1)
    n_test = np.minimum(np.floor(counts * test_size + 0.5), np.maximum(counts - min_train, 0))
    np.testing.assert_array_equal((test > 0).sum(axis=1), n_test)


@PROPERTY
@given(data=st.data())
def test_user_kfold_contract(data):
    sample = data.draw(interactions(), label="X")
    n_users = sample.shape[0]
    n_splits = data.draw(st.one_of(st.integers(2, 5), st.sampled_from([1, 2.0, True])),
                         label="n_splits")
    stratify = data.draw(st.booleans(), label="stratify")
    use_y = data.draw(st.sampled_from(["none", "same", "other shape"]), label="y")
    y = None
    if use_y != "none":
        if use_y == "same":
            shape = dict(n_users=st.just(n_users), n_items=st.just(sample.n_items))
        else:
            shape = {}
        y_sample = data.draw(interactions(**shape, defects=False), label="y sample")
        y = y_sample.X
    if isinstance(n_splits, (bool, float)):
        with pytest.raises(TypeError, match=r"n_splits must be an integer"):
            UserKFold(n_splits)
        return
    if n_splits < 2:
        with pytest.raises(ValueError, match=r"at least 2 folds"):
            UserKFold(n_splits)
        return
    cv = UserKFold(n_splits, shuffle=True, random_state=0, stratify=stratify)

    if sample.defect is not None:
        expected = sample.expected
    elif y is not None and y_sample.shape != sample.shape:
        expected = {"raises": ValueError, "match": r"y must hold the held-out interactions"}
    else:
        candidates = (np.arange(n_users) if y is None
                      else np.flatnonzero((y_sample.truth > 0).any(axis=1)))
        expected = {}
        if n_splits > len(candidates):
            expected = {"raises": ValueError, "match": rf"Cannot have n_splits={n_splits}"}
    inputs = (sample.X,) if y is None else (sample.X, y)
    folds = call_checked(lambda *a: list(cv.split(*a)), *inputs, **expected)
    if expected:
        return
    assert len(folds) == n_splits == cv.get_n_splits()
    tests = []
    for train, test in folds:
        assert len(test) > 0
        assert (np.diff(train) > 0).all() and (np.diff(test) > 0).all()
        np.testing.assert_array_equal(np.union1d(train, test), np.arange(n_users))
        assert len(np.intersect1d(train, test)) == 0
        tests.append(test)
    # The test folds partition the candidate users, sizes within one.
    np.testing.assert_array_equal(np.sort(np.concatenate(tests)), candidates)
    sizes = [len(t) for t in tests]
    assert max(sizes) - min(sizes) <= 1
    if stratify:
        activity = (sample.truth > 0).sum(axis=1)
        for threshold in np.unique(activity[candidates]):
            light = [np.sum(activity[t] <= threshold) for t in tests]
            assert max(light) - min(light) <= 1


# --------------------------------------------------------------------------
# Named bad inputs: the expected error and message (documentation by example)
# --------------------------------------------------------------------------

GOOD = np.array([[1, 0, 1, 0], [0, 1, 0, 0], [1, 1, 0, 1], [0, 0, 0, 0]], dtype=np.float64)


@pytest.fixture(scope="module")
def fitted():
    return {
        "mf": make_mf().fit(GOOD),
        "gan": make_gan(sparse_threshold=3, n_generated=2).fit(GOOD),
        "pop": MostPopular(k=2).fit(GOOD),
        "ease": EASE(k=2).fit(GOOD),
    }


def _with(value, at=(0, 1)):
    X = GOOD.copy()
    X[at] = value
    return X


# (id, call(fitted) -> (callable, inputs), exception, message fragment)
BAD_INPUTS = [
    ("fit X with NaN", lambda f: (make_mf().fit, _with(np.nan)), ValueError,
     "Input X contains NaN"),
    ("fit X with +inf", lambda f: (make_mf().fit, _with(np.inf)), ValueError,
     "Input X contains infinity"),
    ("fit X with -inf", lambda f: (EASE().fit, sp.csr_matrix(_with(-np.inf))), ValueError,
     "Input X contains infinity"),
    ("fit X with a negative value", lambda f: (MostPopular().fit, sp.csr_array(_with(-1.0))),
     ValueError, "Negative values in data passed to MostPopular"),
    ("fit GAN on NaN", lambda f: (make_gan().fit, sp.coo_matrix(_with(np.nan))), ValueError,
     "Input X contains NaN"),
    ("fit GAN on a negative value", lambda f: (make_gan().fit, _with(-2.0)), ValueError,
     "Negative values in data passed to GANAugmenter"),
    ("fit X with zero users", lambda f: (make_mf().fit, sp.csr_matrix((0, 4))), ValueError,
     r"0 sample\(s\)"),
    ("fit X with zero items", lambda f: (make_gan().fit, sp.csr_matrix((4, 0))), ValueError,
     r"0 feature\(s\)"),
    ("fit 1-D X", lambda f: (make_mf().fit, GOOD[0]), ValueError, "Expected 2D array"),
    ("fit 3-D X", lambda f: (MostPopular().fit, GOOD[None]), ValueError, "dim 3"),
    ("fit X = None", lambda f: (make_mf().fit, None), ValueError, "Expected 2D array"),
    ("fit string X", lambda f: (EASE().fit, np.array([["a", "b"], ["c", "d"]])), ValueError,
     "could not convert string to float"),
    ("fit complex X", lambda f: (make_mf().fit, GOOD + 1j), ValueError,
     "Complex data not supported"),
    ("predict with one item too many", lambda f: (f["mf"].predict, np.ones((2, 5))), ValueError,
     "X has 5 features, but MFRecommender is expecting 4 features"),
    ("predict with transposed X", lambda f: (f["ease"].predict, sp.csr_matrix(GOOD[:3].T)),
     ValueError, "Rows are users and columns are items"),
    ("decision_function with too few items",
     lambda f: (f["pop"].decision_function, GOOD[:, :3]), ValueError,
     "X has 3 features, but MostPopular is expecting 4"),
    ("transform with too few items", lambda f: (f["gan"].transform, sp.csr_array(GOOD[:, :2])),
     ValueError, "X has 2 features, but GANAugmenter is expecting 4"),
    ("transform X with NaN", lambda f: (f["gan"].transform, _with(np.nan)), ValueError,
     "Input X contains NaN"),
    ("score_items with a negative value", lambda f: (f["gan"].score_items, _with(-1.0)),
     ValueError, "Negative values"),
    ("predict X with a negative value", lambda f: (f["mf"].predict, sp.csr_matrix(_with(-3.0))),
     ValueError, "Negative values"),
    ("predict k larger than the catalogue", lambda f: (lambda X: f["mf"].predict(X, k=5), GOOD),
     ValueError, "k=5 is larger than the catalogue: the model knows only 4 items"),
    ("predict k=0", lambda f: (lambda X: f["pop"].predict(X, k=0), GOOD), ValueError,
     "k must be >= 1"),
    ("predict k=2.5", lambda f: (lambda X: f["ease"].predict(X, k=2.5), GOOD), TypeError,
     "k must be a positive integer"),
    ("predict k=True", lambda f: (lambda X: f["mf"].predict(X, k=True), GOOD), TypeError,
     "k must be a positive integer"),
    ("score with y of another shape", lambda f: (f["mf"].score, GOOD, GOOD[:, :3]), ValueError,
     r"y must be a \(n_users, n_items\) = \(4, 4\) matrix"),
    ("score without y", lambda f: (f["pop"].score, GOOD, None), ValueError, "score needs y"),
    ("sample(0)", lambda f: (f["gan"].sample, 0), ValueError,
     "n_samples must be a positive integer"),
    ("metric: float ranked", lambda f: (ndcg_at_k, GOOD, np.zeros((4, 2))), TypeError,
     "ranked must hold integer item indices"),
    ("metric: bool ranked", lambda f: (recall_at_k, GOOD, np.zeros((4, 2), bool)), TypeError,
     "ranked must hold integer item indices"),
    ("metric: 1-D ranked", lambda f: (precision_at_k, GOOD, np.arange(4)), ValueError,
     r"ranked must be a 2-D \(n_users, k\) array"),
    ("metric: item index out of range", lambda f: (mrr_at_k, GOOD, np.full((4, 1), 4)),
     ValueError, r"outside \[0, 4\)"),
    ("metric: padding other than -1", lambda f: (hit_rate_at_k, GOOD, np.full((4, 1), -2)),
     ValueError, "-1 is the only padding value"),
    ("metric: repeated item", lambda f: (ndcg_at_k, GOOD, np.array([[0, 0]] * 4)), ValueError,
     "more than once"),
    ("metric: ranked for other users", lambda f: (ndcg_at_k, GOOD, np.zeros((3, 1), int)),
     ValueError, "y_true has 4 users"),
    ("metric: k larger than ranked",
     lambda f: (lambda y, r: precision_at_k(y, r, k=3), GOOD, np.array([[0, 1]] * 4)), ValueError,
     "k=3 is larger than the 2 columns of ranked"),
    ("metric: y_true with NaN", lambda f: (recall_at_k, _with(np.nan), np.zeros((4, 1), int)),
     ValueError, "Input y_true contains NaN"),
    ("metric: negative y_true", lambda f: (mrr_at_k, _with(-1.0), np.zeros((4, 1), int)),
     ValueError, "Negative values in data passed to y_true"),
    ("coverage: n_items=0", lambda f: (catalogue_coverage, np.zeros((1, 1), int), 0),
     ValueError, "n_items must be >= 1"),
    ("holdout: test_size=0", lambda f: (lambda X: holdout_split(X, 0), GOOD), ValueError,
     r"test_size must lie in \(0, 1\)"),
    ("holdout: test_size='0.2'", lambda f: (lambda X: holdout_split(X, "0.2"), GOOD), TypeError,
     "test_size must be a float"),
    ("holdout: min_train=-1", lambda f: (lambda X: holdout_split(X, min_train=-1), GOOD),
     ValueError, "min_train must be >= 0"),
    ("holdout: X with inf", lambda f: (holdout_split, sp.csc_matrix(_with(np.inf))), ValueError,
     "contains infinity"),
    ("UserKFold: more folds than users",
     lambda f: (lambda X: list(UserKFold(5).split(X)), GOOD), ValueError,
     "Cannot have n_splits=5 greater than the number of users: 4"),
    ("UserKFold: more folds than users with a held-out item",
     lambda f: (lambda X, y: list(UserKFold(2).split(X, y)), GOOD, np.eye(4) * [1, 0, 0, 0]),
     ValueError, "users with a held-out item in y: 1"),
    ("UserKFold: y of another shape",
     lambda f: (lambda X, y: list(UserKFold(2).split(X, y)), GOOD, GOOD[:, :3]), ValueError,
     "y must hold the held-out interactions"),
    ("UserKFold: n_splits=1", lambda f: (UserKFold, 1), ValueError, "at least 2 folds"),
    ("UserKFold: random_state without shuffle",
     lambda f: (lambda s: UserKFold(2, shuffle=s, random_state=0), False), ValueError,
     "no effect since shuffle is False"),
]


@pytest.mark.parametrize(
    "make_call, error, match", [case[1:] for case in BAD_INPUTS], ids=[c[0] for c in BAD_INPUTS]
)
def test_named_bad_input_raises_clear_error(fitted, make_call, error, match):
    call, *inputs = make_call(fitted)
    call_checked(call, *inputs, raises=error, match=match)


def test_boolean_duplicates_count_once():
    """A duplicate entry of a boolean matrix is one True, as ``toarray`` says.

    (Regression: scipy's ``astype(float)`` sums duplicates, so validation used
    to turn it into a 2.0; fixed in ``_validation._canonical``.)
    """
    X = sp.csr_matrix(
        (np.ones(6, dtype=bool), np.array([0, 0, 1, 0, 1, 2]), np.array([0, 3, 5, 6])),
        shape=(3, 3),
    )
    assert not X.has_canonical_format
    train, test = call_checked(lambda X: holdout_split(X, 0.5, random_state=0), X)
    np.testing.assert_array_equal((train + test).toarray(), X.toarray())
    weights = call_checked(EASE(l2_reg=1.0).fit, X).item_weights_
    np.testing.assert_array_equal(weights, EASE(l2_reg=1.0).fit(X.toarray()).item_weights_)


def test_helper_catches_other_exceptions_and_mutation():
    """The helper itself must be able to fail (no tautologies)."""
    def boom(X):
        raise RuntimeError("not a clear error")

    def mutate(X):
        X.data[0] = 5.0

    X = sp.csr_matrix(GOOD)
    with pytest.raises(pytest.fail.Exception, match="neither ValueError nor TypeError"):
        call_checked(boom, X)
    with pytest.raises(pytest.fail.Exception, match="raised on valid input"):
        call_checked(lambda X: holdout_split(X, 0), X)
    with pytest.raises(AssertionError, match="does not name the problem"):
        call_checked(lambda X: holdout_split(X, 0), X, raises=ValueError, match="unrelated")
    with pytest.raises(AssertionError, match="modified in place"):
        call_checked(mutate, X)


# --------------------------------------------------------------------------
# Huge finite values: overflow is reported, never silent
# --------------------------------------------------------------------------

@pytest.mark.parametrize("value", [1e36, 1e100])
def test_mf_huge_finite_values_work_or_raise_clearly(value):
    X = sp.csr_matrix(_with(value, at=(0, 3)))
    model = make_mf()
    fitted = call_checked(model.fit, X, raises="either", match=r"(?i)too large|overflow|float64")
    if fitted is not None:
        ranked = call_checked(model.predict, X)
        check_ranking(ranked, X.toarray(), model.k)


def test_ease_overflowing_gram_matrix_works_or_raises_clearly():
    X = sp.csr_matrix(_with(1e160, at=(0, 3)))
    model = EASE(k=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        fitted = call_checked(model.fit, X, raises="either", match=r"(?i)too large|overflow|finite")
        if fitted is not None:
            check_ranking(call_checked(model.predict, X), X.toarray(), 2)
