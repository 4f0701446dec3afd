"""Shape ops: reshape/view, permute/transpose, squeeze/unsqueeze, expand, cat, stack, split, pad.

Each backward is the inverse movement of the gradient: reshape back, permute back,
sum over what was expanded, slice out what was concatenated or padded.

    >>> x = cr.arange(6.0).reshape(2, 3)
    >>> cr.cat([x, x], dim=0).shape
    chainrule.Size([4, 3])
"""

from __future__ import annotations

import functools
import math

import numpy as np

from ..aliases import torch_aliases
from .. import backend
from ..promotion import result_type
from ..autograd.function import Op
from ..size import Size
from ..tensor import Tensor
from . import either
from .reduce import normalize_dim, normalize_dims
from ..errors import InvalidArgument


def _shape_arg(shape):
    """Accept ``f(2, 3)``, ``f((2, 3))`` and ``f([2, 3])``."""
    if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
        return tuple(int(n) for n in shape[0])
    return tuple(int(n) for n in shape)


class Reshape(Op):
    torch_name = "ViewBackward0"

    def forward(self, x, shape):
        return x.reshape(shape)

    def backward(self, g, x, shape):
        return g.reshape(x.shape), None


class Flatten(Reshape):
    """The reshape of ``flatten``. Where its input is not C-contiguous (a convolution's
    channels-last output seen as (N, C, *S)), forward copies it into C order; backward
    mirrors that copy, laying the gradient out as the input is, so that the ops below (a
    ReLU's mask, a convolution's rows) read it in their own order instead of each paying a
    strided pass over it."""

    def forward(self, x, shape):
        if len(shape) == 2 and x.ndim > 2 and not x.flags.c_contiguous:
            out = _c_order(x)
            if out is not None:
                return out.reshape(shape)
        return x.reshape(shape)

    def backward(self, g, x, shape):
        gx = g.reshape(x.shape)
        if either.is_graph(g) or x.flags.c_contiguous:
            return gx, None
        out = backend.get_array_module(g).empty_like(x)  # x's memory order
        out[...] = gx
        return out, None


def _c_order(x):
    """A C-order copy of the channels-last ``x`` (N, C, *S) (memory (N, *S, C)), or None
    where NumPy's own copy is the better one.

    NumPy's copy runs along the destination's last dim, here the positions: N C runs of
    P (positions) elements read C apart, ~45 instructions a run. One copy per position
    moves N runs of C elements instead, for ~7,600 instructions of Python and indexing a
    position: worth it where N (C - P) > 170 P, as on the MNIST-1D CNN (N 100, C 25, P 5:
    ~2x fewer instructions); NumPy's own copy is the faster with more positions than
    channels (LeNet's 25 positions of 16 channels: 2.3x) or a small batch.
    """
    n, c = x.shape[:2]
    positions = math.prod(x.shape[2:])
    if n * (c - positions) <= 170 * positions:
        return None
    src = x.transpose(to_last(x.ndim))
    if not src.flags.c_contiguous:
        return None
    src = src.reshape(n, positions, c)  # a view: the memory order
    xp = backend.get_array_module(x)
    out = xp.empty(x.shape, dtype=x.dtype)
    dst = out.reshape(n, c, positions)
    for i in range(positions):
        dst[:, :, i] = src[:, i]
    return out


@functools.lru_cache(maxsize=None)  # on the hot path: a C-level lookup, no tuple built
def to_last(ndim):
    """The axes that take (N, C, *S) to (N, *S, C) (and a weight's (O, C, *K) to (O, *K, C))."""
    return (0,) + tuple(range(2, ndim)) + (1,)


class Permute(Op):
    def forward(self, x, axes):
        return x.transpose(axes)

    def backward(self, g, x, axes):
        return either.permute(g, tuple(np.argsort(axes))), None


class BroadcastTo(Op):
    torch_name = "ExpandBackward0"

    def forward(self, x, shape):
        return np.broadcast_to(x, shape)

    def backward(self, g, x, shape):
        return g.sum_to_size(x.shape) if either.is_graph(g) else _sum_to(g, x.shape), None


def _sum_to(g, shape):
    from ..autograd.graph import sum_to_shape  # noqa: PLC0415 - one place for unbroadcasting
    return sum_to_shape(g, shape)


