"""histc and histogram (ops/histograms.py) against PyTorch: counts, edges, ranges, weights."""

import numpy as np
import pytest
import torch

import chainrule as cr
from oracle import assert_close


def _data(seed, dtype=np.float32):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(int(rng.integers(1, 400))) * rng.uniform(0.1, 10)
    if seed % 3 == 0:  # values on bin edges
        x = np.round(x * 4) / 4
    return x.astype(dtype), int(rng.integers(1, 40)), sorted(rng.uniform(-3, 3, 2))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("seed", range(12))
def test_histc_vs_torch(seed, dtype):
    x, bins, (lo, hi) = _data(seed, dtype)
    assert_close(cr.histc(cr.tensor(x), bins), torch.histc(torch.from_numpy(x), bins),
                 atol=0, rtol=0)
    assert_close(cr.histc(cr.tensor(x), bins=bins, min=lo, max=hi),
                 torch.histc(torch.from_numpy(x), bins=bins, min=lo, max=hi), atol=0, rtol=0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("seed", range(12))
def test_histogram_vs_torch(seed, dtype):
    x, bins, (lo, hi) = _data(seed, dtype)
    got, want = cr.histogram(cr.tensor(x), bins), torch.histogram(torch.from_numpy(x), bins)
    assert_close(got.hist, want.hist, atol=0, rtol=0)
    assert_close(got.bin_edges, want.bin_edges, atol=0, rtol=0)
    got = cr.histogram(cr.tensor(x), bins, range=(lo, hi), density=True)
    want = torch.histogram(torch.from_numpy(x), bins, range=(lo, hi), density=True)
    assert_close(got.hist, want.hist)
    assert_close(got.bin_edges, want.bin_edges, atol=0, rtol=0)
    w = np.random.default_rng(seed).uniform(0, 2, x.shape).astype(dtype)
    got = cr.histogram(cr.tensor(x), bins, weight=cr.tensor(w))
    want = torch.histogram(torch.from_numpy(x), bins, weight=torch.from_numpy(w))
    assert_close(got.hist, want.hist, rtol=1e-4, atol=1e-5)  # float32 sums in another order


def test_histogram_with_edges_and_edge_cases():
    x = np.array([0.0, 1.0, 2.0, 2.0, 4.0, 5.0], dtype=np.float32)
    edges = np.array([0.0, 1.0, 4.0], dtype=np.float32)
    got = cr.histogram(cr.tensor(x), cr.tensor(edges))
    want = torch.histogram(torch.from_numpy(x), torch.from_numpy(edges))
    assert_close(got.hist, want.hist)
    assert_close(got.bin_edges, want.bin_edges)
    got = cr.histogram(cr.tensor(x), cr.tensor(edges), density=True)
    assert_close(got.hist, torch.histogram(torch.from_numpy(x), torch.from_numpy(edges),
                                           density=True).hist)
    same = np.full(5, 3.0, dtype=np.float32)  # an empty range grows by 1 each way
    assert_close(cr.histc(cr.tensor(same), 4), torch.histc(torch.from_numpy(same), 4))
    assert_close(cr.histogram(cr.tensor(same), 4).bin_edges,
                 torch.histogram(torch.from_numpy(same), 4).bin_edges)
    x2d = np.arange(12, dtype=np.float32).reshape(3, 4)  # any shape counts all elements
    assert_close(cr.histc(cr.tensor(x2d), 3), torch.histc(torch.from_numpy(x2d), 3))


def test_histograms_have_no_gradient_and_refuse_what_torch_refuses():
    x = cr.tensor([0.5, 1.5], requires_grad=True)
    assert not cr.histc(x, 2).requires_grad and not cr.histogram(x, 2).hist.requires_grad
    with pytest.raises(NotImplementedError, match=r"histc: not implemented for dtype (chainrule\.)?int64"):
        cr.histc(cr.tensor([1, 2]), 3)
    with pytest.raises(RuntimeError, match="histc: bins must be > 0"):
        cr.histc(x, 0)
    with pytest.raises(RuntimeError, match=r"histc: max \(0.0\) must be larger"):
        cr.histc(x, 3, min=1, max=0)
    with pytest.raises(RuntimeError, match="histogram: weight of shape"):
        cr.histogram(x, 2, weight=cr.ones(3))
