"""Top-k ranking metrics and the scorers that wrap them.

Every metric takes ``y_true``, a users x items matrix of held-out interactions
(any stored positive value counts as relevant), and ``ranked``, an
``(n_users, k)`` integer array of recommended item indices, best first, as
returned by ``predict``; ``-1`` marks an empty slot (a user with fewer
candidates than ``k``) and counts as a miss. Definitions follow the CFGAN
paper's evaluation (Chae et al., CIKM 2018), with binary relevance:

- precision@k = hits / k (empty slots included in ``k``);
- recall@k = ``hits / |truth|``;
- NDCG@k = DCG / IDCG, where DCG sums ``1 / log2(rank + 1)`` over the hits
  (ranks from 1) and IDCG is the DCG of ``min(k, |truth|)`` hits in a row;
- MRR@k = 1 / rank of the first hit, 0 without a hit;
- hit rate@k = 1 if there is a hit, else 0.

Per-user values are averaged over the users that have at least one held-out
item; the others are left out (not counted as 0), and the average is NaN,
with an :class:`~sklearn.exceptions.UndefinedMetricWarning`, when no user has
one.

Metrics beyond accuracy look at the recommendations alone (and at the
training data for popularity): catalogue coverage, intra-list diversity,
novelty and popularity bias (average recommended popularity, long-tail share,
Gini of exposure). An item's popularity is the number of training users with
a real interaction with it (generated feedback does not count).
"""

from ._beyond_accuracy import (
    average_recommendation_popularity,
    beyond_accuracy_metrics,
    catalogue_coverage,
    exposure_gini,
    intra_list_diversity,
    long_tail_share,
    novelty,
)
from ._membership import (
    dcr_membership_auc,
    distance_to_closest_record,
    membership_auc,
    reconstruction_scores,
)
from ._ranking import (
    RANKING_METRICS,
    hit_rate_at_k,
    mrr_at_k,
    ndcg_at_k,
    precision_at_k,
    ranking_metric_per_user,
    ranking_metrics,
    recall_at_k,
)
from ._scorer import get_ranking_scorer, make_ranking_scorer

__all__ = [
    "precision_at_k",
    "recall_at_k",
    "ndcg_at_k",
    "mrr_at_k",
    "hit_rate_at_k",
    "ranking_metric_per_user",
    "catalogue_coverage",
    "intra_list_diversity",
    "novelty",
    "average_recommendation_popularity",
    "long_tail_share",
    "exposure_gini",
    "beyond_accuracy_metrics",
    "ranking_metrics",
    "make_ranking_scorer",
    "get_ranking_scorer",
    "RANKING_METRICS",
    "membership_auc",
    "distance_to_closest_record",
    "dcr_membership_auc",
    "reconstruction_scores",
]
