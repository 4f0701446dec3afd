"""Samplers: the order in which a DataLoader visits a map-style dataset (torch.utils.data's).

A sampler yields dataset indices; a ``BatchSampler`` groups them into lists. The built-in
samplers also know their whole epoch as ONE int64 array (``_indices``), so that the
DataLoader cuts batches with slices instead of a Python loop over samples; iterating them
yields plain ints, as PyTorch's do, and a subclass that overrides ``__iter__`` is iterated.

    >>> list(BatchSampler(SequentialSampler(range(5)), batch_size=2, drop_last=False))
    [[0, 1], [2, 3], [4]]
    >>> g = cr.Generator().manual_seed(0)
    >>> sorted(RandomSampler(range(4), generator=g))
    [0, 1, 2, 3]
"""

from __future__ import annotations

import numbers

import numpy as np

from .. import backend
from ..tensor import Tensor, _make


def _check_generator(owner: str, generator):
    if generator is not None and not isinstance(generator, backend.Generator):
        raise TypeError(f"{owner}: generator must be a chainrule Generator, "
                        f"got {type(generator).__name__}")
    return generator


def _is_positive_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and value > 0


def _iter_indices(self):
    """``__iter__`` of the built-in samplers: the epoch's index array, as Python ints."""
    return iter(self._indices().tolist())


def epoch_indices(sampler):
    """The indices ``sampler`` yields this epoch as one int64 array, or None.

    None when the sampler is not one of ours (or a subclass overrides ``__iter__``): the
    caller then iterates it. Drawing the array draws the epoch's randomness once.
    """
    if type(sampler).__iter__ is _iter_indices:
        return sampler._indices()
    return None


class Sampler:
    """Base class: a subclass defines ``__iter__`` (the indices) and usually ``__len__``.

        >>> class EvenFirst(Sampler):
        ...     def __init__(self, n):
        ...         self.n = n
        ...     def __iter__(self):
        ...         return iter([*range(0, self.n, 2), *range(1, self.n, 2)])
        ...     def __len__(self):
        ...         return self.n
    """

    def __init__(self, data_source=None):
        # PyTorch still accepts (and ignores) data_source, so subclasses may pass it.
        pass

    def __iter__(self):
        raise TypeError(f"{type(self).__name__} must define __iter__")


class SequentialSampler(Sampler):
    """Indices ``0, 1, ..., len(data_source) - 1`` in order."""

    def __init__(self, data_source):
        self.data_source = data_source

    def _indices(self):
        return np.arange(len(self.data_source), dtype=np.int64)

    __iter__ = _iter_indices

    def __len__(self):
        return len(self.data_source)


class RandomSampler(Sampler):
    """A random order of ``data_source``'s indices, drawn anew each epoch from ``generator``.

    Without replacement, ``num_samples`` (default ``len(data_source)``) may exceed the size:
    whole permutations follow each other, the last one cut short. With replacement, indices
    are drawn uniformly and independently.

        >>> len(RandomSampler(range(10), replacement=True, num_samples=25))
        25
    """

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None):
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = _check_generator("RandomSampler", generator)
        if not isinstance(replacement, bool):
            raise TypeError(f"RandomSampler: replacement should be a boolean value, but got "
                            f"replacement={replacement}")
        if not _is_positive_int(self.num_samples):
            raise ValueError(f"RandomSampler: num_samples should be a positive integer value, "
                             f"but got num_samples={self.num_samples}")

    @property
    def num_samples(self) -> int:
        # Read each time: the dataset may grow between epochs.
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def _indices(self):
        n, count = len(self.data_source), int(self.num_samples)
        rng = backend.rng_of(self.generator)
        if self.replacement:
            if n == 0:
                raise ValueError("RandomSampler: cannot draw samples from an empty dataset")
            return rng.integers(0, n, size=count, dtype=np.int64)
        whole, rest = divmod(count, n)
        parts = [rng.permutation(n) for _ in range(whole)]
        if rest:
            parts.append(rng.permutation(n)[:rest])
        return np.concatenate(parts).astype(np.int64, copy=False)

    __iter__ = _iter_indices

    def __len__(self):
        return self.num_samples


def _as_index_array(owner: str, indices):
    if isinstance(indices, Tensor):
        indices = indices._array
    array = np.asarray(indices)
    if array.size == 0:
        return array.astype(np.int64).reshape(-1)
    if array.ndim != 1 or array.dtype.kind not in "iu":
        raise ValueError(f"{owner}: indices must be a one-dimensional sequence of ints, "
                         f"got {array.dtype} of shape {array.shape}")
    return array.astype(np.int64, copy=False)


