"""The benchmark command on small generated triplet files."""

import ast
import gc
import json
import weakref
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.stats import loguniform

from sklearn_agn import MFRecommender, benchmark
from sklearn_agn.benchmark import _methods
from sklearn_agn.benchmark._cli import read_user_groups
from sklearn_agn.benchmark._protocol import activity_groups
from sklearn_agn.benchmark._search import range_edges, sample_settings, space_size
from sklearn_agn.datasets import make_interactions
from sklearn_agn.fairness import group_ranking_metrics
from sklearn_agn.gan import GANAugmenter
from sklearn_agn.model_selection import holdout_split

# Small models, so that a run takes seconds. Lists of one value are fixed.
SMALL_GAN = {"gan__g_hidden_sizes": [(16,)], "gan__d_hidden_sizes": [(8,)],
             "gan__max_iter": [3], "gan__device": ["cpu"]}
SMALL_MF = {"n_factors": [4], "n_iter": [3]}


def write_triplets(path, X):
    coo = sp.coo_matrix(X)
    np.savetxt(path, np.column_stack([coo.row, coo.col, coo.data]), fmt="%d %d %g")


@pytest.fixture(scope="module")
def split():
    X = make_interactions(150, 60, 2500, random_state=0)
    return holdout_split(X, 0.2, random_state=0)


def small_mf():
    return benchmark.Method("MF (iALS)", _methods._mf, {**SMALL_MF, "alpha": [1.0, 4.0]}, True)


# On ``split``, with MF at small_mf()'s choice: a GAN setting that beats MF
# on validation (.4408 against .4286), and one that ruins it (.1101).
GAN_WINS = {"gan__sparse_threshold": [8], "gan__n_generated": [3], "gan__generated_weight": [0.5]}
GAN_LOSES = {"gan__sparse_threshold": [1000], "gan__n_generated": [50],
             "gan__generated_weight": [0.99]}


def small_gan_mf(augmentation=None):
    """GAN + MF as METHODS has it: the GAN's parameters searched on top of MF's choice."""
    augmentation = augmentation or {"gan__n_generated": [1, 3, 5],
                                    "gan__generated_weight": loguniform(0.01, 0.9)}
    return benchmark.Method("GAN + MF", _methods._gan_mf, {**SMALL_GAN, **augmentation}, True,
                            tuning_fitter=_methods.SharedGANFitter,
                            on_top_of=("MF (iALS)", "mf__"), first_setting={"gan": "passthrough"})


@pytest.fixture
def small_methods():
    methods = {m.name: m for m in benchmark.METHODS}
    generator = benchmark.Method(
        "CFGAN generator", _methods._generator,
        {f"augmenter__{k[5:]}": v for k, v in SMALL_GAN.items()}
        | {"augmenter__zr_coef": loguniform(0.01, 1)}, True, trains_gan_per_setting=True)
    itemknn = benchmark.Method("ItemKNN", methods["ItemKNN"].build,
                               {"n_neighbors": [1, 2, 50]}, False)
    return [methods["most popular"], itemknn, methods["EASE"], small_mf(), generator,
            small_gan_mf()]


