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

from types import ModuleType as _ModuleType  # noqa: E402

# __all__: the public names imported above (a line added above joins it) and the
# public submodules.
__all__ = sorted(
    {name for name, value in globals().items()
     if not name.startswith("_") and not isinstance(value, _ModuleType)}
    | {"datasets"}
)
