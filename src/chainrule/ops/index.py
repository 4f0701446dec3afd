"""Indexing: basic slices, integer-array and boolean-mask indices, gather, index_select.

The backward of reading elements is writing the gradient back into zeros at the same
places, *adding* where an index repeats (``np.add.at``); its own backward reads again.
So GetItem and IndexAdd are a pair, as are Gather and ScatterAdd.

    >>> x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> x[[0, 0, 2]].sum().backward()
    >>> x.grad                       # index 0 was read twice
    tensor([2., 0., 1.])
"""

from __future__ import annotations

import numpy as np

from ..aliases import torch_aliases
from ..autograd import tracing
from ..autograd.function import Op
from ..backend import device_of, get_array_module, to_device
from ..tensor import Tensor
from . import either
from .reduce import normalize_dim
from .either import wants as _wants
from ..errors import InvalidArgument, InvalidIndex, InvalidType


def index_key(key):
    """Turn Tensors inside an index into arrays; lists of ints become integer arrays."""
    if isinstance(key, Tensor):
        return key._array
    if isinstance(key, tuple):
        return tuple(index_key(k) for k in key)
    if isinstance(key, list):
        if any(isinstance(k, Tensor) for k in key):
            tracing.reads_values("getitem", "reads a list of Tensors as Python numbers")
        return np.asarray([k.item() if isinstance(k, Tensor) else k for k in key])
    return key


def _key_on(key, x):
    """``key`` with its index arrays on ``x``'s device (a host index for a GPU tensor is
    copied once, here, so that forward and the scatter of backward index on the device)."""
    if type(x) is np.ndarray:
        return key
    if isinstance(key, tuple):
        return tuple(_key_on(k, x) for k in key)
    if type(key) is np.ndarray:
        return to_device(key, device_of(x))
    return key


def _is_basic(key) -> bool:
    """Basic indexing (ints, slices, None, ...) gives views and never repeats an element."""
    parts = key if isinstance(key, tuple) else (key,)
    return all(k is None or k is Ellipsis or isinstance(k, (int, np.integer, slice)) for k in parts)


class GetItem(Op):
    @property
    def torch_name(self):  # x[0], x[1:], x[[0, 2]]
        key = self.args[1]
        parts = key if isinstance(key, tuple) else (key,)
        if not _is_basic(key):
            return "IndexBackward0"
        return "SliceBackward0" if any(isinstance(k, slice) for k in parts) else "SelectBackward0"

    def forward(self, x, key):
        out = x[key]
        if isinstance(out, np.generic) and _is_basic(key):
            # One element: NumPy gives a copy (a scalar); torch a 0-d view of x's memory, so
            # that ``t[1].fill_(9)`` writes into t. An Ellipsis after the ints gives that view.
            parts = key if isinstance(key, tuple) else (key,)
            if not any(k is Ellipsis for k in parts):
                out = x[parts + (Ellipsis,)]
        return out

    def backward(self, g, x, key):
        return IndexAdd.apply(g, key, tuple(x.shape)) if either.is_graph(g) \
            else IndexAdd.scatter(g, key, x.shape), None


class IndexAdd(Op):
    """zeros(shape) with ``g`` added at ``key``: the backward of GetItem."""

    @staticmethod
    def scatter(g, key, shape):
        out = get_array_module(g).zeros(shape, dtype=g.dtype)
        if _is_basic(key):
            out[key] = g
        else:
            np.add.at(out, key, g)
        return out

    def forward(self, g, key, shape):
        return self.scatter(g, key, shape)

    def backward(self, gg, g, key, shape):
        return gg[key], None, None


