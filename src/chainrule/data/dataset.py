"""Datasets: an indexable collection of samples, and ways to cut one into parts.

A map-style ``Dataset`` answers ``len(ds)`` and ``ds[i]``; an ``IterableDataset`` is a
stream (``iter(ds)``). As in PyTorch, a dataset may also define ``__getitems__(indices)``
returning a LIST of samples, which the DataLoader then collates.

Array-backed datasets (``TensorDataset`` and the ``Subset`` of one) answer
``ds.collated_batch(indices)`` with the batch that ``default_collate`` would make of those
samples, in one fancy-index per tensor: that is what makes ``DataLoader`` fast.

    >>> X, y = cr.randn(100, 2), cr.randint(0, 2, (100,))
    >>> ds = TensorDataset(X, y)
    >>> train, val = random_split(ds, [0.8, 0.2], generator=cr.Generator().manual_seed(0))
    >>> len(train), len(val)
    (80, 20)
"""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from .. import backend
from ..tensor import Tensor, _make
from .collate import default_collate


class Dataset:
    """Base class of map-style datasets: subclasses define ``__getitem__(index)`` and
    ``__len__()``.

    A subclass may define ``collated_batch(indices)`` returning the batch that
    ``default_collate([self[i] for i in indices])`` would make, computed at once; the
    ``DataLoader`` then skips the per-sample loop and the collate step.
    """

    def __getitem__(self, index):
        raise TypeError(f"{type(self).__name__} must define __getitem__")

    def __len__(self):
        raise TypeError(f"{type(self).__name__} must define __len__")

    def __add__(self, other):
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """Base class of stream datasets: subclasses define ``__iter__`` (and may define
    ``__len__``). With ``num_workers > 0`` every worker iterates its own copy; split the
    stream between them with ``get_worker_info()``.

        >>> class Count(IterableDataset):
        ...     def __init__(self, n):
        ...         self.n = n
        ...     def __iter__(self):
        ...         info = get_worker_info()  # None in the main process
        ...         start, step = (0, 1) if info is None else (info.id, info.num_workers)
        ...         return iter(range(start, self.n, step))
    """

    def __iter__(self):
        raise TypeError(f"{type(self).__name__} must define __iter__")

    def __add__(self, other):
        return ChainDataset([self, other])


class ChainDataset(IterableDataset):
    """Several iterable datasets one after the other."""

    def __init__(self, datasets):
        self.datasets = datasets

    def __iter__(self):
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise TypeError(f"ChainDataset: only supports IterableDataset, "
                                f"got {type(d).__name__}")
            yield from d

    def __len__(self):
        return sum(len(d) for d in self.datasets)


class StackDataset(Dataset):
    """Datasets of equal length side by side: sample ``i`` is the tuple (or, given by
    keyword, the dict) of their samples ``i``.

        >>> ds = StackDataset(images=range(3), labels=range(10, 13))
        >>> ds[1]
        {'images': 1, 'labels': 11}
    """

    def __init__(self, *args, **kwargs):
        if args and kwargs:
            raise ValueError("StackDataset: give the datasets either by position (tuple "
                             "samples) or by keyword (dict samples), not both")
        if not args and not kwargs:
            raise ValueError("StackDataset: at least one dataset should be passed")
        self.datasets = args if args else kwargs
        parts = args if args else tuple(kwargs.values())
        lengths = [len(d) for d in parts]
        if len(set(lengths)) != 1:
            raise ValueError(f"StackDataset: size mismatch between datasets, lengths {lengths}")
        self._length = lengths[0]

    def __getitem__(self, index):
        if isinstance(self.datasets, dict):
            return {key: d[index] for key, d in self.datasets.items()}
        return tuple(d[index] for d in self.datasets)

    def __len__(self):
        return self._length


def _as_batch_index(indices):
    """Indices as an int64 array (one fancy-index per batch, never a Python loop)."""
    if isinstance(indices, Tensor):
        indices = indices._array
    return np.asarray(indices, dtype=np.int64)


class TensorDataset(Dataset):
    """Samples are the rows of tensors that share their first dimension.

        >>> ds = TensorDataset(cr.zeros(4, 3), cr.arange(4))
        >>> x, y = ds[1]
        >>> x.shape, y.item()
        (chainrule.Size([3]), 1)
    """

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset: needs at least one tensor")
        arrays = [t if isinstance(t, Tensor) else Tensor(t) for t in tensors]
        sizes = [t.shape[0] if t.ndim else None for t in arrays]
        if None in sizes or len(set(sizes)) != 1:
            shapes = [tuple(t.shape) for t in arrays]
            raise ValueError(f"TensorDataset: tensors must share their first dimension, "
                             f"got shapes {shapes}")
        self.tensors = tuple(arrays)

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def collated_batch(self, indices):
        """The rows at ``indices`` of every tensor: ``default_collate``'s batch, as a list."""
        idx = _as_batch_index(indices)
        # One `take` per tensor, no per-row work; a graph only for a tensor that requires grad
        # (as torch.stack of its rows would record one).
        return [t[idx] if t.requires_grad else _make(t._array[idx]) for t in self.tensors]

    def __len__(self):
        return self.tensors[0].shape[0]

    def __repr__(self):
        shapes = ", ".join(str(tuple(t.shape)) for t in self.tensors)
        return f"TensorDataset({shapes})"


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = _as_batch_index(indices)
        n = len(dataset)
        if self.indices.ndim != 1:
            raise ValueError(f"Subset: indices must be one-dimensional, got shape "
                             f"{self.indices.shape}")
        if self.indices.size and (self.indices.min() < -n or self.indices.max() >= n):
            raise IndexError(f"Subset: indices out of range for a dataset of {n} samples")

    def __getitem__(self, index):
        return self.dataset[int(self.indices[index])]

    def __getitems__(self, indices):
        """The samples at ``indices``, as a list (PyTorch's protocol)."""
        inner = self.indices[_as_batch_index(indices)].tolist()
        if hasattr(self.dataset, "__getitems__"):
            return self.dataset.__getitems__(inner)
        return [self.dataset[i] for i in inner]

    def collated_batch(self, indices):
        """``default_collate``'s batch of the samples at ``indices`` (vectorized when the
        inner dataset is array-backed)."""
        inner = self.indices[_as_batch_index(indices)]
        if hasattr(self.dataset, "collated_batch"):
            return self.dataset.collated_batch(inner)
        return default_collate(self.__getitems__(indices))

    def __len__(self):
        return len(self.indices)


