"""``Tensor.stride`` and ``data_ptr`` as torch reports them, a convolution's channels-last
output included (contiguous for torch: its C-order strides)."""

from __future__ import annotations

import pytest
import torch

import chainrule as cr
from chainrule import nn


@pytest.mark.parametrize("make", [
    lambda L: L.zeros(2, 3, 4), lambda L: L.zeros(5), lambda L: L.zeros(3, 1, 2),
    lambda L: L.zeros(2, 3).t(), lambda L: L.zeros(4, 6)[:, ::2], lambda L: L.zeros(2, 3, 4)[1],
    lambda L: L.tensor(3.0), lambda L: L.zeros(2, 3, 4).permute(2, 0, 1),
])
def test_stride_as_torch(make):
    c, t = make(cr), make(torch)
    assert c.stride() == t.stride()
    for d in range(-c.ndim, c.ndim):
        assert c.stride(d) == t.stride(d)


def test_stride_of_a_convolution_output_and_data_ptr():
    h = nn.Conv2d(1, 4, 3)(cr.randn(2, 1, 6, 6))
    th = torch.nn.Conv2d(1, 4, 3)(torch.randn(2, 1, 6, 6))
    assert h.stride() == th.stride() == (64, 16, 4, 1)
    x, tx = cr.zeros(4), torch.zeros(4)
    assert x[1:].data_ptr() - x.data_ptr() == tx[1:].data_ptr() - tx.data_ptr() == 4
    assert x.view(2, 2).data_ptr() == x.data_ptr()
    assert x.clone().data_ptr() != x.data_ptr()
