"""DataLoader worker processes: what runs inside one, and what it tells the main process.

A worker gets its own copy of the dataset, seeds Python's ``random``, chainrule's default
generator and (for the user's own augmentations, as torch does) NumPy's global RNG from
``base_seed + worker_id``, so that workers do not all draw the same numbers, calls
``worker_init_fn(worker_id)``, then answers tasks ``(task_id, index)`` from its index queue
with ``(task_id, kind, payload)`` on the shared result queue, where kind is "data" (the
batch), "error" (a ``WorkerError``) or "end" (an iterable dataset's stream is over). ``None``
on the index queue ends the worker. Batches travel through multiprocessing's queue between
this loader's own processes, as in PyTorch; nothing is ever read from a file here.

    >>> def worker_init_fn(worker_id):
    ...     info = get_worker_info()   # None in the main process
    ...     print(info.id, info.num_workers, info.seed)
"""

from __future__ import annotations

import os
import queue
import random
import sys
import traceback

import numpy as np

from .. import backend
from .fetch import make_fetcher

# How often a waiting worker checks that the main process is still there (seconds).
POLL_INTERVAL = 1.0


class WorkerInfo:
    """What ``get_worker_info()`` returns inside a worker: ``id``, ``num_workers``, ``seed``
    and ``dataset`` (this worker's copy)."""

    __slots__ = ("id", "num_workers", "seed", "dataset")

    def __init__(self, id, num_workers, seed, dataset):  # noqa: A002 - PyTorch's name
        self.id, self.num_workers, self.seed, self.dataset = id, num_workers, seed, dataset

    def __repr__(self):
        return (f"WorkerInfo(id={self.id}, num_workers={self.num_workers}, seed={self.seed}, "
                f"dataset={type(self.dataset).__name__})")


_worker_info: WorkerInfo | None = None


def get_worker_info() -> WorkerInfo | None:
    """The current DataLoader worker's ``WorkerInfo``, or None in the main process.

    Use it in an ``IterableDataset.__iter__`` to give each worker its own part of the
    stream, or in ``worker_init_fn`` to configure the worker's copy of the dataset.
    """
    return _worker_info


class WorkerError:
    """An exception raised in a worker, carried to the main process with its traceback."""

    def __init__(self, worker_id: int, exc: BaseException):
        self.exc_type = type(exc)
        # A class is sent by its module and name: one defined inside a function cannot
        # travel, and RuntimeError stands in for it.
        module = sys.modules.get(self.exc_type.__module__)
        if getattr(module, self.exc_type.__qualname__, None) is not self.exc_type:
            self.exc_type = RuntimeError
        self.message = (f"Caught {type(exc).__name__} in DataLoader worker process "
                        f"{worker_id}.\nOriginal "
                        + "".join(traceback.format_exception(type(exc), exc,
                                                             exc.__traceback__)))

    def reraise(self):
        try:
            error = self.exc_type(self.message)
        except Exception:  # an exception type whose constructor wants other arguments
            error = RuntimeError(self.message)
        raise error


def _seed_worker(seed: int, worker_id: int, base_seed: int):
    random.seed(seed)
    backend.manual_seed(seed)
    # chainrule never draws from NumPy's global RNG; user datasets do (augmentations), and
    # forked workers would all share its state. torch seeds it per worker the same way.
    np.random.seed(np.random.SeedSequence([worker_id, base_seed]).generate_state(4))


def worker_loop(kind, dataset, auto_collation, collate_fn, drop_last, batch_size,
                index_queue, result_queue, worker_init_fn, base_seed, worker_id, num_workers):
    """The body of one worker process (module level, so that 'spawn' can find it)."""
    global _worker_info
    parent = os.getppid()
    seed = base_seed + worker_id
    _seed_worker(seed, worker_id, base_seed)
    _worker_info = WorkerInfo(worker_id, num_workers, seed, dataset)
    init_error = None
    fetcher = None
    try:
        if worker_init_fn is not None:
            worker_init_fn(worker_id)
        fetcher = make_fetcher(kind, dataset, auto_collation, collate_fn, drop_last, batch_size)
    except Exception as exc:  # reported as the answer to tasks, so it surfaces in order
        init_error = WorkerError(worker_id, exc)
    try:
        while True:
            try:
                message = index_queue.get(timeout=POLL_INTERVAL)
            except queue.Empty:
                if os.getppid() != parent:  # the main process is gone: stop quietly
                    break
                continue
            if message is None:
                break
            task_id, index = message
            if task_id == "resume":  # a persistent worker starts a new epoch
                if init_error is None:
                    fetcher = make_fetcher(kind, dataset, auto_collation, collate_fn,
                                           drop_last, batch_size)
                result_queue.put(("resume", "resume", worker_id))
                continue
            # A worker whose setup failed answers every task with that error.
            result_queue.put((task_id, *_answer(fetcher, index, init_error, worker_id)))
    except KeyboardInterrupt:
        pass  # the main process handles Ctrl-C and shuts the workers down
    # Exit without waiting for the queue to be drained: the main process may not read it.
    result_queue.cancel_join_thread()
    result_queue.close()


def _answer(fetcher, index, init_error, worker_id):
    if init_error is not None:
        return "error", init_error
    try:
        data = fetcher.fetch(index)
    except StopIteration:
        return "end", worker_id
    except Exception as exc:
        return "error", WorkerError(worker_id, exc)
    return "data", data
