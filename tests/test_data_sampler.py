"""Samplers against torch.utils.data: the same orders where they are deterministic, the same
errors, and seeded statistical checks of the random ones (seeded, so they cannot flake)."""

import numpy as np
import pytest
import torch
import torch.utils.data as tud

import chainrule as cr
from chainrule.data import (
    BatchSampler, DataLoader, RandomSampler, Sampler, SequentialSampler, SubsetRandomSampler,
    TensorDataset, WeightedRandomSampler,
)


def _gen(seed):
    return cr.Generator().manual_seed(seed)


class EveryOther(Sampler):
    """A user's sampler: plain Python iteration, no index array."""

    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter([*range(0, self.n, 2), *range(1, self.n, 2)])

    def __len__(self):
        return self.n


@pytest.mark.parametrize("n", [0, 1, 7])
def test_sequential_sampler_matches_torch(n):
    ours, theirs = SequentialSampler(range(n)), tud.SequentialSampler(range(n))
    assert list(ours) == list(theirs) and len(ours) == len(theirs)
    assert all(type(i) is int for i in ours)


BATCH_CASES = [(0, 3, False), (1, 3, True), (10, 3, False), (10, 3, True), (9, 3, True),
               (9, 3, False), (10, 1, False), (10, 10, True), (10, 11, False),
               (10, 11, True)]


@pytest.mark.parametrize("n,batch_size,drop_last", BATCH_CASES)
def test_batch_sampler_matches_torch(n, batch_size, drop_last):
    expected = list(tud.BatchSampler(tud.SequentialSampler(range(n)), batch_size, drop_last))
    expected_len = len(tud.BatchSampler(range(n), batch_size, drop_last))
    # Our sampler (the index-array path), a plain range and a user's sampler (Python paths).
    for inner in (SequentialSampler(range(n)), range(n)):
        ours = BatchSampler(inner, batch_size, drop_last)
        assert list(ours) == expected and len(ours) == expected_len
    user = list(BatchSampler(EveryOther(n), batch_size, drop_last))
    assert user == list(tud.BatchSampler(list(EveryOther(n)), batch_size, drop_last))


@pytest.mark.parametrize("batch_size,drop_last", [(0, False), (-1, False), (2.5, False),
                                                  (True, False), ("2", False), (2, 1),
                                                  (2, None)])
def test_batch_sampler_rejects_what_torch_rejects(batch_size, drop_last):
    with pytest.raises(ValueError):
        tud.BatchSampler(range(4), batch_size, drop_last)
    with pytest.raises(ValueError, match=r"BatchSampler: (batch_size|drop_last)"):
        BatchSampler(range(4), batch_size, drop_last)


def test_random_sampler_permutes_each_epoch_and_repeats_with_the_seed():
    sampler = RandomSampler(range(50), generator=_gen(0))
    first, second = list(sampler), list(sampler)
    assert sorted(first) == list(range(50)) and sorted(second) == list(range(50))
    assert first != second  # a new order every epoch
    assert list(RandomSampler(range(50), generator=_gen(0))) == first
    assert all(type(i) is int for i in first)
    # Without a generator it draws from the default one, which cr.manual_seed controls.
    cr.manual_seed(3)
    a = list(RandomSampler(range(20)))
    cr.manual_seed(3)
    assert list(RandomSampler(range(20))) == a


@pytest.mark.parametrize("n,num_samples", [(5, 12), (5, 3), (5, 10), (1, 4)])
def test_random_sampler_num_samples_without_replacement(n, num_samples):
    # As torch: whole permutations one after the other, the last one cut short.
    drawn = list(RandomSampler(range(n), num_samples=num_samples, generator=_gen(1)))
    assert len(drawn) == num_samples == len(RandomSampler(range(n), num_samples=num_samples))
    whole, rest = divmod(num_samples, n)
    for k in range(whole):
        assert sorted(drawn[k * n:(k + 1) * n]) == list(range(n))
    tail = drawn[whole * n:]
    assert len(tail) == rest and len(set(tail)) == rest
    assert len(list(tud.RandomSampler(range(n), num_samples=num_samples))) == num_samples


def test_random_sampler_with_replacement_is_uniform():
    n, draws = 10, 100_000
    drawn = np.array(list(RandomSampler(range(n), replacement=True, num_samples=draws,
                                        generator=_gen(2))))
    assert drawn.min() >= 0 and drawn.max() < n
    counts = np.bincount(drawn, minlength=n)
    # Chi-square with 9 degrees of freedom: 27.9 is its 0.999 quantile.
    chi2 = ((counts - draws / n) ** 2 / (draws / n)).sum()
    assert chi2 < 27.9
    # Duplicates are expected with replacement (and impossible without).
    assert len(set(drawn[:20].tolist())) < 20 or len(set(drawn[:40].tolist())) < 40


def test_random_sampler_length_follows_a_growing_dataset():
    data = list(range(4))
    sampler = RandomSampler(data)
    data.append(4)
    assert len(sampler) == 5 and sorted(sampler) == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("kwargs,error", [({"replacement": 1}, TypeError),
                                          ({"replacement": "yes"}, TypeError),
                                          ({"num_samples": 0}, ValueError),
                                          ({"num_samples": -3}, ValueError),
                                          ({"num_samples": 2.0}, ValueError)])
def test_random_sampler_rejects_what_torch_rejects(kwargs, error):
    with pytest.raises(error):
        tud.RandomSampler(range(4), **kwargs)
    with pytest.raises(error, match="RandomSampler"):
        RandomSampler(range(4), **kwargs)


