"""Matrix factorisation: the ALS engine, MFRecommender and AttributeRidgeMF."""

from ._attribute_ridge import AttributeRidgeMF
from ._recommender import MFRecommender

__all__ = ["AttributeRidgeMF", "MFRecommender"]
