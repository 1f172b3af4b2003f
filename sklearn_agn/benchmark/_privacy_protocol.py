"""The protocol of :mod:`sklearn_agn.benchmark.privacy`: utility and leakage of releases."""

import itertools
import math
import time

from sklearn.base import clone
from tqdm.auto import tqdm

from .._validation import as_interactions, take_rows
from ..baselines import MFSampler, PopularitySampler, RandomizedResponseSampler
from ..gan._augmenter import GANAugmenter
from ..metrics import dcr_membership_auc, membership_auc, ndcg_at_k, reconstruction_scores
from ..mf._recommender import MFRecommender
from ..model_selection import UserKFold, holdout_split

__all__ = ["K", "EPSILONS", "METHODS", "split_users", "make_release", "run_privacy_benchmark",
           "format_privacy_table"]

K = 20
EPSILONS = (1.0, 3.0, 10.0, math.inf)
METHODS = ("GAN", "popularity", "MF sampler", "randomized response")


def split_users(X, *, n_splits=5, test_size=0.2, seed=0):
    """Training users (members) and held-out users (non-members), with the latter's hold-out.

    The held-out users are the first fold of
    :class:`~sklearn_agn.model_selection.UserKFold` (``n_splits`` folds,
    shuffled with ``seed``, balanced in activity); their rows are split by
    :func:`~sklearn_agn.model_selection.holdout_split` (``test_size`` of each
    row, seed ``seed``) into a history, which folds them in, and held-out
    items, which score the recommendations.

    Returns
    -------
    train_users, held_out_users : ndarray of int
        Row indices of ``X``.
    history, held_out_items : csr_matrix of shape (n_held_out_users, n_items)
    """
    train_users, held_out_users = next(
        UserKFold(n_splits, shuffle=True, random_state=seed).split(X))
    history, held_out_items = holdout_split(take_rows(X, held_out_users), test_size,
                                            random_state=seed)
    return train_users, held_out_users, history, held_out_items


def make_release(method, epsilon, *, gan, mf, seed):
    """The unfitted release of ``method`` at ``epsilon`` (``inf``: no privacy).

    ``gan`` is the :class:`~sklearn_agn.GANAugmenter` (its ``dp_epsilon`` set
    here), ``mf`` the recommender the MF sampler draws from.
    """
    private = None if math.isinf(epsilon) else float(epsilon)
    if method == "GAN":
        return clone(gan).set_params(dp_epsilon=private, random_state=seed)
    if method == "popularity":
        return PopularitySampler(epsilon=private, random_state=seed)
    if method == "MF sampler":
        return MFSampler(clone(mf), epsilon=private, random_state=seed)
    if method == "randomized response":
        return RandomizedResponseSampler(epsilon=private, random_state=seed)
    raise ValueError(f"Unknown method {method!r}; expected one of {METHODS}.")


def _ndcg(model, history, held_out_items):
    """NDCG@20 of ``model``'s recommendations for the rows of ``history`` (folded in)."""
    return float(ndcg_at_k(held_out_items, model.predict(history, k=K), K))


def _score_auc(release, members, non_members):
    """Membership AUC of the reconstruction attack on the release's model; None without one."""
    if not hasattr(release, "score_items"):
        return None
    return membership_auc(reconstruction_scores(members, release.score_items(members)),
                          reconstruction_scores(non_members, release.score_items(non_members)))


