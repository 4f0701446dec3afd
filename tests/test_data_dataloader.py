"""DataLoader and collation against torch.utils.data: the same batches (values, dtypes and
container types) where the order is deterministic, the same argument errors, the same
len(); and worker processes that really load (order, seeding, errors, shutdown)."""

import collections
import multiprocessing
import os
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
import torch.utils.data as tud

import chainrule as cr
import chainrule.data as crd
import chainrule.utils.data as cud


def plain(x):
    """A batch as nested plain values, container types and dtypes kept: comparable across
    chainrule and torch."""
    if isinstance(x, cr.Tensor):
        return ("tensor", x._array.dtype.name, x._array.tolist())
    if isinstance(x, torch.Tensor):
        return ("tensor", str(x.dtype).removeprefix("torch."), x.tolist())
    if isinstance(x, tuple) and hasattr(x, "_fields"):
        return (type(x).__name__, [plain(v) for v in x])
    if isinstance(x, (tuple, list)):
        return (type(x).__name__, [plain(v) for v in x])
    if isinstance(x, dict):
        return ("dict", {k: plain(v) for k, v in x.items()})
    return (type(x).__name__, x)


def batches(loader):
    return [plain(b) for b in loader]


Point = collections.namedtuple("Point", "x y")


# --- the namespace -------------------------------------------------------------------------

NAMES = ["Dataset", "IterableDataset", "TensorDataset", "ConcatDataset", "ChainDataset",
         "StackDataset", "Subset", "random_split", "DataLoader", "default_collate",
         "default_convert", "get_worker_info", "Sampler", "SequentialSampler", "RandomSampler",
         "SubsetRandomSampler", "WeightedRandomSampler", "BatchSampler"]


def test_utils_data_holds_the_same_objects_as_data():
    import chainrule as torch_like
    for name in NAMES:
        assert hasattr(tud, name), name  # a name torch.utils.data has too
        assert getattr(cud, name) is getattr(crd, name), name
        assert getattr(torch_like.utils.data, name) is getattr(crd, name), name
    from chainrule.utils.data import DataLoader, Dataset  # noqa: F401 - the tutorial line
    # torch.utils.data.sampler.RandomSampler and friends, by their submodules.
    assert cud.sampler.RandomSampler is crd.RandomSampler
    assert cud.dataset.Subset is crd.Subset and cud.dataloader.DataLoader is crd.DataLoader


def test_import_chainrule_does_not_load_the_data_package():
    code = ("import sys, chainrule; print('chainrule.data' in sys.modules, "
            "'chainrule.utils' in sys.modules); chainrule.utils.data.DataLoader; "
            "print('chainrule.data' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": "src"}, check=True).stdout.split()
    assert out == ["False", "False", "True"]


# --- collation -----------------------------------------------------------------------------

def _samples(lib):
    """Rows of samples, built with `lib.tensor` so the same rows serve both libraries."""
    return {
        "ints": [1, 2, 3],
        "floats": [0.5, 1.5],
        "bools": [True, False],
        "int_then_float": [1, 2.5],
        "np_float32": [np.float32(1.5), np.float32(2)],
        "np_int32": [np.int32(4), np.int32(5)],
        "np_arrays": [np.arange(3, dtype=np.float64), np.ones(3)],
        "np_int_arrays": [np.arange(2, dtype=np.int16), np.arange(2, dtype=np.int16)],
        "tensors": [lib.tensor([1.0, 2.0]), lib.tensor([3.0, 4.0])],
        "int_tensors": [lib.tensor([[1, 2]]), lib.tensor([[3, 4]])],
        "strings": ["a", "b"],
        "tuples": [(lib.tensor([1.0]), 1), (lib.tensor([2.0]), 0)],
        "lists": [[1, 2.0], [3, 4.0]],
        "dicts": [{"x": np.zeros(2), "y": 1, "name": "p"}, {"x": np.ones(2), "y": 0,
                                                             "name": "q"}],
        "nested": [{"a": (True, "s", [1, 2]), "b": {"c": 1.0}},
                   {"a": (False, "t", [3, 4]), "b": {"c": 2.0}}],
        "namedtuples": [Point(1, 2.0), Point(3, 4.0)],
        "ordered_dicts": [collections.OrderedDict(k=1), collections.OrderedDict(k=2)],
    }


