"""The cold-start benchmark command: protocol pieces by hand, then a small run end to end."""

import json

import numpy as np
import pytest
import scipy.sparse as sp

from sklearn_agn.benchmark import (Method, _cold_start_methods, _cold_start_protocol, _methods,
                                   cold_start)
from sklearn_agn.datasets import make_interactions, make_item_attributes


def test_recall_is_hits_over_min_relevant_and_k():
    truth = sp.csr_matrix(np.array([[1, 1, 1, 0, 0], [0, 0, 0, 1, 0], [0, 0, 0, 0, 0]]))
    ranked = np.array([[0, 3], [4, 3], [0, 1]])
    # User 0: 1 hit of 3 relevant, cut-off 2 -> 1 / min(3, 2); user 1: 1 / 1; user 2 not scored.
    assert _cold_start_protocol._recall(truth, ranked, k=2) == pytest.approx((1 / 2 + 1) / 2)


def test_split_items_partitions_the_items_that_appear():
    X = sp.csr_matrix(np.ones((3, 50)))
    X[:, 7] = 0
    X.eliminate_zeros()
    warm, cold_val, cold_test = cold_start.split_items(X, seed=0)
    assert (len(warm), len(cold_val), len(cold_test)) == (39, 5, 5)
    together = np.concatenate([warm, cold_val, cold_test])
    np.testing.assert_array_equal(np.sort(together), np.setdiff1d(np.arange(50), [7]))
    assert not np.array_equal(cold_start.split_items(X, seed=1)[2], cold_test)


