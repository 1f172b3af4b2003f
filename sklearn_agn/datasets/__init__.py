"""Interaction data: loaders for triplet and MovieLens files, side information, generators."""

from ._attribute_files import load_item_attributes
from ._movielens import load_movielens, load_movielens_100k
from ._synthetic import make_interactions, make_item_attributes
from ._triplets import load_triplets

__all__ = [
    "load_item_attributes",
    "load_movielens",
    "load_movielens_100k",
    "load_triplets",
    "make_interactions",
    "make_item_attributes",
]
