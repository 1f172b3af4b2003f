"""Train on Apache Spark, serve with the library.

:class:`SparkALS` fits MLlib's alternating least squares (implicit
preferences) on the active SparkSession's cluster and returns what the rest
of the library serves: a fitted :class:`~sklearn_agn.MFRecommender`
(``recommender_``) and an :class:`~sklearn_agn.preprocessing.InteractionEncoder`
of the item ids (``encoder_``). :class:`SparkGANAugmenter` trains a
:class:`~sklearn_agn.GANAugmenter` with PyTorch's DistributedDataParallel
across the executors (through Spark's TorchDistributor) and adds its
generated feedback to a log as a Spark job. Requires the optional dependency pyspark
(``pip install 'sklearn-agn[spark]'``) and Java 17.
"""

from ._als import SparkALS
from ._gan import SparkGANAugmenter

__all__ = ["SparkALS", "SparkGANAugmenter"]