def test_command_prints_tables_and_writes_files(tmp_path, split, small_methods, monkeypatch,
                                                capsys):
    train, test = split
    write_triplets(tmp_path / "train.txt", train)
    write_triplets(tmp_path / "test.txt", test)
    monkeypatch.setattr(_methods, "METHODS", small_methods)
    report = benchmark.main([
        "--train", str(tmp_path / "train.txt"), "--test", str(tmp_path / "test.txt"),
        "--budget", "2", "--gan-budget", "1", "--seeds", "2", "--quiet",
        "--json", str(tmp_path / "report.json"), "--csv", str(tmp_path / "table.csv"),
    ])
    captured = capsys.readouterr()
    assert captured.err == ""  # --quiet: no progress line or bar
    out = captured.out
    for name in ("most popular", "ItemKNN", "EASE", "MF (iALS)", "CFGAN generator",
                 "GAN + MF"):
        assert f"| {name} |" in out
    assert "2 settings drawn per method (1 for methods that train a GAN" in out
    assert "| Q1 |" in out and "| Q4 |" in out
    assert "| novelty@20 |" in out and "| gini@20 |" in out
    # The GAN's contribution: a row of both tables, a column of the quartile table.
    assert out.count("| GAN + MF − MF (iALS) | ") == 2
    assert "| MF (iALS) | CFGAN generator | GAN + MF | GAN + MF − MF (iALS) |" in out
    rows = {row["method"]: row for row in report["results"]}
    assert rows["CFGAN generator"]["settings_tried"] == 1
    assert rows["MF (iALS)"]["settings_tried"] == 2
    # Stochastic methods: two seeds each, mean ± std.
    assert len(rows["GAN + MF"]["runs"]) == 2 and len(rows["EASE"]["runs"]) == 1
    assert "±" in out.split("| GAN + MF |")[1].splitlines()[0]
    # A space of lists is counted; a space with a distribution is drawn from.
    assert (rows["MF (iALS)"]["settings_tried"], rows["MF (iALS)"]["space_size"]) == (2, 2)
    assert "| 2 of 2 |" in out.split("| MF (iALS) |")[1].splitlines()[0]
    assert rows["EASE"]["space_size"] is None and "| 2 drawn |" in out
    # One nearest neighbour or two is far worse than 50 of 60 items: the
    # choice is the largest value of the list, which the output flags.
    assert rows["ItemKNN"]["params"] == {"n_neighbors": 50}
    assert rows["ItemKNN"]["at_edge"] == {"n_neighbors": "high end of {1, 2, 50}"}
    assert "- ItemKNN: n_neighbors = 50 (high end of {1, 2, 50})" in out
    saved = json.loads((tmp_path / "report.json").read_text())
    assert saved["data"]["train"] == train.nnz and saved["data"]["test"] == test.nnz
    assert saved["results"][1]["at_edge"] == rows["ItemKNN"]["at_edge"]
    lines = (tmp_path / "table.csv").read_text().splitlines()
    assert lines[0].startswith("method,precision@5")
    assert len(lines) == 1 + 3 + 3 * 2


def test_command_shows_progress_unless_quiet(tmp_path, split, monkeypatch, capsys):
    """The GANs' epochs and losses, bars over settings and refits, and lines, on stderr.

    The shipped GAN methods, their GANs made small where the methods build them.
    """
    original = _methods.GANAugmenter
    monkeypatch.setattr(_methods, "GANAugmenter", lambda **params: original(
        g_hidden_sizes=(16,), d_hidden_sizes=(8,), max_iter=3, device="cpu", **params))
    train, test = split
    write_triplets(tmp_path / "train.txt", train)
    write_triplets(tmp_path / "test.txt", test)
    argv = ["--train", str(tmp_path / "train.txt"), "--test", str(tmp_path / "test.txt"),
            "--methods", "CFGAN generator", "GAN + MF", "--budget", "2", "--gan-budget", "1",
            "--seeds", "1"]
    quiet = benchmark.main(argv + ["--quiet"])
    assert capsys.readouterr().err == ""
    shown = benchmark.main(argv)
    captured = capsys.readouterr()
    # Both GAN methods train a GAN here (GAN + MF: its second setting).
    assert captured.err.count("GANAugmenter:") >= 2 and "g_loss=" in captured.err
    for bar in ("CFGAN generator settings", "GAN + MF settings", "GAN + MF refits"):
        assert bar in captured.err
    assert "CFGAN generator: chose " in captured.err
    assert "GANAugmenter" not in captured.out and "settings:" not in captured.out
    # Progress changes nothing that is reported.
    assert [row["params"] for row in shown["results"]] == [
        row["params"] for row in quiet["results"]]
    assert [row["validation_ndcg@20"] for row in shown["results"]] == [
        row["validation_ndcg@20"] for row in quiet["results"]]


