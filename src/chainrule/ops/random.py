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


class Draw(Op):
    """A draw from ``generator`` that reads no tensor (``rand``, ``randn``, ``randint``,
    ``randperm``): ``method`` of the generator called with ``args``, placed on ``device``.
    The creation functions use it while a trace records, so that a replay draws anew (and
    the numbers are those of the same call made eagerly)."""

    differentiable = False

    def forward(self, method, args, generator, device):
        return backend.place(getattr(backend.rng_of(generator), method)(*args), device)


class BernoulliDraw(Op):
    """1 with probability ``p`` (an array), else 0, drawn on the CPU as torch's streams."""

    differentiable = False
    name = "bernoulli"

    def forward(self, p, generator):
        host = backend.to_device(p, "cpu")
        drawn = backend.rng_of(generator).draw_bernoulli_tensor(host, host.dtype)
        return backend.to_device(drawn, backend.device_of(p))


class MultinomialDraw(Op):
    """Category indices drawn from the weights of each row of ``probs`` (see ``multinomial``)."""

    differentiable = False
    name = "multinomial"

    def forward(self, probs, num_samples, replacement, generator):
        host = backend.to_device(probs, "cpu")  # the draws are made on the CPU, as torch's
        drawn = backend.rng_of(generator).draw_multinomial(host, num_samples, replacement)
        return backend.to_device(drawn, backend.device_of(probs))
