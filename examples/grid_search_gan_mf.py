"""Tune the GAN and the recommender together with GridSearchCV.

``make_pipeline(GANAugmenter(), MFRecommender())`` is one estimator, so
``GridSearchCV`` tunes ``ganaugmenter__*`` (how much feedback is generated)
and ``mfrecommender__*`` (regularisation) jointly. The grid also holds
``ganaugmenter="passthrough"``, plain MF, so the search itself says whether
the generated feedback earns its place once MF is tuned too.

The protocol keeps every held-out interaction away from training:
``holdout_split`` hides 20% of each user's interactions (``y``), ``UserKFold``
cross-validates over whole users (a test fold's users are folded in at
predict time and scored against their rows of ``y``), and 300 users the
search never sees measure the best MF-alone and the best GAN + MF candidates
at the end. The GAN is fitted once per fold and GAN setting:
``Pipeline(memory=...)`` caches it across the MF settings (see the fit times).

Run: ``python examples/grid_search_gan_mf.py`` (about 12 s on a laptop CPU).
"""

import tempfile

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline

from sklearn_agn import GANAugmenter, MFRecommender
from sklearn_agn.datasets import make_interactions
from sklearn_agn.metrics import get_ranking_scorer
from sklearn_agn.model_selection import UserKFold, holdout_split

try:  # pandas only makes the table prettier
    import pandas as pd
except ImportError:
    pd = None

X = make_interactions(1000, 250, 12000, random_state=0)
X_known, X_held_out = holdout_split(X, test_size=0.2, random_state=0)
# 700 users to tune on, 300 users the search never sees.
tune_users, test_users = train_test_split(np.arange(X.shape[0]), test_size=300, random_state=0)

param_grid = [
    {"ganaugmenter": ["passthrough"],  # plain MF
     "mfrecommender__regularization": [0.3, 1.0]},
    {"ganaugmenter__n_generated": [5, 10],
     "mfrecommender__regularization": [0.3, 1.0]},
]
with tempfile.TemporaryDirectory() as cache:
    pipe = make_pipeline(
        GANAugmenter(max_iter=8, random_state=0),
        MFRecommender(n_factors=32, random_state=0),
        memory=cache,
    )
    search = GridSearchCV(pipe, param_grid, refit=False,
                          scoring=get_ranking_scorer("ndcg@10"),
                          cv=UserKFold(n_splits=3, shuffle=True, random_state=0))
    search.fit(X_known[tune_users], X_held_out[tune_users])


def describe(params):
    if params.get("ganaugmenter") == "passthrough":
        gan = "none"
    else:
        gan = f"n_generated={params['ganaugmenter__n_generated']}"
    return gan, f"{params['mfrecommender__regularization']:g}"


res = search.cv_results_
rows = [(*describe(p), mean, std, rank, fit_time)
        for p, mean, std, rank, fit_time in zip(
            res["params"], res["mean_test_score"], res["std_test_score"],
            res["rank_test_score"], res["mean_fit_time"])]
header = ["GAN", "MF regularization", "mean NDCG@10", "std", "rank", "fit time (s)"]
print(f"3-fold UserKFold cross-validation on {len(tune_users)} users:")
if pd is not None:
    table = pd.DataFrame(rows, columns=header).sort_values("rank")
    print(table.to_string(index=False, float_format="{:.4f}".format))
else:
    cells = [header] + [[f"{v:.4f}" if isinstance(v, float) else str(v) for v in row]
                        for row in sorted(rows, key=lambda r: r[4])]
    widths = [max(len(line[j]) for line in cells) for j in range(len(header))]
    for line in cells:
        print(" ".join(f"{v:>{w}}" for v, w in zip(line, widths)))
print(f"best_params_: {search.best_params_}")

# The 300 unseen users: folded in from their known interactions, scored on the
# held-out ones, by the best candidate of each kind refitted on the 700 users.
print(f"\ntest NDCG@10 on {len(test_users)} users the search never saw:")
test_scores = {}
for kind, with_gan in [("MF alone", False), ("GAN + MF", True)]:
    best = max((i for i, p in enumerate(res["params"])
                if (p.get("ganaugmenter") != "passthrough") == with_gan),
               key=lambda i: res["mean_test_score"][i])
    model = clone(search.estimator).set_params(memory=None, **res["params"][best])
    model.fit(X_known[tune_users])
    winner = "  <- search winner" if best == search.best_index_ else ""
    gan, reg = describe(res["params"][best])
    settings = f"GAN {gan}, " if with_gan else ""
    test_scores[kind] = model.score(X_known[test_users], X_held_out[test_users])
    print(f"  {kind:<9} ({settings}MF regularization={reg}): {test_scores[kind]:.4f}{winner}")
if test_scores["GAN + MF"] > test_scores["MF alone"]:
    print("-> the generated feedback pays off here, even against a tuned MF")
else:
    print("-> the generated feedback does not pay off here once MF is tuned too")
