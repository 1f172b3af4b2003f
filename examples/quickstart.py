"""Quick start: fit, evaluate and recommend, with and without generated feedback.

Generates 2000 users x 500 items of synthetic implicit feedback, holds out 20%
of every user's interactions, and fits two models on the rest: matrix
factorisation alone, and the same matrix factorisation after a
``GANAugmenter`` has densified the sparse rows (users with fewer than 20
interactions get 10 generated items each, weighted below real ones). Both are
scored on the held-out interactions and print their top-5 for a few users.

The two models share every MF setting, so the table measures what the
generated feedback adds to *this* MF, not to a tuned one: see
``grid_search_gan_mf.py`` for tuning both together.

Run: ``python examples/quickstart.py`` (about 10 s on a laptop CPU).
"""

import numpy as np
from sklearn.pipeline import make_pipeline

from sklearn_agn import GANAugmenter, MFRecommender
from sklearn_agn.datasets import make_interactions
from sklearn_agn.metrics import catalogue_coverage, ranking_metrics
from sklearn_agn.model_selection import holdout_split

X = make_interactions(2000, 500, 30000, random_state=0)  # users x items, CSR
X_train, X_test = holdout_split(X, test_size=0.2, random_state=0)
print(f"{X.shape[0]} users x {X.shape[1]} items; {X_train.nnz} training and "
      f"{X_test.nnz} held-out interactions")

mf = MFRecommender(n_factors=32, random_state=0).fit(X_train)
gan_mf = make_pipeline(
    GANAugmenter(max_epochs=8, random_state=0),  # the default 40 epochs take longer
    MFRecommender(n_factors=32, random_state=0),
).fit(X_train)

X_aug = gan_mf[0].transform(X_train)
n_sparse = int((np.diff(X_train.indptr) < gan_mf[0].sparse_threshold).sum())
print(f"GANAugmenter: {X_aug.nnz - X_train.nnz} generated entries (weights "
      f"{X_aug.data[X_aug.data < 1].min():.2f}-{X_aug.data[X_aug.data < 1].max():.2f}) "
      f"added to the {n_sparse} users with < {gan_mf[0].sparse_threshold} interactions\n")

# Evaluate: recommend from each user's training row, compare with their held-out items.
results = {}
for name, model in [("MF alone", mf), ("GAN + MF", gan_mf)]:
    ranked = model.predict(X_train, k=10)
    results[name] = ranking_metrics(X_test, ranked, ks=10)
    results[name]["coverage@10"] = catalogue_coverage(ranked, X.shape[1])
columns = list(results["MF alone"])
print(f"{'test set':<10}" + "".join(f"{c:>13}" for c in columns))
for name, scores in results.items():
    print(f"{name:<10}" + "".join(f"{scores[c]:>13.4f}" for c in columns))
gain = results["GAN + MF"]["ndcg@10"] - results["MF alone"]["ndcg@10"]
verdict = "better" if gain > 0 else "worse"
print(f"-> GAN + MF is {verdict} than MF alone by {abs(gain):.4f} NDCG@10 and its top-10s "
      f"cover {results['GAN + MF']['coverage@10']:.0%} of the catalogue "
      f"(MF alone: {results['MF alone']['coverage@10']:.0%}); same MF settings, neither tuned\n")

# Recommendations for a few users; * marks an item the user actually held out.
activity = np.diff(X_train.indptr)
order = np.argsort(activity, kind="stable")
users = [order[-1], order[len(order) // 2], order[0]]  # most active, median, least active
for user in users:
    held_out = set(X_test[user].indices)
    print(f"user {user} ({X_train[user].nnz} training interactions, "
          f"{len(held_out)} held out)")
    for name, model in [("MF alone", mf), ("GAN + MF", gan_mf)]:
        top5 = model.predict(X_train[user], k=5)[0]
        shown = ", ".join(f"{i}{'*' if i in held_out else ''}" for i in top5)
        print(f"  {name:<9} top-5: {shown}")
