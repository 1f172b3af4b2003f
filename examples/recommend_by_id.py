"""From a log of (user id, item id) events to recommendations by item id.

Real logs name users and items by ids, not matrix positions.
``InteractionEncoder`` maps ids to rows and columns, a recommender ranks
columns, and the encoder maps the ranked columns back to item ids. A user who
was not in the training log is folded in from their events alone.

Run: ``python examples/recommend_by_id.py``
"""

import numpy as np
import pandas as pd

from sklearn_agn import MFRecommender
from sklearn_agn.datasets import make_interactions
from sklearn_agn.preprocessing import InteractionEncoder

# A synthetic event log with string ids, as a web shop would export it.
X = make_interactions(2000, 300, 30000, random_state=0)
users, items = X.nonzero()
log = pd.DataFrame({"user_id": [f"user-{u:04d}" for u in users],
                    "item_id": [f"sku-{i:03d}" for i in items]})

encoder = InteractionEncoder(user_col="user_id", item_col="item_id")
matrix = encoder.fit_transform(log)
model = MFRecommender(n_factors=32, k=5, random_state=0).fit(matrix)

# Recommendations for two known users, by id.
known = ["user-0007", "user-0042"]
rows = encoder.transform(log[log.user_id.isin(known)], users=known)
for user, recommended in zip(known, encoder.inverse_transform_items(model.predict(rows))):
    print(f"{user}: {', '.join(recommended)}")

# A brand-new user with three events: folded in, no refit.
new_events = pd.DataFrame({"user_id": ["newcomer"] * 3,
                           "item_id": list(encoder.item_ids_[[0, 1, 2]])})
row = encoder.transform(new_events, users=["newcomer"])
recommended = encoder.inverse_transform_items(model.predict(row))[0]
print(f"newcomer (saw {', '.join(new_events.item_id)}): {', '.join(recommended)}")
assert not np.isin(recommended, new_events.item_id).any()
