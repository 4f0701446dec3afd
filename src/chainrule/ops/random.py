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


class KeepMask(Op):
    """A mask of ``shape`` (broadcast against ``x``): 1 / (1 - p) where a uniform draw from
    ``generator`` is >= p, else 0, in the dtype of ``x``: channel dropout's and attention
    dropout's mask, drawn as a step of its own so that a replay draws anew. ``draw_dtype``
    is the dtype of the uniforms (None: the generator's default, float64)."""

    differentiable = False

    def forward(self, x, shape, p, generator, draw_dtype):
        rng = backend.rng_of(generator)
        draw = rng.random(shape) if draw_dtype is None else rng.random(shape, dtype=draw_dtype)
        xp = backend.get_array_module(x)
        keep = xp.asarray(backend.to_device(draw >= p, backend.device_of(x))).astype(x.dtype)
        keep *= x.dtype.type(1.0 / (1.0 - p))
        return keep