@pytest.mark.parametrize("case", list(_samples(cr)))
def test_default_collate_matches_torch(case):
    ours = crd.default_collate(_samples(cr)[case])
    theirs = tud.default_collate(_samples(torch)[case])
    assert plain(ours) == plain(theirs)
    assert type(ours) is type(theirs) or isinstance(ours, cr.Tensor)


@pytest.mark.parametrize("samples,error,match", [
    ([(1, 2), (3,)], RuntimeError, "equal size"),
    ([object(), object()], TypeError, "collate_fn"),
    ([np.array(["a"]), np.array(["b"])], TypeError, "numpy arrays"),
    ([np.zeros(2), np.zeros(3)], RuntimeError, r"\(2,\) at entry 0 and \(3,\) at entry 1"),
    ("tensors of two shapes", RuntimeError, r"\(2,\) at entry 0 and \(3,\) at entry 1"),
])
def test_default_collate_refuses_what_torch_refuses(samples, error, match):
    if samples == "tensors of two shapes":
        ours, theirs = [cr.zeros(2), cr.zeros(3)], [torch.zeros(2), torch.zeros(3)]
    else:
        ours = theirs = samples
    with pytest.raises(error):
        tud.default_collate(theirs)
    with pytest.raises(error, match=f"default_collate: .*{match}"):
        crd.default_collate(ours)


def test_tensor_dataset_batches_keep_the_graph_of_a_tensor_that_requires_grad():
    w = cr.tensor([[1.0], [2.0], [3.0]], requires_grad=True)
    (xb,) = next(iter(crd.DataLoader(crd.TensorDataset(w), 2, sampler=[2, 2, 0])))
    xb.sum().backward()
    tw = torch.tensor([[1.0], [2.0], [3.0]], requires_grad=True)
    (tb,) = next(iter(tud.DataLoader(tud.TensorDataset(tw), 2, sampler=[2, 2, 0])))
    tb.sum().backward()
    assert w.grad.tolist() == tw.grad.tolist() == [[0.0], [0.0], [2.0]]


def test_default_collate_keeps_the_graph_of_samples_that_require_grad():
    a, b = cr.tensor([1.0, 2.0], requires_grad=True), cr.tensor([3.0, 4.0], requires_grad=True)
    batch = crd.default_collate([a, b])
    (batch * cr.tensor([[1.0, 2.0], [3.0, 4.0]])).sum().backward()
    assert a.grad.tolist() == [1.0, 2.0] and b.grad.tolist() == [3.0, 4.0]


@pytest.mark.parametrize("case", ["np_array", "np_scalar", "tuple", "dict", "namedtuple",
                                  "list", "number", "string", "str_array"])
def test_default_convert_matches_torch(case):
    sample = {"np_array": np.arange(3.0), "np_scalar": np.float32(2.5),
              "tuple": (np.ones(2), 1, 2.0, "s"), "dict": {"a": np.zeros(1), "b": [np.ones(1)]},
              "namedtuple": Point(np.ones(1), 3), "list": [np.int32(1), 2],
              "number": 3.5, "string": "text", "str_array": np.array(["a"])}[case]
    ours, theirs = crd.default_convert(sample), tud.default_convert(sample)
    if case == "str_array":
        assert ours is sample and theirs is sample
    else:
        assert plain(ours) == plain(theirs)


# --- deterministic orders and batches, against torch ----------------------------------------

class Records(crd.Dataset):
    """Samples of mixed types, read one by one (no collated_batch): the collate path."""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return {"x": np.full(2, i, dtype=np.float32), "y": i, "w": i / 2, "id": f"r{i}",
                "pair": (i, [i * 1.0, -i])}


class TorchRecords(Records, tud.Dataset):
    pass


class Stream(crd.IterableDataset):
    """range(n), split between workers by get_worker_info (the documented recipe)."""

    def __init__(self, n, length=True):
        self.n = n
        self.length = length

    def __iter__(self):
        info = crd.get_worker_info()
        start, step = (0, 1) if info is None else (info.id, info.num_workers)
        return iter(range(start, self.n, step))

    def __len__(self):
        if not self.length:
            raise TypeError("Stream has no len()")
        return self.n