def test_choices_never_depend_on_test(split):
    """Two different test sets: the same settings are chosen, validation scores agree."""
    train, test = split
    other_test = sp.csr_matrix(np.roll(test.toarray(), 1, axis=1))
    runs = [benchmark.run_benchmark(train, t, [small_mf(), small_gan_mf()], budget=2, seeds=1,
                                    log=lambda _: 0)
            for t in (test, other_test)]
    for a, b in zip(runs[0]["results"], runs[1]["results"]):
        assert a["params"] == b["params"]
        assert a["validation_ndcg@20"] == b["validation_ndcg@20"]
    assert runs[0]["results"][0]["runs"] != runs[1]["results"][0]["runs"]


def test_tied_train_counts_do_not_crash_the_run():
    """75% of the users with 2 train interactions: quartile edges tie (crashed on old main)."""
    rng = np.random.RandomState(0)
    n_users, n_items = 80, 40
    counts = np.where(np.arange(n_users) < 60, 2, rng.randint(5, 20, size=n_users))
    rows = np.repeat(np.arange(n_users), counts)
    items = np.concatenate([rng.choice(n_items, c, replace=False) for c in counts])
    train = sp.csr_matrix((np.ones(rows.size), (rows, items)), shape=(n_users, n_items))
    test = sp.csr_matrix((np.ones(n_users), (np.arange(n_users),
                                             rng.randint(n_items, size=n_users))))
    test = test - test.multiply(train.astype(bool))
    mf = benchmark.Method("MF", lambda params, seed: MFRecommender(
        n_factors=4, n_iter=3, random_state=seed, **params), {"alpha": [1.0, 4.0]}, True)
    report = benchmark.run_benchmark(train, test, [mf], budget=2, seeds=1, log=lambda _: 0)
    groups = report["quartiles"]["MF"][0]
    assert [g["quartile"] for g in groups] == ["Q1-Q3", "Q4"]
    assert [g["train_interactions"] for g in groups][0] == "2-2"
    assert sum(g["users"] for g in groups) == test.getnnz(axis=1).astype(bool).sum()


def test_quartiles_split_users_by_train_activity():
    train = sp.csr_matrix(np.triu(np.ones((8, 10))))  # row r holds 10 - r items
    test = sp.csr_matrix(np.eye(8, 10)[:, ::-1])
    ranked = np.tile(np.arange(9, -1, -1)[:2], (8, 1))  # items 9 then 8
    out = activity_groups(train, test, np.pad(ranked, ((0, 0), (0, 18)), constant_values=-1))
    assert [q["quartile"] for q in out] == ["Q1", "Q2", "Q3", "Q4"]
    assert [q["users"] for q in out] == [2, 2, 2, 2]
    assert out[0]["train_interactions"] == "3-4" and out[3]["train_interactions"] == "9-10"
    # Only users 0 and 1 (test items 9 and 8) are hit, both in the densest quartile.
    assert [q["ndcg@20"] for q in out[:3]] == [0.0, 0.0, 0.0]
    assert out[3]["ndcg@20"] == pytest.approx((1 + 1 / np.log2(3)) / 2)


@pytest.mark.parametrize("counts, labels, sizes", [
    # Ties at the second quartile's start: Q2 and Q3 merge, Q1 and Q4 stay.
    ([1, 1, 3, 3, 3, 3, 5, 6], ["Q1", "Q2-Q3", "Q4"], [2, 4, 2]),
    # Every user has the same count: one group.
    ([2] * 7, ["Q1-Q4"], [7]),
    # Fewer users than quartiles: one group per distinct count.
    ([4, 7], ["Q1-Q2", "Q3-Q4"], [1, 1]),
])
def test_tied_counts_stay_together_and_no_group_is_empty(counts, labels, sizes):
    n_items = max(counts) + len(counts)
    train = sp.csr_matrix(np.arange(n_items) < np.array(counts)[:, None], dtype=float)
    test = sp.csr_matrix(np.eye(len(counts), n_items)[:, ::-1])
    ranked = np.full((len(counts), 20), -1)
    out = activity_groups(train, test, ranked)
    assert [g["quartile"] for g in out] == labels
    assert [g["users"] for g in out] == sizes
    # Users who share a count are in one group: the count ranges do not overlap.
    bounds = [tuple(map(int, g["train_interactions"].split("-"))) for g in out]
    assert all(hi < lo for (_, hi), (lo, _) in zip(bounds, bounds[1:]))