def _promoted(out, xs):
    """cat/stack in torch's result dtype (NumPy makes float32 with int64 float64)."""
    if len({x.dtype for x in xs}) > 1:
        want = result_type(*xs)
        if out.dtype != want:
            return out.astype(want)
    return out


class Cat(Op):
    """Concatenate along ``axis``; the last argument is the axis."""

    def forward(self, *xs_and_axis):
        *xs, axis = xs_and_axis
        return _promoted(np.concatenate(xs, axis=axis), xs)

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
        return _promoted(np.stack(xs, axis=axis), xs)

    def backward(self, g, *xs_and_axis):
        *xs, axis = xs_and_axis
        return (*(g[(slice(None),) * axis + (i,)] for i in range(len(xs))), None)


class Pad(Op):
    """Constant padding; ``widths`` are NumPy's ((before, after), ...) per dim."""

    torch_name = "ConstantPadNdBackward0"

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
    dims = x._array.shape
    shape = dims[:s] + (math.prod(dims[s:e + 1]),) + dims[e + 1:]
    if shape == dims:
        return x
    return Flatten.apply(x, shape)


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


@torch_aliases
def squeeze(x, dim=None):
    if dim is None:
        return reshape(x, tuple(n for n in x.shape if n != 1))
    dims = normalize_dims("squeeze", dim, x.ndim)
    return reshape(x, tuple(n for i, n in enumerate(x.shape) if not (i in dims and n == 1)))


@torch_aliases
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


@torch_aliases
def cat(tensors, dim=0):
    if isinstance(tensors, Tensor):  # iterating it would silently cat its rows (torch: error)
        raise TypeError(f"cat: expected a sequence of Tensors, got a Tensor of shape "
                        f"{tuple(tensors.shape)}")
    tensors = list(tensors)
    if not tensors:
        raise ValueError("cat: expected a non-empty list of tensors")
    ref = tensors[0]
    axis = normalize_dim("cat", dim, ref.ndim)
    for i, t in enumerate(tensors):
        if t.ndim != ref.ndim or any(a != b for j, (a, b) in enumerate(zip(t.shape, ref.shape))
                                     if j != axis):
            raise InvalidArgument(f"cat: tensor {i} has shape {tuple(t.shape)}, which does not "
                                  f"match {tuple(ref.shape)} outside dim {dim}")
    return Cat.apply(*tensors, axis)


concatenate = cat


