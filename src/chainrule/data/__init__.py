"""Data: datasets, mini-batch loading, splits.

    >>> from chainrule.data import DataLoader, TensorDataset, datasets
    >>> X, y = datasets.moons(200, seed=0)
    >>> loader = DataLoader(TensorDataset(X, y), batch_size=32, shuffle=True)
"""

from . import datasets  # noqa: F401
from .collate import default_collate  # noqa: F401
from .dataloader import DataLoader  # noqa: F401
from .dataset import (  # noqa: F401
    ConcatDataset, Dataset, Subset, TensorDataset, random_split, stratified_split,
)
