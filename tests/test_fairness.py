"""Ranking metrics by group of users (sklearn_agn.fairness) and the per-user values behind them."""

import sys

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import UndefinedMetricWarning

from sklearn_agn._validation import mark_generated
from sklearn_agn.fairness import activity_groups, group_ranking_metrics, ranking_metric_frame
from sklearn_agn.metrics import RANKING_METRICS, ndcg_at_k, ranking_metric_per_user

# Five users, top 3 of items 0, 1, 2 for everyone. Held out: user 0 item 0
# (hit at rank 1), user 1 items 1 and 3 (one hit, at rank 2), user 2 item 4
# (no hit), user 3 nothing (not evaluated), user 4 item 2 (hit at rank 3).
Y_TRUE = sp.csr_matrix(np.array([[1, 0, 0, 0, 0],
                                 [0, 1, 0, 1, 0],
                                 [0, 0, 0, 0, 1],
                                 [0, 0, 0, 0, 0],
                                 [0, 0, 1, 0, 0]], dtype=float))
RANKED = np.tile([0, 1, 2], (5, 1))
# NDCG@3 by hand: DCG sums 1 / log2(rank + 1) over the hits, IDCG is that of
# min(3, |truth|) hits in a row.
NDCG_USER_1 = (1 / np.log2(3)) / (1 + 1 / np.log2(3))
NDCG = np.array([1.0, NDCG_USER_1, 0.0, np.nan, 1 / np.log2(4)])
GENDER = np.array(["F", "F", "M", "M", "M"])


def test_per_user_ndcg_by_hand():
    np.testing.assert_allclose(ranking_metric_per_user(Y_TRUE, RANKED), NDCG)


@pytest.mark.parametrize("metric", sorted(RANKING_METRICS))
def test_per_user_values_average_to_the_metric(metric):
    values = ranking_metric_per_user(Y_TRUE, RANKED, k=2, metric=metric)
    assert np.isnan(values[3]) and not np.isnan(np.delete(values, 3)).any()
    assert np.nanmean(values) == pytest.approx(RANKING_METRICS[metric](Y_TRUE, RANKED, 2))


def test_per_user_values_undefined_and_bad_metric():
    with pytest.warns(UndefinedMetricWarning, match="No user has a held-out item"):
        assert np.isnan(ranking_metric_per_user(sp.csr_matrix((2, 3)), [[0], [1]])).all()
    with pytest.raises(ValueError, match="Unknown ranking metric 'auc'"):
        ranking_metric_per_user(Y_TRUE, RANKED, metric="auc")


def test_group_ndcg_and_gap_by_hand():
    result = group_ranking_metrics(Y_TRUE, RANKED, GENDER)
    # F: users 0 and 1; M: users 2 and 4 (user 3 has no held-out item).
    f, m = (1.0 + NDCG_USER_1) / 2, (0.0 + 0.5) / 2
    assert result.n_users == {"F": 2, "M": 2}
    assert result.by_group == pytest.approx({"F": f, "M": m})
    assert result.difference == pytest.approx(f - m)
    assert result.ratio == pytest.approx(m / f)
    assert result.overall == pytest.approx((1.0 + NDCG_USER_1 + 0.0 + 0.5) / 4)
    assert result.overall == pytest.approx(ndcg_at_k(Y_TRUE, RANKED))
    # Standard error of a mean of two values a, b: (|a - b| / sqrt(2)) / sqrt(2).
    assert result.sem == pytest.approx({"F": (1.0 - NDCG_USER_1) / 2, "M": 0.5 / 2})


def test_gap_is_between_the_extreme_groups():
    # Three groups, numbers as labels: 0 -> user 0 (1.0), 1 -> users 1, 2
    # (NDCG_USER_1 / 2), 2 -> users 3, 4 (only 4 evaluated: 0.5).
    result = group_ranking_metrics(Y_TRUE, RANKED, [0, 1, 1, 2, 2], metric="ndcg")
    assert list(result.by_group) == [0, 1, 2]
    assert result.n_users == {0: 1, 1: 2, 2: 1}
    assert result.difference == pytest.approx(1.0 - NDCG_USER_1 / 2)
    assert result.ratio == pytest.approx(NDCG_USER_1 / 2)
    assert np.isnan(result.sem[0])  # one user: no spread to estimate
    # Every group at 0: no ratio.
    nothing = group_ranking_metrics(Y_TRUE, np.full((5, 1), -1), [0, 0, 0, 0, 1])
    assert nothing.difference == 0.0 and np.isnan(nothing.ratio)


def test_labels_from_pandas():
    pd = pytest.importorskip("pandas")
    series = pd.Series(pd.Categorical(GENDER))
    assert (group_ranking_metrics(Y_TRUE, RANKED, series).by_group
            == group_ranking_metrics(Y_TRUE, RANKED, GENDER).by_group)


@pytest.mark.parametrize("labels", [
    np.array([0.0, 1.0, np.nan, 1.0, 0.0]),
    np.array(["F", None, "M", "M", "F"], dtype=object),
    np.array(["F", float("nan"), "M", "M", "F"], dtype=object),
], ids=["float NaN", "None", "NaN among strings"])
def test_missing_labels_are_an_error(labels):
    with pytest.raises(ValueError, match="holds 1 missing labels"):
        group_ranking_metrics(Y_TRUE, RANKED, labels)


def test_missing_pandas_labels_are_an_error():
    pd = pytest.importorskip("pandas")
    for labels in (pd.Series(["F", "M", pd.NA, "M", "F"], dtype="string"),
                   pd.Series(pd.Categorical(["F", "M", None, "M", "F"]))):
        with pytest.raises(ValueError, match="first for user 2"):
            group_ranking_metrics(Y_TRUE, RANKED, labels)