class IndexPut(Op):
    """``x`` with ``value`` written at ``key`` (out of place): ``y[key] = v`` on a tensor in
    the graph. d/dx is the upstream with the written region zeroed; d/dvalue is the upstream
    at ``key`` (summed back to value's shape by the engine, for a broadcast value)."""

    def forward(self, x, value, key):
        out = x.copy()
        out[key] = value
        return out

    def backward(self, g, x, value, key):
        gx = gv = None
        if _wants(self, 0):
            gx = IndexPut.apply(g, 0.0, key) if either.is_graph(g) else self.forward(g, 0, key)
        if _wants(self, 1):
            gv = g[key]   # a broadcast value: the engine sums it back to its shape
        return gx, gv, None



class _Slot:
    """Where a Tensor of an index key goes (``GetItemT``'s template)."""

    __slots__ = ()

    def __repr__(self):
        return "<tensor>"


_SLOT = _Slot()


def _has_tensor(key):
    return isinstance(key, Tensor) or (type(key) is tuple
                                       and any(isinstance(k, Tensor) for k in key))


def _template(key):
    """``key`` with its Tensors replaced by ``_SLOT``, and those Tensors in order."""
    if isinstance(key, Tensor):
        return _SLOT, (key,)
    parts = tuple(k for k in key if isinstance(k, Tensor))
    return tuple(_SLOT if isinstance(k, Tensor) else k for k in key), parts


def _fill(template, parts):
    if template is _SLOT:
        return parts[0]
    it = iter(parts)
    return tuple(next(it) if k is _SLOT else k for k in template)


class GetItemT(GetItem):
    """``x[key]`` where the key holds index Tensors: they are inputs of the op (not constants),
    so a replayed program reads the new indices. Its backward is GetItem's."""

    torch_name = "IndexBackward0"
    name = "getitem"

    def forward(self, x, template, *parts):
        return x[_key_on(_fill(template, parts), x)]

    def backward(self, g, x, template, *parts):
        key = _key_on(_fill(template, [either.value(p) for p in parts]), either.value(x))
        gx, _ = GetItem.backward(self, g, x, key)
        return (gx, None) + (None,) * len(parts)


class IndexPutT(IndexPut):
    """``x`` with ``value`` written at a key holding index Tensors, which are inputs of the op
    (not constants): ``y[idx] = v`` replayed on new indices writes at them. IndexPut's rule."""

    name = "setitem"

    def forward(self, x, value, template, *parts):
        return IndexPut.forward(self, x, value, _key_on(_fill(template, parts), x))

    def backward(self, g, x, value, template, *parts):
        key = _key_on(_fill(template, [either.value(p) for p in parts]), either.value(x))
        gx = gv = None
        if _wants(self, 0):
            gx = IndexPut.apply(g, 0.0, key) if either.is_graph(g) else \
                IndexPut.forward(self, g, 0, key)
        if _wants(self, 1):
            gv = g[key]
        return (gx, gv, None) + (None,) * len(parts)


def getitem(x, key):
    if _has_tensor(key):
        template, parts = _template(key)
        return GetItemT.apply(x, template, *parts)
    key = _key_on(index_key(key), x._array)
    return GetItem.apply(x, key)


def select(x, dim, index):
    """``x`` at ``index`` along ``dim``, that dim removed: a view, as ``torch.select``."""
    axis = normalize_dim("select", dim, x.ndim)
    n = x.shape[axis]
    if not -n <= index < n:
        raise IndexError(f"select: index {index} is out of range for dim {axis} of size {n} "
                         f"(shape {tuple(x.shape)})")
    return getitem(x, (slice(None),) * axis + (index,))


def narrow(x, dim, start, length):
    """``length`` elements of ``x`` from ``start`` along ``dim``: a view, as ``torch.narrow``
    (a negative ``start`` counts from the end)."""
    axis = normalize_dim("narrow", dim, x.ndim)
    n = x.shape[axis]
    if not -n <= start <= n:
        raise IndexError(f"narrow: start {start} is out of range for dim {axis} of size {n}")
    start = start + n if start < 0 else start
    if length < 0 or start + length > n:
        raise RuntimeError(f"narrow: start ({start}) + length ({length}) exceeds dimension "
                           f"size ({n}) of dim {axis}")
    return getitem(x, (slice(None),) * axis + (slice(start, start + length),))


