"""DataLoader: a dataset served in mini-batches, with torch.utils.data.DataLoader's arguments.

A sampler orders the indices, a ``BatchSampler`` groups them, a fetcher reads each batch and
``collate_fn`` stacks it. For an array-backed dataset (``TensorDataset``, a ``Subset`` of one)
with the default collation each batch is ONE fancy-index per tensor, cut from one index
array per epoch: never a Python loop over samples.

``num_workers > 0`` reads batches in that many worker processes (``multiprocessing``, the
platform's default start method or ``multiprocessing_context``); batches still come out in
the sampler's order (unless ``in_order=False``), an error in a worker is raised again in
the main process naming the worker, and the workers end with the epoch (or live on, with
``persistent_workers=True``). ``pin_memory`` is accepted and does nothing: there is no GPU
copy to speed up on the CPU.

Random draws follow torch 2.13's, in its order, from the same generators, so that after the
same ``cr.manual_seed`` a shuffled epoch has torch's order and leaves the default generator
where torch's is left. ``iter(loader)`` makes the epoch's sampler iterator (our samplers
draw nothing yet), then draws the base seed ``torch.empty((), dtype=torch.int64).random_()``
from ``generator`` (the default one when None): the workers are seeded with
``base_seed + worker_id``, as torch's, and it is drawn without workers too. The shuffle is
``RandomSampler``'s: a seed from the default generator when ``generator`` is None (then a
fresh generator draws the permutation), else the permutation from ``generator``, drawn when
the first batch is asked for (with workers, when they are handed their first tasks, at
``iter(loader)``). A persistent loader's later epochs draw no new base seed, as torch's.
The same seed gives the same batches, with or without workers.

    >>> from chainrule.data import TensorDataset
    >>> X, y = cr.randn(10, 3), cr.arange(10)
    >>> loader = DataLoader(TensorDataset(X, y), batch_size=4, shuffle=True,
    ...                     generator=cr.Generator().manual_seed(0))
    >>> [len(yb) for xb, yb in loader]
    [4, 4, 2]
"""

from __future__ import annotations

import itertools
import multiprocessing
import numbers
import queue
import time

from .collate import default_collate, default_convert
from .dataset import IterableDataset
from .fetch import make_fetcher
from .sampler import (
    BatchSampler, RandomSampler, SequentialSampler, _check_generator, torch_seed,
)
from .worker import worker_loop

# How often the main process, waiting for a batch, checks that its workers are alive (s).
POLL_INTERVAL = 0.1

# Attributes that fix what an epoch is; PyTorch refuses to change them after construction.
_FROZEN = ("batch_size", "batch_sampler", "sampler", "drop_last", "dataset",
           "persistent_workers")


class _InfiniteSampler:
    """The 'sampler' of an iterable dataset: the stream itself says when it ends."""

    def __iter__(self):
        return itertools.repeat(None)


