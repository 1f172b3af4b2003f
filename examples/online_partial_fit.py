"""Online adaptation: new feedback moves the model without a full refit.

``partial_fit`` folds the new rows in and updates the factors of the items
they touch, keeping what the model learned from every user seen before
(their sufficient statistics, stored at fit time). Here a
group of users starts consuming an item they never touched; after one
``partial_fit`` on that feedback, the item climbs in similar users' rankings.

Run: ``python examples/online_partial_fit.py``
"""

import numpy as np
import scipy.sparse as sp

from sklearn_agn import MFRecommender
from sklearn_agn.datasets import make_interactions

X, user_factors, item_factors = make_interactions(3000, 400, 40000, n_factors=4,
                                                  random_state=0, return_factors=True)
taste = user_factors.argmax(axis=1)
cluster = item_factors.argmax(axis=1)
model = MFRecommender(n_factors=16, random_state=0).fit(X)

# Users of taste 0 start consuming an item of another cluster.
item = int(np.flatnonzero(cluster == 1)[0])
fans = np.flatnonzero(taste == 0)
new_feedback = sp.csr_matrix(X[fans[:300]], copy=True).tolil()
new_feedback[:, item] = 1
new_feedback = new_feedback.tocsr()

probe = X[fans[300:400]]  # similar users who have not seen the new trend
probe = probe[np.asarray(probe[:, item].todense()).ravel() == 0]


def median_rank(model):
    scores = model.decision_function(probe)
    return int(np.median((scores > scores[:, [item]]).sum(axis=1)))


print(f"median rank of item {item} for taste-0 users before: {median_rank(model)}")
model.partial_fit(new_feedback)
print(f"after one partial_fit on {new_feedback.shape[0]} users' feedback: {median_rank(model)}")