@torch_aliases
def stack(tensors, dim=0):
    tensors = list(tensors)
    if not tensors:
        raise ValueError("stack: expected a non-empty list of tensors")
    for i, t in enumerate(tensors):
        if tuple(t.shape) != tuple(tensors[0].shape):
            raise InvalidArgument(f"stack: tensor {i} has shape {tuple(t.shape)}, expected "
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


@torch_aliases
def chunk(x, chunks, dim=0):
    axis = normalize_dim("chunk", dim, x.ndim)
    if int(chunks) <= 0:
        raise InvalidArgument(f"chunk: chunks must be positive, got {chunks}")
    n = x.shape[axis]
    step = -(-n // int(chunks))
    return split(x, max(step, 1), axis)


@torch_aliases
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


# --- triangles, repetition, rolling ------------------------------------------------------

def _triangle(name, x, diagonal, lower):
    from ..tensor import Tensor  # noqa: PLC0415
    from .unary import where  # noqa: PLC0415
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: expected a Tensor, got {type(x).__name__}")
    if x.ndim < 2:
        raise RuntimeError(f"{name}: input tensor must have at least 2 dimensions, got shape "
                           f"{tuple(x.shape)}")
    xp = backend.get_array_module(x._array)
    rows, cols = x.shape[-2:]
    k = int(diagonal)
    mask = xp.tri(rows, cols, k, dtype=bool) if lower else ~xp.tri(rows, cols, k - 1, dtype=bool)
    return where(mask, x, xp.zeros((), dtype=x.dtype))


def tril(x, diagonal=0):
    """The lower triangle of the last two dims (``j - i <= diagonal``), zeros above.

        >>> cr.tril(cr.ones(2, 3))
        tensor([[1., 0., 0.],
                [1., 1., 0.]])
    """
    return _triangle("tril", x, diagonal, lower=True)


def triu(x, diagonal=0):
    """The upper triangle of the last two dims (``j - i >= diagonal``), zeros below."""
    return _triangle("triu", x, diagonal, lower=False)


def _triangle_indices(name, row, col, offset, dtype, device, lower):
    from ..tensor import _make  # noqa: PLC0415
    row, col = int(row), int(col)
    if row < 0 or col < 0:
        raise RuntimeError(f"{name}: row ({row}) and col ({col}) must be non-negative")
    xp = backend.array_module(backend.normalize_device(device))
    mask = xp.tri(row, col, int(offset), dtype=bool) if lower \
        else ~xp.tri(row, col, int(offset) - 1, dtype=bool)
    index = xp.stack(xp.nonzero(mask))  # row-major order, as PyTorch lists them
    return _make(index.astype(backend.to_dtype(dtype) or np.int64))


def tril_indices(row, col, offset=0, dtype=None, device=None):
    """The (2, N) coordinates of the lower triangle of a (row, col) matrix, row by row.

        >>> cr.tril_indices(2, 2)
        tensor([[0, 1, 1],
                [0, 0, 1]])
    """
    return _triangle_indices("tril_indices", row, col, offset, dtype, device, lower=True)


def triu_indices(row, col, offset=0, dtype=None, device=None):
    """The (2, N) coordinates of the upper triangle of a (row, col) matrix, row by row."""
    return _triangle_indices("triu_indices", row, col, offset, dtype, device, lower=False)


def repeat(x, *sizes):
    """Tile ``x``: ``sizes[i]`` copies along dim i (leading sizes add dims), as ``Tensor.repeat``.

    Built as reshape -> broadcast -> reshape, so the gradient (a sum over the copies) and
    double backward come from those ops.

        >>> cr.tensor([1, 2]).repeat(2, 2)
        tensor([[1, 2, 1, 2],
                [1, 2, 1, 2]])
    """
    sizes = _shape_arg(sizes)
    if len(sizes) < x.ndim:
        raise RuntimeError(f"repeat: number of repeat dims ({len(sizes)}) can not be smaller "
                           f"than the number of dims of the tensor ({x.ndim})")
    if any(s < 0 for s in sizes):
        raise RuntimeError(f"repeat: repeats must be non-negative, got {sizes}")
    shape = (1,) * (len(sizes) - x.ndim) + tuple(x.shape)
    interleaved = reshape(x, tuple(n for d in shape for n in (1, d)))
    tiled = broadcast_to(interleaved, tuple(n for s, d in zip(sizes, shape) for n in (s, d)))
    return reshape(tiled, tuple(s * d for s, d in zip(sizes, shape)))


def repeat_interleave(x, repeats=None, dim=None, output_size=None):
    """Repeat each element ``repeats`` times along ``dim`` (flattened when ``dim`` is None).

        >>> cr.repeat_interleave(cr.tensor([1, 2]), 2)
        tensor([1, 1, 2, 2])
        >>> cr.repeat_interleave(cr.tensor([2, 1]))   # indices repeated by counts
        tensor([0, 0, 1])
    """
    from ..tensor import Tensor, _make  # noqa: PLC0415
    if repeats is None or isinstance(repeats, Tensor):
        from ..autograd import tracing  # noqa: PLC0415
        tracing.reads_values("repeat_interleave", "reads the repeat counts (and so the "
                                                      "size) from the tensor's values in Python")
    if repeats is None:  # repeat_interleave(counts): arange(len(counts)) repeated by counts
        counts = x._array
        if counts.ndim != 1 or counts.dtype.kind not in "iu":
            raise RuntimeError(f"repeat_interleave: repeats must be a 1-D integer tensor, got "
                               f"shape {tuple(counts.shape)} and dtype {counts.dtype}")
        xp = backend.get_array_module(counts)
        return _make(xp.repeat(xp.arange(len(counts), dtype=np.int64), counts))
    if dim is None:
        x, axis = flatten(x), 0
    else:
        axis = normalize_dim("repeat_interleave", dim, x.ndim)
    if x.ndim == 0:
        x = reshape(x, 1)
    n = x.shape[axis]
    reps = repeats._array if isinstance(repeats, Tensor) else repeats
    if isinstance(reps, (int, np.integer)) or getattr(reps, "ndim", 1) == 0:
        r = int(reps)
        if r < 0:
            raise RuntimeError(f"repeat_interleave: repeats must be non-negative, got {r}")
        wide = unsqueeze(x, axis + 1)
        wide = broadcast_to(wide, wide.shape[:axis + 1] + (r,) + wide.shape[axis + 2:])
        out = reshape(wide, x.shape[:axis] + (n * r,) + x.shape[axis + 1:])
    else:
        xp = backend.get_array_module(x._array)
        reps = xp.asarray(reps).reshape(-1)
        if reps.dtype.kind not in "iu" or (reps.size != n and reps.size != 1):
            raise RuntimeError(f"repeat_interleave: repeats must have the same size as input "
                               f"along dim {axis} ({n}), got shape {tuple(reps.shape)}")
        if reps.size and reps.min() < 0:
            raise RuntimeError("repeat_interleave: repeats can not be negative")
        from .index import GetItem  # noqa: PLC0415
        index = xp.repeat(xp.arange(n), reps if reps.size == n else int(reps[0]))
        out = GetItem.apply(x, (slice(None),) * axis + (index,))
    if output_size is not None and out.shape[axis] != int(output_size):
        raise RuntimeError(f"repeat_interleave: output_size {output_size} does not match the "
                           f"result's size {out.shape[axis]} along dim {axis}")
    return out


class Roll(Op):
    def forward(self, x, shifts, axes):
        return backend.get_array_module(x).roll(x, shifts, axes)

    def backward(self, g, x, shifts, axes):
        back = tuple(-s for s in shifts)
        return (Roll.apply(g, back, axes) if either.is_graph(g)
                else backend.get_array_module(g).roll(g, back, axes)), None, None


def ravel(x):
    """The elements in one dim, in C order, as ``torch.ravel`` (a copy where needed)."""
    return reshape(x, -1)


def roll(x, shifts, dims=None):
    """Shift elements along ``dims`` with wrap-around (flattened first when ``dims`` is None).

        >>> cr.roll(cr.tensor([1, 2, 3, 4]), 1)
        tensor([4, 1, 2, 3])
    """
    shifts_t = (shifts,) if isinstance(shifts, (int, np.integer)) else tuple(shifts)
    if dims is None:
        if len(shifts_t) != 1:
            raise RuntimeError(f"roll: with dims=None, shifts must be one number, got {shifts}")
        return reshape(Roll.apply(flatten(x), (int(shifts_t[0]),), (0,)), x.shape)
    dims_t = (dims,) if isinstance(dims, (int, np.integer)) else tuple(dims)
    if len(shifts_t) != len(dims_t):
        raise RuntimeError(f"roll: shifts {shifts} and dims {dims} must have the same length")
    axes = tuple(normalize_dim("roll", d, x.ndim) for d in dims_t)
    if x.ndim == 0:
        return x
    return Roll.apply(x, tuple(int(s) for s in shifts_t), axes)


class Diag(Op):
    """diag(x, k): a vector onto diagonal k of a square matrix (zeros elsewhere), or the
    k-th diagonal of a matrix (k > 0 above the main one, as torch). Each is the other's VJP."""

    def forward(self, x, k):
        xp = backend.get_array_module(x)
        return xp.diag(x, k) if x.ndim == 1 else xp.diagonal(x, k).copy()

    def backward(self, g, x, k):
        if x.ndim == 1:  # the matrix's diagonal k gives the vector's gradient
            return diag(g, k) if either.is_graph(g) else Diag().forward(g, k), None
        m, n = x.shape
        length = g.shape[0]
        xp = backend.get_array_module(either.value(g))  # g's device: x may be a placeholder
        rows = xp.arange(length) - min(k, 0)
        cols = xp.arange(length) + max(k, 0)
        if either.is_graph(g):  # P^T diag(g) Q puts g_i at (rows_i, cols_i), differentiably
            p = xp.zeros((length, m), x.dtype)
            q = xp.zeros((length, n), x.dtype)
            p[xp.arange(length), rows] = 1
            q[xp.arange(length), cols] = 1
            return Tensor._of(p.T) @ diag(g) @ Tensor._of(q), None
        out = xp.zeros((m, n), g.dtype)
        out[rows, cols] = g
        return out, None


def diag(x, diagonal=0):
    """torch's ``diag``: a 1-D tensor as the diagonal of a square matrix, or a 2-D tensor's
    diagonal (``diagonal`` > 0 above the main one).

        >>> cr.diag(cr.tensor([1.0, 2.0]))
        tensor([[1., 0.],
                [0., 2.]])
    """
    if x.ndim not in (1, 2):
        raise ValueError(f"diag: expects a 1-D or 2-D tensor, got shape {tuple(x.shape)}")
    if not isinstance(diagonal, (int, np.integer)) or isinstance(diagonal, bool):
        raise TypeError(f"diag: diagonal must be an int, got {type(diagonal).__name__}")
    return Diag.apply(x, int(diagonal))


def meshgrid(*tensors, indexing="ij"):
    """Coordinate grids of 1-D tensors, as torch's: with ``indexing="ij"`` the i-th output
    varies along dim i; ``"xy"`` swaps the first two dims (NumPy's and MATLAB's order).

        >>> xs, ys = cr.meshgrid(cr.arange(3), cr.arange(2), indexing="xy")
        >>> xs.shape
        chainrule.Size([2, 3])
    """
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor) or t.ndim > 1:
            raise ValueError(f"meshgrid: expects 0-D or 1-D tensors, got "
                             f"{type(t).__name__ if not isinstance(t, Tensor) else tuple(t.shape)} "
                             f"at position {i}")
    vectors = [reshape(t, -1) for t in tensors]
    if indexing == "xy" and len(vectors) >= 2:
        vectors[0], vectors[1] = vectors[1], vectors[0]
    shape = tuple(v.shape[0] for v in vectors)
    grids = []
    for i, v in enumerate(vectors):
        along = [1] * len(vectors)
        along[i] = shape[i]
        grids.append(broadcast_to(reshape(v, tuple(along)), shape))
    if indexing == "xy" and len(grids) >= 2:  # the grids of (y, x, ...), given back as (x, y, ...)
        grids[0], grids[1] = grids[1], grids[0]
    return tuple(grids)


def movedim(x, source, destination):
    """Dims ``source`` moved to ``destination`` (ints or sequences), the others in order: a
    view, as ``torch.movedim``."""
    src = (source,) if isinstance(source, int) else tuple(source)
    dst = (destination,) if isinstance(destination, int) else tuple(destination)
    if len(src) != len(dst):
        raise ValueError(f"movedim: source {source} and destination {destination} must have "
                         f"the same number of dims")
    src = tuple(normalize_dim("movedim", d, x.ndim) for d in src)
    dst = tuple(normalize_dim("movedim", d, x.ndim) for d in dst)
    if len(set(src)) != len(src) or len(set(dst)) != len(dst):
        raise ValueError(f"movedim: repeated dim in source {source} or destination {destination}")
    order = [d for d in range(x.ndim) if d not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return permute(x, *order)


moveaxis = movedim


def tile(x, dims):
    """``x`` repeated ``dims[i]`` times along dim i, as ``torch.tile`` (fewer dims than ``x``
    are padded with ones in front, unlike ``repeat``)."""
    dims = _shape_arg((dims,) if isinstance(dims, int) else tuple(dims))
    if len(dims) < x.ndim:
        dims = (1,) * (x.ndim - len(dims)) + tuple(dims)
    return repeat(x, *dims)


def diff(x, n=1, dim=-1, prepend=None, append=None):
    """The ``n``-th forward difference along ``dim``: out[i] = x[i + 1] - x[i], as torch's."""
    from .index import getitem  # noqa: PLC0415
    axis = normalize_dim("diff", dim, x.ndim)
    if n < 0:
        raise ValueError(f"diff: order n must be non-negative, got {n}")
    parts = [t for t in (prepend, x, append) if t is not None]
    if len(parts) > 1:
        x = cat(parts, axis)
    before = (slice(None),) * axis
    for _ in range(n):
        if x.shape[axis] == 0:
            break
        x = getitem(x, before + (slice(1, None),)) - getitem(x, before + (slice(None, -1),))
    return x


def _at_least(name, tensors, ndim):
    single = len(tensors) == 1 and not isinstance(tensors[0], (list, tuple))
    items = tensors[0] if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)) \
        else tensors
    out = []
    for t in items:
        if t.ndim >= ndim:
            out.append(t)
        elif ndim == 3 and t.ndim == 2:
            out.append(unsqueeze(t, -1))  # torch: (m, n) -> (m, n, 1)
        elif ndim == 3 and t.ndim == 1:
            out.append(reshape(t, (1, t.shape[0], 1)))
        else:
            out.append(reshape(t, (1,) * (ndim - t.ndim) + tuple(t.shape)))
    return out[0] if single else tuple(out)


