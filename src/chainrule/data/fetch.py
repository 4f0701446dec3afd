"""Fetchers: how one batch (or one sample) is read from a dataset, in the main process or
in a worker; the DataLoader decides WHICH indices, a fetcher reads them.

A map-style fetcher gets a batch of indices (or, without auto-batching, one index). When the
collate function is ``default_collate`` and the dataset is array-backed (it answers
``collated_batch``), the batch is one fancy-index per tensor; otherwise the samples are read
(``__getitems__`` when the dataset has it, as PyTorch) and collated. An iterable fetcher
ignores the index and takes the next ``batch_size`` items of its own iterator.
"""

from __future__ import annotations

import itertools

import numpy as np

from .collate import default_collate


class MapFetcher:
    def __init__(self, dataset, auto_collation, collate_fn):
        self.dataset = dataset
        self.auto_collation = auto_collation
        self.collate_fn = collate_fn
        fast = auto_collation and collate_fn is default_collate
        self._collated_batch = getattr(dataset, "collated_batch", None) if fast else None

    def fetch(self, index):
        if not self.auto_collation:
            return self.collate_fn(self.dataset[_python_index(index)])
        if self._collated_batch is not None:
            return self._collated_batch(index)
        indices = index.tolist() if isinstance(index, np.ndarray) else index
        getitems = getattr(self.dataset, "__getitems__", None)
        samples = getitems(indices) if getitems is not None \
            else [self.dataset[i] for i in indices]
        return self.collate_fn(samples)


class IterableFetcher:
    def __init__(self, dataset, auto_collation, collate_fn, drop_last, batch_size):
        self.iterator = iter(dataset)
        self.auto_collation = auto_collation
        self.collate_fn = collate_fn
        self.drop_last = drop_last
        self.batch_size = batch_size
        self.ended = False  # an iterator need not keep raising StopIteration; we do

    def fetch(self, index=None):
        """The next batch (or item); raises StopIteration at the end of the stream."""
        if self.ended:
            raise StopIteration
        if self.auto_collation:
            items = list(itertools.islice(self.iterator, self.batch_size))
            if len(items) < self.batch_size:
                self.ended = True
                if not items or self.drop_last:
                    raise StopIteration
            return self.collate_fn(items)
        try:
            item = next(self.iterator)
        except StopIteration:
            self.ended = True
            raise
        return self.collate_fn(item)


def _python_index(index):
    return index.item() if isinstance(index, np.generic) else index


def make_fetcher(kind, dataset, auto_collation, collate_fn, drop_last, batch_size):
    if kind == "iterable":
        return IterableFetcher(dataset, auto_collation, collate_fn, drop_last, batch_size)
    return MapFetcher(dataset, auto_collation, collate_fn)  # drop_last: the sampler's job