class DataLoader:
    """Iterate over ``dataset`` in batches, as ``torch.utils.data.DataLoader``.

    Args:
        dataset: a map-style ``Dataset`` (``len`` and ``[]``) or an ``IterableDataset``.
        batch_size: samples per batch; ``None`` turns batching off (each sample is yielded,
            NumPy arrays turned into tensors by ``default_convert``).
        shuffle: a new random order every epoch (map-style only).
        sampler: the order of the indices (exclusive with ``shuffle``).
        batch_sampler: yields whole lists of indices (exclusive with ``batch_size``,
            ``shuffle``, ``sampler`` and ``drop_last``).
        num_workers: worker processes that read batches (0: the main process).
        collate_fn: turns a list of samples into a batch (default ``default_collate``).
        pin_memory: accepted for PyTorch programs; a no-op on the CPU (as is
            ``pin_memory_device``).
        drop_last: skip the last, incomplete batch.
        timeout: seconds to wait for a worker's batch before raising (0: forever).
        worker_init_fn: called as ``worker_init_fn(worker_id)`` in each worker, after seeding.
        multiprocessing_context: a start method name ('fork', 'spawn', 'forkserver') or
            context; spawn needs a picklable dataset and importable functions.
        generator: a ``cr.Generator`` for the shuffle and the workers' seeds.
        prefetch_factor: batches each worker reads ahead (default 2 with workers).
        persistent_workers: keep the workers between epochs.
        in_order: yield batches in the sampler's order (False: as workers finish them).

        >>> from chainrule.data import TensorDataset
        >>> ds = TensorDataset(cr.randn(64, 3), cr.arange(64))
        >>> loader = DataLoader(ds, batch_size=32, shuffle=True, num_workers=2)
        >>> [tuple(xb.shape) for xb, yb in loader]          # loaded in 2 worker processes
        [(32, 3), (32, 3)]
    """

    _initialized = False

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None,
                 num_workers=0, collate_fn=None, pin_memory=False, drop_last=False, timeout=0,
                 worker_init_fn=None, multiprocessing_context=None, generator=None, *,
                 prefetch_factor=None, persistent_workers=False, pin_memory_device="",
                 in_order=True):
        prefetch_factor = _check_worker_options(num_workers, timeout, prefetch_factor,
                                                persistent_workers)
        _check_generator("DataLoader", generator)
        kind, shuffle, batch_size, drop_last = _check_sampling_options(
            dataset, batch_size, shuffle, sampler, batch_sampler, drop_last)
        if sampler is None:
            if kind == "iterable":
                sampler = _InfiniteSampler()
            elif shuffle:
                sampler = RandomSampler(dataset, generator=generator)
            else:
                sampler = SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, int(batch_size), drop_last)  # checks it
        if collate_fn is None:
            collate_fn = default_collate if batch_sampler is not None else default_convert

        self.dataset = dataset
        self.batch_size = None if batch_size is None else int(batch_size)
        self.drop_last = bool(drop_last)
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.num_workers = int(num_workers)
        self.collate_fn = collate_fn
        self.pin_memory = bool(pin_memory)  # no-op on the CPU (documented above)
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = _context(multiprocessing_context, self.num_workers)
        self.generator = generator
        self.prefetch_factor = prefetch_factor
        self.persistent_workers = bool(persistent_workers)
        self.in_order = bool(in_order)
        self._kind = kind
        self._iterator = None
        self._initialized = True

    def __setattr__(self, name, value):
        if self._initialized and name in _FROZEN:
            raise ValueError(f"DataLoader: {name} attribute should not be set after "
                             f"DataLoader is initialized")
        super().__setattr__(name, value)

    @property
    def _auto_collation(self) -> bool:
        return self.batch_sampler is not None

    def _new_fetcher(self):
        return make_fetcher(self._kind, self.dataset, self._auto_collation, self.collate_fn,
                            self.drop_last, self.batch_size)

    def _tasks(self):
        """The index (or batch of indices) of every fetch of one epoch, drawn now."""
        if self._kind == "iterable":
            return itertools.repeat(None)
        if self.batch_sampler is None:
            return iter(self.sampler)
        if type(self.batch_sampler).__iter__ is BatchSampler.__iter__:
            return self.batch_sampler.batches()  # index arrays: the vectorized path
        return iter(self.batch_sampler)

    def _base_seed(self) -> int:
        # torch's _BaseDataLoaderIter draws it when an iterator is made, with or without
        # workers, so the shuffle that follows is the same whatever num_workers is.
        return torch_seed(self.generator)

    def __iter__(self):
        if self.num_workers == 0:
            # torch's order: the index sampler's iterator, the base seed, the fetcher.
            tasks = self._tasks()
            self._base_seed()  # drawn and unused: the generator advances as with workers
            return _single_process(self._new_fetcher(), tasks)
        if self.persistent_workers:
            if self._iterator is None or self._iterator.closed:
                self._iterator = _MultiProcessIter(self)
            else:
                self._iterator.reset(self)
            return self._iterator
        return _MultiProcessIter(self)

    def _length_args(self):
        index_sampler = self.batch_sampler if self.batch_sampler is not None else self.sampler
        return self._kind, self.dataset, index_sampler, self.batch_size, self.drop_last

    def __len__(self):
        return _length(*self._length_args())

    def __repr__(self):
        size = len(self.dataset) if hasattr(self.dataset, "__len__") else "?"
        return (f"DataLoader({type(self.dataset).__name__} of {size}, "
                f"batch_size={self.batch_size}, sampler={type(self.sampler).__name__}, "
                f"drop_last={self.drop_last}, num_workers={self.num_workers})")


def _check_worker_options(num_workers, timeout, prefetch_factor, persistent_workers):
    """PyTorch's checks of the multiprocessing options; the prefetch_factor to use."""
    if isinstance(num_workers, bool) or not isinstance(num_workers, numbers.Integral):
        raise TypeError(f"DataLoader: num_workers must be an int, got {num_workers!r}")
    if num_workers < 0:
        raise ValueError(f"DataLoader: num_workers option should be non-negative "
                         f"(got {num_workers}); use num_workers=0 to disable "
                         f"multiprocessing")
    if timeout < 0:
        raise ValueError(f"DataLoader: timeout option should be non-negative, "
                         f"got {timeout}")
    if timeout and num_workers == 0:
        # PyTorch refuses this too (when iteration starts): the main process never waits.
        raise ValueError(f"DataLoader: timeout={timeout} applies to worker processes; it "
                         f"needs num_workers > 0")
    if num_workers == 0 and prefetch_factor is not None:
        raise ValueError("DataLoader: prefetch_factor option could only be specified in "
                         "multiprocessing; let num_workers > 0 to enable multiprocessing, "
                         "otherwise set prefetch_factor to None")
    if num_workers > 0 and prefetch_factor is None:
        prefetch_factor = 2
    elif prefetch_factor is not None and prefetch_factor < 1:
        # PyTorch's check says non-negative, but its workers then refuse 0; so do we, now.
        raise ValueError(f"DataLoader: prefetch_factor option should be a positive int, "
                         f"got {prefetch_factor}")
    if persistent_workers and num_workers == 0:
        raise ValueError("DataLoader: persistent_workers option needs num_workers > 0")
    return prefetch_factor


