"""sklearn-agn: recommenders for sparse implicit feedback, densified by a GAN."""

__version__ = "0.1.0.dev0"
