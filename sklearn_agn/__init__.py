"""sklearn-agn: recommenders for sparse implicit feedback, densified by a GAN."""

from .matrix_factorization import MFRecommender

__version__ = "0.1.0.dev0"

__all__ = ["MFRecommender", "__version__"]