def run_privacy_benchmark(X, *, methods=METHODS, epsilons=EPSILONS, gan=None, mf=None,
                          n_splits=5, test_size=0.2, seed=0, log=lambda line: None,
                          progress=False):
    """Utility and leakage of every method's release at every epsilon.

    Protocol:

    1. :func:`split_users` splits the users into training users (members)
       and held-out users (non-members, their rows split into a history and
       held-out items).
    2. Every release (:func:`make_release`) is fitted on the training users'
       rows alone and draws as many synthetic rows as there are training
       users.
    3. Utility, train on synthetic and test on real: a clone of ``mf`` is
       fitted on the synthetic rows; the held-out users are folded in from
       their history and their top 20 scored against their held-out items
       (NDCG@20). The reference is the same MF fitted on the training users'
       real rows (not private).
    4. Leakage, members against non-members (their whole real rows): the
       membership AUC of the distance to the closest synthetic row
       (:func:`~sklearn_agn.metrics.dcr_membership_auc`, Jaccard), and of the
       reconstruction score of the release's model, where it has one
       (``score_items``: the generator of the GAN, the popularity of the
       popularity sampler, the MF of the MF sampler;
       :func:`~sklearn_agn.metrics.reconstruction_scores`).

    The held-out users' rows are never fitted on: they are folded in at
    predict time and scored by the attacks only.

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_users, n_items)
        The real interactions.
    methods : sequence of str, default=METHODS
    epsilons : sequence of float, default=EPSILONS
        ``inf``: no privacy.
    gan : GANAugmenter, default=None
        The GAN (``GANAugmenter(random_state=seed)`` when None).
    mf : MFRecommender, default=None
        The recommender of the utility measure and of the MF sampler
        (``MFRecommender(random_state=seed)`` when None).
    n_splits, test_size, seed
        Of :func:`split_users`; ``seed`` also seeds every release and draw.
    log : callable, default=no-op
        Receives a progress line per release.
    progress : bool, default=False
        Show a bar over the releases and the GAN's epochs.

    Returns
    -------
    report : dict
        ``data`` (the sizes of the split), ``reference`` (NDCG@20 of the MF
        fitted on the real training rows) and ``results``: one dict per
        method and epsilon (None for ``inf``), with the epsilon spent (the
        GAN's ``epsilon_``), NDCG@20 on synthetic and on real rows, the two
        AUCs (``score_auc`` None for a release without a model), the number
        of synthetic interactions and the time to fit and sample.
    """
    X = as_interactions(X)
    gan = GANAugmenter(random_state=seed) if gan is None else gan
    mf = MFRecommender(random_state=seed) if mf is None else mf
    if progress:
        gan = clone(gan).set_params(verbose=1)
    train_users, held_out_users, history, held_out_items = split_users(
        X, n_splits=n_splits, test_size=test_size, seed=seed)
    members, non_members = take_rows(X, train_users), take_rows(X, held_out_users)
    reference = _ndcg(clone(mf).fit(members), history, held_out_items)
    log(f"MF on the real training rows: NDCG@{K} {reference:.4f}")
    runs = list(itertools.product(methods, epsilons))
    results = []
    for method, epsilon in tqdm(runs, desc="releases", leave=False, disable=not progress):
        start = time.perf_counter()
        release = make_release(method, epsilon, gan=gan, mf=mf, seed=seed).fit(members)
        synthetic = release.sample(members.shape[0], random_state=seed)
        fit_time = time.perf_counter() - start
        row = {
            "method": method,
            # None: no privacy (strict JSON has no infinity).
            "epsilon": None if math.isinf(epsilon) else epsilon,
            # The GAN's accountant may spend a little less than its target.
            "epsilon_spent": getattr(release, "epsilon_", None) if method == "GAN"
            else (None if math.isinf(epsilon) else epsilon),
            f"ndcg@{K} synthetic": _ndcg(clone(mf).fit(synthetic), history, held_out_items),
            f"ndcg@{K} real": reference,
            "dcr_auc": dcr_membership_auc(members, non_members, synthetic),
            "score_auc": _score_auc(release, members, non_members),
            "synthetic_interactions": int(synthetic.nnz),
            "release_time": fit_time,
        }
        results.append(row)
        score = "n/a" if row["score_auc"] is None else f"{row['score_auc']:.3f}"
        log(f"{method} at epsilon {epsilon}: NDCG@{K} {row[f'ndcg@{K} synthetic']:.4f} "
            f"(real {reference:.4f}), DCR AUC {row['dcr_auc']:.3f}, score AUC {score}, "
            f"{fit_time:.1f} s")
    data = {"users": X.shape[0], "items": X.shape[1], "interactions": int(X.nnz),
            "training_users": int(train_users.size), "held_out_users": int(held_out_users.size),
            "held_out_items": int(held_out_items.nnz)}
    return {"data": data, "reference": reference, "results": results}


def format_privacy_table(report):
    """Markdown table of :func:`run_privacy_benchmark`'s results."""
    lines = [f"| method | epsilon | NDCG@{K} synthetic | NDCG@{K} real reference | DCR AUC | "
             "score AUC |",
             "|---|---|---|---|---|---|"]
    for row in report["results"]:
        epsilon = "∞" if row["epsilon"] is None else f"{row['epsilon']:g}"
        score = "—" if row["score_auc"] is None else f"{row['score_auc']:.3f}"
        lines.append(f"| {row['method']} | {epsilon} | {row[f'ndcg@{K} synthetic']:.4f} | "
                     f"{row[f'ndcg@{K} real']:.4f} | {row['dcr_auc']:.3f} | {score} |")
    return "\n".join(lines)