def _gather_index(x_shape, index, axis, name):
    """Full coordinate arrays for ``x[...]`` at ``index`` along ``axis`` (PyTorch gather rules)."""
    if index.dtype.kind not in "iu":
        raise TypeError(f"{name}: index must be an integer tensor, got dtype {index.dtype}")
    if index.ndim != len(x_shape):
        raise ValueError(f"{name}: index has {index.ndim} dims but the input has {len(x_shape)}")
    for d, (n_i, n_x) in enumerate(zip(index.shape, x_shape)):
        if d != axis and n_i > n_x:
            raise ValueError(f"{name}: index shape {index.shape} exceeds input shape {x_shape} "
                             f"at dim {d}")
    if not x_shape:  # a 0-d input: the index 0 picks the element itself
        check_index_range(name, index, 1, 0)
        return ()
    check_index_range(name, index, x_shape[axis], axis)
    # open coordinates (np.indices(..., sparse=True)), made where the index lives
    xp = get_array_module(index)
    coords = [xp.arange(n).reshape((1,) * d + (n,) + (1,) * (index.ndim - d - 1))
              for d, n in enumerate(index.shape)]
    coords[axis] = index
    return tuple(coords)


def check_index_range(name, index, size, axis):
    """Indices along a dim must lie in [0, size): a negative one is refused, as torch's gather,
    index_select and embedding refuse it, rather than wrapped around to the end (so -1 used
    as a padding id can never silently read and train the last row)."""
    if index.size:
        low, high = index.min(), index.max()
        if low < 0 or high >= size:
            bad = int(low if low < 0 else high)
            raise InvalidIndex(f"{name}: index {bad} is out of bounds for dim {axis} with size "
                               f"{size}")


class Gather(Op):
    def forward(self, x, coords):
        return x[coords]

    def backward(self, g, x, coords):
        if either.is_graph(g):
            return IndexAdd.apply(g, coords, tuple(x.shape)), None
        out = get_array_module(g).zeros(x.shape, dtype=g.dtype)
        np.add.at(out, coords, g)
        return out, None


class GatherIndex(Op):
    """``gather`` with an index Tensor as an input: coordinates (and the range check) are
    made in forward from the index it is given, so a replay gathers at the new indices."""

    torch_name = "GatherBackward0"
    name = "gather"
    caches = ("coords",)

    def forward(self, x, index, axis):
        self.coords = coords = _gather_index(x.shape, _key_on(index, x), axis, "gather")
        return x[coords]

    def backward(self, g, x, index, axis):
        coords = getattr(self, "coords", None)
        if coords is None:
            coords = _gather_index(x.shape, _key_on(either.value(index), either.value(x)),
                                   axis, "gather")
        return Gather.backward(self, g, x, coords)[0], None, None


@torch_aliases
def gather(x, dim, index):
    """``out[i][j] = x[i][index[i][j]]`` for dim=1, and so on, as ``torch.gather``."""
    axis = normalize_dim("gather", dim, x.ndim)
    if isinstance(index, Tensor):
        return GatherIndex.apply(x, index, axis)
    idx = either.array_of(index)
    idx = _key_on(idx, x._array)
    return Gather.apply(x, _gather_index(x.shape, idx, axis, "gather"))


@torch_aliases
def index_select(x, dim, index):
    axis = normalize_dim("index_select", dim, x.ndim)
    idx = either.array_of(index)
    if idx.ndim != 1:
        raise ValueError(f"index_select: index must be 1-D, got shape {idx.shape}")
    if idx.dtype.kind not in "iu":
        raise TypeError(f"index_select: index must be an integer tensor, got dtype {idx.dtype}")
    check_index_range("index_select", idx, x.shape[axis] if x.ndim else 1, axis)
    if isinstance(index, Tensor):  # an input of the op: a replay reads the new indices
        return GetItemT.apply(x, (slice(None),) * axis + (_SLOT,), index)
    return GetItem.apply(x, _key_on((slice(None),) * axis + (idx,), x._array))


