"""The GAN: CFGAN networks, their training and inference, GANAugmenter, CFGANRecommender."""

from ._augmenter import GANAugmenter, generated_mask
from ._recommender import CFGANRecommender

__all__ = ["CFGANRecommender", "GANAugmenter", "generated_mask"]
