"""The online loop end to end: fit, recommend by id, feedback, adapt, recommend again.

A shop's log names users and items by ids. ``InteractionEncoder.recommend``
serves users by id (with items to exclude, e.g. out of stock), the users act
on some recommendations, ``partial_fit`` adapts the model to that feedback
without a refit, and the next recommendations take it into account: consumed
items are not recommended back, and a newcomer is served from their events.

Run: ``python examples/online_loop.py``
"""

import numpy as np
import pandas as pd

from sklearn_agn import MFRecommender
from sklearn_agn.datasets import make_interactions
from sklearn_agn.preprocessing import InteractionEncoder

# 1. Fit on the log so far.
X = make_interactions(2000, 300, 30000, random_state=0)
users, items = X.nonzero()
log = pd.DataFrame({"user_id": [f"user-{u:04d}" for u in users],
                    "item_id": [f"sku-{i:03d}" for i in items]})
encoder = InteractionEncoder()
model = MFRecommender(n_factors=32, k=5, random_state=0).fit(encoder.fit_transform(log))

# 2. Recommend by id; two items are out of stock.
served = ["user-0007", "user-0042"]
out_of_stock = ["sku-000", "sku-001"]
before = encoder.recommend(model, log, served, exclude_items=out_of_stock)
for user, recommended in zip(served, before):
    print(f"{user} is recommended: {', '.join(recommended)}")
assert not np.isin(before, out_of_stock).any()

# 3. Feedback: each user buys their first two recommendations, and a newcomer
#    arrives with three purchases.
feedback = pd.DataFrame({"user_id": np.repeat(served, 2),
                         "item_id": before[:, :2].ravel()})
newcomer = pd.DataFrame({"user_id": ["newcomer"] * 3,
                         "item_id": ["sku-010", "sku-011", "sku-012"]})
earlier, log = log, pd.concat([log, feedback, newcomer], ignore_index=True)

# 4. Adapt: the rows of the users who acted, with their whole history (it
#    folds them in), and their rows before the feedback (each user counts
#    once; only the items of the new feedback are re-solved).
active = list(served) + ["newcomer"]
model.partial_fit(encoder.transform(log[log.user_id.isin(active)], users=active),
                  previous=encoder.transform(earlier[earlier.user_id.isin(active)],
                                             users=active))

# 5. Recommend again: what they bought is not recommended back.
after = encoder.recommend(model, log, active, exclude_items=out_of_stock)
for user, recommended in zip(active, after):
    print(f"after feedback and partial_fit, {user} gets: {', '.join(recommended)}")
assert not np.isin(after[:2], before[:, :2]).any()
assert not np.isin(after[2], newcomer.item_id).any()