class TorchStream(tud.IterableDataset):
    def __init__(self, n, length=True):
        self.n = n
        self.length = length

    def __iter__(self):
        info = tud.get_worker_info()
        start, step = (0, 1) if info is None else (info.id, info.num_workers)
        return iter(range(start, self.n, step))

    def __len__(self):
        if not self.length:
            raise TypeError("TorchStream has no len()")
        return self.n


@settings(max_examples=40, deadline=None)
@given(n=st.integers(0, 40), batch_size=st.integers(1, 12), drop_last=st.booleans())
def test_batch_counts_and_lengths_match_torch(n, batch_size, drop_last):
    ours = crd.DataLoader(list(range(n)), batch_size=batch_size, drop_last=drop_last)
    theirs = tud.DataLoader(list(range(n)), batch_size=batch_size, drop_last=drop_last)
    assert batches(ours) == batches(theirs) and len(ours) == len(theirs)


LOADER_CASES = [
    dict(batch_size=1), dict(batch_size=3), dict(batch_size=3, drop_last=True),
    dict(batch_size=7), dict(batch_size=8, drop_last=True), dict(batch_size=None),
]


@pytest.mark.parametrize("kwargs", LOADER_CASES)
def test_map_style_batches_match_torch(kwargs):
    ours = crd.DataLoader(Records(7), **kwargs)
    theirs = tud.DataLoader(TorchRecords(7), **kwargs)
    assert batches(ours) == batches(theirs)
    assert len(ours) == len(theirs)


@pytest.mark.parametrize("kwargs", LOADER_CASES)
def test_tensor_dataset_batches_match_torch(kwargs):
    X = np.arange(21, dtype=np.float32).reshape(7, 3)
    y = np.arange(7)
    ours = crd.DataLoader(crd.TensorDataset(cr.tensor(X), cr.tensor(y)), **kwargs)
    theirs = tud.DataLoader(tud.TensorDataset(torch.tensor(X), torch.tensor(y)), **kwargs)
    assert batches(ours) == batches(theirs)
    assert len(ours) == len(theirs)


@pytest.mark.parametrize("kwargs", [dict(batch_size=1), dict(batch_size=4),
                                    dict(batch_size=4, drop_last=True), dict(batch_size=None),
                                    dict(batch_size=5)])
def test_iterable_batches_and_len_match_torch(kwargs):
    ours, theirs = crd.DataLoader(Stream(10), **kwargs), tud.DataLoader(TorchStream(10), **kwargs)
    assert batches(ours) == batches(theirs)
    assert len(ours) == len(theirs)
    with pytest.raises(TypeError):
        len(tud.DataLoader(TorchStream(10, length=False), **kwargs))
    with pytest.raises(TypeError):
        len(crd.DataLoader(Stream(10, length=False), **kwargs))


def test_samplers_and_batch_samplers_given_by_the_user_match_torch():
    def run(lib, ds):
        return [
            batches(lib.DataLoader(ds, batch_size=2, sampler=[4, 0, 3])),
            batches(lib.DataLoader(ds, batch_sampler=[[1, 2], [0], [5, 5, 6]])),
            batches(lib.DataLoader(ds, batch_sampler=lib.BatchSampler(
                lib.SequentialSampler(ds), 3, True))),
            batches(lib.DataLoader(ds, batch_size=None, sampler=[2, 1])),
            len(lib.DataLoader(ds, batch_sampler=[[1, 2], [0], [5, 5, 6]])),
            len(lib.DataLoader(ds, batch_size=2, sampler=[4, 0, 3])),
        ]

    assert run(crd, Records(7)) == run(tud, TorchRecords(7))


def test_a_collate_fn_gets_the_samples():
    ds = crd.TensorDataset(cr.arange(5))
    assert list(crd.DataLoader(ds, 2, collate_fn=len)) == [2, 2, 1]
    assert list(tud.DataLoader(tud.TensorDataset(torch.arange(5)), 2, collate_fn=len)) == \
        [2, 2, 1]
    # A dataset with torch's __getitems__ (a list of samples) is collated as in torch.

    class Batched(Records):
        def __getitems__(self, indices):
            return [self[i] for i in indices]

    class TorchBatched(Batched, tud.Dataset):
        pass

    assert batches(crd.DataLoader(Batched(5), 2)) == batches(tud.DataLoader(TorchBatched(5), 2))