def test_samplers_reject_a_foreign_generator():
    for make in (lambda g: RandomSampler(range(3), generator=g),
                 lambda g: SubsetRandomSampler([1, 2], generator=g),
                 lambda g: WeightedRandomSampler([1.0, 2.0], 2, generator=g)):
        with pytest.raises(TypeError, match="chainrule Generator"):
            make(torch.Generator())


def test_subset_random_sampler():
    indices = [7, 3, 11, 5]
    sampler = SubsetRandomSampler(indices, generator=_gen(4))
    orders = [list(sampler) for _ in range(6)]
    assert all(sorted(o) == [3, 5, 7, 11] for o in orders)
    assert len({tuple(o) for o in orders}) > 1 and len(sampler) == 4
    assert all(type(i) is int for i in orders[0])
    assert sorted(SubsetRandomSampler(cr.tensor([2, 0]))) == [0, 2]
    assert list(SubsetRandomSampler([])) == []
    with pytest.raises(ValueError, match="SubsetRandomSampler"):
        SubsetRandomSampler([[0, 1], [2, 3]])


def test_weighted_sampler_with_replacement_follows_the_weights():
    weights = [0.0, 1.0, 2.0, 5.0]
    draws = 80_000
    drawn = np.array(list(WeightedRandomSampler(weights, draws, generator=_gen(5))))
    counts = np.bincount(drawn, minlength=4)
    assert counts[0] == 0  # a zero weight is never drawn
    expected = draws * np.array(weights[1:]) / 8
    chi2 = ((counts[1:] - expected) ** 2 / expected).sum()
    assert chi2 < 13.8  # 2 degrees of freedom, 0.999 quantile
    assert len(WeightedRandomSampler(weights, 17)) == 17
    assert all(type(i) is int for i in WeightedRandomSampler(weights, 3))


def test_weighted_sampler_without_replacement_draws_like_multinomial():
    weights = np.array([1.0, 2.0, 3.0])
    sampler = WeightedRandomSampler(weights, 2, replacement=False, generator=_gen(6))
    trials = 30_000
    pairs = {}
    for _ in range(trials):
        first, second = list(sampler)
        assert first != second
        pairs[first, second] = pairs.get((first, second), 0) + 1
    # P(i then j) = w_i / W * w_j / (W - w_i): drawing one by one, renormalizing.
    total = weights.sum()
    for (i, j), count in pairs.items():
        p = weights[i] / total * weights[j] / (total - weights[i])
        sd = np.sqrt(trials * p * (1 - p))
        assert abs(count - trials * p) < 4.5 * sd
    assert len(pairs) == 6
    # Every positive weight is drawn when num_samples equals their number; past them the
    # zero-weight indices follow in order, as torch.multinomial does.
    assert sorted(WeightedRandomSampler([0, 3, 1, 0, 2], 3, replacement=False)) == [1, 2, 4]
    # (torch's order among the zero weights is a tie-break of its top-k; ours is index order.)
    for seed in range(5):
        for make in (lambda w, k: WeightedRandomSampler(w, k, False, _gen(seed)),
                     lambda w, k: tud.WeightedRandomSampler(
                         w, k, False, torch.Generator().manual_seed(seed))):
            drawn = list(make([0, 2, 0, 1, 0], 4))
            assert sorted(drawn[:2]) == [1, 3] and sorted(drawn[2:]) in ([0, 2], [0, 4], [2, 4])


@pytest.mark.parametrize("weights,num_samples,replacement", [
    ([1.0, -1.0], 2, True), ([0.0, 0.0], 1, True), ([1.0, 0.0, 2.0], 4, False),
    ([1.0, float("nan")], 1, True)])
def test_weighted_sampler_refuses_at_iteration_as_torch(weights, num_samples, replacement):
    with pytest.raises(RuntimeError):
        list(tud.WeightedRandomSampler(weights, num_samples, replacement))
    with pytest.raises(RuntimeError, match="WeightedRandomSampler"):
        list(WeightedRandomSampler(weights, num_samples, replacement))


@pytest.mark.parametrize("weights,num_samples,replacement", [
    ([[1.0, 2.0]], 1, True), ([1.0], 0, True), ([1.0], True, True), ([1.0], 1, 1)])
def test_weighted_sampler_rejects_at_construction_as_torch(weights, num_samples, replacement):
    with pytest.raises(ValueError):
        tud.WeightedRandomSampler(weights, num_samples, replacement)
    with pytest.raises(ValueError, match="WeightedRandomSampler"):
        WeightedRandomSampler(weights, num_samples, replacement)


def test_sampler_base_and_user_subclasses():
    with pytest.raises(TypeError, match="must define __iter__"):
        iter(Sampler())
    Sampler(range(3))  # torch still accepts data_source

    class Reversed(SequentialSampler):  # overriding __iter__ of one of ours is honoured
        def __iter__(self):
            return iter(range(len(self.data_source) - 1, -1, -1))

    assert list(BatchSampler(Reversed(range(5)), 2, False)) == [[4, 3], [2, 1], [0]]
    ds = TensorDataset(cr.arange(5))
    assert [b[0].tolist() for b in DataLoader(ds, 2, sampler=Reversed(ds))] == \
        [[4, 3], [2, 1], [0]]
    assert [b[0].tolist() for b in DataLoader(ds, 2, sampler=EveryOther(5))] == \
        [[0, 2], [4, 1], [3]]