def test_no_users_with_test_items_gives_no_groups():
    assert activity_groups(sp.csr_matrix(np.ones((3, 4))), sp.csr_matrix((3, 4)),
                           np.zeros((3, 20), dtype=int)) == []


def track_gan_fits(monkeypatch):
    """Weak references to every GANAugmenter fitted from now on."""
    fitted = []
    fit = GANAugmenter.fit

    def tracked_fit(self, X, y=None, **metadata):
        fitted.append(weakref.ref(self))
        return fit(self, X, y, **metadata)

    monkeypatch.setattr(GANAugmenter, "fit", tracked_fit)
    return fitted


def test_no_trained_gan_outlives_the_run(split, monkeypatch):
    """Tuning shares one GAN between settings, and frees it afterwards."""
    train, test = split
    fitted = track_gan_fits(monkeypatch)
    gan_mf = small_gan_mf({**GAN_WINS, "gan__generated_weight": [0.5, 0.2]})
    report = benchmark.run_benchmark(train, test, [small_mf(), gan_mf], budget=3, seeds=1,
                                     log=lambda _: 0)
    assert report["results"][1]["settings_tried"] == 3
    assert report["results"][1]["params"]["gan__generated_weight"] == 0.5
    # Augmenting nobody trains no GAN; two settings that differ only in what
    # the GAN adds share one; one is refitted with the chosen setting.
    assert len(fitted) == 2
    gc.collect()
    assert [ref() for ref in fitted] == [None, None]


def test_gan_mf_searches_the_gan_on_top_of_mf_choice(split):
    """MF fixed at MF's choice, augmenting nobody tried first, the GAN's contribution reported.

    On old main GAN + MF drew MF's parameters again, in a joint space: its
    validation score could fall below MF's, and nothing said what the GAN added.
    """
    train, test = split
    lines = []
    report = benchmark.run_benchmark(train, test, [small_mf(), small_gan_mf(GAN_WINS)],
                                     budget=2, seeds=2, log=lines.append)
    mf, gan_mf = report["results"]
    assert {name[len("mf__"):]: value for name, value in gan_mf["params"].items()
            if name.startswith("mf__")} == mf["params"] == {"n_factors": 4, "n_iter": 3,
                                                             "alpha": 1.0}
    # The first setting tried augments nobody: exactly MF's validation score.
    first = [line for line in lines if line.startswith("  GAN + MF ")][0]
    assert first == (f"  GAN + MF {{gan: 'passthrough'}}: validation NDCG@20 "
                     f"{mf['validation_ndcg@20']:.4f}")
    assert gan_mf["settings_tried"] == 2 and gan_mf["space_size"] == 2
    # Here the GAN's setting wins on validation, and changes the test figures.
    assert gan_mf["params"]["gan__n_generated"] == 3
    assert gan_mf["validation_ndcg@20"] > mf["validation_ndcg@20"]
    (contribution,) = report["contributions"]
    assert (contribution["method"], contribution["over"]) == ("GAN + MF", "MF (iALS)")
    for added, with_gan, alone in zip(contribution["runs"], gan_mf["runs"], mf["runs"]):
        assert added == {name: with_gan[name] - alone[name] for name in with_gan}
    assert all(run["ndcg@20"] != 0 for run in contribution["runs"])
    groups = report["quartiles"]
    for seed, added in enumerate(contribution["quartiles"]):
        assert [g["ndcg@20"] for g in added] == [
            a["ndcg@20"] - b["ndcg@20"] for a, b in zip(groups["GAN + MF"][seed],
                                                         groups["MF (iALS)"][seed])]
        assert [g["quartile"] for g in added] == [g["quartile"] for g in groups["MF (iALS)"][0]]
    # The tables show the mean ± std of the per-seed differences, signed.
    out = benchmark.format_tables(report)
    row = out.split("| GAN + MF − MF (iALS) | ")[1].splitlines()[0].split(" | ")
    ndcg = np.array([run["ndcg@20"] for run in contribution["runs"]])
    assert row[6] == f"{ndcg.mean():+.4f} ± {ndcg.std():.4f}"
    q1 = np.array([added[0]["ndcg@20"] for added in contribution["quartiles"]])
    assert out.split("| Q1 |")[1].splitlines()[0].endswith(
        f" | {q1.mean():+.4f} ± {q1.std():.4f} |")