def masked_fill(x, mask, value):
    """``value`` where ``mask`` is True, ``x`` elsewhere (the mask broadcasts)."""
    from .unary import where  # noqa: PLC0415
    m = either.array_of(mask)
    if m.dtype != np.bool_:
        raise TypeError(f"masked_fill: mask must be a bool tensor, got dtype {m.dtype}")
    v = value._array if isinstance(value, Tensor) and value.grad_fn is None and not value.requires_grad \
        else value
    if not isinstance(v, Tensor):  # a number (or host value): made on x's device
        v = get_array_module(x._array).asarray(to_device(v, device_of(x._array))
                                               if hasattr(v, "shape") else v, dtype=x.dtype)
    return where(mask if isinstance(mask, Tensor) else m, v, x)


class Scatter(Op):
    """``x`` with ``src`` written at coordinates along a dim (out of place), as
    ``torch.scatter``: where an index repeats, the last write wins (torch leaves it
    unspecified). d x: the gradient where nothing was written; d src: the gradient gathered
    at the coordinates it was written to."""

    def forward(self, x, coords, src):
        out = x.copy()
        out[coords] = src
        return out

    def backward(self, g, x, coords, src):
        wrote = get_array_module(either.value(g)).zeros(x.shape, dtype=np.bool_)
        wrote[coords] = True
        takes = hasattr(src, "shape")  # a tensor src (not a number) gets a gradient
        if either.is_graph(g):
            return (masked_fill(g, Tensor._of(wrote), 0.0), None,
                    Gather.apply(g, coords) if takes else None)
        gx = g.copy()
        gx[wrote] = 0
        return gx, None, g[coords] if takes else None


def _scatter_source(name, index, src):
    """``src`` cut to ``index``'s shape (torch reads ``src[i][j]`` for index ``[i][j]``), or a
    number as it is."""
    if not isinstance(src, Tensor):
        if hasattr(src, "shape"):
            raise TypeError(f"{name}: src must be a Tensor or a number, got {type(src).__name__}")
        return src
    if src.ndim != index.ndim or any(i > n for i, n in zip(index.shape, src.shape)):
        raise ValueError(f"{name}: index shape {tuple(index.shape)} exceeds src shape "
                         f"{tuple(src.shape)}")
    if tuple(src.shape) == tuple(index.shape):
        return src
    return getitem(src, tuple(slice(0, n) for n in index.shape))


def _one_element(x, idx, src):
    """A 0-d index into a 1-D input is a one-element index, as torch reads it (the
    tutorials' one-hot ``zeros(10).scatter_(0, tensor(y), value=1)``); a 0-d ``src`` goes
    with it."""
    if idx.ndim == 0 and x.ndim == 1:
        idx = idx.reshape(1)
        if isinstance(src, Tensor) and src.ndim == 0:
            src = src.reshape(1)
    return idx, src


@torch_aliases
def scatter(x, dim, index, src=None, value=None):
    """``out[i][index[i][j]] = src[i][j]`` for dim=1 (and so on), ``x`` elsewhere, as
    ``torch.scatter``; ``src`` may be a number (or ``value=``).

        >>> cr.zeros(2, 3).scatter(1, cr.tensor([[2], [0]]), 1.0)
        tensor([[0., 0., 1.],
                [1., 0., 0.]])
    """
    if (src is None) == (value is None):
        raise TypeError("scatter: give exactly one of src and value")
    axis = normalize_dim("scatter", dim, x.ndim)
    idx, src = _one_element(x, _key_on(either.array_of(index), x._array), src)
    coords = _gather_index(x.shape, idx, axis, "scatter")
    source = _scatter_source("scatter", idx, value if src is None else src)
    return Scatter.apply(x, coords, source)


