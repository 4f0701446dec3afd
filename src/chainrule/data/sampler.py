"""Samplers: the order in which a DataLoader visits a map-style dataset (torch.utils.data's).

A sampler yields dataset indices; a ``BatchSampler`` groups them into lists. The built-in
samplers also hand out their epoch as int64 arrays (``_chunks``: one per ``randperm`` or
``randint`` call of torch's ``__iter__``), so that the DataLoader cuts batches with slices
instead of a Python loop over samples; iterating them yields plain ints, as PyTorch's do,
and a subclass that overrides ``__iter__`` is iterated.

The random ones draw what torch 2.13's draw, in the same order, from the same generators
(with the default ``kind="torch"`` generators those are torch's numbers, bit for bit), and
as lazily: nothing at ``iter(sampler)``, each chunk when its first index is asked for, and
what torch draws after the last index when the iterator is run to its end. So
``cr.manual_seed(s)`` before a shuffled epoch gives torch's order and leaves the default
generator where torch leaves its own. A ``kind="numpy"`` generator takes the same path
with NumPy's draws (its own numbers, not torch's).

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


def torch_seed(generator=None) -> int:
    """``int(torch.empty((), dtype=torch.int64).random_(generator=generator).item())``, the
    same call here: the seed torch's ``RandomSampler`` seeds its own generator with, and the
    DataLoader's base seed."""
    return int(_make(np.empty((), np.int64)).random_(generator=generator).item())


def _iter_chunks(self):
    """``__iter__`` of the built-in samplers: their chunks' indices, as Python ints.

    A generator, as torch's ``__iter__`` is: ``iter(sampler)`` draws nothing.
    """
    for chunk in self._chunks():
        yield from chunk.tolist()


def epoch_chunks(sampler):
    """The indices ``sampler`` yields this epoch as an iterator of int64 arrays, or None.

    Each array is drawn when it is asked for, where torch's ``__iter__`` draws it. None
    when the sampler is not one of ours (or a subclass overrides ``__iter__``): the caller
    then iterates it.
    """
    if type(sampler).__iter__ is _iter_chunks:
        return sampler._chunks()
    return None


def epoch_indices(sampler):
    """The indices ``sampler`` yields this epoch as one int64 array (all of its draws made
    now), or None when the sampler is not one of ours (see ``epoch_chunks``)."""
    chunks = epoch_chunks(sampler)
    if chunks is None:
        return None
    return np.concatenate([np.empty(0, np.int64), *chunks])


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

    def _chunks(self):
        yield np.arange(len(self.data_source), dtype=np.int64)

    __iter__ = _iter_chunks

    def __len__(self):
        return len(self.data_source)


class RandomSampler(Sampler):
    """A random order of ``data_source``'s indices, drawn anew each epoch from ``generator``.

    Without replacement, ``num_samples`` (default ``len(data_source)``) may exceed the size:
    whole permutations follow each other, the last one cut short. With replacement, indices
    are drawn uniformly and independently.

    The draws are torch's (``torch/utils/data/sampler.py``): without a ``generator``, the
    first index asked for draws a seed from the default generator
    (``torch.empty((), dtype=torch.int64).random_()``, see ``torch_seed``) and the epoch
    is drawn from a new generator (of the default one's kind) seeded with it; so an epoch
    advances the default generator by that one draw. Then ``randperm(n)`` for each pass
    over the data, plus one more for the cut-short rest (drawn, and unused, even when
    ``num_samples`` is a multiple of ``n``); with replacement, ``randint(n)`` in chunks of
    32 and one of ``num_samples % 32``.

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

    def _chunks(self):
        # torch's __iter__, line for line; each yield is one of its randperm/randint calls.
        n, count = len(self.data_source), int(self.num_samples)
        generator = self.generator
        if generator is None:
            seed = torch_seed()
            generator = backend.Generator(kind=backend.default_generator.kind)
            generator.manual_seed(seed)
        rng = backend.rng_of(generator)
        if n == 0:  # torch: randint refuses the range, or num_samples // n divides by zero
            raise ValueError("RandomSampler: cannot draw samples from an empty dataset")
        if self.replacement:
            for _ in range(count // 32):
                yield rng.draw_int(0, n, (32,), np.int64)
            yield rng.draw_int(0, n, (count % 32,), np.int64)
        else:
            for _ in range(count // n):
                yield rng.draw_perm(n)
            yield rng.draw_perm(n)[:count % n]

    __iter__ = _iter_chunks

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

    As torch: one ``randperm(len(indices))`` from ``generator`` (the default generator
    itself when None, no seed drawn first), when the first index is asked for.

        >>> sorted(SubsetRandomSampler([7, 3, 5]))
        [3, 5, 7]
    """

    def __init__(self, indices, generator=None):
        self.indices = indices
        self.generator = _check_generator("SubsetRandomSampler", generator)
        self._index_array = _as_index_array("SubsetRandomSampler", indices)

    def _chunks(self):
        yield self._index_array[backend.rng_of(self.generator).draw_perm(len(self._index_array))]

    __iter__ = _iter_chunks

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

    def _chunks(self):
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
        yield backend.rng_of(self.generator).draw_multinomial(
            w, self.num_samples, self.replacement).astype(np.int64)

    __iter__ = _iter_chunks

    def __len__(self):
        return self.num_samples


def _cut_batches(chunks, size, drop_last):
    """Batches of ``size`` indices cut from the int64 arrays ``chunks`` yields, pulling the
    next array only when the indices held do not fill a batch."""
    pieces, held = [], 0
    for chunk in chunks:
        pieces.append(chunk)
        held += len(chunk)
        if held < size:
            continue
        order = np.concatenate(pieces)
        stop = held - held % size
        for start in range(0, stop, size):
            yield order[start:start + size]
        pieces, held = [order[stop:]], held - stop
    if held and not drop_last:
        yield np.concatenate(pieces)


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
        """The epoch's batches: int64 arrays cut from the sampler's chunks when it is one of
        ours (no Python loop over samples), else lists read from ``iter(sampler)``.

        A chunk is drawn when the batch being filled needs its first index, and the sampler
        is run to its end only when a batch is asked for past its last full one: the draws
        happen where torch's ``BatchSampler``, taking one index at a time, makes them.
        """
        chunks = epoch_chunks(self.sampler)
        size = self.batch_size
        if chunks is not None:
            yield from _cut_batches(chunks, size, self.drop_last)
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
