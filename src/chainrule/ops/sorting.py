"""Ordering: ``sort``, ``argsort`` and ``topk``, as in PyTorch.

The order itself is a constant of the graph (indices carry no gradient); the values are the
input gathered at those indices, so their gradient is the upstream gradient scattered back
to where each value came from (``Gather``'s backward), and double backward comes with it.

    >>> x = cr.tensor([3.0, 1.0, 2.0], requires_grad=True)
    >>> values, indices = cr.sort(x)
    >>> indices
    tensor([1, 2, 0])
    >>> values.sum().backward()
    >>> x.grad
    tensor([1., 1., 1.])

(The module is named ``sorting`` so that it never shadows the function ``ops.sort``.)
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from ..aliases import torch_aliases
from .. import backend
from ..autograd.function import Op
from ..tensor import Tensor, _make
from .index import gather
from .reduce import normalize_dim

SortResult = namedtuple("SortResult", ["values", "indices"])
TopKResult = namedtuple("TopKResult", ["values", "indices"])


def _array(name, x):
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: expected a Tensor, got {type(x).__name__}")
    return x._array


def _order(data, axis, descending):
    """Stable argsort along ``axis`` (int64); NaN counts as the largest value, as in PyTorch.

    Descending order sorts the reversed array ascending and reverses the result: ties then
    keep their original order and NaNs come first, without negating (which ints can't take).
    """
    xp = backend.get_array_module(data)
    if not descending:
        return data.argsort(axis=axis, kind="stable").astype(xp.int64, copy=False)
    n = data.shape[axis]
    flipped = xp.flip(data, axis).argsort(axis=axis, kind="stable")
    return (n - 1 - xp.flip(flipped, axis)).astype(xp.int64, copy=False)


class Order(Op):
    """The indices that sort ``x`` along ``axis`` (the first ``k`` of them when k is not None):
    an op without gradient, so that a replayed program sorts the new values."""

    differentiable = False
    name = "sort"

    def forward(self, x, axis, descending, k):
        order = _order(x, axis, descending)
        return order if k is None else order[(slice(None),) * axis + (slice(0, k),)]


@torch_aliases
def argsort(x, dim=-1, descending=False, stable=False):
    """The indices that sort ``x`` along ``dim`` (ties in their original order).

        >>> cr.argsort(cr.tensor([[2, 0, 1]]), dim=1, descending=True)
        tensor([[0, 2, 1]])
    """
    data = _array("argsort", x)
    axis = normalize_dim("argsort", dim, data.ndim)
    if data.ndim == 0:
        return _make(backend.get_array_module(data).zeros((), dtype=np.int64))
    return Order.apply(x, axis, descending, None)


@torch_aliases
def sort(x, dim=-1, descending=False, stable=False):
    """``(values, indices)`` of ``x`` sorted along ``dim``; gradients flow to the values.

    Sorting is always stable here (PyTorch's ``stable=True``), a valid answer for either
    setting since PyTorch leaves the order of ties unspecified otherwise.
    """
    data = _array("sort", x)
    axis = normalize_dim("sort", dim, data.ndim)
    if data.ndim == 0:
        return SortResult(gather(x, 0, argsort(x)), argsort(x))
    indices = Order.apply(x, axis, descending, None)
    return SortResult(gather(x, axis, indices), indices)


@torch_aliases
def topk(x, k, dim=-1, largest=True, sorted=True):  # noqa: A002 - PyTorch's name
    """The ``k`` largest (or smallest) elements along ``dim`` as ``(values, indices)``.

        >>> cr.topk(cr.tensor([1.0, 5.0, 3.0]), 2)
        TopKResult(values=tensor([5., 3.]), indices=tensor([1, 2]))

    The result is always sorted (PyTorch allows any order when ``sorted=False``).
    """
    data = _array("topk", x)
    axis = normalize_dim("topk", dim, data.ndim)
    n = data.shape[axis] if data.ndim else 1
    k = int(k)
    if not 0 <= k <= n:
        raise RuntimeError(f"topk: k ({k}) is out of range for dim {dim} of size {n} "
                           f"(shape {tuple(data.shape)})")
    if data.ndim == 0:
        return TopKResult(*sort(x))  # PyTorch gives the element itself for k = 0 or 1
    indices = Order.apply(x, axis, largest, k)
    return TopKResult(gather(x, axis, indices), indices)


def msort(x):
    """``x`` sorted along its first dim (the values only)."""
    return sort(x, 0).values
