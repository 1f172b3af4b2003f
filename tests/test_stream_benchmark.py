"""The prequential stream benchmark (sklearn_agn.benchmark.stream)."""

import copy
import json

import numpy as np
import pytest

from sklearn_agn import MFRecommender
from sklearn_agn.benchmark import _stream_protocol, stream

from ._synthetic import block_interactions

pd = pytest.importorskip("pandas")

DAY = 86400


def _log():
    """60 users x 20 items in blocks, one interaction an hour; user 99 and item 99 appear late."""
    X, _ = block_interactions(n_users=60, n_items=20, n_blocks=2, density=0.5, seed=0)
    users, items = X.nonzero()
    order = np.random.RandomState(0).permutation(len(users))
    log = pd.DataFrame({"user_id": users[order], "item_id": items[order],
                        "timestamp": np.arange(len(users)) * 3600})
    late = pd.DataFrame({"user_id": [99, 99, 0, 99], "item_id": [0, 99, 99, 1],
                         "timestamp": log.timestamp.max() + np.array([1, 2, 3, DAY + 1])})
    return pd.concat([log, late], ignore_index=True)


def _model():
    return MFRecommender(n_factors=2, n_iter=2, device="cpu", random_state=0)


def test_batches_by_day_and_by_size():
    times = np.array([0, 10, DAY - 1, DAY, DAY + 5, 3 * DAY])
    assert _stream_protocol._batch_bounds(times, 1, "day") == [(1, 3), (3, 5), (5, 6)]
    assert _stream_protocol._batch_bounds(times, 1, 2) == [(1, 3), (3, 5), (5, 6)]
    assert _stream_protocol._batch_bounds(times, 0, 4) == [(0, 4), (4, 6)]


def test_replay_handles_new_users_and_items_and_the_strategies():
    log = _log()
    report = stream.replay_stream(log, _model(), initial=0.8, batch=100, refit_every=2)
    n_initial = int(round(0.8 * len(log)))
    assert report["data"]["initial"] == n_initial
    # The catalogue holds item 99 from the start, though it appears last.
    assert report["data"]["items"] == 21 and report["data"]["users"] == 61
    batches = report["batches"]
    assert sum(b["interactions"] for b in batches) == len(log) - n_initial
    # The last batch holds user 99's first interactions: a cold row, evaluated.
    assert batches[-1]["evaluated"] >= 1
    assert sum(b["evaluated"] for b in batches) == report["data"]["evaluated"]
    ratings, encoder, _ = _stream_protocol._encode(log)
    initial = _model().fit(encoder.transform(ratings.iloc[:n_initial]))
    models = report["models"]
    np.testing.assert_array_equal(models["fold-in"].item_factors_, initial.item_factors_)
    everything = _model().fit(encoder.transform(ratings))
    np.testing.assert_allclose(models["refit"].item_factors_, everything.item_factors_)
    assert not np.allclose(models["partial_fit"].item_factors_, initial.item_factors_)
    for name, result in report["strategies"].items():
        assert len(result["ndcg@10"]) == len(result["update_time"]) == len(batches)
        assert 0 <= result["overall"]["ndcg@10"] <= 1, name
    assert report["strategies"]["fold-in"]["overall"]["update_time"] < 0.01
    # User 99's first batch is scored as a new user's, against the popularity
    # of the initial fit: the only batch of the stream with an empty history.
    assert report["data"]["new_users"] == 1
    new = report["strategies"]["fold-in"]["overall"]["ndcg@10 new users"]
    returning = report["strategies"]["fold-in"]["overall"]["ndcg@10 returning users"]
    n, overall = report["data"]["evaluated"], report["strategies"]["fold-in"]["overall"]
    assert overall["ndcg@10"] == pytest.approx((new + (n - 1) * returning) / n)


def test_replay_validation():
    with pytest.raises(ValueError, match="Unknown strategies"):
        stream.replay_stream(_log(), _model(), strategies=["online"])
    with pytest.raises(ValueError, match="batch must be 'day' or a positive int"):
        stream.replay_stream(_log(), _model(), batch=0)
    with pytest.raises(ValueError, match=r"initial must lie in \(0, 1\)"):
        stream.replay_stream(_log(), _model(), initial=1.0)


def _write_log(path):
    """``_log()`` as a MovieLens u.data file."""
    _log().assign(rating=1).loc[:, ["user_id", "item_id", "rating", "timestamp"]].to_csv(
        path, sep="\t", header=False, index=False)
    return str(path)


def test_command_line(tmp_path, capsys):
    argv = ["--ratings", _write_log(tmp_path / "u.data"), "--batch", "day", "--initial", "0.9",
            "--n-factors", "2", "--n-iter", "2", "--strategies", "fold-in", "refit", "--quiet",
            "--json", str(tmp_path / "report.json")]
    report = stream.main(argv)
    captured = capsys.readouterr()
    assert captured.err == ""  # --quiet: no progress line or bar
    out = captured.out
    assert "| fold-in |" in out and "| refit |" in out and "100.0%" in out
    saved = json.loads((tmp_path / "report.json").read_text())
    assert saved["strategies"]["refit"]["overall"] == report["strategies"]["refit"]["overall"]
    assert "models" not in saved


