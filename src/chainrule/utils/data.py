"""``torch.utils.data``'s names, as the SAME objects as ``chainrule.data``'s.

A PyTorch program's ``from torch.utils.data import Dataset, DataLoader`` works with
``chainrule`` in place of ``torch``; the objects are those of ``chainrule.data``, so
``isinstance`` checks and subclasses agree whichever name a program uses.

    >>> from chainrule.utils.data import DataLoader, TensorDataset, random_split
"""

# The submodules too, for programs that write torch.utils.data.sampler.RandomSampler.
from ..data import dataloader, dataset, sampler  # noqa: F401
from ..data import (  # noqa: F401
    BatchSampler, ChainDataset, ConcatDataset, DataLoader, Dataset, IterableDataset,
    RandomSampler, Sampler, SequentialSampler, StackDataset, Subset, SubsetRandomSampler,
    TensorDataset, WeightedRandomSampler, WorkerInfo, default_collate, default_convert,
    get_worker_info, random_split,
)

__all__ = [
    "BatchSampler", "ChainDataset", "ConcatDataset", "DataLoader", "Dataset", "IterableDataset",
    "RandomSampler", "Sampler", "SequentialSampler", "StackDataset", "Subset",
    "SubsetRandomSampler", "TensorDataset", "WeightedRandomSampler", "WorkerInfo",
    "default_collate", "default_convert", "get_worker_info", "random_split",
]