def test_vectorized_path_reads_no_single_sample():
    class Counting(crd.TensorDataset):
        calls = 0

        def __getitem__(self, index):
            Counting.calls += 1
            return super().__getitem__(index)

    ds = Counting(cr.zeros(40, 2), cr.arange(40))
    for kwargs in (dict(shuffle=True), dict(sampler=crd.SubsetRandomSampler(range(0, 40, 3))),
                   dict(sampler=crd.RandomSampler(ds, replacement=True, num_samples=30)),
                   dict(sampler=crd.WeightedRandomSampler(np.ones(40), 25)),
                   dict(pin_memory=True)):
        got = list(crd.DataLoader(ds, 8, **kwargs))
        assert sum(len(yb) for _, yb in got) == len(crd.DataLoader(ds, 8, **kwargs).sampler)
    list(crd.DataLoader(crd.Subset(ds, np.arange(20)), 5, shuffle=True))
    assert Counting.calls == 0


def test_shuffle_is_a_random_sampler_drawn_from_the_generator():
    ds = crd.TensorDataset(cr.arange(30))
    loader = crd.DataLoader(ds, 7, shuffle=True, generator=cr.Generator().manual_seed(9))
    assert isinstance(loader.sampler, crd.RandomSampler)
    assert isinstance(loader.batch_sampler, crd.BatchSampler)
    one, two = [np.concatenate([b[0].numpy() for b in loader]) for _ in range(2)]
    assert sorted(one) == list(range(30)) and not np.array_equal(one, two)
    again = crd.DataLoader(ds, 7, shuffle=True, generator=cr.Generator().manual_seed(9))
    np.testing.assert_array_equal(np.concatenate([b[0].numpy() for b in again]), one)


def test_attributes_are_frozen_as_in_torch():
    ours, theirs = crd.DataLoader(Records(3)), tud.DataLoader(TorchRecords(3))
    for name in ("batch_size", "sampler", "dataset", "drop_last"):
        with pytest.raises(ValueError):
            setattr(theirs, name, None)
        with pytest.raises(ValueError, match=f"DataLoader: {name}"):
            setattr(ours, name, None)
    ours.num_workers = 0  # others may change, as in torch


def _bad_arguments(lib, stream):
    ds = list(range(6))
    return {
        "sampler+shuffle": lambda: lib.DataLoader(ds, sampler=lib.SequentialSampler(ds),
                                                  shuffle=True),
        "batch_sampler+batch_size": lambda: lib.DataLoader(ds, batch_size=2,
                                                           batch_sampler=[[0, 1]]),
        "batch_sampler+shuffle": lambda: lib.DataLoader(ds, shuffle=True, batch_sampler=[[0]]),
        "batch_sampler+sampler": lambda: lib.DataLoader(ds, sampler=[0], batch_sampler=[[0]]),
        "batch_sampler+drop_last": lambda: lib.DataLoader(ds, drop_last=True,
                                                          batch_sampler=[[0]]),
        "batch_size=None+drop_last": lambda: lib.DataLoader(ds, batch_size=None,
                                                            drop_last=True),
        "batch_size=0": lambda: lib.DataLoader(ds, batch_size=0),
        "batch_size=-2": lambda: lib.DataLoader(ds, batch_size=-2),
        "drop_last=1": lambda: lib.DataLoader(ds, batch_size=2, drop_last=1),
        "num_workers<0": lambda: lib.DataLoader(ds, num_workers=-1),
        "timeout<0": lambda: lib.DataLoader(ds, timeout=-1),
        "prefetch without workers": lambda: lib.DataLoader(ds, prefetch_factor=2),
        "persistent without workers": lambda: lib.DataLoader(ds, persistent_workers=True),
        "context without workers": lambda: lib.DataLoader(ds, multiprocessing_context="fork"),
        "unknown start method": lambda: lib.DataLoader(ds, num_workers=2,
                                                       multiprocessing_context="nope"),
        "iterable+shuffle": lambda: lib.DataLoader(stream(4), shuffle=True),
        "iterable+sampler": lambda: lib.DataLoader(stream(4), sampler=[0, 1]),
        "iterable+batch_sampler": lambda: lib.DataLoader(stream(4), batch_sampler=[[0]]),
    }


