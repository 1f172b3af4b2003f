"""The privacy benchmark command on tiny synthetic data: its table, and no held-out user fitted."""

import json

import pytest

from sklearn_agn import GANAugmenter, MFRecommender
from sklearn_agn.baselines import MFSampler, PopularitySampler, RandomizedResponseSampler
from sklearn_agn.benchmark import privacy
from sklearn_agn.datasets import make_interactions

pytest.importorskip("opacus")

SIZE = (120, 60, 3000)
ARGS = ["--synthetic", *map(str, SIZE), "--epsilons", "3", "inf", "--gan-epochs", "1",
        "--gan-hidden", "8", "8", "--gan-batch-size", "32", "--gan-learning-rate", "0.004", "0.002",
        "--n-factors", "4", "--n-iter", "3", "--device", "cpu", "--quiet"]
ESTIMATORS = (GANAugmenter, MFRecommender, PopularitySampler, MFSampler,
              RandomizedResponseSampler)


def _rows(X):
    """The rows of a sparse matrix as frozensets of their items."""
    X = X.tocsr()
    return [frozenset(X.indices[X.indptr[i]:X.indptr[i + 1]].tolist()) for i in range(X.shape[0])]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One run of the command, every row any estimator is fitted on (and MF predicts for)."""
    fitted, predicted = set(), set()
    path = tmp_path_factory.mktemp("privacy") / "report.json"
    with pytest.MonkeyPatch.context() as patch:
        for cls in ESTIMATORS:
            def fit(self, X, *args, _fit=cls.fit, **kwargs):
                fitted.update(_rows(X))
                return _fit(self, X, *args, **kwargs)

            patch.setattr(cls, "fit", fit)
        predict = MFRecommender.predict

        def recorded_predict(self, X, *args, **kwargs):
            predicted.update(_rows(X))
            return predict(self, X, *args, **kwargs)

        patch.setattr(MFRecommender, "predict", recorded_predict)
        report = privacy.main([*ARGS, "--json", str(path)])
    return report, json.loads(path.read_text()), fitted, predicted


def test_table_has_a_row_per_method_and_epsilon(run):
    report, saved, _, _ = run
    table = privacy.format_privacy_table(report).splitlines()
    assert table[0] == ("| method | epsilon | NDCG@20 synthetic | NDCG@20 real reference "
                        "| DCR AUC | score AUC |")
    cells = [[cell.strip() for cell in line.strip("|").split("|")] for line in table[2:]]
    assert [(c[0], c[1]) for c in cells] == [
        (method, epsilon) for method in privacy.METHODS for epsilon in ("3", "∞")]
    # The reference MF is fitted once, on the real training rows.
    assert {c[3] for c in cells} == {f"{report['reference']:.4f}"}
    results = {(r["method"], r["epsilon"]): r for r in report["results"]}
    # Randomized response has no model to attack; the others do.
    assert [c[5] == "—" for c in cells] == [m == "randomized response"
                                             for m in privacy.METHODS for _ in "12"]
    # Randomized response without privacy releases the training rows: the
    # planted leak the DCR attack must catch, and the real MF's utility.
    leak = results[("randomized response", None)]
    assert leak["dcr_auc"] > 0.9
    assert leak["ndcg@20 synthetic"] == pytest.approx(report["reference"])
    assert 0 < results[("GAN", 3.0)]["epsilon_spent"] <= 3.0
    assert results[("GAN", None)]["epsilon_spent"] is None
    assert saved["results"] == json.loads(json.dumps(report["results"]))
    assert saved["data"]["training_users"] + saved["data"]["held_out_users"] == SIZE[0]


def test_gan_options_reach_the_gan_of_the_report(run):
    report, saved, _, _ = run
    for option in ("g_hidden_sizes=(8,)", "batch_size=32", "g_learning_rate=0.004",
                   "d_learning_rate=0.002", "max_iter=1"):
        assert option in report["gan"] and option in saved["gan"]


def test_held_out_users_are_never_fitted_on(run):
    _, _, fitted, predicted = run
    X = make_interactions(*SIZE, random_state=0)  # the command's --synthetic data, seed 0
    train_users, held_out_users, history, _ = privacy.split_users(X, seed=0)
    training = _rows(X[train_users])
    # Rows long enough that no synthetic or noisy row matches them by chance,
    # and that no training row equals.
    held_out = [(full, past) for full, past in zip(_rows(X[held_out_users]), _rows(history))
                if len(past) >= 6 and full not in training and past not in training]
    assert len(held_out) > 10
    for full, past in held_out:
        assert full not in fitted and past not in fitted
    # The recording sees the right rows: the releases and the reference read
    # the training rows, and the held-out users are folded in from their history.
    assert set(training) <= fitted
    assert {past for _, past in held_out} <= predicted
