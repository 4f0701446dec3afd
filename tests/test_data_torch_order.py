"""The data utilities draw what torch 2.13's draw: same seed, same order, same generator state.

Each row seeds chainrule and torch alike, runs the same sampler, loader or split in both and
compares the indices; then ``cr.rand(3)`` and ``torch.rand(3)`` drawn afterwards must agree
(the default generator advanced as torch's did), and so must the next draws of a given
``generator``.
"""

import warnings

import numpy as np
import pytest
import torch
import torch.utils.data as tud

import chainrule as cr
from chainrule.data import (
    BatchSampler, DataLoader, RandomSampler, SubsetRandomSampler, TensorDataset,
    WeightedRandomSampler, random_split,
)

SEEDS = [0, 1, 42, 2147483647]


def _seed_both(seed):
    cr.manual_seed(seed)
    torch.manual_seed(seed)


def _generators(seed, given):
    """A (chainrule, torch) pair of generators seeded alike, or (None, None)."""
    if not given:
        return None, None
    return cr.Generator().manual_seed(seed + 1), torch.Generator().manual_seed(seed + 1)


def _assert_same_streams(ours=None, theirs=None):
    assert cr.rand(3).tolist() == torch.rand(3).tolist(), "default generator out of step"
    if ours is not None:
        assert cr.rand(3, generator=ours).tolist() == \
            torch.rand(3, generator=theirs).tolist(), "given generator out of step"


# --- DataLoader(shuffle=True) ---------------------------------------------------------------

LOADER_CASES = [(1, 1, False), (7, 3, False), (7, 3, True), (32, 8, False), (33, 8, True),
                (100, 10, False), (100, 32, True), (257, 64, False)]


def _epoch_order(loader):
    return [yb.tolist() for (yb,) in loader]


@pytest.mark.parametrize("given", [False, True])
@pytest.mark.parametrize("n,batch_size,drop_last", LOADER_CASES)
@pytest.mark.parametrize("seed", SEEDS)
def test_shuffled_loader_two_epochs_match_torch(seed, n, batch_size, drop_last, given):
    _seed_both(seed)
    g, tg = _generators(seed, given)
    ours = DataLoader(TensorDataset(cr.arange(n)), batch_size, shuffle=True,
                      drop_last=drop_last, generator=g)
    theirs = tud.DataLoader(tud.TensorDataset(torch.arange(n)), batch_size, shuffle=True,
                            drop_last=drop_last, generator=tg)
    for _ in range(2):
        assert _epoch_order(ours) == _epoch_order(theirs)
    _assert_same_streams(g, tg)


@pytest.mark.parametrize("given", [False, True])
def test_loader_draws_where_torch_draws(given):
    """After iter() (the base seed only), after one batch, and after a cut-short epoch."""
    _seed_both(3)
    g, tg = _generators(3, given)
    ours = DataLoader(TensorDataset(cr.arange(20)), 5, shuffle=True, generator=g)
    theirs = tud.DataLoader(tud.TensorDataset(torch.arange(20)), 5, shuffle=True, generator=tg)
    it, tit = iter(ours), iter(theirs)
    _assert_same_streams(g, tg)
    assert next(it)[0].tolist() == next(tit)[0].tolist()
    _assert_same_streams(g, tg)
    # The epoch's rest, then a new epoch, both drawn after those extra draws.
    assert [b[0].tolist() for b in it] == [b[0].tolist() for b in tit]
    assert _epoch_order(ours) == _epoch_order(theirs)
    _assert_same_streams(g, tg)


def test_loader_without_batching_matches_torch():
    _seed_both(11)
    ours = DataLoader(TensorDataset(cr.arange(9)), batch_size=None, shuffle=True)
    theirs = tud.DataLoader(tud.TensorDataset(torch.arange(9)), batch_size=None, shuffle=True)
    assert [y.item() for (y,) in ours] == [y.item() for (y,) in theirs]
    _assert_same_streams()


def test_loader_with_workers_matches_torch():
    _seed_both(5)
    ours = DataLoader(TensorDataset(cr.arange(24)), 4, shuffle=True, num_workers=2)
    theirs = tud.DataLoader(tud.TensorDataset(torch.arange(24)), 4, shuffle=True,
                            num_workers=2)
    assert _epoch_order(ours) == _epoch_order(theirs)
    _assert_same_streams()


# --- RandomSampler --------------------------------------------------------------------------

# (n, replacement, num_samples): None, fewer than n, more than n, whole multiples of n and of
# 32 (where torch draws a last, empty chunk), several chunks of 32.
SAMPLER_CASES = [(10, False, None), (10, False, 3), (10, False, 25), (10, False, 20),
                 (1, False, 4), (50, False, None), (10, True, None), (10, True, 3),
                 (10, True, 25), (10, True, 64), (10, True, 70), (100, True, 33),
                 (3, True, 200)]