def test_augmenting_nobody_gives_mf_exactly(split, monkeypatch):
    """When no GAN setting beats MF on validation, GAN + MF is MF: same scores, no GAN."""
    train, test = split
    fitted = track_gan_fits(monkeypatch)
    report = benchmark.run_benchmark(train, test, [small_mf(), small_gan_mf(GAN_LOSES)],
                                     budget=2, seeds=2, log=lambda _: 0)
    mf, gan_mf = report["results"]
    assert gan_mf["params"] == {"gan": "passthrough",
                                **{f"mf__{k}": v for k, v in mf["params"].items()}}
    assert gan_mf["validation_ndcg@20"] == mf["validation_ndcg@20"]
    assert gan_mf["at_edge"] == {}
    assert len(fitted) == 1  # the losing setting's GAN; none to refit
    without_time = [[{k: v for k, v in run.items() if k != "fit_time"} for run in row["runs"]]
                    for row in (mf, gan_mf)]
    assert without_time[0] == without_time[1]
    assert report["quartiles"]["GAN + MF"] == report["quartiles"]["MF (iALS)"]
    (contribution,) = report["contributions"]
    assert all(value == 0 for run in contribution["runs"] for name, value in run.items()
               if name != "fit_time")
    assert all(g["ndcg@20"] == 0 for seed in contribution["quartiles"] for g in seed)


def test_shipped_gan_mf_tunes_only_the_gan():
    methods = {m.name: m for m in benchmark.METHODS}
    gan_mf = methods["GAN + MF"]
    assert gan_mf.on_top_of == ("MF (iALS)", "mf__")
    assert gan_mf.first_setting == {"gan": "passthrough"}
    assert all(name.startswith("gan__") for sub in gan_mf.space for name in sub)
    # Every method comes after the one it builds on.
    names = list(methods)
    assert names.index("MF (iALS)") < names.index("GAN + MF")


def test_gan_mf_needs_mf(split, tmp_path, monkeypatch):
    train, test = split
    with pytest.raises(ValueError, match="'GAN \\+ MF' is tuned on top of 'MF \\(iALS\\)'"):
        benchmark.run_benchmark(train, test, [small_gan_mf()], log=lambda _: 0)
    # The command brings MF along. A budget of one setting augments nobody.
    write_triplets(tmp_path / "train.txt", train)
    write_triplets(tmp_path / "test.txt", test)
    monkeypatch.setattr(_methods, "METHODS", [small_mf(), small_gan_mf()])
    report = benchmark.main(["--train", str(tmp_path / "train.txt"), "--test",
                             str(tmp_path / "test.txt"), "--methods", "GAN + MF", "--budget", "1",
                             "--seeds", "1", "--quiet"])
    assert [row["method"] for row in report["results"]] == ["MF (iALS)", "GAN + MF"]
    assert report["results"][1]["params"]["gan"] == "passthrough"