class ConcatDataset(Dataset):
    """Several datasets one after the other."""

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: needs at least one dataset")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise TypeError("ConcatDataset: does not support an IterableDataset; "
                                "use ChainDataset")
        self.cumulative_sizes = np.cumsum([len(d) for d in self.datasets])

    def __len__(self):
        return int(self.cumulative_sizes[-1])

    def __getitem__(self, index):
        n = len(self)
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError(f"ConcatDataset: index {index} out of range for {n} samples")
        which = int(np.searchsorted(self.cumulative_sizes, index, side="right"))
        start = 0 if which == 0 else int(self.cumulative_sizes[which - 1])
        return self.datasets[which][index - start]


def _lengths(total: int, lengths) -> list[int]:
    lengths = list(lengths)
    numeric = all(isinstance(x, numbers.Real) for x in lengths)
    as_torch = numeric and math.isclose(sum(lengths), 1) and sum(lengths) <= 1  # torch's test
    if lengths and (as_torch or all(isinstance(x, float) for x in lengths)
                    and math.isclose(sum(lengths), 1.0, abs_tol=1e-6)):
        # Fractions, as PyTorch: floor each, then hand the remainder out round-robin. (We
        # also take floats that sum to 1 within 1e-6, which torch refuses as lengths.)
        for i, fraction in enumerate(lengths):
            if not 0 <= fraction <= 1:
                raise ValueError(f"random_split: fraction at index {i} is not between 0 "
                                 f"and 1, got {fraction}")
        counts = [int(math.floor(total * f)) for f in lengths]
        for i in range(total - sum(counts)):
            counts[i % len(counts)] += 1
        for i, count in enumerate(counts):
            if count == 0:
                warnings.warn(f"random_split: length of split at index {i} is 0; this "
                              f"might result in an empty dataset", UserWarning, stacklevel=3)
        return counts
    if any(not isinstance(x, (int, np.integer)) or x < 0 for x in lengths):
        raise ValueError(f"random_split: lengths must be non-negative ints or fractions summing "
                         f"to 1, got {lengths}")
    if sum(lengths) != total:
        raise ValueError(f"random_split: lengths {lengths} sum to {sum(lengths)}, but the "
                         f"dataset has {total} samples")
    return [int(x) for x in lengths]


def random_split(dataset, lengths, generator=None):
    """Cut ``dataset`` at random into ``Subset``s of the given lengths (or fractions).

    As torch: one ``randperm(len(dataset))`` from ``generator`` (the default generator when
    None), cut in order; fractions become ``floor(fraction * len(dataset))`` each, the
    remainder handed out one by one from the first part on.

        >>> parts = random_split(range(10), [7, 3], generator=cr.Generator().manual_seed(1))
        >>> [len(p) for p in parts]
        [7, 3]
    """
    counts = _lengths(len(dataset), lengths)
    perm = backend.rng_of(generator).draw_perm(sum(counts))
    bounds = np.cumsum([0] + counts)
    return [Subset(dataset, perm[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]


def stratified_split(labels, fractions, generator=None) -> list[np.ndarray]:
    """Index arrays that cut ``labels`` into parts keeping each class's share in every part.

    ``fractions`` sum to 1 (e.g. ``(0.7, 0.15, 0.15)``). Each class is shuffled with
    ``generator`` and cut at the same fractions, so a part's class mix matches the whole.

        >>> y = np.array([0, 0, 0, 0, 1, 1, 1, 1])
        >>> train, test = stratified_split(y, (0.5, 0.5), cr.Generator().manual_seed(0))
        >>> np.bincount(y[train]).tolist()
        [2, 2]
    """
    y = np.asarray(labels._array if isinstance(labels, Tensor) else labels)
    fractions = [float(f) for f in fractions]
    if any(f < 0 for f in fractions) or not math.isclose(sum(fractions), 1.0, abs_tol=1e-6):
        raise ValueError(f"stratified_split: fractions must be >= 0 and sum to 1, "
                         f"got {fractions}")
    rng = backend.rng_of(generator)
    edges = np.cumsum([0.0] + fractions)
    parts = [[] for _ in fractions]
    for cls in np.unique(y):  # a loop over classes, not samples
        members = rng.permutation(np.flatnonzero(y == cls))
        cuts = np.round(edges * len(members)).astype(np.int64)
        for k in range(len(fractions)):
            parts[k].append(members[cuts[k]:cuts[k + 1]])
    # Shuffle each part so classes are interleaved, then hand out plain index arrays.
    return [rng.permutation(np.concatenate(p)) if p else np.empty(0, np.int64) for p in parts]
