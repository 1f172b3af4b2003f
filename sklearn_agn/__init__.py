"""sklearn-agn: recommenders for sparse implicit feedback, densified by a GAN."""

from .gan import CFGANRecommender, GANAugmenter
from .mf import AttributeRidgeMF, MFRecommender

__version__ = "0.1.0.dev0"

__all__ = ["AttributeRidgeMF", "CFGANRecommender", "GANAugmenter", "MFRecommender", "__version__"]