def test_first_setting_is_tried_first_and_fit_fits_every_setting(split):
    """The warm protocol reads the fields the cold-start ones do: first_setting and fit."""
    train, test = split
    fitted = []
    knn = benchmark.Method(
        "ItemKNN", {m.name: m for m in benchmark.METHODS}["ItemKNN"].build,
        {"n_neighbors": [1, 50]}, False, first_setting={"n_neighbors": 2},
        fit=lambda model, X: fitted.append(X) or model.fit(X))
    lines = []
    report = benchmark.run_benchmark(train, test, [knn], budget=3, seeds=2, log=lines.append)
    (row,) = report["results"]
    # The first setting, then the whole space of lists; counted besides it.
    tried = [line.split(": validation")[0] for line in lines[:3]]
    assert tried[0] == "  ItemKNN {n_neighbors: 2}"
    assert sorted(tried[1:]) == ["  ItemKNN {n_neighbors: 1}", "  ItemKNN {n_neighbors: 50}"]
    assert (row["settings_tried"], row["space_size"]) == (3, 3)
    assert row["params"] == {"n_neighbors": 50}
    # Three settings on the validation split's fit part, one refit on train (not stochastic).
    assert len(fitted) == 4 and fitted[3] is train
    with pytest.raises(ValueError, match=r"'x': on_top_of=\('MF \(iALS\)', 'mf__'\) needs "
                       r"first_setting, the setting of its own parameters whose step changes "
                       r"nothing"):
        benchmark.Method("x", _methods._gan_mf, {}, True, on_top_of=("MF (iALS)", "mf__"))


def test_settings_are_drawn_reproducibly_within_their_ranges():
    space = {"n_factors": [32, 64, 128, 256], "alpha": loguniform(0.1, 100)}
    settings = sample_settings(space, 50, random_state=3)
    assert settings == sample_settings(space, 50, random_state=3)
    assert settings != sample_settings(space, 50, random_state=4)
    assert len(settings) == 50 and space_size(space) is None
    assert all(s["n_factors"] in space["n_factors"] and 0.1 <= s["alpha"] <= 100
               and type(s["alpha"]) is float for s in settings)
    # Log-uniform: as many draws in each decade.
    decades = np.histogram(np.log10([s["alpha"] for s in settings]), bins=3, range=(-1, 2))[0]
    assert decades.min() >= 8
    # A space of lists: drawn without replacement, never more than it holds.
    grid = {"a": [1, 2, 3], "b": ["x", "y"]}
    assert space_size(grid) == 6
    drawn = sample_settings(grid, 10, random_state=0)
    assert len(drawn) == 6 and len({tuple(s.items()) for s in drawn}) == 6
    assert sample_settings({}, 5, random_state=0) == [{}]


def test_range_edges():
    space = [{"scheme": [0.0], "reg": loguniform(0.1, 1000), "f": [32, 64, 128, 256],
              "w": ["score"], "pair": [1, 2]},
             {"scheme": [1.0], "reg": loguniform(1e-3, 10), "f": [32, 64, 128, 256],
              "w": ["score"], "pair": [1, 2]}]
    middle = {"scheme": 0.0, "reg": 30.0, "f": 64, "w": "score", "pair": 2}
    assert range_edges(space, middle) == {}
    assert range_edges(space, {**middle, "reg": 500.0, "f": 32}) == {
        "reg": "high end of loguniform(0.1, 1000)", "f": "low end of {32, 64, 128, 256}"}
    # 0.12 is low in (0.1, 1000) but not in the range of its own scheme.
    assert range_edges(space, {**middle, "reg": 0.12}) == {
        "reg": "low end of loguniform(0.1, 1000)"}
    assert range_edges(space, {**middle, "scheme": 1.0, "reg": 0.12}) == {}
    # 10% in log space: just inside and just outside.
    assert range_edges(space, {**middle, "reg": 0.1 * 10 ** 0.39}) == {
        "reg": "low end of loguniform(0.1, 1000)"}
    assert range_edges(space, {**middle, "reg": 0.1 * 10 ** 0.41}) == {}