def atleast_1d(*tensors):
    return _at_least("atleast_1d", tensors, 1)


def atleast_2d(*tensors):
    return _at_least("atleast_2d", tensors, 2)


def atleast_3d(*tensors):
    return _at_least("atleast_3d", tensors, 3)


def hstack(tensors):
    """Concatenated along dim 1 (dim 0 for 1-D tensors), as ``torch.hstack``."""
    ts = _as_tuple(atleast_1d(*tensors))
    return cat(list(ts), 0 if ts[0].ndim == 1 else 1)


def vstack(tensors):
    """Rows stacked: 1-D tensors become rows, as ``torch.vstack``."""
    return cat(list(_as_tuple(atleast_2d(*tensors))), 0)


row_stack = vstack


def dstack(tensors):
    return cat(list(_as_tuple(atleast_3d(*tensors))), 2)


def column_stack(tensors):
    """1-D tensors as columns (and 2-D ones as they are), side by side."""
    cols = [reshape(t, (t.numel(), 1)) if t.ndim <= 1 else t for t in tensors]
    return cat(cols, 1)


def _as_tuple(x):
    return x if isinstance(x, tuple) else (x,)


def broadcast_shapes(*shapes):
    """The shape ``shapes`` broadcast to, as ``torch.broadcast_shapes``."""
    try:
        return Size(np.broadcast_shapes(*[(s,) if isinstance(s, int) else tuple(s)
                                         for s in shapes]))
    except ValueError:
        raise RuntimeError(f"broadcast_shapes: shapes {shapes} cannot be broadcast together") \
            from None


