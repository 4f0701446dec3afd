"""Data: datasets, samplers, mini-batch loading (also as ``chainrule.utils.data``), splits.

    >>> from chainrule.data import DataLoader, TensorDataset, datasets
    >>> X, y = datasets.moons(200, seed=0)
    >>> loader = DataLoader(TensorDataset(X, y), batch_size=32, shuffle=True)
"""

from . import datasets  # noqa: F401
from .collate import default_collate, default_convert  # noqa: F401
from .dataloader import DataLoader  # noqa: F401
from .dataset import (  # noqa: F401
    ChainDataset, ConcatDataset, Dataset, IterableDataset, StackDataset, Subset, TensorDataset,
    random_split, stratified_split,
)
from .sampler import (  # noqa: F401
    BatchSampler, RandomSampler, Sampler, SequentialSampler, SubsetRandomSampler,
    WeightedRandomSampler,
)
from .worker import WorkerInfo, get_worker_info  # noqa: F401