def parse_cells(out, first_cell, after=""):
    """The cells after the first one of the first table row starting ``| first_cell |``."""
    row = out.split(after, 1)[1].split(f"| {first_cell} |", 1)[1].splitlines()[0]
    return [cell.strip() for cell in row.strip(" |").split(" | ")]


def test_user_group_tables_with_the_largest_gap(split):
    """NDCG@20 per user group and the gap, per method and for the GAN's contribution."""
    train, test = split
    gender = np.where(np.arange(train.shape[0]) % 3 == 0, "F", "M")
    band = np.array(["young", "middle", "old"])[np.arange(train.shape[0]) % 5 % 3]
    mf_method = small_mf()
    report = benchmark.run_benchmark(train, test, [mf_method, small_gan_mf(GAN_WINS)],
                                     budget=2, seeds=2, log=lambda _: 0,
                                     user_groups={"gender": gender, "age": band})
    mf, gan_mf = report["results"]
    for seed in range(2):
        # The same refit, scored by the public function.
        ranked = mf_method.build(mf["params"], seed).fit(train).predict(train, k=20)
        expected = group_ranking_metrics(test, ranked, gender, k=20)
        got = report["groups"]["MF (iALS)"][seed]["gender"]
        assert got["by_group"] == pytest.approx(expected.by_group)
        assert got["difference"] == pytest.approx(expected.difference)
    (contribution,) = report["contributions"]
    for seed, added in enumerate(contribution["groups"]):
        with_gan = report["groups"]["GAN + MF"][seed]["age"]
        alone = report["groups"]["MF (iALS)"][seed]["age"]
        assert added["age"]["difference"] == with_gan["difference"] - alone["difference"]
        assert added["age"]["by_group"] == {label: value - alone["by_group"][label]
                                            for label, value in with_gan["by_group"].items()}
    out = benchmark.format_tables(report)
    assert "NDCG@20 by gender" in out and "NDCG@20 by age" in out
    assert "| gender | users | MF (iALS) | GAN + MF | GAN + MF − MF (iALS) |" in out
    n_f = int(((test.getnnz(axis=1) > 0) & (gender == "F")).sum())
    assert parse_cells(out, "F", "NDCG@20 by gender")[0] == str(n_f)
    mf_gap = np.array([runs["age"]["difference"] for runs in report["groups"]["MF (iALS)"]])
    added_gap = np.array([runs["age"]["difference"] for runs in contribution["groups"]])
    cells = parse_cells(out, "largest gap", "NDCG@20 by age")  # MF, GAN + MF, GAN's part
    assert cells[0] == f"{mf_gap.mean():.4f} ± {mf_gap.std():.4f}"
    assert cells[2] == f"{added_gap.mean():+.4f} ± {added_gap.std():.4f}"
    # The activity table has its gap row too: highest quartile minus lowest,
    # and for the contribution, GAN + MF's gap minus MF's, seed by seed.
    quartile_gap = [max(g["ndcg@20"] for g in runs) - min(g["ndcg@20"] for g in runs)
                    for runs in report["quartiles"]["MF (iALS)"]]
    gan_gap = [max(g["ndcg@20"] for g in runs) - min(g["ndcg@20"] for g in runs)
               for runs in report["quartiles"]["GAN + MF"]]
    cells = parse_cells(out, "largest gap", "by quartile")
    assert cells[0] == f"{np.mean(quartile_gap):.4f} ± {np.std(quartile_gap):.4f}"
    added_gap = np.subtract(gan_gap, quartile_gap)
    assert cells[-1] == f"{added_gap.mean():+.4f} ± {added_gap.std():.4f}"