def _check_sampling_options(dataset, batch_size, shuffle, sampler, batch_sampler, drop_last):
    """PyTorch's checks of the options that choose the indices (the mutually exclusive
    ones); returns the dataset kind and the effective shuffle, batch_size and drop_last."""
    if isinstance(dataset, IterableDataset):
        kind = "iterable"
        if shuffle not in (False, None):
            raise ValueError(f"DataLoader with IterableDataset: expected unspecified "
                             f"shuffle option, but got shuffle={shuffle}")
        if sampler is not None:
            raise ValueError(f"DataLoader with IterableDataset: expected unspecified "
                             f"sampler option, but got sampler={sampler}")
        if batch_sampler is not None:
            raise ValueError(f"DataLoader with IterableDataset: expected unspecified "
                             f"batch_sampler option, but got batch_sampler={batch_sampler}")
    else:
        kind = "map"
        shuffle = bool(shuffle)
    if sampler is not None and shuffle:
        raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle")
    if batch_sampler is not None:
        if batch_size != 1 or shuffle or sampler is not None or drop_last:
            raise ValueError("DataLoader: batch_sampler option is mutually exclusive with "
                             "batch_size, shuffle, sampler, and drop_last")
        batch_size, drop_last = None, False
    elif batch_size is None:
        if drop_last:
            raise ValueError("DataLoader: batch_size=None option disables auto-batching "
                             "and is mutually exclusive with drop_last")
    elif isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) \
            or batch_size < 1:
        raise ValueError(f"DataLoader: batch_size should be a positive integer value, "
                         f"but got batch_size={batch_size!r}")
    return kind, shuffle, batch_size, drop_last


def _length(kind, dataset, index_sampler, batch_size, drop_last) -> int:
    """Batches in an epoch: the index sampler's length, or (a stream) the dataset's cut
    into batches; a TypeError when the stream has no length, as in PyTorch."""
    if kind == "map":
        return len(index_sampler)
    n = len(dataset)
    if batch_size is None:
        return n
    return n // batch_size if drop_last else -(-n // batch_size)


def _context(context, num_workers):
    if context is None:
        return None
    if num_workers == 0:
        raise ValueError(f"DataLoader: multiprocessing_context can only be used with "
                         f"multi-process loading (num_workers > 0), but got "
                         f"num_workers={num_workers}")
    if isinstance(context, str):
        methods = multiprocessing.get_all_start_methods()
        if context not in methods:
            raise ValueError(f"DataLoader: multiprocessing_context option should specify a "
                             f"valid start method in {methods!r}, but got "
                             f"multiprocessing_context={context!r}")
        return multiprocessing.get_context(context)
    if not isinstance(context, multiprocessing.context.BaseContext):
        raise TypeError(f"DataLoader: multiprocessing_context option should be a valid "
                        f"context object or a string specifying the start method, but got "
                        f"multiprocessing_context={context!r}")
    return context


def _single_process(fetcher, tasks):
    for index in tasks:
        try:
            batch = fetcher.fetch(index)
        except StopIteration:  # an iterable dataset's stream is over
            return
        yield batch