def broadcast_tensors(*tensors):
    """Each tensor broadcast to their common shape (views), as ``torch.broadcast_tensors``."""
    shape = tuple(broadcast_shapes(*[tuple(t.shape) for t in tensors]))
    return tuple(t if tuple(t.shape) == shape else broadcast_to(t, shape) for t in tensors)


def tensor_split(x, indices_or_sections, dim=0):
    """Views of ``x`` split along ``dim``: into n pieces of sizes differing by at most one
    (the first ones larger), or at the given indices, as ``torch.tensor_split``."""
    axis = normalize_dim("tensor_split", dim, x.ndim)
    n = x.shape[axis]
    if isinstance(indices_or_sections, (int, np.integer)):
        k = int(indices_or_sections)
        if k <= 0:
            raise ValueError(f"tensor_split: number of sections must be positive, got {k}")
        sizes = [n // k + (1 if i < n % k else 0) for i in range(k)]
        bounds = np.cumsum([0] + sizes)
    else:
        cuts = [min(max(int(i) + (n if int(i) < 0 else 0), 0), n) for i in indices_or_sections]
        bounds = [0] + cuts + [n]
    before = (slice(None),) * axis
    return tuple(x[before + (slice(int(lo), max(int(lo), int(hi))),)]
                 for lo, hi in zip(bounds[:-1], bounds[1:]))


def hsplit(x, indices_or_sections):
    return _even_split("hsplit", x, indices_or_sections, 0 if x.ndim == 1 else 1)


def vsplit(x, indices_or_sections):
    if x.ndim < 2:
        raise RuntimeError(f"vsplit: needs at least 2 dims, got shape {tuple(x.shape)}")
    return _even_split("vsplit", x, indices_or_sections, 0)


def dsplit(x, indices_or_sections):
    if x.ndim < 3:
        raise RuntimeError(f"dsplit: needs at least 3 dims, got shape {tuple(x.shape)}")
    return _even_split("dsplit", x, indices_or_sections, 2)


def _even_split(name, x, indices_or_sections, axis):
    if isinstance(indices_or_sections, (int, np.integer)) and x.shape[axis] % indices_or_sections:
        raise RuntimeError(f"{name}: dim {axis} of size {x.shape[axis]} does not split into "
                           f"{indices_or_sections} equal parts")
    return tensor_split(x, indices_or_sections, axis)


def rot90(x, k=1, dims=(0, 1)):
    """``x`` rotated by ``k`` quarter turns in the plane of ``dims`` (from the first dim toward
    the second), as ``torch.rot90``."""
    if len(dims) != 2:
        raise ValueError(f"rot90: dims must be two dims, got {dims}")
    a, b = (normalize_dim("rot90", d, x.ndim) for d in dims)
    if a == b:
        raise ValueError(f"rot90: dims must differ, got {dims}")
    k %= 4
    if k == 1:
        return transpose(flip(x, (b,)), a, b)
    if k == 2:
        return flip(x, (a, b))
    if k == 3:
        return flip(transpose(x, a, b), (b,))
    return x