class SubsetRandomSampler(Sampler):
    """The given ``indices`` in a random order (a new one each epoch), without replacement.

        >>> sorted(SubsetRandomSampler([7, 3, 5]))
        [3, 5, 7]
    """

    def __init__(self, indices, generator=None):
        self.indices = indices
        self.generator = _check_generator("SubsetRandomSampler", generator)
        self._index_array = _as_index_array("SubsetRandomSampler", indices)

    def _indices(self):
        perm = backend.rng_of(self.generator).permutation(len(self._index_array))
        return self._index_array[perm]

    __iter__ = _iter_indices

    def __len__(self):
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices drawn with probabilities proportional to ``weights``.

    With ``replacement=False`` an index is drawn at most once (``num_samples`` may not exceed
    ``len(weights)``; once the positive weights are used up, zero-weight indices follow, here
    in index order); this is ``torch.multinomial``'s semantics.

        >>> s = WeightedRandomSampler([0.0, 1.0, 3.0], num_samples=8)
        >>> set(s) <= {1, 2}
        True
    """

    def __init__(self, weights, num_samples, replacement=True, generator=None):
        if not _is_positive_int(num_samples):
            raise ValueError(f"WeightedRandomSampler: num_samples should be a positive integer "
                             f"value, but got num_samples={num_samples}")
        if not isinstance(replacement, bool):
            raise ValueError(f"WeightedRandomSampler: replacement should be a boolean value, "
                             f"but got replacement={replacement}")
        weights_array = np.asarray(weights._array if isinstance(weights, Tensor) else weights,
                                   dtype=np.float64)
        if weights_array.ndim != 1:
            raise ValueError(f"WeightedRandomSampler: weights should be a 1d sequence but given "
                             f"weights have shape {weights_array.shape}")
        self.weights = _make(weights_array)  # float64, as torch keeps them
        self.num_samples = int(num_samples)
        self.replacement = replacement
        self.generator = _check_generator("WeightedRandomSampler", generator)

    def _indices(self):
        w = self.weights._array
        # torch.multinomial refuses these when it draws; so do we (at iteration, as it does).
        if not np.all(np.isfinite(w)) or np.any(w < 0):
            raise RuntimeError("WeightedRandomSampler: invalid multinomial distribution "
                               "(weights must be finite and >= 0)")
        total = w.sum()
        if not total > 0:
            raise RuntimeError("WeightedRandomSampler: invalid multinomial distribution "
                               "(sum of weights <= 0)")
        if not self.replacement and self.num_samples > len(w):
            raise RuntimeError(f"WeightedRandomSampler: cannot draw {self.num_samples} samples "
                               f"without replacement from {len(w)} weights")
        # torch.multinomial's draws, from the generator's own streams (torch's by default).
        return backend.rng_of(self.generator).draw_multinomial(
            w, self.num_samples, self.replacement).astype(np.int64)

    __iter__ = _iter_indices

    def __len__(self):
        return self.num_samples


class BatchSampler(Sampler):
    """Group the indices of ``sampler`` into lists of ``batch_size`` (the last one shorter
    unless ``drop_last``).

        >>> list(BatchSampler(range(7), 3, drop_last=True))
        [[0, 1, 2], [3, 4, 5]]
    """

    def __init__(self, sampler, batch_size, drop_last):
        if not _is_positive_int(batch_size):
            raise ValueError(f"BatchSampler: batch_size should be a positive integer value, "
                             f"but got batch_size={batch_size}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"BatchSampler: drop_last should be a boolean value, but got "
                             f"drop_last={drop_last}")
        self.sampler = sampler
        self.batch_size = int(batch_size)
        self.drop_last = drop_last

    def batches(self):
        """The epoch's batches: int64 arrays cut from one index array when the sampler is
        one of ours (no Python loop over samples), else lists read from ``iter(sampler)``."""
        order = epoch_indices(self.sampler)
        size = self.batch_size
        if order is not None:
            stop = len(order) - len(order) % size if self.drop_last else len(order)
            for start in range(0, stop, size):
                yield order[start:start + size]
            return
        batch = []
        for index in self.sampler:
            batch.append(index)
            if len(batch) == size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __iter__(self):
        for batch in self.batches():
            yield batch.tolist() if isinstance(batch, np.ndarray) else batch

    def __len__(self):
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