class _MultiProcessIter:
    """Batches read by ``loader.num_workers`` worker processes, yielded in order.

    Tasks go to the workers round-robin, ``prefetch_factor`` per worker ahead of the one
    the caller waits for; results arriving early wait in ``_early`` until their turn.
    """

    def __init__(self, loader):
        # The options this iterator reads, copied: holding the loader itself would make a
        # reference cycle (a persistent loader holds its iterator) that only gc can break.
        self._timeout, self._in_order = loader.timeout, loader.in_order
        self._persistent, self._prefetch = loader.persistent_workers, loader.prefetch_factor
        self._length_args = loader._length_args()
        self.closed = False
        context = loader.multiprocessing_context or multiprocessing.get_context()
        self._results = context.Queue()
        self._index_queues, self._workers = [], []
        # torch's _BaseDataLoaderIter makes (and its multiprocessing iterator then drops) one
        # sampler iterator before drawing the base seed: a sampler that draws in __iter__
        # draws there too. Ours draw nothing until asked for an index.
        loader._tasks()
        base_seed = loader._base_seed()
        n = loader.num_workers
        try:
            for worker_id in range(n):
                index_queue = context.Queue()
                # Do not block the main process's exit on a queue a dead worker never reads.
                index_queue.cancel_join_thread()
                worker = context.Process(
                    target=worker_loop, name=f"chainrule DataLoader worker {worker_id}",
                    args=(loader._kind, loader.dataset, loader._auto_collation,
                          loader.collate_fn, loader.drop_last, loader.batch_size,
                          index_queue, self._results, loader.worker_init_fn, base_seed,
                          worker_id, n),
                    daemon=True)
                worker.start()
                self._index_queues.append(index_queue)
                self._workers.append(worker)
            self._start_epoch(loader)  # draws the epoch's indices: a sampler may refuse here
        except BaseException:
            self.close()
            raise

    def _start_epoch(self, loader):
        self._tasks = loader._tasks()
        self._tasks_left = True
        self._active = [True] * len(self._workers)  # False once a worker's stream ended
        self._next_worker = itertools.cycle(range(len(self._workers)))
        self._sent = self._received = 0  # task ids: sent so far, yielded (or skipped) so far
        self._owner = {}  # task id -> worker id, for tasks not yet answered
        self._early = {}  # task id -> (kind, payload), answered before their turn
        for _ in range(self._prefetch * len(self._workers)):
            self._send_task()

    def reset(self, loader):
        """A new epoch of ``loader`` on the same (persistent) workers."""
        for task_id in self._early:  # answered but never yielded (the epoch was cut short)
            self._owner.pop(task_id, None)
        while self._owner:  # answers still on their way from the workers: discard them
            self._owner.pop(self._get()[0], None)
        for index_queue in self._index_queues:
            index_queue.put(("resume", None))
        for _ in self._workers:
            while self._get()[0] != "resume":
                pass
        self._start_epoch(loader)

    def _send_task(self):
        if not self._tasks_left or not any(self._active):
            return
        try:
            index = next(self._tasks)
        except StopIteration:
            self._tasks_left = False
            return
        worker_id = next(self._next_worker)
        while not self._active[worker_id]:
            worker_id = next(self._next_worker)
        self._index_queues[worker_id].put((self._sent, index))
        self._owner[self._sent] = worker_id
        self._sent += 1

    def _get(self):
        """The next answer from any worker; raises when a worker died or time ran out."""
        timeout = self._timeout
        waited = 0.0
        while True:
            wait = POLL_INTERVAL if not timeout else min(POLL_INTERVAL, timeout - waited)
            start = time.monotonic()
            try:
                return self._results.get(timeout=max(wait, 0.001))
            except queue.Empty:
                waited += time.monotonic() - start
            dead = [(i, w) for i, w in enumerate(self._workers) if not w.is_alive()]
            if dead:
                self.close(force=True)
                names = ", ".join(f"{i} (pid {w.pid}, exit code {w.exitcode})" for i, w in dead)
                raise RuntimeError(f"DataLoader: worker {names} exited unexpectedly")
            if timeout and waited >= timeout:
                self.close(force=True)  # a stuck worker would not read the stop message
                raise RuntimeError(f"DataLoader: timed out after {timeout} seconds waiting "
                                   f"for a batch from the workers")

    def __iter__(self):
        return self

    def __next__(self):
        if self.closed:
            raise StopIteration
        while True:
            if self._received == self._sent:  # nothing outstanding: the epoch is over
                self._end_epoch()
                raise StopIteration
            if self._in_order:
                task_id = self._received
                while task_id not in self._early:
                    got_id, kind, payload = self._get()
                    self._early[got_id] = (kind, payload)
            else:
                task_id, kind, payload = self._get()
                self._early[task_id] = (kind, payload)
            kind, payload = self._early.pop(task_id)
            worker_id = self._owner.pop(task_id)
            self._received += 1
            if kind == "end":
                self._active[worker_id] = False
                continue
            self._send_task()
            if kind == "error":
                # As in PyTorch the workers live on: a caller that catches the error may go on
                # to the next batch (dropping the iterator stops them).
                payload.reraise()
            return payload

    def __len__(self):
        return _length(*self._length_args)

    def _end_epoch(self):
        if not self._persistent:
            self.close()

    def close(self, force=False):
        """Stop the workers (idempotent); called at the epoch's end, on error and on gc.

        Each worker is asked to stop and given a few seconds to finish the task at hand;
        ``force`` (a worker died or timed out) terminates them without waiting.
        """
        if self.closed:
            return
        self.closed = True
        for index_queue in self._index_queues:
            try:
                index_queue.put(None)
            except (OSError, ValueError):
                pass
        for worker in self._workers:
            if not force:
                worker.join(timeout=5)
            if worker.is_alive():
                worker.terminate()
                worker.join(timeout=1)
        for q in (*self._index_queues, self._results):
            q.cancel_join_thread()
            q.close()

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter shutdown: the daemonic workers end with us
            pass
