"""DataLoader: a dataset served in (shuffled) mini-batches.

For an array-backed dataset (``TensorDataset``, a ``Subset`` of one, anything with
``__getitems__``) each batch is ONE fancy-index per tensor, never a Python loop over
samples. Other datasets are read sample by sample and stacked by ``collate_fn``.

Shuffling draws a permutation from ``generator`` (or the default generator) when an
epoch starts: the same seed gives the same batches.

    >>> X, y = cr.randn(10, 3), cr.arange(10)
    >>> loader = DataLoader(TensorDataset(X, y), batch_size=4, shuffle=True,
    ...                     generator=cr.Generator().manual_seed(0))
    >>> [len(yb) for xb, yb in loader]
    [4, 4, 2]
"""

from __future__ import annotations

import numbers

import numpy as np

from .. import backend
from .collate import default_collate


class DataLoader:
    """Iterate over ``dataset`` in batches of ``batch_size``.

    Args:
        dataset: a ``Dataset`` (or anything with ``len`` and ``[]``).
        batch_size: samples per batch (the last one may be smaller unless ``drop_last``).
        shuffle: draw a new order every epoch from ``generator``.
        drop_last: skip the last, incomplete batch.
        generator: a ``cr.Generator``; ``None`` uses the default one (``cr.manual_seed``).
        collate_fn: turns a list of samples into a batch; when given, samples are read one
            by one even for array-backed datasets.
    """

    def __init__(self, dataset, batch_size=1, shuffle=False, drop_last=False, generator=None,
                 collate_fn=None):
        if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) \
                or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be a positive int, got {batch_size!r}")
        if generator is not None and not isinstance(generator, backend.Generator):
            raise TypeError(f"DataLoader: generator must be a chainrule Generator, "
                            f"got {type(generator).__name__}")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.generator = generator
        self.collate_fn = collate_fn

    def __len__(self):
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def batch_indices(self):
        """The index array of every batch of one epoch (draws the shuffle)."""
        n = len(self.dataset)
        order = backend.rng_of(self.generator).permutation(n) if self.shuffle \
            else np.arange(n, dtype=np.int64)
        stop = n - n % self.batch_size if self.drop_last else n
        return [order[i:i + self.batch_size] for i in range(0, stop, self.batch_size)]

    def __iter__(self):
        fetch_batch = None if self.collate_fn is not None \
            else getattr(self.dataset, "__getitems__", None)
        collate = self.collate_fn or default_collate
        for idx in self.batch_indices():
            if fetch_batch is not None:
                yield fetch_batch(idx)
            else:
                yield collate([self.dataset[int(i)] for i in idx])

    def __repr__(self):
        return (f"DataLoader({type(self.dataset).__name__} of {len(self.dataset)}, "
                f"batch_size={self.batch_size}, shuffle={self.shuffle}, "
                f"drop_last={self.drop_last})")
