"""sklearn-agn: recommenders for sparse implicit feedback, densified by a GAN."""

from .attribute_mf import AttributeRidgeMF
from .augmentation import GANAugmenter
from .generator_recommender import CFGANRecommender
from .matrix_factorization import MFRecommender

__version__ = "0.1.0.dev0"

__all__ = ["AttributeRidgeMF", "CFGANRecommender", "GANAugmenter", "MFRecommender", "__version__"]