def test_bad_user_groups_fail_before_training(split, monkeypatch):
    train, test = split
    fitted = track_gan_fits(monkeypatch)
    lines = []
    with pytest.raises(ValueError, match=r"fall in 1 group\(s\)"):
        benchmark.run_benchmark(train, test, [small_mf(), small_gan_mf(GAN_WINS)], budget=2,
                                seeds=1, log=lines.append,
                                user_groups={"country": ["FR"] * train.shape[0]})
    with pytest.raises(ValueError, match="groups has 3 labels"):
        benchmark.run_benchmark(train, test, [small_mf()], log=lines.append,
                                user_groups={"gender": ["F", "M", "F"]})
    assert lines == [] and fitted == []


def test_command_reads_user_groups(tmp_path, split, monkeypatch, capsys):
    train, test = split
    write_triplets(tmp_path / "train.txt", train)
    write_triplets(tmp_path / "test.txt", test)
    with open(tmp_path / "groups.csv", "w") as fh:
        fh.write("user_id,gender\n")
        fh.writelines(f"{u},{'FM'[u % 2]}\n" for u in range(train.shape[0]))
    monkeypatch.setattr(_methods, "METHODS", [small_mf()])
    args = ["--train", str(tmp_path / "train.txt"), "--test", str(tmp_path / "test.txt"),
            "--budget", "1", "--seeds", "1", "--quiet"]
    report = benchmark.main(args + ["--user-groups", str(tmp_path / "groups.csv"),
                                    "--json", str(tmp_path / "report.json")])
    out = capsys.readouterr().out
    assert "| gender | users | MF (iALS) |" in out
    assert list(report["groups"]["MF (iALS)"][0]["gender"]["by_group"]) == ["F", "M"]
    saved = json.loads((tmp_path / "report.json").read_text())
    assert saved["groups"] == report["groups"]
    (tmp_path / "bad.csv").write_text("user_id,gender\n0,F\n0,M\n")
    with pytest.raises(SystemExit):
        benchmark.main(args + ["--user-groups", str(tmp_path / "bad.csv")])
    assert "--user-groups: " in capsys.readouterr().err


@pytest.mark.parametrize("text, match", [
    ("user_id\n0\n", "expected a header line"),
    ("user_id,gender\n0,F,x\n", "line 2: 3 fields, the header has 2"),
    ("user_id,gender\n0,F\n0,M\n", "line 3: user 0 is listed twice"),
    ("user_id,gender\nu7,F\n", "line 2: 'u7' is not a user id of TEST"),
    ("user_id,gender\n9,F\n", r"line 2: '9' is not a user id of TEST \(0 to 2\)"),
    ("user_id,gender\n0,F\n", "2 users with a test item have no line, e.g. user 1"),
])
def test_user_groups_file_errors(tmp_path, text, match):
    (tmp_path / "groups.csv").write_text(text)
    test = sp.csr_matrix(np.array([[1, 0], [0, 1], [1, 1]]))
    with pytest.raises(ValueError, match=match):
        read_user_groups(tmp_path / "groups.csv", test)


def test_user_groups_file_reads_labels(tmp_path):
    (tmp_path / "groups.csv").write_text("user_id,gender,age\n2,M,old\n0,F,\n")
    test = sp.csr_matrix(np.array([[1, 0], [0, 0], [1, 1]]))
    groups = read_user_groups(tmp_path / "groups.csv", test)
    # User 1 (no test item, no line) and an empty field have no label.
    assert groups["gender"].tolist() == ["F", None, "M"]
    assert groups["age"].tolist() == [None, None, "old"]


def test_benchmark_scripts_import_public_names_only():
    """The scripts of benchmarks/ are examples users copy: public API only (issue 19)."""
    scripts = sorted((Path(__file__).resolve().parents[1] / "benchmarks").glob("*.py"))
    assert scripts
    private = []
    for script in scripts:
        for node in ast.walk(ast.parse(script.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [f"{node.module}.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            private += [f"{script.name}:{node.lineno} {name}" for name in names
                        if name.split(".")[0] == "sklearn_agn"
                        and any(part.startswith("_") for part in name.split("."))]
    assert private == []
