"""Quick start: fit, tune, evaluate and recommend, with and without generated feedback.

Generates 2000 users x 500 items of synthetic implicit feedback and holds out
20% of every user's interactions as the test set. Then, as the library's
benchmark does, every choice is made on a validation split carved from the
training interactions, never on the test set:

1. MF alone: a small random search over its penalty, its exponent and the
   confidence scale ``alpha`` (log-uniform draws).
2. GAN + MF: one ``GANAugmenter`` is trained, and how much feedback it adds
   (``sparse_threshold``, ``n_generated``) is searched with MF fixed at its
   own best setting. "Augment nobody" is in the space, so the GAN has to earn
   its place against the MF it is compared with.

MF is refitted on all training interactions, alone and augmented as chosen,
and both are scored on the test set; the verdict is the GAN's contribution
(the difference), with its standard error over users.
Finally both print their top-5 for a few users.

Run: ``python examples/quickstart.py`` (about 20 s on 2 CPU cores).
"""

import numpy as np
from scipy.stats import loguniform
from sklearn.base import clone
from sklearn.model_selection import ParameterSampler

from sklearn_agn import GANAugmenter, MFRecommender
from sklearn_agn.datasets import make_interactions
from sklearn_agn.gan import generated_mask
from sklearn_agn.metrics import catalogue_coverage, ndcg_at_k, ranking_metrics
from sklearn_agn.model_selection import holdout_split

K = 10
X = make_interactions(2000, 500, 30000, random_state=0)  # users x items, CSR
X_train, X_test = holdout_split(X, test_size=0.2, random_state=0)
X_fit, X_val = holdout_split(X_train, test_size=0.2, random_state=1)  # for the choices
print(f"{X.shape[0]} users x {X.shape[1]} items: {X_fit.nnz} interactions to fit on, "
      f"{X_val.nnz} to validate on (together, the training set), {X_test.nnz} held out "
      f"for the test\n")

# 1. MF alone, tuned on validation.
mf = MFRecommender(n_factors=32, k=K, random_state=0)
mf_space = {"regularization": loguniform(1e-2, 1e2), "alpha": loguniform(0.1, 100),
            "regularization_exponent": [0.0, 0.5, 1.0]}
mf_settings = list(ParameterSampler(mf_space, n_iter=16, random_state=0))
mf_scores = [clone(mf).set_params(**p).fit(X_fit).score(X_fit, X_val) for p in mf_settings]
mf_best = mf_settings[int(np.argmax(mf_scores))]
mf.set_params(**mf_best)
print(f"MF alone: best of {len(mf_settings)} settings, validation NDCG@{K} "
      f"{max(mf_scores):.4f}: " + ", ".join(f"{k}={v:.3g}" for k, v in mf_best.items()))

# 2. GAN + MF, the GAN's density tuned on top of that MF. The GAN trains once,
# on the fitting part: sparse_threshold and n_generated act in transform only,
# and being inductive it densifies any user's row, validation's or test's.
gan = GANAugmenter(max_iter=8, random_state=0).fit(X_fit)
gan_settings = [{"sparse_threshold": 0}]  # augment nobody: MF alone
gan_settings += [{"sparse_threshold": t, "n_generated": n} for t in (10, 20, 40) for n in (3, 10)]
gan_scores = [mf.fit(gan.set_params(**p).transform(X_fit)).score(X_fit, X_val)
              for p in gan_settings]
print(f"GAN + MF: {len(gan_settings)} densities on top of that MF, validation NDCG@{K}:")
for p, score in zip(gan_settings, gan_scores):
    name = ("augment nobody" if p["sparse_threshold"] == 0 else
            f"{p['n_generated']:>2} generated items for users with < {p['sparse_threshold']}")
    print(f"  {name:<46} {score:.4f}")
gan_best = gan_settings[int(np.argmax(gan_scores))]
augments = gan_best["sparse_threshold"] > 0

# Refit MF on all training interactions (augmented by the chosen density, if
# any); score both on the test set.
gan.set_params(**gan_best)
X_aug = gan.transform(X_train)
mf_alone, gan_mf = clone(mf).fit(X_train), clone(mf).fit(X_aug)
generated = generated_mask(X_aug)  # the library's mark of the entries it generated
if augments:
    weights = X_aug[generated.astype(bool)].A1
    print(f"-> chosen: {generated.nnz} generated entries (weights {weights.min():.2f}-"
          f"{weights.max():.2f}) for the {np.count_nonzero(np.diff(generated.indptr))} "
          f"users with fewer than {gan.sparse_threshold} training interactions\n")
else:
    print("-> chosen: augment nobody (GAN + MF is MF alone)\n")

ranked = {"MF alone": mf_alone.predict(X_train), "GAN + MF": gan_mf.predict(X_aug)}
columns = [f"precision@{K}", f"recall@{K}", f"ndcg@{K}", f"coverage@{K}"]
print(f"{'test set':<10}" + "".join(f"{c:>13}" for c in columns))
for name, top in ranked.items():
    scores = ranking_metrics(X_test, top, ks=K)
    scores[f"coverage@{K}"] = catalogue_coverage(top, X.shape[1])
    print(f"{name:<10}" + "".join(f"{scores[c]:>13.4f}" for c in columns))

# The GAN's contribution: per-user NDCG difference, mean and standard error.
users = np.flatnonzero(np.diff(X_test.indptr))
gain = np.array([ndcg_at_k(X_test[[u]], ranked["GAN + MF"][[u]], K)
                 - ndcg_at_k(X_test[[u]], ranked["MF alone"][[u]], K) for u in users])
mean, error = gain.mean(), gain.std(ddof=1) / np.sqrt(len(gain))
if not augments:
    verdict = "validation chose to augment nobody: the GAN adds nothing to a tuned MF here"
elif abs(mean) <= 2 * error:
    verdict = "no difference beyond noise (2 standard errors): the GAN does not pay here"
else:
    verdict = f"GAN + MF is {'better' if mean > 0 else 'worse'} than the tuned MF alone"
print(f"-> the GAN's contribution on test: {mean:+.4f} NDCG@{K} (standard error "
      f"{error:.4f} over {len(users)} users): {verdict}\n")

# Recommendations for a few users; * marks an item the user actually held out.
activity = np.diff(X_train.indptr)
order = np.argsort(activity, kind="stable")
for user in [order[-1], order[len(order) // 2], order[0]]:  # most active, median, least
    held_out = set(X_test[user].indices)
    print(f"user {user} ({activity[user]} training interactions, {len(held_out)} held out)")
    for name, top in ranked.items():
        shown = ", ".join(f"{i}{'*' if i in held_out else ''}" for i in top[user, :5])
        print(f"  {name:<9} top-5: {shown}")