def test_users_without_held_out_items_need_no_label():
    # User 3 has no held-out item: its label is never read.
    labels = np.array(["F", "F", "M", None, "M"], dtype=object)
    assert (group_ranking_metrics(Y_TRUE, RANKED, labels)
            == group_ranking_metrics(Y_TRUE, RANKED, GENDER))


@pytest.mark.parametrize("groups, error, match", [
    (GENDER[:3], ValueError, "groups has 3 labels but y_true has 5 users"),
    (GENDER[:, None], ValueError, "1-D array"),
    (["F"] * 5, ValueError, r"fall in 1 group\(s\) \(\['F'\]\)"),
    # User 3, the only "X", has no held-out item: one group is left.
    (["F", "F", "F", "X", "F"], ValueError, r"fall in 1 group\(s\)"),
    (np.array(["F", 1, "M", 2, "F"], dtype=object), TypeError, "sort together"),
])
def test_bad_groups(groups, error, match):
    with pytest.raises(error, match=match):
        group_ranking_metrics(Y_TRUE, RANKED, groups)


def test_input_left_untouched():
    y_true, groups = Y_TRUE.copy(), GENDER.copy()
    group_ranking_metrics(y_true, RANKED, groups)
    assert (y_true != Y_TRUE).nnz == 0 and (groups == GENDER).all()


def test_activity_groups_by_hand():
    # 1, 2, 3, 3 interactions: quartiles Q1, Q2, then the tie shares Q3-Q4.
    X = np.array([[1, 0, 0], [1, 1, 0], [1, 1, 1], [1, 1, 1]])
    assert activity_groups(X).tolist() == ["Q1", "Q2", "Q3-Q4", "Q3-Q4"]
    assert activity_groups(X, n_groups=2).tolist() == ["Q1", "Q1", "Q2", "Q2"]
    # Ten groups or more: zero-padded, so that sorting the labels keeps the order.
    labels = activity_groups(np.tril(np.ones((12, 12))), n_groups=12)
    assert labels[:2].tolist() == ["Q01", "Q02"] and np.unique(labels).tolist() == labels.tolist()
    with pytest.raises(ValueError, match="n_groups must be >= 1"):
        activity_groups(X, n_groups=0)


def test_activity_groups_count_real_interactions_only():
    X = sp.csr_matrix(np.array([[1, 0.5, 0.5], [1, 1, 0]]))
    mark_generated(X, sp.csr_matrix(np.array([[0, 1, 1], [0, 0, 0]], dtype=bool)))
    # One real interaction against two, not three against two.
    assert activity_groups(X, n_groups=2).tolist() == ["Q1", "Q2"]


def test_metric_frame_matches_its_own_by_group():
    """Per-user values fed to MetricFrame directly give the same groups, gap and ratio."""
    metrics = pytest.importorskip("fairlearn.metrics")
    evaluated = ~np.isnan(NDCG)
    direct = metrics.MetricFrame(metrics=lambda y_true, y_pred: np.mean(y_true),
                                 y_true=NDCG[evaluated], y_pred=NDCG[evaluated],
                                 sensitive_features=GENDER[evaluated])
    ours = group_ranking_metrics(Y_TRUE, RANKED, GENDER)
    assert direct.by_group.to_dict() == pytest.approx(ours.by_group)
    assert direct.difference() == pytest.approx(ours.difference)
    assert direct.ratio() == pytest.approx(ours.ratio)
    frame = ranking_metric_frame(Y_TRUE, RANKED, GENDER)
    assert frame.by_group["ndcg"].to_dict() == pytest.approx(ours.by_group)
    assert frame.overall["ndcg"] == pytest.approx(ours.overall)


def test_metric_frame_several_metrics_and_features():
    pd = pytest.importorskip("pandas")
    pytest.importorskip("fairlearn")
    age = np.array(["young", "old", "old", "young", "old"])
    features = pd.DataFrame({"gender": GENDER, "age": age})
    frame = ranking_metric_frame(Y_TRUE, RANKED, features, k=2, metrics=["ndcg", "recall"])
    for metric in ("ndcg", "recall"):
        # Intersections of the two features: the same as one combined label.
        combined = group_ranking_metrics(Y_TRUE, RANKED, np.char.add(GENDER, age), k=2,
                                         metric=metric)
        # The frame lists the empty intersection (M, young: user 3 only) as NaN.
        assert {g + a: v for (g, a), v in frame.by_group[metric].dropna().items()} \
            == pytest.approx(combined.by_group)
    controlled = ranking_metric_frame(Y_TRUE, RANKED, GENDER, control_features=age)
    # Among the old users (1, 2, 4): F is user 1, M users 2 and 4.
    assert controlled.by_group["ndcg"]["old"].to_dict() == pytest.approx(
        {"F": NDCG_USER_1, "M": 0.25})
    with pytest.raises(ValueError, match="sensitive_features has 4 rows but y_true has 5"):
        ranking_metric_frame(Y_TRUE, RANKED, GENDER[:4])
    with pytest.raises(ValueError, match="metrics must name at least one"):
        ranking_metric_frame(Y_TRUE, RANKED, GENDER, metrics=[])


def test_metric_frame_without_fairlearn_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "fairlearn", None)
    monkeypatch.setitem(sys.modules, "fairlearn.metrics", None)
    with pytest.raises(ImportError, match=r"sklearn-agn\[fairness\]"):
        ranking_metric_frame(Y_TRUE, RANKED, GENDER)
