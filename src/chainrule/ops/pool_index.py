"""Where max pooling's maxima are, as ops: the flat indices are computed in forward from the
input it is given, so a traced program finds the new maxima when it is replayed (a
``TakeFlat`` then reads the input there; ``ops/pool.py``).

    >>> from chainrule.ops.pool import pool_geometry
    >>> geom = pool_geometry("max_pool1d", (4,), (2,), (2,), (0,), (1,), False)
    >>> MaxPoolIndices.apply(cr.tensor([[[1.0, 3.0, 2.0, 0.0]]]), geom)
    tensor([[[1, 2]]])
"""

from __future__ import annotations

import itertools

from .. import backend
from ..autograd.function import Op
from .pool import max_pool_indices


def adaptive_bounds(size, out):
    """PyTorch's adaptive windows: [floor(i S / O), ceil((i + 1) S / O))."""
    starts = [(i * size) // out for i in range(out)]
    ends = [-(-((i + 1) * size) // out) for i in range(out)]
    return starts, ends


class MaxPoolIndices(Op):
    """Flat indices (into each input plane) of every window's first maximum (no gradient)."""

    differentiable = False
    name = "max_pool"

    def forward(self, x, geom):
        return max_pool_indices(x, geom)


class AdaptiveMaxIndices(Op):
    """Flat indices of the first maximum of every adaptive window of (N, C, *S) for an output
    of spatial ``size`` (no gradient)."""

    differentiable = False
    name = "adaptive_max_pool"

    def forward(self, x, size):
        xp = backend.get_array_module(x)
        d = len(size)
        bounds = [adaptive_bounds(s, o) for s, o in zip(x.shape[2:], size)]
        idx = xp.empty(tuple(x.shape[:2]) + tuple(size), dtype=xp.int64)
        for pos in itertools.product(*(range(o) for o in size)):
            box = tuple(slice(b[0][p], b[1][p]) for b, p in zip(bounds, pos))
            win = x[(slice(None), slice(None)) + box]
            arg = win.reshape(win.shape[:2] + (-1,)).argmax(axis=-1)
            local = xp.unravel_index(arg, win.shape[2:])
            flat = 0
            for i in range(d):
                flat = flat * x.shape[2 + i] + local[i] + box[i].start
            idx[(slice(None), slice(None)) + pos] = flat
        return idx