@pytest.mark.parametrize("given", [False, True])
@pytest.mark.parametrize("n,replacement,num_samples", SAMPLER_CASES)
@pytest.mark.parametrize("seed", SEEDS)
def test_random_sampler_matches_torch(seed, n, replacement, num_samples, given):
    _seed_both(seed)
    g, tg = _generators(seed, given)
    ours = RandomSampler(range(n), replacement, num_samples, generator=g)
    theirs = tud.RandomSampler(range(n), replacement, num_samples, generator=tg)
    for _ in range(2):
        assert list(ours) == list(theirs)
    _assert_same_streams(g, tg)
    # In batches (the DataLoader's vectorized path), mid-epoch included.
    for drop_last in (False, True):
        batches = iter(BatchSampler(ours, 4, drop_last))
        torch_batches = iter(tud.BatchSampler(theirs, 4, drop_last))
        assert next(batches, None) == next(torch_batches, None)
        _assert_same_streams(g, tg)
        assert list(batches) == list(torch_batches)
        _assert_same_streams(g, tg)


def test_random_sampler_draws_nothing_until_asked():
    _seed_both(8)
    ours, theirs = iter(RandomSampler(range(12))), iter(tud.RandomSampler(range(12)))
    _assert_same_streams()  # iter() drew nothing
    assert list(ours) == list(theirs)  # the seed is drawn at the first index, after those
    _assert_same_streams()


def test_random_sampler_with_a_numpy_generator_is_its_own_stream():
    # kind="numpy" generators take the same path with NumPy's draws (not torch's numbers).
    def epochs(seed, replacement):
        sampler = RandomSampler(range(30), replacement, 45,
                                generator=cr.Generator(kind="numpy").manual_seed(seed))
        return [list(sampler) for _ in range(2)]

    a, b = epochs(4, False), epochs(4, False)
    assert a == b and a[0] != a[1]
    assert sorted(a[0][:30]) == list(range(30))
    c = epochs(4, True)
    assert all(0 <= i < 30 for i in c[0]) and len(c[0]) == 45
    loader = DataLoader(TensorDataset(cr.arange(30)), 7, shuffle=True,
                        generator=cr.Generator(kind="numpy").manual_seed(4))
    assert sorted(sum(_epoch_order(loader), [])) == list(range(30))


# --- SubsetRandomSampler, WeightedRandomSampler ---------------------------------------------

@pytest.mark.parametrize("given", [False, True])
@pytest.mark.parametrize("indices", [[], [4], [9, 2, 7, 5], list(range(3, 60, 2))])
@pytest.mark.parametrize("seed", SEEDS)
def test_subset_random_sampler_matches_torch(seed, indices, given):
    _seed_both(seed)
    g, tg = _generators(seed, given)
    ours, theirs = SubsetRandomSampler(indices, g), tud.SubsetRandomSampler(indices, tg)
    for _ in range(2):
        assert list(ours) == list(theirs)
    _assert_same_streams(g, tg)


@pytest.mark.parametrize("replacement", [True, False])
@pytest.mark.parametrize("seed", SEEDS)
def test_weighted_random_sampler_matches_torch(seed, replacement):
    _seed_both(seed)
    weights = [0.5, 2.0, 1.0, 0.0, 3.0, 1.5]
    ours = WeightedRandomSampler(weights, 5, replacement)
    theirs = tud.WeightedRandomSampler(weights, 5, replacement)
    for _ in range(2):
        assert list(ours) == list(theirs)
    _assert_same_streams()


# --- random_split ---------------------------------------------------------------------------

SPLIT_CASES = [(10, [7, 3]), (10, [0, 10]), (30, [0.3, 0.3, 0.4]), (11, [0.5, 0.5]),
               (10, [1 / 3, 1 / 3, 1 / 3]), (101, [0.8, 0.1, 0.1]), (7, [0.25, 0.75]),
               (5, [1, 0])]


@pytest.mark.parametrize("given", [False, True])
@pytest.mark.parametrize("n,lengths", SPLIT_CASES)
@pytest.mark.parametrize("seed", SEEDS)
def test_random_split_matches_torch(seed, n, lengths, given):
    _seed_both(seed)
    g, tg = _generators(seed, given)
    with warnings.catch_warnings(record=True) as ours_warned:
        warnings.simplefilter("always")
        ours = random_split(range(n), lengths, generator=g)
    with warnings.catch_warnings(record=True) as torch_warned:
        warnings.simplefilter("always")
        kwargs = {} if tg is None else {"generator": tg}
        theirs = tud.random_split(range(n), lengths, **kwargs)
    assert [list(p) for p in ours] == [list(p) for p in theirs]
    assert len(ours_warned) == len(torch_warned)  # a part of length 0 from fractions
    _assert_same_streams(g, tg)


def test_random_split_refuses_fractions_out_of_range():
    with pytest.raises(ValueError, match="fraction at index 0"):
        random_split(range(4), [1.5, -0.5])


def test_data_utilities_in_sequence_match_torch():
    """A tutorial's data setup: split, shuffled loader, a sampler; then the model's init."""
    _seed_both(2147483647)
    train, val = random_split(TensorDataset(cr.arange(50)), [0.8, 0.2])
    t_train, t_val = tud.random_split(tud.TensorDataset(torch.arange(50)), [0.8, 0.2])
    ours = DataLoader(train, 16, shuffle=True)
    theirs = tud.DataLoader(t_train, 16, shuffle=True)
    for _ in range(3):
        assert _epoch_order(ours) == _epoch_order(theirs)
    assert list(SubsetRandomSampler(range(5))) == list(tud.SubsetRandomSampler(range(5)))
    assert cr.randn(4, 2).tolist() == torch.randn(4, 2).tolist()
    assert np.array_equal(val.indices, np.asarray(t_val.indices))
