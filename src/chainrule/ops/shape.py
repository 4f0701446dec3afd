"""Shape ops: reshape/view, permute/transpose, squeeze/unsqueeze, expand, cat, stack, split, pad.

Each backward is the inverse movement of the gradient: reshape back, permute back,
sum over what was expanded, slice out what was concatenated or padded.

    >>> x = cr.arange(6.0).reshape(2, 3)
    >>> cr.cat([x, x], dim=0).shape
    (4, 3)
"""

from __future__ import annotations

import numpy as np

from ..autograd.function import Op
from . import dual
from .reduce import normalize_dim, normalize_dims


def _shape_arg(shape):
    """Accept ``f(2, 3)``, ``f((2, 3))`` and ``f([2, 3])``."""
    if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
        return tuple(int(n) for n in shape[0])
    return tuple(int(n) for n in shape)


class Reshape(Op):
    def forward(self, x, shape):
        return x.reshape(shape)

    def backward(self, g, x, shape):
        return g.reshape(x.shape), None


class Permute(Op):
    def forward(self, x, axes):
        return x.transpose(axes)

    def backward(self, g, x, axes):
        return dual.permute(g, tuple(np.argsort(axes))), None


class BroadcastTo(Op):
    def forward(self, x, shape):
        return np.broadcast_to(x, shape)

    def backward(self, g, x, shape):
        return g.sum_to_size(x.shape) if dual.is_graph(g) else _sum_to(g, x.shape), None


def _sum_to(g, shape):
    from ..autograd.graph import sum_to_shape  # noqa: PLC0415 - one place for unbroadcasting
    return sum_to_shape(g, shape)


class Cat(Op):
    """Concatenate along ``axis``; the last argument is the axis."""

    def forward(self, *xs_and_axis):
        *xs, axis = xs_and_axis
        return np.concatenate(xs, axis=axis)

    def backward(self, g, *xs_and_axis):
        *xs, axis = xs_and_axis
        grads, start = [], 0
        for x in xs:
            n = x.shape[axis]
            grads.append(g[(slice(None),) * axis + (slice(start, start + n),)])
            start += n
        return (*grads, None)


class Stack(Op):
    def forward(self, *xs_and_axis):
        *xs, axis = xs_and_axis
        return np.stack(xs, axis=axis)

    def backward(self, g, *xs_and_axis):
        *xs, axis = xs_and_axis
        return (*(g[(slice(None),) * axis + (i,)] for i in range(len(xs))), None)


class Pad(Op):
    """Constant padding; ``widths`` are NumPy's ((before, after), ...) per dim."""

    def forward(self, x, widths, value):
        return np.pad(x, widths, mode="constant", constant_values=value)

    def backward(self, g, x, widths, value):
        index = tuple(slice(lo, lo + n) for (lo, _), n in zip(widths, x.shape))
        return g[index], None, None


def reshape(x, *shape):
    shape = _shape_arg(shape)
    if tuple(x.shape) == shape:
        return x
    return Reshape.apply(x, shape)


view = reshape


def flatten(x, start_dim=0, end_dim=-1):
    if x.ndim == 0:
        return reshape(x, 1)
    s = normalize_dim("flatten", start_dim, x.ndim)
    e = normalize_dim("flatten", end_dim, x.ndim)
    if s > e:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    shape = x.shape[:s] + (int(np.prod(x.shape[s:e + 1])),) + x.shape[e + 1:]
    return reshape(x, shape)


def permute(x, *dims):
    dims = _shape_arg(dims)
    if len(dims) != x.ndim:
        raise ValueError(f"permute: got {len(dims)} dims {dims} for a tensor of {x.ndim} dims")
    axes = tuple(normalize_dim("permute", d, x.ndim) for d in dims)
    if sorted(axes) != list(range(x.ndim)):
        raise ValueError(f"permute: {dims} is not a permutation of the {x.ndim} dims")
    if axes == tuple(range(x.ndim)):
        return x
    return Permute.apply(x, axes)


def transpose(x, dim0, dim1):
    if x.ndim < 2 and dim0 in (0, -1) and dim1 in (0, -1):
        return x
    axes = list(range(x.ndim))
    d0, d1 = normalize_dim("transpose", dim0, x.ndim), normalize_dim("transpose", dim1, x.ndim)
    axes[d0], axes[d1] = axes[d1], axes[d0]
    return permute(x, axes)


swapaxes = transpose


def squeeze(x, dim=None):
    if dim is None:
        return reshape(x, tuple(n for n in x.shape if n != 1))
    dims = normalize_dims("squeeze", dim, x.ndim)
    return reshape(x, tuple(n for i, n in enumerate(x.shape) if not (i in dims and n == 1)))


