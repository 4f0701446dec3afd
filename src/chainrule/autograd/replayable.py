"""``@replayable``: a function that works on raw arrays, outside the graph, traced as one step.

Some utilities update or read arrays directly (``nn.utils.clip_grad_norm_`` scales every
``.grad`` in place). No op of theirs is recorded, so a trace would not see them, and a
replay of that trace (``cr.compile``) would silently skip them. Marked ``@replayable``,
such a function is recorded as one ``Call`` step -- the function, its arguments (iterators
made into lists first, since a replay iterates them again) and the Tensor it returns -- and
a replay calls it again.

    >>> w = cr.ones(2, requires_grad=True)
    >>> with cr.autograd.trace(backward="vjp") as program:
    ...     (w * 3).sum().backward()
    ...     _ = cr.nn.utils.clip_grad_norm_([w], 1.0)
    >>> program.ops()[-1]
    'Call'
"""

from __future__ import annotations

import functools
from collections.abc import Iterator

from ..tensor import Tensor
from . import grad_mode
from . import tracing


def replayable(fn):
    """Record each call of ``fn`` made while tracing as one ``Call`` step (see above)."""

    @functools.wraps(fn)
    def call(*args, **kwargs):
        state = grad_mode.state
        if state.tracer is None:
            return fn(*args, **kwargs)
        args = tuple(list(a) if isinstance(a, Iterator) else a for a in args)
        tracer, state.tracer = state.tracer, None  # what it does inside is not recorded
        try:
            result = fn(*args, **kwargs)
        finally:
            state.tracer = tracer
        tracing.note("Call", [a for a in args if isinstance(a, Tensor)],
                     [result] if isinstance(result, Tensor) else [], node=fn,
                     fn=fn.__qualname__, args=args, kwargs=kwargs)
        return result
    return call
