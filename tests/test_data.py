"""Dataset, DataLoader, splits: determinism, coverage, vectorized batching, errors."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.data import (
    ConcatDataset, DataLoader, Dataset, Subset, TensorDataset, default_collate, random_split,
    stratified_split,
)


def _data(n=23):
    X = cr.tensor(np.arange(n * 3, dtype=np.float32).reshape(n, 3))
    y = cr.arange(n)
    return TensorDataset(X, y)


class ListDataset(Dataset):
    """A dataset read sample by sample (no collated_batch): goes through collate_fn."""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return {"x": np.full(2, i, dtype=np.float32), "y": i, "w": float(i) / 2}


def test_tensor_dataset_item_and_batch():
    ds = _data()
    x, y = ds[4]
    assert x.tolist() == [12.0, 13.0, 14.0] and y.item() == 4
    xb, yb = ds.collated_batch(np.array([5, 0, 5]))
    assert xb.shape == (3, 3) and yb.tolist() == [5, 0, 5]
    assert len(ds) == 23


def test_tensor_dataset_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match=r"first dimension.*\(4, 2\).*\(5,\)"):
        TensorDataset(cr.zeros(4, 2), cr.zeros(5))


@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("batch_size,drop_last", [(1, False), (5, False), (5, True), (23, True),
                                                  (50, False)])
def test_loader_covers_every_sample_once(shuffle, batch_size, drop_last):
    ds = _data()
    loader = DataLoader(ds, batch_size, shuffle=shuffle, drop_last=drop_last,
                        generator=cr.Generator().manual_seed(3))
    batches = list(loader)
    assert len(batches) == len(loader)
    seen = np.concatenate([yb.numpy() for _, yb in batches])
    full = 23 - 23 % batch_size if drop_last else 23
    assert len(seen) == full and len(np.unique(seen)) == full
    assert all(len(yb) == batch_size for _, yb in batches[:full // batch_size])
    for xb, yb in batches:  # features travel with their labels
        np.testing.assert_array_equal(xb.numpy()[:, 0], 3 * yb.numpy())
        assert xb.dtype == np.float32 and yb.dtype == np.int64
    if not shuffle:
        np.testing.assert_array_equal(seen, np.arange(full))


def test_loader_same_seed_same_batches_new_epoch_new_order():
    def epochs(seed):
        loader = DataLoader(_data(), 4, shuffle=True, generator=cr.Generator().manual_seed(seed))
        return [np.concatenate([yb.numpy() for _, yb in loader]) for _ in range(2)]

    a, b, c = epochs(7), epochs(7), epochs(8)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], a[1])
    assert not np.array_equal(a[0], c[0])
    # The default generator is used when none is given, and cr.manual_seed controls it.
    cr.manual_seed(5)
    d = [yb.numpy() for _, yb in DataLoader(_data(), 4, shuffle=True)]
    cr.manual_seed(5)
    e = [yb.numpy() for _, yb in DataLoader(_data(), 4, shuffle=True)]
    np.testing.assert_array_equal(np.concatenate(d), np.concatenate(e))


def test_loader_is_vectorized_for_array_datasets():
    class Counting(TensorDataset):
        calls = 0

        def __getitem__(self, index):
            Counting.calls += 1
            return super().__getitem__(index)

    ds = Counting(cr.zeros(100, 2), cr.arange(100))
    list(DataLoader(ds, 10, shuffle=True))
    list(DataLoader(Subset(ds, np.arange(50)), 10, shuffle=True))
    assert Counting.calls == 0


def test_loader_collates_generic_datasets():
    batches = list(DataLoader(ListDataset(5), batch_size=2))
    assert [b["y"].tolist() for b in batches] == [[0, 1], [2, 3], [4]]
    assert batches[0]["x"].shape == (2, 2) and batches[0]["x"].dtype == np.float32
    # Python floats collate to float64 and ints to int64, as torch's default_collate does.
    assert batches[0]["w"].dtype == np.float64 and batches[0]["y"].dtype == np.int64
    # Subsets of such a dataset batch the same way.
    part, _ = random_split(ListDataset(6), [4, 2], generator=cr.Generator().manual_seed(0))
    batches = list(DataLoader(part, batch_size=3))
    assert [len(b["y"]) for b in batches] == [3, 1]
    assert sorted(np.concatenate([b["y"].numpy() for b in batches])) == sorted(part.indices)
    # A collate_fn is used even for array-backed datasets.
    sizes = list(DataLoader(_data(), 10, collate_fn=lambda samples: len(samples)))
    assert sizes == [10, 10, 3]


def test_default_collate_tuples_and_errors():
    xb, yb = default_collate([(cr.ones(2), 1), (cr.zeros(2), 0)])
    assert xb.shape == (2, 2) and yb.tolist() == [1, 0]
    with pytest.raises(TypeError, match="collate_fn"):
        default_collate([object(), object()])


@pytest.mark.parametrize("bad", [0, -1, 2.5, True])
def test_loader_rejects_bad_batch_size(bad):
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(_data(), bad)


def test_random_split_lengths_fractions_and_determinism():
    ds = _data(10)
    a, b = random_split(ds, [7, 3], generator=cr.Generator().manual_seed(0))
    got = np.concatenate([DataLoader(p, 10).__iter__().__next__()[1].numpy() for p in (a, b)])
    assert sorted(got.tolist()) == list(range(10))
    c, d = random_split(ds, [7, 3], generator=cr.Generator().manual_seed(0))
    np.testing.assert_array_equal(a.indices, c.indices)
    assert [len(p) for p in random_split(ds, [0.5, 0.3, 0.2])] == [5, 3, 2]
    assert [len(p) for p in random_split(_data(11), [0.5, 0.5])] == [6, 5]
    with pytest.raises(ValueError, match="sum to 11"):
        random_split(_data(10), [8, 3])


def test_stratified_split_keeps_class_shares():
    y = np.repeat(np.arange(4), [40, 20, 20, 20])
    parts = stratified_split(y, (0.6, 0.2, 0.2), cr.Generator().manual_seed(1))
    everything = np.concatenate(parts)
    assert sorted(everything.tolist()) == list(range(100))
    assert np.bincount(y[parts[0]]).tolist() == [24, 12, 12, 12]
    assert np.bincount(y[parts[1]]).tolist() == [8, 4, 4, 4]
    again = stratified_split(y, (0.6, 0.2, 0.2), cr.Generator().manual_seed(1))
    for p, q in zip(parts, again):
        np.testing.assert_array_equal(p, q)
    with pytest.raises(ValueError, match="sum to 1"):
        stratified_split(y, (0.5, 0.2))


def test_subset_and_concat():
    ds = _data(6)
    sub = Subset(ds, [4, 2])
    assert sub[1][1].item() == 2 and len(sub) == 2
    with pytest.raises(IndexError, match="out of range"):
        Subset(ds, [6])
    both = ConcatDataset([ds, sub])
    assert len(both) == 8 and both[7][1].item() == 2 and both[-1][1].item() == 2
    xb, yb = next(iter(DataLoader(ds + sub, 8)))
    assert yb.tolist() == [0, 1, 2, 3, 4, 5, 4, 2]
