"""Random draws as ops of the graph: the dropout mask, drawn from a generator as a step of
its own, so that a traced training step shows the draw (and no gradient flows into it).

    >>> from chainrule.ops.random import DropoutMask
    >>> mask = DropoutMask.apply(cr.ones(1000), 0.5, cr.Generator().manual_seed(0))
    >>> sorted(set(mask.tolist()))                # kept elements are 1 / (1 - p)
    [0.0, 2.0]
"""

from __future__ import annotations

from .. import backend
from ..autograd.function import Op


class DropoutMask(Op):
    """The mask of dropout, drawn from ``generator`` (the default one when None) as a step of
    its own: kept elements are 1 / (1 - p), dropped ones 0, in the dtype of ``x``."""

    differentiable = False

    def forward(self, x, p, generator):
        dtype = x.dtype if x.dtype.kind == "f" else backend.default_float
        # torch: noise = bernoulli_(1 - p) (keep where a uniform < 1 - p), noise /= 1 - p
        keep = backend.rng_of(generator).draw_bernoulli(x.shape, 1.0 - p, dtype)
        return backend.to_device(keep / dtype.type(1.0 - p), backend.device_of(x))


class DropMask(Op):
    """A dropout mask of ``shape`` for attention weights, drawn from the default generator
    as a step of its own (so a compiled step draws it anew at every replay): kept elements
    are 1 / (1 - p), dropped ones 0. ``xp`` is the array module, ``dtype`` the mask's."""

    differentiable = False

    def forward(self, xp, shape, p, dtype):
        draw = backend.rng_of(None).random(shape)
        keep = xp.asarray(draw >= p).astype(dtype)
        keep *= dtype.type(1.0 / (1.0 - p))
        return keep