@pytest.mark.parametrize("case", list(_bad_arguments(crd, Stream)))
def test_argument_errors_match_torch(case):
    with pytest.raises(ValueError):
        _bad_arguments(tud, TorchStream)[case]()
    with pytest.raises(ValueError, match="^(DataLoader|BatchSampler)"):
        _bad_arguments(crd, Stream)[case]()


def test_timeout_needs_workers_as_in_torch():
    with pytest.raises(Exception):  # torch: when the iteration starts
        list(tud.DataLoader(list(range(3)), timeout=1))
    with pytest.raises(ValueError, match="DataLoader: timeout=1 .*num_workers > 0"):
        crd.DataLoader(list(range(3)), timeout=1)


def test_a_sampler_that_refuses_stops_the_workers_it_started():
    loader = crd.DataLoader(list(range(3)), num_workers=2,
                            sampler=crd.WeightedRandomSampler([0.0, 0.0, 0.0], 2))
    before = set(_our_workers())
    with pytest.raises(RuntimeError, match="WeightedRandomSampler"):
        iter(loader)
    assert set(_our_workers()) <= before


def test_type_errors():
    with pytest.raises(TypeError, match="DataLoader: multiprocessing_context"):
        crd.DataLoader([1], num_workers=1, multiprocessing_context=3)
    with pytest.raises(TypeError, match="DataLoader: generator"):
        crd.DataLoader([1], generator=torch.Generator())
    with pytest.raises(TypeError, match="DataLoader: num_workers"):
        crd.DataLoader([1], num_workers=1.5)


def test_iterable_datasets_chain_and_refuse_concat():
    both = Stream(3) + Stream(2)
    assert isinstance(both, crd.ChainDataset) and list(both) == [0, 1, 2, 0, 1]
    assert len(both) == 5
    with pytest.raises(TypeError, match="ConcatDataset"):
        crd.ConcatDataset([Stream(3)])
    with pytest.raises(TypeError, match="must define __iter__"):
        iter(crd.IterableDataset())


def test_stack_dataset_matches_torch():
    for lib in (crd, tud):
        assert lib.StackDataset(range(3), "abc")[1] == (1, "b")
        assert lib.StackDataset(a=range(3), b="abc")[2] == {"a": 2, "b": "c"}
        assert len(lib.StackDataset(range(3), "abc")) == 3
        with pytest.raises(ValueError):
            lib.StackDataset(range(3), "ab")
        with pytest.raises(ValueError):
            lib.StackDataset(range(3), b="abc")


# --- worker processes ----------------------------------------------------------------------

class WhoReads(crd.Dataset):
    """Each sample says which process read it, what the worker saw, and a random draw."""

    def __init__(self, n, fail_at=None, exit_at=None, sleep_at=None):
        self.n, self.fail_at, self.exit_at, self.sleep_at = n, fail_at, exit_at, sleep_at
        self.tag = "main"

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if i == self.fail_at:
            raise ValueError(f"sample {i} is broken")
        if i == self.exit_at:
            os._exit(3)
        if i == self.sleep_at:
            time.sleep(3)
        info = crd.get_worker_info()
        return {"i": i, "pid": os.getpid(), "tag": self.tag,
                "worker": -1 if info is None else info.id,
                "seed": -1 if info is None else info.seed,
                "draw": float(cr.rand(1).item()), "np_draw": float(np.random.rand())}


def tag_worker(worker_id):
    info = crd.get_worker_info()
    assert info.id == worker_id and info.num_workers == 2
    info.dataset.tag = f"w{worker_id}"


def _rows(loader):
    rows = []
    for batch in loader:
        keys = list(batch)
        for values in zip(*(batch[k] if isinstance(batch[k], list) else batch[k].tolist()
                            for k in keys)):
            rows.append(dict(zip(keys, values)))
    return rows


