"""Scans: running sums and products along one dim (``cumsum``, ``cumprod``).

y_j = x_0 + ... + x_j, so dL/dx_i = g_i + ... + g_(n-1): the gradient of a cumsum is a
cumsum run backwards, and the two ops mirror each other. For the product,
dL/dx_i = sum over j >= i of g_j y_j / x_i wherever x_i != 0; a slice that holds a zero
takes the exact (slower) route of multiplying out the others (see ``CumProd``).

    >>> x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> cr.cumsum(x, 0).sum().backward()
    >>> x.grad
    tensor([3., 2., 1.])
"""

from __future__ import annotations

import numpy as np

from ..aliases import torch_aliases
from .. import backend
from ..autograd.function import Op
from ..tensor import Tensor
from . import either
from .reduce import normalize_dim
from .shape import flip


def _reverse_cumsum(g, axis):
    """sum of g_j over j >= i, for each i, on an array or (recorded) a Tensor."""
    if either.is_graph(g):
        return flip(CumSum.apply(flip(g, axis), axis), axis)
    xp = backend.get_array_module(g)
    return xp.flip(xp.flip(g, axis).cumsum(axis=axis), axis)


class CumSum(Op):
    torch_name = "CumsumBackward0"

    def forward(self, x, axis):
        return x.cumsum(axis=axis)

    def backward(self, g, x, axis):
        return _reverse_cumsum(g, axis), None


class CumProd(Op):
    """y_j = x_0 x_1 ... x_j along ``axis``.

    Without zeros: dx_i = (sum over j >= i of g_j y_j) / x_i. With a zero the division is
    0/0, so for each i the slice is multiplied out again with x_i set to 1 (an (n, n) copy
    per slice, as ``reduce._prod_of_others`` does): dx_i = sum over j >= i of g_j P_ij,
    P_ij = prod of x_k for k <= j, k != i. Both routes are written so that they record a
    graph under create_graph.
    """

    torch_name = "CumprodBackward0"

    def forward(self, x, axis):
        return x.cumprod(axis=axis)

    def backward(self, g, x, axis):
        xv = either.value(x)
        if not (xv == 0).any():
            y = CumProd.apply(x, axis) if either.is_graph(x) else xv.cumprod(axis=axis)
            return _reverse_cumsum(g * y, axis) / x, None
        return _cumprod_grad_with_zeros(g, x, axis), None


def _cumprod_grad_with_zeros(g, x, axis):
    xp = backend.get_array_module(either.value(x))
    n = x.shape[axis]
    graph = either.is_graph(x) or either.is_graph(g)
    # Move the axis last: rows[..., i, j] is x_j with x_i replaced by 1.
    x_last = x.swapaxes(axis, -1)
    g_last = g.swapaxes(axis, -1)
    eye = xp.eye(n, dtype=bool)
    upper = xp.triu(xp.ones((n, n), dtype=bool))           # j >= i
    if graph:
        rows = x_last.unsqueeze(-2).expand(*x_last.shape[:-1], n, n).masked_fill(eye, 1.0)
        partial = CumProd.apply(rows, rows.ndim - 1)
        terms = either.where(upper, partial * g_last.unsqueeze(-2), 0)
        return terms.sum(-1).swapaxes(axis, -1)
    rows = xp.broadcast_to(x_last[..., None, :], x_last.shape[:-1] + (n, n)).copy()
    rows[..., eye] = 1
    partial = rows.cumprod(axis=-1)
    terms = xp.where(upper, partial * g_last[..., None, :], 0)
    return terms.sum(axis=-1).swapaxes(axis, -1)


def _prepare(name, x, dim, dtype):
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: expected a Tensor, got {type(x).__name__}")
    if dtype is not None:
        x = x.to(dtype)
    elif x.dtype.kind in "bui":  # integer scans accumulate in int64, as in PyTorch
        x = x.to(np.int64)
    axis = normalize_dim(name, dim, x.ndim)
    return (x.reshape(1), 0) if x.ndim == 0 else (x, axis)


@torch_aliases
def cumsum(x, dim, dtype=None):
    """Running sums along ``dim``: ``cumsum([1, 2, 3], 0) = [1, 3, 6]``.

        >>> cr.cumsum(cr.tensor([[1, 2], [3, 4]]), dim=1)
        tensor([[1, 3],
                [3, 7]])
    """
    x0 = x
    x, axis = _prepare("cumsum", x, dim, dtype)
    out = CumSum.apply(x, axis)
    return out.reshape(()) if x0.ndim == 0 else out


@torch_aliases
def cumprod(x, dim, dtype=None):
    """Running products along ``dim``: ``cumprod([1, 2, 3], 0) = [1, 2, 6]``; exact gradients
    also where ``x`` has zeros.

        >>> cr.cumprod(cr.tensor([2.0, 0.5, 4.0]), 0)
        tensor([2., 1., 4.])
    """
    x0 = x
    x, axis = _prepare("cumprod", x, dim, dtype)
    out = CumProd.apply(x, axis)
    return out.reshape(()) if x0.ndim == 0 else out
