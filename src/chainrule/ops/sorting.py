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

import numpy as np

from ..aliases import torch_aliases
from .. import backend, return_types
from ..autograd.function import Op
from ..tensor import Tensor, _make
from .index import gather
from .reduce import normalize_dim

SortResult, TopKResult = return_types.sort, return_types.topk


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
        chainrule.return_types.topk(
        values=tensor([5., 3.]),
        indices=tensor([1, 2]))

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


MedianResult = return_types.median


def _along(x, axis, k):
    """``x`` at position ``k`` of dim ``axis`` (that dim removed), differentiably."""
    from .index import getitem  # noqa: PLC0415
    return getitem(x, (slice(None),) * axis + (k,))


def median(x, dim=None, keepdim=False):
    """The lower median (of two middle values, the smaller), as torch's: of all elements as a
    0-d tensor, or along ``dim`` as ``(values, indices)``. Gradients flow to the median."""
    data = _array("median", x)
    if dim is None:
        flat = x.reshape(-1)
        if not flat.shape[0]:
            raise RuntimeError("median: cannot compute the median of an empty tensor")
        return _along(sort(flat).values, 0, (flat.shape[0] - 1) // 2)
    axis = normalize_dim("median", dim, data.ndim)
    n = data.shape[axis] if data.ndim else 1
    if data.ndim == 0:
        return MedianResult(x, _make(backend.get_array_module(data).zeros((), np.int64)))
    result = sort(x, axis)
    values, indices = _along(result.values, axis, (n - 1) // 2), _along(result.indices, axis,
                                                                        (n - 1) // 2)
    if keepdim:
        values, indices = values.unsqueeze(axis), indices.unsqueeze(axis)
    return MedianResult(values, indices)


def mode(x, dim=-1, keepdim=False):
    """The most frequent value along ``dim`` (the smallest of equally frequent ones) and the
    index of its last occurrence, as ``torch.mode``; the values are differentiable.

        >>> cr.mode(cr.tensor([[1.0, 2.0, 2.0, 3.0], [5.0, 4.0, 4.0, 5.0]]), 1)
        chainrule.return_types.mode(
        values=tensor([2., 4.]),
        indices=tensor([2, 2]))
    """
    from .index import gather  # noqa: PLC0415
    data = _array("mode", x)
    if data.ndim == 0:
        return return_types.mode(x * 1, _make(backend.get_array_module(data).zeros((), np.int64)))
    axis = normalize_dim("mode", dim, data.ndim)
    xp = backend.get_array_module(data)
    rows = xp.moveaxis(data, axis, -1)
    n = rows.shape[-1]
    if n == 0:
        raise IndexError(f"mode: dim {dim} of shape {tuple(data.shape)} is empty")
    order = xp.argsort(rows, axis=-1, kind="stable")  # equal values keep their order
    ranked = xp.take_along_axis(rows, order, axis=-1)
    pos = xp.arange(n)
    starts = xp.concatenate([xp.ones(rows.shape[:-1] + (1,), bool),
                             ranked[..., 1:] != ranked[..., :-1]], axis=-1)
    ends = xp.concatenate([starts[..., 1:], xp.ones(rows.shape[:-1] + (1,), bool)], axis=-1)
    run_start = xp.maximum.accumulate(xp.where(starts, pos, 0), axis=-1)
    length = xp.where(ends, pos - run_start + 1, 0)  # a run's length, at its last element
    best = xp.argmax(length, axis=-1)[..., None]  # the first longest: the smallest value
    index = xp.moveaxis(xp.take_along_axis(order, best, axis=-1), -1, axis)  # keepdim shape
    values = gather(x, axis, _make(index))
    if not keepdim:
        values, index = values.squeeze(axis), index.squeeze(axis)
    return return_types.mode(values, _make(index))


def quantile(x, q, dim=None, keepdim=False, *, interpolation="linear"):
    """The ``q``-quantiles (a number or a 1-D tensor in [0, 1]) of all elements or along
    ``dim``, interpolating between order statistics as torch does (``linear``, ``lower``,
    ``higher``, ``nearest``, ``midpoint``); a tensor ``q`` adds a first dim. Differentiable."""
    from .shape import stack  # noqa: PLC0415
    from .unary import lerp  # noqa: PLC0415
    data = _array("quantile", x)
    if data.dtype.kind != "f":
        raise TypeError(f"quantile: needs a floating-point input, got dtype {data.dtype}")
    if interpolation not in ("linear", "lower", "higher", "nearest", "midpoint"):
        raise ValueError(f"quantile: unknown interpolation {interpolation!r}")
    # the levels are read as Python numbers (they pick order statistics): a copy to the host
    qs = np.atleast_1d(np.asarray(backend.to_device(q._array, "cpu") if isinstance(q, Tensor)
                                  else q, np.float64))
    if qs.ndim > 1 or np.any((qs < 0) | (qs > 1)):
        raise ValueError(f"quantile: q must be a number or a 1-D tensor with values in [0, 1], "
                         f"got {q!r}")
    if dim is None:
        x, axis = x.reshape(-1), 0
    else:
        axis = normalize_dim("quantile", dim, data.ndim)
    n = x.shape[axis]
    if not n:
        raise RuntimeError("quantile: cannot compute quantiles of an empty tensor")
    ordered = sort(x, axis).values
    out = []
    for p in qs.tolist():
        pos = p * (n - 1)
        lo, hi = int(np.floor(pos)), int(np.ceil(pos))
        if interpolation == "lower":
            v = _along(ordered, axis, lo)
        elif interpolation == "higher":
            v = _along(ordered, axis, hi)
        elif interpolation == "nearest":
            v = _along(ordered, axis, int(np.round(pos)))  # ties to even, as torch's round
        elif interpolation == "midpoint" and lo != hi:
            v = lerp(_along(ordered, axis, lo), _along(ordered, axis, hi), 0.5)
        elif lo == hi:
            v = _along(ordered, axis, lo)
        else:
            v = lerp(_along(ordered, axis, lo), _along(ordered, axis, hi), pos - lo)
        if keepdim:
            v = v.unsqueeze(axis) if dim is not None else v.reshape((1,) * data.ndim)
        out.append(v)
    if isinstance(q, Tensor) or np.ndim(q):
        return stack(out)
    return out[0]


def unique(x, sorted=True, return_inverse=False, return_counts=False, dim=None):  # noqa: A002
    """The distinct values of ``x`` in ascending order (or distinct slices along ``dim``),
    with the inverse indices and counts on request, as torch's. Not differentiable."""
    from ..autograd import tracing  # noqa: PLC0415
    data = _array("unique", x)
    tracing.reads_values("unique", "its output's shape depends on the tensor's values")
    xp = backend.get_array_module(data)
    axis = None if dim is None else normalize_dim("unique", dim, data.ndim)
    values, inverse, counts = xp.unique(data, return_inverse=True, return_counts=True, axis=axis)
    out = [_make(values)]
    if return_inverse:
        out.append(_make(inverse.reshape(data.shape if axis is None else -1).astype(np.int64)))
    if return_counts:
        out.append(_make(counts.astype(np.int64)))
    return out[0] if len(out) == 1 else tuple(out)