def test_workers_load_in_other_processes_in_order_and_init():
    loader = crd.DataLoader(WhoReads(9), batch_size=2, num_workers=2, worker_init_fn=tag_worker)
    rows = _rows(loader)
    assert [r["i"] for r in rows] == list(range(9))
    assert os.getpid() not in {r["pid"] for r in rows}
    assert len({r["pid"] for r in rows}) == 2
    # Batches go round-robin: batch k is read by worker k % 2, initialized by worker_init_fn.
    assert [r["worker"] for r in rows] == [k // 2 % 2 for k in range(9)]
    assert [r["tag"] for r in rows] == [f"w{k // 2 % 2}" for k in range(9)]
    assert crd.get_worker_info() is None
    seeds = {r["worker"]: r["seed"] for r in rows}
    assert seeds[1] == seeds[0] + 1


class SlowStart(crd.Dataset):
    """Sample 0 takes a while, so later batches are ready before the first one."""

    def __len__(self):
        return 12

    def __getitem__(self, i):
        if i == 0:
            time.sleep(0.6)
        return i


def test_batches_finished_early_wait_for_their_turn():
    ours = [b.tolist() for b in crd.DataLoader(SlowStart(), batch_size=2, num_workers=2)]
    assert ours == [[0, 1], [2, 3], [4, 5], [6, 7], [8, 9], [10, 11]]
    unordered = crd.DataLoader(SlowStart(), batch_size=2, num_workers=2, in_order=False)
    got = [b.tolist() for b in unordered]
    assert sorted(got) == ours and got[0] != [0, 1]


def test_workers_give_the_same_batches_as_the_main_process():
    X, y = cr.randn(37, 3), cr.arange(37)
    for kwargs in (dict(shuffle=True), dict(shuffle=False, drop_last=True)):
        single = crd.DataLoader(crd.TensorDataset(X, y), 5,
                                generator=cr.Generator().manual_seed(1), **kwargs)
        multi = crd.DataLoader(crd.TensorDataset(X, y), 5, num_workers=2,
                               generator=cr.Generator().manual_seed(1), **kwargs)
        assert batches(single) == batches(multi)
        assert len(single) == len(multi)


def test_workers_are_seeded_apart_and_reproducibly():
    def draws(seed):
        loader = crd.DataLoader(WhoReads(6), batch_size=3, num_workers=2,
                                generator=cr.Generator().manual_seed(seed))
        return [(r["draw"], r["np_draw"]) for r in _rows(loader)]

    a, b, c = draws(0), draws(0), draws(1)
    assert a == b and a != c
    # The two workers do not draw the same numbers (they would if forked unseeded).
    assert a[0] != a[3] and a[0][1] != a[3][1]


def test_iterable_dataset_split_between_workers_matches_torch():
    for n, batch_size in ((11, 2), (7, 3), (3, 2)):
        ours = crd.DataLoader(Stream(n), batch_size=batch_size, num_workers=2)
        theirs = tud.DataLoader(TorchStream(n), batch_size=batch_size, num_workers=2)
        assert batches(ours) == batches(theirs)
    ours = crd.DataLoader(Stream(5), batch_size=None, num_workers=2)
    assert [b for b in ours] == [0, 1, 2, 3, 4]


def test_an_error_in_a_worker_is_raised_in_the_main_process_naming_the_worker():
    loader = crd.DataLoader(WhoReads(8, fail_at=5), batch_size=2, num_workers=2)
    iterator = iter(loader)
    assert [r for r in next(iterator)["i"].tolist()] == [0, 1]
    next(iterator)
    with pytest.raises(ValueError, match=r"(?s)worker process 0.*sample 5 is broken"):
        next(iterator)
    # As in torch, the workers live on: a caller that catches the error gets the next batch.
    assert next(iterator)["i"].tolist() == [6, 7]
    iterator.close()
    assert not any(w.is_alive() for w in iterator._workers)


def test_an_error_in_worker_init_fn_is_raised():
    loader = crd.DataLoader(WhoReads(4), num_workers=2, worker_init_fn=_failing_init)
    with pytest.raises(RuntimeError, match=r"(?s)worker process \d.*init failed"):
        list(loader)


def _failing_init(worker_id):
    raise RuntimeError(f"init failed in {worker_id}")


def test_a_worker_that_dies_is_reported():
    loader = crd.DataLoader(WhoReads(6, exit_at=3), batch_size=2, num_workers=2)
    with pytest.raises(RuntimeError, match="worker 1 .*exit code 3.*exited unexpectedly"):
        list(loader)


def test_timeout_waiting_for_a_worker():
    loader = crd.DataLoader(WhoReads(4, sleep_at=0), num_workers=1, timeout=0.3)
    with pytest.raises(RuntimeError, match="timed out after 0.3 seconds"):
        list(loader)


def test_workers_end_with_the_epoch_or_when_dropped():
    loader = crd.DataLoader(WhoReads(6), batch_size=2, num_workers=2)
    iterator = iter(loader)
    assert len(iterator) == 3
    list(iterator)
    assert iterator.closed and not any(w.is_alive() for w in iterator._workers)
    iterator = iter(loader)
    next(iterator)  # cut short: close() (also what gc does) stops the workers
    workers = iterator._workers
    iterator.close()
    assert not any(w.is_alive() for w in workers)


def test_persistent_workers_live_across_epochs():
    loader = crd.DataLoader(WhoReads(7), batch_size=2, num_workers=2, persistent_workers=True,
                            shuffle=True, generator=cr.Generator().manual_seed(0))
    epochs = [_rows(loader) for _ in range(2)]
    it = iter(loader)
    next(it)  # an epoch cut short, then a full one on the same workers
    epochs.append(_rows(loader))
    for rows in epochs:
        assert sorted(r["i"] for r in rows) == list(range(7))
    assert [r["i"] for r in epochs[0]] != [r["i"] for r in epochs[1]]
    pids = [{r["pid"] for r in rows} for rows in epochs]
    assert pids[0] == pids[1] == pids[2] and len(pids[0]) == 2
    workers = loader._iterator._workers
    assert all(w.is_alive() for w in workers)
    loader._iterator.close()
    assert not any(w.is_alive() for w in workers)


def test_persistent_workers_restart_an_iterable_stream():
    loader = crd.DataLoader(Stream(7), batch_size=2, num_workers=2, persistent_workers=True)
    first = batches(loader)
    assert batches(loader) == first
    assert first == batches(tud.DataLoader(TorchStream(7), batch_size=2, num_workers=2))
    loader._iterator.close()


def test_out_of_order_and_prefetch():
    X = cr.arange(20)
    ours = crd.DataLoader(crd.TensorDataset(X), 3, num_workers=2, in_order=False,
                          prefetch_factor=1)
    got = sorted(v for (b,) in ours for v in b.tolist())
    assert got == list(range(20))
    with pytest.raises(ValueError, match="prefetch_factor"):
        crd.DataLoader(crd.TensorDataset(X), num_workers=2, prefetch_factor=0)


def test_spawned_workers():
    # 'spawn' (the default on macOS and Windows) pickles the dataset and finds the worker
    # function by name: both must work.
    X, y = cr.randn(10, 2), cr.arange(10)
    loader = crd.DataLoader(crd.TensorDataset(X, y), 4, num_workers=2,
                            multiprocessing_context="spawn")
    assert batches(loader) == batches(crd.DataLoader(crd.TensorDataset(X, y), 4))


def _our_workers():
    return [p for p in multiprocessing.active_children()
            if p.name.startswith("chainrule DataLoader")]


def test_dropping_a_loader_or_iterator_stops_its_workers_without_waiting_for_gc():
    loader = crd.DataLoader(crd.TensorDataset(cr.arange(10)), 3, num_workers=2,
                            persistent_workers=True)
    list(loader)
    workers = loader._iterator._workers
    assert all(w.is_alive() for w in workers)
    del loader  # no reference cycle between a loader and its persistent iterator
    assert not any(w.is_alive() for w in workers)
    iterator = iter(crd.DataLoader(crd.TensorDataset(cr.arange(10)), 3, num_workers=2))
    next(iterator)
    assert len(iterator) == 4  # the loader itself is gone, its length is not
    workers = iterator._workers
    del iterator
    assert not any(w.is_alive() for w in workers)