@torch_aliases
def scatter_add(x, dim, index, src):
    """``x`` plus ``src`` added at ``index`` along ``dim`` (repeated indices add up), as
    ``torch.scatter_add``."""
    axis = normalize_dim("scatter_add", dim, x.ndim)
    idx, src = _one_element(x, _key_on(either.array_of(index), x._array), src)
    coords = _gather_index(x.shape, idx, axis, "scatter_add")
    source = _scatter_source("scatter_add", idx, src)
    if not isinstance(source, Tensor):
        raise TypeError(f"scatter_add: src must be a Tensor, got {type(src).__name__}")
    return x + IndexAdd.apply(source, coords, tuple(x.shape))


@torch_aliases
def index_add(x, dim, index, source, *, alpha=1):
    """``x`` plus ``alpha * source`` added at the positions ``index`` along ``dim`` (repeated
    indices add up), as ``torch.index_add``."""
    axis = normalize_dim("index_add", dim, x.ndim)
    idx = either.array_of(index).reshape(-1)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"index_add: index must be an integer tensor, got dtype {idx.dtype}")
    check_index_range("index_add", idx, x.shape[axis] if x.ndim else 1, axis)
    want = tuple(x.shape[:axis]) + (idx.size,) + tuple(x.shape[axis + 1:])
    if tuple(source.shape) != want:
        raise ValueError(f"index_add: source shape {tuple(source.shape)} must be {want} for "
                         f"input {tuple(x.shape)}, {idx.size} indices along dim {axis}")
    key = (slice(None),) * axis + (_key_on(idx, x._array),)
    added = source if alpha == 1 else source * alpha
    return x + IndexAdd.apply(added, key, tuple(x.shape))


def take(x, index):
    """The elements of ``x`` at the flat (row-major) positions ``index``, in its shape."""
    from .shape import reshape  # noqa: PLC0415
    idx = either.array_of(index)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"take: index must be an integer tensor, got dtype {idx.dtype}")
    n = x.numel()
    if idx.size and (idx.min() < -n or idx.max() >= n):
        bad = int(idx.min() if idx.min() < -n else idx.max())
        raise IndexError(f"take: index {bad} is out of range for a tensor of {n} elements")
    flat = reshape(x, -1)
    return getitem(flat, _key_on(np.where(idx < 0, idx + n, idx), x._array))


@torch_aliases
def index_copy(x, dim, index, source):
    """``x`` with the slices ``index`` along ``dim`` replaced by ``source``'s, as
    ``torch.index_copy`` (a repeated index: the last copy wins)."""
    axis = normalize_dim("index_copy", dim, x.ndim)
    idx = either.array_of(index).reshape(-1)
    check_index_range("index_copy", idx, x.shape[axis] if x.ndim else 1, axis)
    want = tuple(x.shape[:axis]) + (idx.size,) + tuple(x.shape[axis + 1:])
    if tuple(source.shape) != want:
        raise ValueError(f"index_copy: source shape {tuple(source.shape)} must be {want}")
    shape = (1,) * axis + (idx.size,) + (1,) * (x.ndim - axis - 1)
    xp = get_array_module(x._array)
    full = xp.ascontiguousarray(xp.broadcast_to(_key_on(idx, x._array).reshape(shape), want))
    return scatter(x, axis, Tensor._of(full), source)


def masked_select(x, mask):
    """The elements of ``x`` where ``mask`` (broadcast with it) is True, as a 1-D tensor."""
    from .shape import broadcast_to  # noqa: PLC0415
    m = either.array_of(mask)
    if m.dtype != np.bool_:
        raise TypeError(f"masked_select: mask must be a bool tensor, got dtype {m.dtype}")
    tracing.reads_values("masked_select", "its output's shape depends on the mask's values")
    shape = np.broadcast_shapes(tuple(x.shape), m.shape)
    xb = x if tuple(x.shape) == shape else broadcast_to(x, shape)
    return getitem(xb, get_array_module(m).broadcast_to(m, shape) if m.shape != shape else m)