def test_command_shows_progress_unless_quiet(tmp_path, monkeypatch, capsys):
    """The GAN's epochs and losses, a bar over the batches and a line per batch, on stderr."""
    original = stream.GANAugmenter
    monkeypatch.setattr(stream, "GANAugmenter", lambda **params: original(
        max_iter=2, g_hidden_sizes=(8,), d_hidden_sizes=(8,), **params))
    argv = ["--ratings", _write_log(tmp_path / "u.data"), "--batch", "100", "--initial", "0.8",
            "--n-factors", "2", "--n-iter", "2", "--strategies", "fold-in", "GAN + partial_fit"]
    quiet = stream.main(argv + ["--quiet"])
    assert capsys.readouterr().err == ""
    shown = stream.main(argv)
    captured = capsys.readouterr()
    assert "GANAugmenter:" in captured.err and "g_loss=" in captured.err
    assert "batches:" in captured.err and "batch 1: " in captured.err
    assert "GANAugmenter" not in captured.out and "batches:" not in captured.out
    assert (shown["strategies"]["GAN + partial_fit"]["ndcg@10"]
            == quiet["strategies"]["GAN + partial_fit"]["ndcg@10"])


def test_partial_fit_strategy_resolves_the_items_of_each_batch_only():
    log = _log()
    report = stream.replay_stream(log, _model(), strategies=["partial_fit"], initial=0.98,
                                  batch=4)
    ratings, encoder, _ = _stream_protocol._encode(log)
    cols = encoder.item_index(ratings["item_id"])
    n_initial = report["data"]["initial"]
    initial = _model().fit(encoder.transform(ratings.iloc[:n_initial]))
    replayed = np.unique(cols[n_initial:])
    never = np.setdiff1d(np.arange(len(encoder.item_ids_)), replayed)
    assert never.size and replayed.size
    final = report["models"]["partial_fit"].item_factors_
    np.testing.assert_array_equal(final[never], initial.item_factors_[never])
    assert not np.allclose(final[replayed], initial.item_factors_[replayed])


def test_beyond_accuracy_of_the_stream_and_the_gan_strategy():
    from sklearn_agn import GANAugmenter

    augmenter = GANAugmenter(sparse_threshold=8, n_generated=2, max_iter=2,
                             g_hidden_sizes=(8,), d_hidden_sizes=(8,), random_state=0)
    report = stream.replay_stream(_log(), _model(), strategies=["fold-in", "GAN + partial_fit"],
                                  initial=0.8, batch=100, augmenter=augmenter)
    # GAN + MF is the warm benchmark's Pipeline: the GAN fitted once, its MF updated.
    gan = report["models"]["GAN + partial_fit"]
    assert hasattr(gan.named_steps["gan"], "generator_")
    assert gan.named_steps["mf"].n_features_in_ == 21
    for name, result in report["strategies"].items():
        overall = result["overall"]
        assert 0 < overall["coverage@10"] <= 1 and 0 <= overall["long_tail@10"] <= 1, name
        assert overall["novelty@10"] > 0 and 0 <= overall["gini@10"] <= 1, name
    table = stream.format_stream_table(report)
    assert "| GAN + partial_fit |" in table and "coverage@10" in table



def test_gan_strategy_updates_the_mf_step_on_the_gan_rows():
    # A Pipeline has no partial_fit: the strategy updates its MF step on the
    # rows its fitted GAN step transforms, and leaves the GAN as it was.
    import torch
    from sklearn.base import clone

    from sklearn_agn import GANAugmenter

    ratings, encoder, _ = _stream_protocol._encode(_log())
    X_before, X_after = (encoder.transform(ratings.iloc[:end]) for end in (240, 270))
    augmenter = GANAugmenter(sparse_threshold=8, n_generated=2, max_iter=2,
                             g_hidden_sizes=(8,), d_hidden_sizes=(8,), random_state=0)
    pipeline = _stream_protocol._initial_models(_model(), augmenter, ["GAN + partial_fit"],
                                                X_before)["GAN + partial_fit"]
    gan, mf = pipeline.named_steps["gan"], pipeline.named_steps["mf"]
    generator = copy.deepcopy(gan.generator_.state_dict())
    expected = clone(mf).fit(gan.transform(X_before))
    np.testing.assert_array_equal(mf.item_factors_, expected.item_factors_)
    initial = mf.item_factors_.copy()
    active = np.flatnonzero((X_after - X_before).getnnz(axis=1))
    updated = _stream_protocol._update("GAN + partial_fit", pipeline, _model(), X_after,
                                       X_before, active, 0, 10)
    assert updated is pipeline
    expected.partial_fit(gan.transform(X_after[active]), previous=gan.transform(X_before[active]))
    np.testing.assert_array_equal(mf.item_factors_, expected.item_factors_)
    assert not np.array_equal(mf.item_factors_, initial)
    for name, value in gan.generator_.state_dict().items():
        assert torch.equal(value, generator[name]), name
