"""The benchmark command on small generated triplet files."""

import json

import numpy as np
import pytest
import scipy.sparse as sp

from sklearn_agn import benchmark
from sklearn_agn.datasets import make_interactions
from sklearn_agn.model_selection import holdout_split


def write_triplets(path, X):
    coo = sp.coo_matrix(X)
    np.savetxt(path, np.column_stack([coo.row, coo.col, coo.data]), fmt="%d %d %g")


@pytest.fixture(scope="module")
def split():
    X = make_interactions(150, 60, 2500, random_state=0)
    return holdout_split(X, 0.2, random_state=0)


@pytest.fixture
def small_methods(monkeypatch):
    """Small models and grids, so that a run takes seconds."""
    monkeypatch.setattr(benchmark, "GAN_PARAMS", {
        "g_hidden_sizes": (16,), "d_hidden_sizes": (8,), "max_epochs": 3, "device": "cpu"})
    monkeypatch.setattr(benchmark, "MF_PARAMS", {"n_factors": 4, "n_iter": 3})
    methods = {m.name: m for m in benchmark.METHODS}
    mf = benchmark.Method("MF (iALS)", benchmark._mf,
                          {"n_factors": [4], "n_iter": [3], "alpha": [1.0, 4.0]}, True)
    gan_mf = benchmark.Method("GAN + MF", benchmark._gan_mf,
                              {"gan__n_generated": [1, 3], "mf__alpha": [1.0]}, True,
                              fit=benchmark._fit_gan_mf)
    return [methods["most popular"], methods["EASE"], mf, gan_mf]


def test_command_prints_tables_and_writes_files(tmp_path, split, small_methods, monkeypatch,
                                                capsys):
    train, test = split
    write_triplets(tmp_path / "train.txt", train)
    write_triplets(tmp_path / "test.txt", test)
    monkeypatch.setattr(benchmark, "METHODS", small_methods)
    report = benchmark.main([
        "--train", str(tmp_path / "train.txt"), "--test", str(tmp_path / "test.txt"),
        "--budget", "2", "--seeds", "2", "--quiet",
        "--json", str(tmp_path / "report.json"), "--csv", str(tmp_path / "table.csv"),
    ])
    out = capsys.readouterr().out
    for name in ("most popular", "EASE", "MF (iALS)", "GAN + MF"):
        assert f"| {name} |" in out
    assert "budget 2 settings per method" in out
    assert "| Q1 |" in out and "| Q4 |" in out
    # Stochastic methods: two seeds each, mean ± std; EASE's grid is cut to 2 of 6.
    rows = {row["method"]: row for row in report["results"]}
    assert len(rows["GAN + MF"]["runs"]) == 2 and len(rows["EASE"]["runs"]) == 1
    assert (rows["EASE"]["settings_tried"], rows["EASE"]["grid_size"]) == (2, 6)
    assert "±" in out.split("| GAN + MF |")[1].splitlines()[0]
    saved = json.loads((tmp_path / "report.json").read_text())
    assert saved["data"]["train"] == train.nnz and saved["data"]["test"] == test.nnz
    lines = (tmp_path / "table.csv").read_text().splitlines()
    assert lines[0].startswith("method,precision@5")
    assert len(lines) == 1 + 1 + 1 + 2 + 2


def test_choices_never_depend_on_test(split, small_methods):
    """Two different test sets: the same settings are chosen, validation scores agree."""
    train, test = split
    other_test = sp.csr_matrix(np.roll(test.toarray(), 1, axis=1))
    runs = [benchmark.run_benchmark(train, t, small_methods, budget=2, seeds=1, log=lambda _: 0)
            for t in (test, other_test)]
    for a, b in zip(runs[0]["results"], runs[1]["results"]):
        assert a["params"] == b["params"]
        assert a["validation_ndcg@20"] == b["validation_ndcg@20"]
    assert runs[0]["results"][0]["runs"] != runs[1]["results"][0]["runs"]


def test_quartiles_split_users_by_train_activity():
    train = sp.csr_matrix(np.triu(np.ones((8, 10))))  # row r holds 10 - r items
    test = sp.csr_matrix(np.eye(8, 10)[:, ::-1])
    ranked = np.tile(np.arange(9, -1, -1)[:2], (8, 1))  # items 9 then 8
    out = benchmark._quartiles(train, test, np.pad(ranked, ((0, 0), (0, 18)),
                                                    constant_values=-1))
    assert [q["users"] for q in out] == [2, 2, 2, 2]
    assert out[0]["train_interactions"] == "3-4" and out[3]["train_interactions"] == "9-10"
    # Only users 0 and 1 (test items 9 and 8) are hit, both in the densest quartile.
    assert [q["ndcg@20"] for q in out[:3]] == [0.0, 0.0, 0.0]
    assert out[3]["ndcg@20"] == pytest.approx((1 + 1 / np.log2(3)) / 2)
