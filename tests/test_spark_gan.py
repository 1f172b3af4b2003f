"""SparkGANAugmenter: GANAugmenter trained with DDP through Spark's TorchDistributor.

One local[2] SparkSession for the module, on small data. Skipped with the
reason when pyspark, pyarrow or Java is missing (``pip install
'sklearn-agn[spark]'``, Java 17).
"""


import numpy as np
import pytest
import scipy.sparse as sp
import torch
from sklearn.base import clone

from sklearn_agn import GANAugmenter
from sklearn_agn.gan import generated_mask
from sklearn_agn.preprocessing import InteractionEncoder
from sklearn_agn.spark import SparkGANAugmenter


def _records(seed=0, n_users=48, n_items=20):
    """(user_id, item_id) records of two groups of users, each on its half of the items."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(n_users):
        half = np.arange(n_items // 2) + (u % 2) * (n_items // 2)
        for i in rng.choice(half, rng.integers(2, 7), replace=False):
            rows.append((f"u{u:02d}", f"sku-{i:02d}"))
    return rows


def _augmenter(**params):
    return GANAugmenter(**{"g_hidden_sizes": (16,), "d_hidden_sizes": (8,), "noise_dim": 4,
                           "batch_size": 8, "max_iter": 3, "sparse_threshold": 5,
                           "n_generated": 2, "min_negatives": 5, "device": "cpu",
                           "random_state": 0, **params})


def _local_matrix(rows):
    encoder = InteractionEncoder(user_col="user_id", item_col="item_id")
    users, items = map(np.asarray, zip(*rows))
    X = encoder.fit_transform({"user_id": users, "item_id": items})
    return encoder, X


# Learns the two groups of _records in 6 epochs in one process.
_LEARNS = _augmenter(max_iter=6, g_learning_rate=1e-2, d_learning_rate=1e-2)


@pytest.fixture(scope="module")
def log(spark):
    return spark.createDataFrame(_records(), "user_id string, item_id string")


@pytest.fixture(scope="module")
def fitted(log):
    """A 2-process DDP fit, the processes run as Spark tasks (a barrier stage)."""
    return SparkGANAugmenter(_LEARNS, num_processes=2).fit(log)


def test_one_process_fit_is_the_single_process_fit(spark, log):
    # 48 users in batches of 8: the DDP path takes the same batches, draws
    # and steps as GANAugmenter.fit on the same rows, so the same weights.
    distributed = SparkGANAugmenter(_augmenter(), num_processes=1, local_mode=True).fit(log)
    encoder, X = _local_matrix(_records())
    local = _augmenter().fit(X)
    np.testing.assert_array_equal(distributed.encoder_.item_ids_, encoder.item_ids_)
    got, expected = distributed.augmenter_.generator_.state_dict(), local.generator_.state_dict()
    assert got.keys() == expected.keys()
    for name in expected:
        assert torch.equal(got[name], expected[name]), name
    assert distributed.augmenter_.loss_curve_ == local.loss_curve_
    assert distributed.augmenter_.discriminator_loss_curve_ == local.discriminator_loss_curve_


def test_two_process_fit_is_a_fitted_augmenter(spark, fitted):
    encoder, X = _local_matrix(_records())
    model = fitted.augmenter_
    # The statistics, aggregated on the cluster, are those of a local fit.
    local = _augmenter(max_iter=1).fit(X)
    np.testing.assert_allclose(model.item_popularity_, local.item_popularity_)
    np.testing.assert_array_equal(model.row_lengths_, np.sort(local.row_lengths_))
    assert (model.n_features_in_, fitted.n_users_, fitted.n_interactions_) == (20, 48, X.nnz)
    assert model.n_iter_ == len(model.loss_curve_) == len(model.discriminator_loss_curve_) == 6
    # Both ranks ended with the same weights (checked in the processes, which
    # raise otherwise), and the model learned the two groups as a single
    # process does at the same settings: the users' generated items are in
    # their own half of the catalogue.
    group = np.array([int(u[1:]) % 2 for u in encoder.user_ids_])
    for augmenter in (model, clone(_LEARNS).fit(X)):
        rows, items = generated_mask(augmenter.transform(X)).nonzero()
        assert rows.size == 2 * np.sum(np.diff(X.indptr) < 5)
        assert np.mean(items // 10 == group[rows]) > 0.9
    assert model.sample(3, random_state=0).shape == (3, 20)


def test_transform_job_equals_transform_on_the_driver(spark, fitted, log):
    extra = spark.createDataFrame([("u00", "new-sku"), ("z-new", "sku-01")],
                                  "user_id string, item_id string")
    out = fitted.transform(log.unionByName(extra)).toPandas()
    rows = _records() + [("z-new", "sku-01")]
    users, items = map(np.asarray, zip(*rows))
    user_ids = np.unique(users)
    X = sp.csr_matrix((np.ones(len(rows)), (np.searchsorted(user_ids, users),
                                             fitted.encoder_.item_index(items))),
                      shape=(len(user_ids), 20))
    X_aug = fitted.augmenter_.transform(X)
    mask = generated_mask(X_aug).tocoo()
    expected = {(user_ids[r], fitted.encoder_.item_ids_[c], X_aug[r, c])
                for r, c in zip(mask.row, mask.col)}
    generated = out[out["generated"]]
    assert set(zip(generated["user_id"], generated["item_id"], generated["value"])) == expected
    assert ((generated["value"] > 0) & (generated["value"] < 1)).all()
    # Every real pair is kept, with value 1, the unknown item's included.
    real = out[~out["generated"]]
    assert sorted(zip(real["user_id"], real["item_id"])) == sorted(
        rows + [("u00", "new-sku")])
    assert (real["value"] == 1.0).all()


@pytest.mark.parametrize("params, error, message", [
    (dict(augmenter=GANAugmenter(early_stopping=True)), ValueError, "early_stopping"),
    (dict(augmenter=GANAugmenter(dp_epsilon=1.0)), ValueError, "dp_epsilon"),
    (dict(augmenter=GANAugmenter(item_attributes=np.ones((20, 2)))), ValueError,
     "item_attributes"),
    (dict(augmenter=GANAugmenter(device="cuda")), ValueError, "device='cuda'"),
    (dict(augmenter=GANAugmenter(batch_size=0)), ValueError, "batch_size"),
    (dict(augmenter="gan"), TypeError, "'augmenter' parameter of SparkGANAugmenter"),
    (dict(num_processes=0), ValueError, "'num_processes' parameter of SparkGANAugmenter"),
    # 48 users in batches of 32: 2 steps a pass, fine for 2 processes, not for 40.
    (dict(augmenter=GANAugmenter(batch_size=32), num_processes=40), ValueError,
     "smallest shard holds 1"),
])
def test_bad_settings_are_refused_before_training(spark, log, params, error, message):
    model = SparkGANAugmenter(**params)
    with pytest.raises(error, match=message):
        model.fit(log)
    assert not hasattr(model, "augmenter_")


def test_staging_directory_is_required_on_a_cluster(spark, log, monkeypatch):
    monkeypatch.setattr(spark.sparkContext, "master", "yarn")
    with pytest.raises(ValueError, match="Set staging_dir"):
        SparkGANAugmenter(_augmenter()).fit(log)
