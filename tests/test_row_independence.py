"""A row's scores do not depend on the rows scored with it (issue 17, item 1).

Rows are samples: a user scored alone and the same user at any position of a
batch must get bit-identical scores, on any CPU. In float32 a BLAS product's
result for one row changes in the last bit with its position in the batch
(which kernel handles it depends on the batch size and the CPU), so the
generator scores in float64 and rounds once; these tests compare exactly.
"""

import numpy as np
import pytest
import scipy.sparse as sp

from sklearn_agn import CFGANRecommender
from sklearn_agn.gan import GANAugmenter, generated_mask

# Odd widths and batch sizes, so that rows fall on the edges of BLAS blocks.
GAN = {"g_hidden_sizes": (97,), "d_hidden_sizes": (13,), "noise_dim": 5, "max_iter": 3,
       "batch_size": 37, "sparse_threshold": 8, "n_generated": 3, "device": "cpu",
       "random_state": 0}


@pytest.fixture(scope="module")
def data():
    rng = np.random.RandomState(0)
    return sp.csr_matrix((rng.random_sample((120, 311)) < 0.04) * rng.randint(1, 5, (120, 311)),
                         dtype=np.float64)


@pytest.fixture(scope="module")
def augmenter(data):
    return GANAugmenter(**GAN).fit(data)


def _alone(method, X):
    return [method(X[i:i + 1]) for i in range(X.shape[0])]


def test_generator_scores_of_a_row_alone_equal_its_scores_in_any_batch(augmenter, data):
    batch = augmenter.score_items(data)
    alone = np.vstack(_alone(augmenter.score_items, data))
    np.testing.assert_array_equal(alone, batch)
    order = np.random.RandomState(1).permutation(data.shape[0])
    np.testing.assert_array_equal(augmenter.score_items(data[order]), batch[order])
    assert batch.dtype == np.float32


def test_cfgan_decision_function_is_row_independent(data):
    model = CFGANRecommender(GANAugmenter(**GAN), k=5).fit(data)
    batch = model.decision_function(data)
    np.testing.assert_array_equal(np.vstack(_alone(model.decision_function, data)), batch)
    order = np.random.RandomState(2).permutation(data.shape[0])
    np.testing.assert_array_equal(model.decision_function(data[order]), batch[order])
    np.testing.assert_array_equal(model.predict(data[order]), model.predict(data)[order])


def test_generated_feedback_of_a_row_alone_equals_its_feedback_in_a_batch(augmenter, data):
    batch = augmenter.transform(data)
    assert generated_mask(batch).nnz > 0  # the test would be empty otherwise
    for i, row in enumerate(_alone(augmenter.transform, data)):
        expected = batch[i]
        assert (row != expected).nnz == 0, f"row {i} differs alone and in the batch"
        assert (generated_mask(row) != generated_mask(batch)[i]).nnz == 0


def test_attribute_ridge_mf_scores_are_row_independent(data):
    from sklearn_agn import AttributeRidgeMF, MFRecommender

    attributes = np.random.RandomState(3).random_sample((data.shape[1], 7))
    model = AttributeRidgeMF(MFRecommender(n_factors=13, n_iter=3, random_state=0),
                             item_attributes=attributes).fit(data)
    batch = model.decision_function(data)
    assert batch.dtype == np.float32
    np.testing.assert_array_equal(np.vstack(_alone(model.decision_function, data)), batch)
