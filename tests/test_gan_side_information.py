"""GANAugmenter with item and user side information: cold items, cold users, new items.

Issue 17, items 5 and 6: cold items go to rows by a per-row score threshold
fixed in fit; add_items takes dense or sparse attributes and is all or nothing.
"""

import copy
import pickle

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from sklearn import config_context
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from sklearn_agn import GANAugmenter, MFRecommender
from sklearn_agn._validation import check_feedback
from sklearn_agn.gan import generated_mask
from sklearn_agn.gan._networks import Generator
from sklearn_agn.metrics import make_ranking_scorer
from sklearn_agn.model_selection import UserKFold, holdout_split

FAST = dict(
    g_hidden_sizes=(32,),
    d_hidden_sizes=(16,),
    noise_dim=4,
    batch_size=32,
    g_learning_rate=3e-3,
    d_learning_rate=3e-3,
    max_iter=25,
    sparse_threshold=0,
    cold_item_share=0.25,
    device="cpu",
    random_state=0,
)
N_USERS, N_ITEMS = 80, 40
COLD = np.array([0, 1, 20, 21])  # two cold items in each half of the catalogue


def planted():
    """Two user groups, each preferring its own half of the items, which its attribute names.

    Item attributes: one-hot half (2 columns) plus a noise column; user
    attributes: one-hot group. The ``COLD`` columns hold no interaction.
    """
    rng = np.random.RandomState(0)
    group = np.arange(N_USERS) % 2
    half = (np.arange(N_ITEMS) >= N_ITEMS // 2).astype(int)
    X = rng.random_sample((N_USERS, N_ITEMS)) < np.where(group[:, None] == half, 0.4, 0.02)
    X[:, COLD] = False
    item_attributes = np.column_stack([half == 0, half == 1, rng.random_sample(N_ITEMS)])
    user_attributes = np.column_stack([group == 0, group == 1]).astype(float)
    return sp.csr_matrix(X.astype(float)), group, half, item_attributes.astype(float), user_attributes


@pytest.fixture(scope="module")
def data():
    return planted()


@pytest.fixture(scope="module")
def fitted(data):
    X, _, _, item_attributes, _ = data
    return GANAugmenter(item_attributes=item_attributes, **FAST).fit(X)


def test_cold_items_are_recorded_and_scored_by_their_attributes(data, fitted):
    X, group, half, _, _ = data
    np.testing.assert_array_equal(fitted.cold_items_, COLD)
    scores = fitted.score_items(X)[:, COLD]
    # Each cold item scores higher, on average, for the group whose half it is in.
    for j, item in enumerate(COLD):
        own = scores[group == half[item], j].mean()
        other = scores[group != half[item], j].mean()
        assert own > other + 0.1, (item, own, other)


def test_transform_gives_cold_items_to_the_users_sharing_their_attributes(data, fitted):
    X, group, half, _, _ = data
    X_aug = fitted.transform(X)
    n_rows = int(np.ceil(FAST["cold_item_share"] * N_USERS))
    generated = generated_mask(X_aug).tocsc()
    for item in COLD:
        users = generated[:, item].nonzero()[0]
        assert len(users) == n_rows
        assert np.mean(group[users] == half[item]) >= 0.9
    values = sp.csr_matrix(X_aug)[:, COLD].data
    assert ((values > 0) & (values < 1)).all()
    # Real interactions pass through, marked real.
    assert (check_feedback(X_aug).real_mask() != sp.csr_matrix(X, dtype=bool)).nnz == 0


def test_cold_item_share_zero_generates_nothing_on_cold_items(data, fitted):
    X = data[0]
    X_aug = clone(fitted).set_params(cold_item_share=0).fit(X).transform(X)
    assert X_aug.nnz == X.nnz


def _gan_mf(item_attributes):
    return make_pipeline(
        GANAugmenter(item_attributes=item_attributes, **FAST),
        MFRecommender(8, regularization=1.0, alpha=2.0, n_iter=10, device="cpu", random_state=0),
    )


def test_pipeline_with_mf_learns_a_factor_for_every_cold_item(data):
    X, group, half, item_attributes, _ = data
    pipe = _gan_mf(item_attributes).fit(X)
    factors = pipe[-1].item_factors_[COLD]
    assert (np.linalg.norm(factors, axis=1) > 1e-3).all()
    scores = pipe.decision_function(X)[:, COLD]
    for j, item in enumerate(COLD):
        assert scores[group == half[item], j].mean() > scores[group != half[item], j].mean()
    ranked = pipe.predict(X, k=5)
    assert ranked.shape == (N_USERS, 5)


def test_without_item_attributes_cold_items_get_nothing(data):
    X = data[0]
    aug = GANAugmenter(**FAST).fit(X)
    X_aug = aug.transform(X)
    assert sp.csr_matrix(X_aug)[:, COLD].nnz == 0


def test_sparse_item_attributes_match_dense(data, fitted):
    X, _, _, item_attributes, _ = data
    sparse = GANAugmenter(item_attributes=sp.csr_matrix(item_attributes), **FAST).fit(X)
    np.testing.assert_allclose(sparse.score_items(X), fitted.score_items(X), atol=1e-5)


def test_same_random_state_gives_identical_results(data, fitted):
    X, _, _, _, user_attributes = data
    again = clone(fitted).fit(X)
    np.testing.assert_array_equal(again.score_items(X), fitted.score_items(X))
    a = clone(fitted).fit(X, user_attributes=user_attributes)
    b = clone(fitted).fit(X, user_attributes=user_attributes)
    assert (a.transform(X, user_attributes=user_attributes)
            != b.transform(X, user_attributes=user_attributes)).nnz == 0


def test_pickle_and_clone(data, fitted):
    X, _, _, item_attributes, _ = data
    loaded = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(loaded.score_items(X), fitted.score_items(X))
    assert (loaded.transform(X) != fitted.transform(X)).nnz == 0
    cloned = clone(fitted)
    assert cloned.get_params()["item_attributes"] is not item_attributes
    np.testing.assert_array_equal(cloned.get_params()["item_attributes"], item_attributes)
    assert not hasattr(cloned, "generator_")


@pytest.mark.parametrize(
    "bad, error, match",
    [
        (lambda A: A[:-1], ValueError, "item_attributes has 39 rows, but X has 40 items"),
        (lambda A: np.where(np.arange(A.size).reshape(A.shape) == 4, np.nan, A), ValueError,
         "NaN"),
        (lambda A: np.where(np.arange(A.size).reshape(A.shape) == 4, np.inf, A), ValueError,
         "infinity"),
        (lambda A: pd.DataFrame(A).assign(title="a film"), TypeError,
         r"item_attributes must be numeric; columns \['title'\]"),
    ],
    ids=["rows", "nan", "inf", "string-column"],
)
def test_bad_item_attributes_raise(data, bad, error, match):
    X, _, _, item_attributes, _ = data
    with pytest.raises(error, match=match):
        GANAugmenter(item_attributes=bad(item_attributes), **FAST).fit(X)


def test_bad_user_attributes_raise(data, fitted):
    X, _, _, item_attributes, user_attributes = data
    aug = GANAugmenter(**dict(FAST, max_iter=1))
    with pytest.raises(ValueError, match="user_attributes has 79 rows, but X has 80 users"):
        aug.fit(X, user_attributes=user_attributes[1:])
    with pytest.raises(TypeError, match=r"user_attributes must be numeric; columns \['city'\]"):
        aug.fit(X, user_attributes=pd.DataFrame(user_attributes).assign(city="Paris"))
    with pytest.raises(ValueError, match="fitted without them"):
        fitted.transform(X, user_attributes=user_attributes)
    aug.fit(X, user_attributes=user_attributes)
    with pytest.raises(ValueError, match="has 3 features, but GANAugmenter was fitted with 2"):
        aug.transform(X, user_attributes=np.ones((N_USERS, 3)))


def test_cold_user_gets_feedback_from_its_attributes(data):
    X, group, half, _, user_attributes = data
    aug = GANAugmenter(
        **dict(FAST, sparse_threshold=1, n_generated=5, condition_dropout=0.5, max_iter=40)
    ).fit(X, user_attributes=user_attributes)
    empty = sp.csr_matrix((N_USERS, N_ITEMS))
    X_aug = sp.csr_matrix(aug.transform(empty, user_attributes=user_attributes)).tocoo()
    assert np.all(np.bincount(X_aug.row, minlength=N_USERS) == 5)
    assert np.mean(half[X_aug.col] == group[X_aug.row]) >= 0.9


def test_user_attributes_routed_through_pipeline_and_search(data):
    X, _, _, item_attributes, user_attributes = data
    X_train, y = holdout_split(X, 0.2, random_state=0)
    seen = []

    class Recording(GANAugmenter):
        def fit(self, X, y=None, *, user_attributes=None):
            seen.append(None if user_attributes is None else user_attributes.shape)
            return super().fit(X, user_attributes=user_attributes)

    with config_context(enable_metadata_routing=True):
        pipe = make_pipeline(
            Recording(item_attributes=item_attributes, **dict(FAST, max_iter=2)),
            # k is requested explicitly: routing ``k`` by default is issue 12, item 5.
            MFRecommender(4, n_iter=2, device="cpu", random_state=0).set_predict_request(k=True),
        )
        search = GridSearchCV(
            pipe,
            {"recording__cold_item_share": [0.1, 0.3]},
            cv=UserKFold(2, shuffle=True, random_state=0),
            scoring=make_ranking_scorer("ndcg", k=5),
        ).fit(X_train, y, user_attributes=user_attributes)
    # Every fit (2 settings x 2 folds, then the refit) received its own rows' attributes.
    train_sizes = [len(train) for train, _ in UserKFold(2, shuffle=True, random_state=0).split(X_train, y)]
    assert sorted(seen[:4]) == sorted((n, 2) for n in train_sizes * 2)
    assert seen[4] == (N_USERS, 2)
    assert search.best_estimator_[0].n_user_features_in_ == 2
    # With routing off, direct calls take the attributes as keyword arguments.
    aug = GANAugmenter(**dict(FAST, max_iter=2)).fit(X, user_attributes=user_attributes)
    assert aug.transform(X, user_attributes=user_attributes).shape == X.shape


def test_add_items_extends_the_catalogue_without_refitting(data):
    X, group, _, item_attributes, _ = data
    aug = GANAugmenter(item_attributes=item_attributes, **FAST).fit(X)
    before = aug.score_items(X)
    weights = aug.generator_.item_weight.detach().clone()
    new = np.array([[1.0, 0.0, 0.5], [0.0, 1.0, 0.5]])  # one item in each half
    assert aug.add_items(new) is aug
    assert aug.n_features_in_ == N_ITEMS + 2
    np.testing.assert_array_equal(aug.cold_items_, np.r_[COLD, N_ITEMS, N_ITEMS + 1])
    X_wide = sp.hstack([X, sp.csr_matrix((N_USERS, 2))]).tocsr()
    after = aug.score_items(X_wide)
    np.testing.assert_allclose(after[:, :N_ITEMS], before, rtol=1e-6)
    np.testing.assert_array_equal(aug.generator_.item_weight[:N_ITEMS].detach(), weights)
    generated = generated_mask(aug.transform(X_wide)).tocsc()
    for item, own_group in [(N_ITEMS, 0), (N_ITEMS + 1, 1)]:
        users = generated[:, item].nonzero()[0]
        assert len(users) > 0 and np.mean(group[users] == own_group) >= 0.9
    with pytest.raises(ValueError, match="expecting 42 features"):
        aug.transform(X)
    with pytest.raises(ValueError, match="item_attributes has 2 features"):
        aug.add_items(new[:, :2])
    with pytest.raises(ValueError, match="fitted with item_attributes"):
        GANAugmenter(**dict(FAST, max_iter=1)).fit(X).add_items(new)


def test_add_items_with_named_columns(data):
    X, _, _, item_attributes, _ = data
    names = [f"film {j}" for j in range(N_ITEMS)]
    frame = pd.DataFrame(X.toarray(), columns=names)
    aug = GANAugmenter(item_attributes=item_attributes, **dict(FAST, max_iter=1)).fit(frame)
    with pytest.raises(ValueError, match="item_names must be given"):
        aug.add_items(item_attributes[:1])
    aug.add_items(item_attributes[:1], item_names=["new film"])
    assert list(aug.get_feature_names_out()[-2:]) == [names[-1], "new film"]
    assert aug.transform(frame.assign(**{"new film": 0.0})).shape == (N_USERS, N_ITEMS + 1)


# Issue 17, item 5: cold items go to rows by a per-row rule fixed in fit.


def _kth_best(scores, k):
    """The k-th largest value of each column."""
    return np.sort(scores, axis=0)[-k]


def test_cold_item_thresholds_give_the_share_of_the_fit_rows(data, fitted):
    X = data[0]
    n_rows = int(np.ceil(FAST["cold_item_share"] * N_USERS))
    scores = fitted.score_items(X)[:, COLD]
    np.testing.assert_array_equal(fitted.cold_item_thresholds_, _kth_best(scores, n_rows))
    # transform applies exactly that rule, row by row.
    generated = generated_mask(fitted.transform(X)).toarray()[:, COLD]
    np.testing.assert_array_equal(generated, scores >= fitted.cold_item_thresholds_)
    assert (generated.sum(axis=0) == n_rows).all()


def test_a_user_gets_the_same_cold_items_alone_as_in_a_batch(data, fitted):
    X = data[0]
    batch = fitted.transform(X[:20])
    assert generated_mask(batch).nnz > 0  # the test would be empty otherwise
    for i in range(20):
        alone = fitted.transform(X[i:i + 1])
        assert (alone != batch[i]).nnz == 0, f"row {i} differs alone and in the batch"
        assert (generated_mask(alone) != generated_mask(batch)[i]).nnz == 0
    # At any position of any batch, too.
    order = np.random.RandomState(0).permutation(N_USERS)
    assert (fitted.transform(X[order]) != fitted.transform(X)[order]).nnz == 0


def test_the_last_row_above_a_threshold_gets_the_cold_item_alone(data, fitted):
    # The k-th best row of fit scores exactly the threshold: a score that
    # moved with the row's batch would flip its decision.
    X = data[0]
    n_rows = int(np.ceil(FAST["cold_item_share"] * N_USERS))
    order = np.argsort(-fitted.score_items(X)[:, COLD], axis=0, kind="stable")
    for j, item in enumerate(COLD):
        last, next_ = order[n_rows - 1, j], order[n_rows, j]
        assert generated_mask(fitted.transform(X[last:last + 1]))[0, item]
        assert not generated_mask(fitted.transform(X[next_:next_ + 1]))[0, item]


def test_gan_and_mf_recommend_the_same_to_a_user_alone_as_in_a_batch(data):
    X, _, _, item_attributes, _ = data
    pipe = _gan_mf(item_attributes).fit(X)
    batch = pipe.predict(X[:20], k=5)
    alone = np.vstack([pipe.predict(X[i:i + 1], k=5) for i in range(20)])
    np.testing.assert_array_equal(alone, batch)


def test_new_items_get_the_median_threshold_of_the_cold_items_of_fit(data, fitted):
    aug = copy.deepcopy(fitted).add_items(np.array([[1.0, 0.0, 0.5], [0.0, 1.0, 0.5]]))
    median = np.median(fitted.cold_item_thresholds_)
    assert aug.new_item_threshold_ == median
    np.testing.assert_array_equal(
        aug.cold_item_thresholds_, np.r_[fitted.cold_item_thresholds_, median, median]
    )


def test_without_cold_items_in_fit_new_items_get_the_median_of_the_warm_items_alone(data):
    X, group, _, item_attributes, _ = data
    X = X.tolil()
    X[np.arange(len(COLD)), COLD] = 1  # no cold item left
    X = X.tocsr()
    aug = GANAugmenter(item_attributes=item_attributes, **FAST).fit(X)
    assert aug.cold_items_.size == 0
    # Every item scored from its attributes alone, ranked among the rows that
    # do not hold it.
    attributes_only = copy.deepcopy(aug)
    attributes_only.generator_.warm_items.zero_()
    scores = np.where(X.toarray() > 0, -np.inf, attributes_only.score_items(X))
    thresholds = _kth_best(scores, int(np.ceil(FAST["cold_item_share"] * N_USERS)))
    assert aug.new_item_threshold_ == np.median(thresholds)
    aug.add_items(np.array([[1.0, 0.0, 0.5], [0.0, 1.0, 0.5]]))
    X_wide = sp.hstack([X, sp.csr_matrix((N_USERS, 2))]).tocsr()
    generated = generated_mask(aug.transform(X_wide)).toarray()
    np.testing.assert_array_equal(
        generated[:, N_ITEMS:], aug.score_items(X_wide)[:, N_ITEMS:] >= aug.new_item_threshold_
    )
    for item, own_group in [(N_ITEMS, 0), (N_ITEMS + 1, 1)]:
        users = np.flatnonzero(generated[:, item])
        assert len(users) > 0 and np.mean(group[users] == own_group) >= 0.9


# Issue 17, item 6: add_items takes dense or sparse attributes, all or nothing.


@pytest.mark.parametrize("fit_format", [np.asarray, sp.csr_matrix], ids=["fit-dense", "fit-sparse"])
def test_add_items_takes_dense_and_sparse_attributes_whatever_fit_received(data, fit_format):
    X, _, _, item_attributes, _ = data
    aug = GANAugmenter(item_attributes=fit_format(item_attributes), **dict(FAST, max_iter=2))
    aug.fit(X)
    new = np.array([[1.0, 0.0, 0.5], [0.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    X_wide = sp.hstack([X, sp.csr_matrix((N_USERS, 3))]).tocsr()
    scores = [copy.deepcopy(aug).add_items(layout(new)).score_items(X_wide)
              for layout in (np.asarray, sp.csr_matrix, sp.coo_matrix)]
    np.testing.assert_array_equal(scores[1], scores[0])
    np.testing.assert_array_equal(scores[2], scores[0])
    np.testing.assert_array_equal(scores[0][:, :N_ITEMS], aug.score_items(X))


def _state(aug):
    generator = {name: tensor.clone() for name, tensor in aug.generator_.state_dict().items()}
    return {**{name: copy.deepcopy(value) for name, value in vars(aug).items()
               if name.endswith("_") and name != "generator_"}, "generator": generator}


def _assert_same_state(aug, state):
    after = _state(aug)
    assert after.keys() == state.keys()
    for name, value in state.items():
        if name == "generator":
            assert after[name].keys() == value.keys()
            for key, tensor in value.items():
                assert torch.equal(after[name][key].to_dense(), tensor.to_dense()), key
        else:
            np.testing.assert_array_equal(after[name], value, err_msg=name)


def test_failed_add_items_leaves_the_model_as_it_was(data, monkeypatch):
    X, _, _, item_attributes, _ = data
    frame = pd.DataFrame(X.toarray(), columns=[f"film {j}" for j in range(N_ITEMS)])
    aug = GANAugmenter(item_attributes=item_attributes, **dict(FAST, max_iter=1)).fit(frame)
    state, X_aug = _state(aug), aug.transform(frame)
    with pytest.raises(ValueError, match="item_attributes has 2 features"):
        aug.add_items(np.ones((1, 2)), item_names=["new film"])
    _assert_same_state(aug, state)

    grow = Generator.add_items

    def grow_then_fail(generator, attributes):
        grow(generator, attributes)
        raise RuntimeError("interrupted")

    monkeypatch.setattr(Generator, "add_items", grow_then_fail)
    with pytest.raises(RuntimeError, match="interrupted"):
        aug.add_items(item_attributes[:1], item_names=["new film"])
    _assert_same_state(aug, state)
    assert (aug.transform(frame) != X_aug).nnz == 0
    monkeypatch.undo()
    aug.add_items(item_attributes[:1], item_names=["new film"])
    assert aug.n_features_in_ == N_ITEMS + 1