def unsqueeze(x, dim):
    d = normalize_dim("unsqueeze", dim, x.ndim + 1)
    return reshape(x, x.shape[:d] + (1,) + x.shape[d:])


def broadcast_to(x, shape):
    shape = _shape_arg((shape,))
    if tuple(x.shape) == shape:
        return x
    try:
        np.broadcast_shapes(x.shape, shape)
    except ValueError:
        raise ValueError(f"broadcast_to: shape {tuple(x.shape)} cannot broadcast to {shape}") from None
    return BroadcastTo.apply(x, shape)


def expand(x, *shape):
    """Like broadcast_to, with -1 meaning 'keep this size'."""
    shape = _shape_arg(shape)
    lead = len(shape) - x.ndim
    if lead < 0:
        raise ValueError(f"expand: cannot expand shape {tuple(x.shape)} to fewer dims {shape}")
    full = tuple(x.shape[i - lead] if n == -1 else n for i, n in enumerate(shape))
    return broadcast_to(x, full)


def cat(tensors, dim=0):
    tensors = list(tensors)
    if not tensors:
        raise ValueError("cat: expected a non-empty list of tensors")
    ref = tensors[0]
    axis = normalize_dim("cat", dim, ref.ndim)
    for i, t in enumerate(tensors):
        if t.ndim != ref.ndim or any(a != b for j, (a, b) in enumerate(zip(t.shape, ref.shape))
                                     if j != axis):
            raise ValueError(f"cat: tensor {i} has shape {tuple(t.shape)}, which does not match "
                             f"{tuple(ref.shape)} outside dim {dim}")
    return Cat.apply(*tensors, axis)


concatenate = cat


def stack(tensors, dim=0):
    tensors = list(tensors)
    if not tensors:
        raise ValueError("stack: expected a non-empty list of tensors")
    for i, t in enumerate(tensors):
        if tuple(t.shape) != tuple(tensors[0].shape):
            raise ValueError(f"stack: tensor {i} has shape {tuple(t.shape)}, expected "
                             f"{tuple(tensors[0].shape)} like tensor 0")
    axis = normalize_dim("stack", dim, tensors[0].ndim + 1)
    return Stack.apply(*tensors, axis)


def split(x, split_size_or_sections, dim=0):
    """Pieces of ``split_size`` along ``dim`` (the last may be smaller), or of the given sizes."""
    axis = normalize_dim("split", dim, x.ndim)
    n = x.shape[axis]
    if isinstance(split_size_or_sections, (int, np.integer)):
        step = int(split_size_or_sections)
        if step <= 0:
            raise ValueError(f"split: split_size must be positive, got {step}")
        sizes = [min(step, n - s) for s in range(0, n, step)] or [0]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if sum(sizes) != n:
            raise ValueError(f"split: sizes {sizes} do not add up to {n} along dim {dim}")
    pieces, start = [], 0
    for size in sizes:
        pieces.append(x[(slice(None),) * axis + (slice(start, start + size),)])
        start += size
    return tuple(pieces)


def chunk(x, chunks, dim=0):
    axis = normalize_dim("chunk", dim, x.ndim)
    n = x.shape[axis]
    step = -(-n // int(chunks))
    return split(x, max(step, 1), axis)


def unbind(x, dim=0):
    axis = normalize_dim("unbind", dim, x.ndim)
    return tuple(x[(slice(None),) * axis + (i,)] for i in range(x.shape[axis]))


def pad(x, pad, mode="constant", value=0.0):
    """Pad the last dims: ``pad = (left, right, top, bottom, ...)`` as in ``F.pad``."""
    if mode != "constant":
        raise ValueError(f"pad: only mode='constant' is supported, got {mode!r}")
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise ValueError(f"pad: padding {pad} must have an even length of at most 2 * {x.ndim}")
    widths = [(0, 0)] * x.ndim
    for i in range(len(pad) // 2):
        lo, hi = int(pad[2 * i]), int(pad[2 * i + 1])
        if lo < 0 or hi < 0:
            raise ValueError(f"pad: negative padding {pad} is not supported")
        widths[x.ndim - 1 - i] = (lo, hi)
    return Pad.apply(x, tuple(widths), value)


def flip(x, dims):
    from .index import getitem  # noqa: PLC0415
    axes = normalize_dims("flip", dims, x.ndim)
    return getitem(x, tuple(slice(None, None, -1) if i in axes else slice(None)
                            for i in range(x.ndim)))