@torch_aliases
def index_fill(x, dim, index, value):
    """``x`` with ``value`` at the positions ``index`` along ``dim``, as ``torch.index_fill``."""
    axis = normalize_dim("index_fill", dim, x.ndim)
    idx = either.array_of(index).reshape(-1)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"index_fill: index must be an integer tensor, got dtype {idx.dtype}")
    n = x.shape[axis] if x.ndim else 1
    if idx.size and (idx.min() < -n or idx.max() >= n):
        bad = int(idx.min() if idx.min() < -n else idx.max())
        raise IndexError(f"index_fill: index {bad} is out of range for dim {axis} with size {n}")
    mask = get_array_module(x._array).zeros(x.shape, np.bool_)
    mask[(slice(None),) * axis + (_key_on(idx, x._array),)] = True
    return masked_fill(x, Tensor._of(mask), value)


def nonzero(x, *, as_tuple=False):
    """The indices of ``x``'s non-zero elements, as torch's: an int64 tensor (n, x.ndim) in
    row-major order, or with ``as_tuple`` one index tensor per dim (``x[x.nonzero(
    as_tuple=True)]`` picks them). Not differentiable; its shape depends on the values."""
    tracing.reads_values("nonzero", "its output's shape depends on the tensor's values")
    arr = either.array_of(x)
    xp = get_array_module(arr)
    if arr.ndim == 0:  # torch: (1, 0) or (0, 0); as a tuple, one index of dim 1
        n = int(arr != 0)
        if as_tuple:
            return (Tensor._of(xp.zeros(n, np.int64)),)
        return Tensor._of(xp.zeros((n, 0), np.int64))
    found = xp.nonzero(arr)
    if as_tuple:
        return tuple(Tensor._of(i.astype(np.int64, copy=False)) for i in found)
    return Tensor._of(xp.stack(found, axis=1).astype(np.int64, copy=False))


def argwhere(x):
    return nonzero(x)


def take_along_dim(x, indices, dim):
    """``gather``, except that negative indices count from the end (torch allows them here)."""
    axis = normalize_dim("take_along_dim", dim, x.ndim)
    if isinstance(indices, Tensor):  # wrapped by ops, so that a replay wraps the new ones
        if indices.dtype.kind == "i" and x.ndim:
            from .unary import where  # noqa: PLC0415
            indices = where(indices < 0, indices + x.shape[axis], indices)
        return gather(x, dim, indices)
    xp = get_array_module(x._array)  # the indices go where x is
    idx = xp.asarray(indices)
    if idx.dtype.kind in "i" and x.ndim:
        idx = xp.where(idx < 0, idx + x.shape[axis], idx)
    return gather(x, dim, idx)


def one_hot(labels, num_classes=-1):
    """Integer labels to int64 one-hot rows, as ``F.one_hot``."""
    data = either.array_of(labels)
    if data.dtype.kind not in "iu":
        raise InvalidType(f"one_hot: labels must be integers, got dtype {data.dtype}")
    if num_classes < 0:  # the width is read from the labels
        tracing.reads_values("one_hot", "reads num_classes from the labels' values in Python "
                                        "(pass num_classes)")
    n = int(data.max()) + 1 if num_classes < 0 else int(num_classes)
    return OneHot.apply(labels if isinstance(labels, Tensor) else data, n)


class OneHot(Op):
    """int64 one-hot rows of width ``n`` for integer labels (no gradient): an op, so that a
    replayed program encodes the new labels."""

    differentiable = False
    name = "one_hot"

    def forward(self, data, n):
        if data.size and (data.min() < 0 or data.max() >= n):
            raise InvalidArgument(f"one_hot: labels must lie in [0, {n}), got min {data.min()} "
                             f"max {data.max()}")
        return get_array_module(data).eye(n, dtype=np.int64)[data]
