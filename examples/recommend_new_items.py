"""Recommending new items: from ratings and item attributes to a catalogue that grows.

A shop's catalogue gains items every week. A new item has no interaction yet,
so matrix factorisation alone has no factor for it and can only rank it at
random. Its attributes (here: tags) are known on arrival. ``AttributeRidgeMF``
learns a ridge map from the tags of the items users already interacted with
to their MF factors; ``add_items`` gives each new item the factor its tags map
to, without refitting, and from then on it is recommended like any other.

The data is synthetic (``make_interactions``) with tags that reveal the
planted taste clusters (``make_item_attributes``). The interactions with the
40 newest items are held back: they are what users would do next week, and
score how well the new items were placed.

Run: ``python examples/recommend_new_items.py`` (about 10 s).
"""

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer

from sklearn_agn import MFRecommender
from sklearn_agn.mf import AttributeRidgeMF
from sklearn_agn.datasets import make_interactions, make_item_attributes
from sklearn_agn.metrics import ndcg_at_k
from sklearn_agn.preprocessing import InteractionEncoder

# --- The data a shop has: a ratings log and an item table, keyed by ids ---------------------
X_all, _, item_factors = make_interactions(3000, 400, 45_000, n_factors=8, random_state=0,
                                           return_factors=True)
tags = make_item_attributes(item_factors, n_features=24, n_active=3, noise=0.2, random_state=0)
users, cols = X_all.nonzero()
events = pd.DataFrame({"user_id": [f"user-{u:04d}" for u in users],
                       "item_id": [f"sku-{i:03d}" for i in cols]})
items = pd.DataFrame({
    "item_id": [f"sku-{i:03d}" for i in range(400)],
    "tags": [" ".join(f"tag{j:02d}" for j in row.indices) for row in tags],
})
new_ids = items.item_id[360:]  # arrive after the model is trained
ratings = events[~events.item_id.isin(new_ids)]
next_week = events[events.item_id.isin(new_ids)]

# --- Encode with scikit-learn-style encoders and fit --------------------------------------
encoder = InteractionEncoder(user_col="user_id", item_col="item_id")
X = encoder.fit_transform(ratings)
vectorizer = CountVectorizer(binary=True, token_pattern=r"\S+")
item_tags = vectorizer.fit_transform(items.set_index("item_id").loc[encoder.item_ids_, "tags"])

mf = MFRecommender(n_factors=32, regularization=10.0, regularization_exponent=0.0,
                   random_state=0)
model = AttributeRidgeMF(mf, item_attributes=item_tags, ridge_alpha=10.0, k=10).fit(X)
print(f"fitted on {X.shape[0]} users x {X.shape[1]} items, {X.nnz} interactions")

# --- New items arrive: add them from their tags, no refit ---------------------------------
new_items = items[items.item_id.isin(new_ids)]
model.add_items(vectorizer.transform(new_items.tags))
catalogue = np.concatenate([encoder.item_ids_, new_items.item_id])
print(f"catalogue: {model.n_features_in_} items, {len(new_items)} of them new")


def user_rows(user_ids):
    """The users' rows over the grown catalogue (no interaction with new items yet)."""
    rows = encoder.transform(ratings[ratings.user_id.isin(user_ids)], users=user_ids)
    return sp.hstack([rows, sp.csr_matrix((len(user_ids), len(new_items)))]).tocsr()


# How well are the new items placed? Rank only them for the users who take them next week.
takers = np.unique(next_week.user_id)
truth = sp.csr_matrix((np.ones(len(next_week)),
                       (np.searchsorted(takers, next_week.user_id),
                        np.searchsorted(new_items.item_id.to_numpy(), next_week.item_id))),
                      shape=(len(takers), len(new_items)))
scores = model.decision_function(user_rows(takers))[:, X.shape[1]:]
ranked = np.argsort(-scores, axis=1, kind="stable")[:, :10]
random_ranked = np.argsort(np.random.RandomState(0).random_sample(scores.shape), axis=1)[:, :10]
print(f"new items ranked from their tags: NDCG@10 {ndcg_at_k(truth, ranked):.3f} "
      f"(random order: {ndcg_at_k(truth, random_ranked):.3f})")

# Everyday recommendations by id. Mapped factors are shrunk towards the average
# item (ridge), so a new item seldom beats a well-known one in a full ranking:
# count how often they do, and give new items their own "new arrivals" slot.
top = model.predict(user_rows(list(encoder.user_ids_)))
print(f"share of new items in everyone's top 10: {np.mean(top >= X.shape[1]):.1%} "
      f"(they are {len(new_items) / model.n_features_in_:.0%} of the catalogue)")
some = list(takers[:2])
arrivals = np.argsort(-model.decision_function(user_rows(some))[:, X.shape[1]:], axis=1)[:, :3]
for user, recommended, fresh in zip(some, catalogue[model.predict(user_rows(some))], arrivals):
    print(f"{user}: {', '.join(recommended)}; new arrivals for them: "
          f"{', '.join(new_items.item_id.to_numpy()[fresh])}")