def test_relabelled_ties_are_broken_at_random():
    # All-zero scores (MF's cold items) rank by column index; after relabelling,
    # the first-ranked item differs from seed to seed.
    X = sp.csr_matrix(np.eye(30))
    relabelled = [_cold_start_protocol._relabel_items(X, None, seed)[0] for seed in range(10)]
    firsts = {int(np.flatnonzero(X_seed[0].toarray())[0]) for X_seed in relabelled}
    assert len(firsts) > 1


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Ratings and attribute CSVs of a planted structure the attributes reveal."""
    X, _, items = make_interactions(400, 150, 6000, n_factors=3, preference_concentration=0.05,
                                    popularity_mix=0.1, random_state=0, return_factors=True)
    A = make_item_attributes(items, n_features=9, noise=0.1, random_state=0).toarray()
    folder = tmp_path_factory.mktemp("coldstart")
    rows, cols = X.nonzero()
    ids = 1000 + np.arange(150)  # item ids are not column indices
    (folder / "ratings.csv").write_text("user,item\n" + "".join(
        f"{u},{ids[i]}\n" for u, i in zip(rows, cols)))
    (folder / "items.csv").write_text(
        "item_id," + ",".join(f"tag{j}" for j in range(9)) + "\n"
        + "".join(f"{ids[i]}," + ",".join(str(int(v)) for v in A[i]) + "\n" for i in range(150)))
    return folder


def test_command_on_csv_files(files, tmp_path, capsys):
    out = tmp_path / "report.json"
    report = cold_start.main([
        "--ratings", str(files / "ratings.csv"), "--items", str(files / "items.csv"),
        "--methods", "random", "feature popularity", "attribute item-KNN", "MF + ridge map",
        "--seeds", "2", "--budget", "2", "--json", str(out), "--quiet"])
    captured = capsys.readouterr()
    assert captured.err == ""  # --quiet: no progress line or bar
    printed = captured.out
    assert "| MF + ridge map |" in printed and "cold share of top 20" in printed
    saved = json.loads(out.read_text())
    assert saved["data"]["items"] == 150 and saved["data"]["item_features"] == 9
    methods = [row["method"] for row in saved["results"]]
    assert methods == ["random", "feature popularity", "attribute item-KNN", "MF + ridge map"]
    for row in saved["results"]:
        assert [run["seed"] for run in row["runs"]] == [0, 1]
        for run in row["runs"]:
            assert 0 <= run["ndcg@20"] <= 1 and 0 <= run["recall@20"] <= 1
    for row in saved["all_items"]:
        for run in row["runs"]:
            assert 0 <= run["cold_share@20"] <= 1
    ndcg = {row["method"]: np.mean([r["ndcg@20"] for r in row["runs"]])
            for row in report["results"]}
    # The attributes reveal the planted clusters: both personalised methods beat random.
    assert ndcg["attribute item-KNN"] > ndcg["random"] + 0.1
    assert ndcg["MF + ridge map"] > ndcg["random"] + 0.1
    # A random ranking puts cold-test items in the top 20 in proportion to their number.
    random_row = next(r for r in report["all_items"] if r["method"] == "random")
    assert 0.03 < np.mean([r["cold_share@20"] for r in random_row["runs"]]) < 0.2


def test_seed_ranges_merge_into_one_report(files, tmp_path, capsys):
    common = ["--ratings", str(files / "ratings.csv"), "--items", str(files / "items.csv"),
              "--methods", "feature popularity", "--seeds", "1", "--quiet"]
    cold_start.main(common + ["--json", str(tmp_path / "a.json")])
    cold_start.main(common + ["--first-seed", "1", "--json", str(tmp_path / "b.json")])
    merged = cold_start.main(["--merge", str(tmp_path / "b.json"), str(tmp_path / "a.json")])
    assert [run["seed"] for run in merged["results"][0]["runs"]] == [0, 1]
    whole = cold_start.main(common[:-3] + ["--seeds", "2", "--quiet"])
    np.testing.assert_allclose([r["ndcg@20"] for r in merged["results"][0]["runs"]],
                               [r["ndcg@20"] for r in whole["results"][0]["runs"]])


def test_user_cold_start_needs_user_attributes(files):
    with pytest.raises(SystemExit):
        cold_start.main(["--ratings", str(files / "ratings.csv"), "--items",
                         str(files / "items.csv"), "--user-cold-start", "--quiet"])



def test_no_items_does_not_need_the_item_methods(files, monkeypatch):
    # --no-items runs no item method: one that cannot run here (LightFM not
    # installed, a default method) does not stop the command.
    lightfm = next(m for m in cold_start.ITEM_METHODS if m.name == "LightFM (WARP)")
    monkeypatch.setattr(lightfm, "requires", lambda: "lightfm is not installed")
    common = ["--ratings", str(files / "ratings.csv"), "--items", str(files / "items.csv"),
              "--seeds", "1", "--quiet"]
    report = cold_start.main(common + ["--no-items"])
    assert report["results"] == [] and report["all_items"] == []
    with pytest.raises(SystemExit):
        cold_start.main(common)

def _small_gans(monkeypatch, max_iter):
    """GANAugmenter made small and fast where the cold-start methods build it (the GAN alone,
    and the GAN step of the warm benchmark's GAN + MF pipeline); returns those built."""
    small = dict(g_hidden_sizes=(32,), d_hidden_sizes=(16,), max_iter=max_iter,
                 batch_size=64)
    original, built = _methods.GANAugmenter, []

    def build(**params):
        built.append(original(**{**small, **params}))
        return built[-1]

    monkeypatch.setattr(_methods, "GANAugmenter", build)
    monkeypatch.setattr(_cold_start_methods, "GANAugmenter", build)
    return built


def test_gan_methods_rank_cold_items_from_attributes(files, monkeypatch):
    # A small, fast GAN: the planted clusters the attributes reveal are easy.
    _small_gans(monkeypatch, max_iter=15)
    # Budget 1: the GAN methods' first setting, the one chosen on ML-100K.
    report = cold_start.main([
        "--ratings", str(files / "ratings.csv"), "--items", str(files / "items.csv"),
        "--methods", "random", "MF alone", "generator alone", "GAN + MF",
        "GAN cold items into MF", "--seeds", "1", "--budget", "1", "--quiet"])
    ndcg = {row["method"]: row["runs"][0]["ndcg@20"] for row in report["results"]}
    for name in ("generator alone", "GAN + MF", "GAN cold items into MF"):
        assert ndcg[name] > ndcg["random"] + 0.1, name
    all_items = {row["method"]: row["runs"][0] for row in report["all_items"]}
    assert all_items["GAN + MF"]["cold_share@20"] > 0
    assert all_items["GAN cold items into MF"]["cold_share@20"] > 0
    # Cold items learned after MF leave every warm factor as "MF alone" learned it.
    assert all_items["GAN cold items into MF"]["warm_ndcg@20"] == pytest.approx(
        all_items["MF alone"]["warm_ndcg@20"], abs=0.03)


def test_gan_methods_search_their_setting_on_the_first_seed(files, tmp_path, monkeypatch,
                                                            capsys):
    built = _small_gans(monkeypatch, max_iter=8)
    # A first setting that generates no feedback: MF ranks the cold items at
    # random, so a drawn setting must win the search.
    method = next(m for m in cold_start.ITEM_METHODS if m.name == "GAN + MF")
    monkeypatch.setattr(method, "first_setting", {**method.first_setting,
                                                  "gan__sparse_threshold": 0,
                                                  "gan__cold_item_share": 0.0})
    out = tmp_path / "report.json"
    report = cold_start.main([
        "--ratings", str(files / "ratings.csv"), "--items", str(files / "items.csv"),
        "--methods", "GAN + MF", "--seeds", "2", "--budget", "3", "--json", str(out)])
    row = report["results"][0]
    (search,) = row["search"]
    assert search["seed"] == 0
    tried = search["settings"]
    # The first setting, then two drawn from the space, all distinct.
    assert len(tried) == 3 and tried[0]["params"] == method.first_setting
    assert len({json.dumps(t["params"], sort_keys=True) for t in tried}) == 3
    best = max(tried, key=lambda t: t["validation_ndcg@20"])
    assert best is not tried[0]
    first, second = row["runs"]
    assert first["params"] == best["params"]
    assert first["validation_ndcg@20"] == best["validation_ndcg@20"]
    # Kept for seed 1, where only that setting is fitted: 3 settings + the all-items
    # refit on seed 0, 1 + 1 on seed 1.
    assert second["params"] == best["params"]
    assert len(built) == 6
    assert row["notes"] == [f"searched on seed 0's cold-validation items (3 settings), then "
                            f"kept for every seed: {_cold_start_protocol._short(best['params'])}"]
    captured = capsys.readouterr()
    assert f"- GAN + MF: {row['notes'][0]}" in captured.out
    # Progress: a bar per method and seed over its settings, and the GAN's epochs.
    assert "seed 0 GAN + MF" in captured.err and "GANAugmenter" in captured.err
    # The search and its note survive --merge.
    merged = cold_start.main(["--merge", str(out)])
    assert merged["results"][0]["search"] == row["search"]
    assert merged["results"][0]["notes"] == row["notes"]


def test_gan_methods_start_from_the_ml100k_setting():
    methods = {m.name: m for m in cold_start.ITEM_METHODS}
    for name in ("GAN + MF", "GAN cold items into MF", "generator alone"):
        method = methods[name]
        assert method.trains_gan_per_setting
        settings = method.settings(4, seed=0)
        assert settings[0] == method.first_setting and len(settings) == 4
        assert method.settings(1, seed=0) == [method.first_setting]
        # Every drawn setting sets the same parameters as the first one.
        assert all(set(s) == set(method.first_setting) for s in settings)
    # The cold items' MF stays that of "MF alone", so that warm accuracy compares.
    folded_in = methods["GAN cold items into MF"].settings(4, seed=0)
    mf_alone = methods["MF alone"].settings(4, seed=0)[0]
    assert all({k: v for k, v in s.items() if k.startswith("mf__")} == mf_alone
               for s in folded_in)


# --- input checks, before anything is fitted ----------------------------------------------


def _no_fit(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("a model was built")

    monkeypatch.setattr(Method, "make", fail)


def _write_ratings(folder, item_ids, n_users=20):
    """Every user rates every item."""
    (folder / "ratings.csv").write_text("user,item\n" + "".join(
        f"{u},{i}\n" for u in range(n_users) for i in item_ids))
    return str(folder / "ratings.csv")


def _write_items(folder, item_ids):
    (folder / "items.csv").write_text("item_id,a,b\n" + "".join(
        f"{i},{k % 2},{k // 2 % 2}\n" for k, i in enumerate(item_ids)))
    return str(folder / "items.csv")


def test_command_names_item_ids_the_files_do_not_share(tmp_path, monkeypatch):
    _no_fit(monkeypatch)
    ratings = _write_ratings(tmp_path, range(100, 120))
    items = _write_items(tmp_path, [f"a{i}" for i in range(100, 120)])
    with pytest.raises(ValueError, match=r"No item id is in both the ratings \(.*ratings\.csv: "
                       r"integers 100, 101, 102, \.\.\.\) and the attribute file \(.*"
                       r"items\.csv: strings 'a100', 'a101', 'a102', \.\.\.\)"):
        cold_start.main(["--ratings", ratings, "--items", items, "--methods", "random", "--quiet"])
    _write_items(tmp_path, range(200, 220))
    with pytest.raises(ValueError, match="integers 200, 201, 202"):
        cold_start.main(["--ratings", ratings, "--items", items, "--methods", "random", "--quiet"])


def test_command_matches_item_ids_as_text_when_one_file_has_text(tmp_path):
    # One id that is not a number makes the attribute file's ids text: "100"
    # still matches the ratings' 100 (it raised a TypeError before).
    ratings = _write_ratings(tmp_path, range(100, 120))
    items = _write_items(tmp_path, [*map(str, range(100, 120)), "extra-1"])
    X, attributes, _, dropped = cold_start.load_data(ratings, items)
    assert X.shape == (20, 20) and X.nnz == 400 and dropped == 0
    np.testing.assert_array_equal(attributes.toarray()[:4], [[0, 0], [1, 0], [0, 1], [1, 1]])


def test_command_needs_enough_items_for_the_cold_split(tmp_path, monkeypatch):
    # 8 items: 6 warm, 1 cold-validation, 1 cold-test; 7 leave no cold-validation item.
    warm, cold_val, cold_test = cold_start.split_items(sp.csr_matrix(np.ones((2, 8))), 0)
    assert (len(warm), len(cold_val), len(cold_test)) == (6, 1, 1)
    assert len(cold_start.split_items(sp.csr_matrix(np.ones((2, 7))), 0)[1]) == 0
    assert cold_start.MIN_ITEMS == 8
    _no_fit(monkeypatch)
    ratings = _write_ratings(tmp_path, range(100, 107))
    items = _write_items(tmp_path, range(100, 120))
    with pytest.raises(ValueError, match="needs at least 8 items with an interaction .* but "
                       "the data has 7"):
        cold_start.main(["--ratings", ratings, "--items", items, "--methods", "random", "--quiet"])


def test_command_reads_long_and_npz_attributes_as_the_wide_csv(files, tmp_path):
    from sklearn_agn.datasets import load_item_attributes

    wide = load_item_attributes(files / "items.csv")
    rows, cols = wide.item_attributes.nonzero()
    (tmp_path / "tags.csv").write_text("item_id,tag\n" + "".join(
        f"{wide.item_ids[i]},{wide.feature_names[j]}\n" for i, j in zip(rows, cols)))
    sp.save_npz(tmp_path / "tags.npz", wide.item_attributes)
    (tmp_path / "ids.txt").write_text("".join(f"{i}\n" for i in wide.item_ids))
    common = ["--ratings", str(files / "ratings.csv"), "--methods", "attribute item-KNN",
              "--seeds", "1", "--budget", "2", "--quiet"]
    ndcg = [cold_start.main(common + items)["results"][0]["runs"][0]["ndcg@20"] for items in (
        ["--items", str(files / "items.csv")], ["--items", str(tmp_path / "tags.csv")],
        ["--items", str(tmp_path / "tags.npz"), "--item-ids", str(tmp_path / "ids.txt")])]
    assert ndcg[0] == ndcg[1] == ndcg[2] and ndcg[0] > 0.2


def test_user_cold_start_protocol_on_planted_users():
    # Users whose attribute is their planted taste: the demographic methods beat popularity.
    X, users, _ = make_interactions(500, 80, 6000, n_factors=2, preference_concentration=0.05,
                                    popularity_mix=0.1, random_state=0, return_factors=True)
    attributes = np.eye(2)[users.argmax(axis=1)]
    rows = cold_start.run_user_cold_start(X, attributes, cold_start.USER_METHODS[:2], seeds=2,
                                          budget=3, log=lambda line: None)
    ndcg = {row["method"]: np.mean([r["ndcg@20"] for r in row["runs"]]) for row in rows}
    assert ndcg["demographic user-KNN"] > ndcg["global popularity"] + 0.05


def test_gan_user_method_scores_new_users_from_their_attributes():
    from sklearn_agn import GANAugmenter

    X, users, _ = make_interactions(500, 80, 6000, n_factors=2, preference_concentration=0.05,
                                    popularity_mix=0.1, random_state=0, return_factors=True)
    attributes = np.eye(2)[users.argmax(axis=1)]
    listed = {m.name: m for m in cold_start.USER_METHODS}
    # The listed methods' calling style with a smaller MF: the generator scores a
    # new user's empty row; the GAN + MF pipeline (user_attributes routed to its
    # GAN step) generates feedback for that row, which the MF folds in.
    gan = Method(
        "GAN (user attributes)",
        lambda params, seed: GANAugmenter(condition_dropout=0.5, random_state=seed), {},
        scores=listed["GAN (user attributes)"].scores)
    gan_mf = Method(
        "GAN + MF (user attributes)",
        lambda params, seed: _methods._gan_mf({"gan__condition_dropout": 0.5,
                                               "mf__n_factors": 8}, seed), {})
    rows = cold_start.run_user_cold_start(X, attributes,
                                          [cold_start.USER_METHODS[0], gan, gan_mf],
                                          seeds=1, budget=1, log=lambda line: None)
    ndcg = {row["method"]: row["runs"][0]["ndcg@20"] for row in rows}
    # (.73 and .68 against .57 when written)
    assert ndcg["GAN (user attributes)"] > ndcg["global popularity"] + 0.1
    assert ndcg["GAN + MF (user attributes)"] > ndcg["global popularity"] + 0.1
