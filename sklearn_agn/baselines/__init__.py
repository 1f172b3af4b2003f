"""Simple, strong reference recommenders with the library's API.

Tuned simple baselines often match or beat neural recommenders on the splits
those were published on (Ferrari Dacrema et al., 2021). They share
``BaseRecommender``'s ``predict`` / ``decision_function`` / ``score`` with
``MFRecommender``, so every comparison runs through the same ranking, seen-item
filter and metric code.

``FeaturePopularity`` and ``AttributeKNN`` also score items that have no
interaction yet (cold items) from their attributes.
"""

from ._attributes import AttributeKNN, FeaturePopularity
from ._ease import EASE
from ._itemknn import ItemKNN
from ._popularity import MostPopular
from ._samplers import MFSampler, PopularitySampler, RandomizedResponseSampler

__all__ = ["AttributeKNN", "EASE", "FeaturePopularity", "ItemKNN", "MostPopular",
           "MFSampler", "PopularitySampler", "RandomizedResponseSampler"]
