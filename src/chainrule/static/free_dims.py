"""Which steps of a static graph cannot run on a new feed: constants frozen while it was built.

A graph is built by running its ops once on stand-in values, a free (None) dimension having
the stand-in size ``graph.free_size``. Most ops read sizes from their inputs when they run,
so a feed of any size fits; but a constant computed in Python from a stand-in -- a shape
(``x.reshape(x.shape[0], -1)``), a divisor (``x.sum() / x.shape[0]``, ``var``'s n - 1), an
array made from a placeholder's values (a loss that turned its target into a constant) --
is frozen into the step that got it. Replaying such a step on another feed would be silently
wrong, so ``check`` refuses it, naming the op and the constant: a size made from the stand-in
on a feed of another size, and always an array along a free dimension (a mask, indices or a
target read from a placeholder while building: stale on any feed) or one that shares a
placeholder's memory. Over fixed sizes, an array made from a placeholder's values cannot be
told from a constant the user wrote, so give the batch dimension None.

    >>> g = cr.static.Graph()
    >>> with g:
    ...     x = g.placeholder("x", (None, 3))
    ...     bad = x.sum() / x.shape[0]           # the stand-in size, frozen
    >>> g.run(bad, feed={x: np.ones((8, 3), np.float32)})
    Traceback (most recent call last):
    RuntimeError: Graph.run: Div (step 1) has the constant b=37, made from the stand-in size 37...
"""

from __future__ import annotations

import numpy as np

from ..autograd.tracing import Value, _short


def check(graph, steps, placeholders, arrays) -> None:
    """Raise RuntimeError if a step of ``steps`` holds a constant that the feed makes stale."""
    n = graph.free_size
    resized = any(d is None and size != n
                  for p, a in zip(placeholders, arrays)
                  for d, size in zip(p.declared_shape, a.shape))
    stand_ins = [p._array for p in graph.placeholders.values()]
    free = any(d is None for p in graph.placeholders.values() for d in p.declared_shape)
    graph._derived.update()
    made = graph._derived.producer
    for s in steps:
        for name, c in constants(s, graph.program, made):
            what = (f"reads the constant tensor {name}={_brief(c)}" if name.startswith("%")
                    else f"has the constant {name}={_brief(c)}")
            if free and _over_free_dim(c, n):
                # An array along the batch: made from a placeholder while building -- from its
                # values (a mask, indices, a target) or its size -- so stale on any feed.
                raise RuntimeError(
                    f"Graph.run: {s.op} (step {s.index}) {what}, an array along a free "
                    f"(None) dimension (of the stand-in size {n} while the graph was built): "
                    "it was made from a placeholder's values or size then, and would not "
                    "follow the values fed. Compute it with chainrule ops on tensors "
                    "(x.amax(1) rather than x.max(1), F.cross_entropy rather than nll_loss of "
                    "a one-hot), or pass it in as a placeholder (a recurrent layer's initial "
                    "state: lstm(x, (h0, c0)))")
            if _reads_stand_in(c, stand_ins):
                raise RuntimeError(
                    f"Graph.run: {s.op} (step {s.index}) {what}, "
                    "made from a placeholder's stand-in values while the graph was built, so "
                    "it would not see the values fed; pass the placeholder to an op that reads "
                    "it as a tensor (write the formula with chainrule ops)")
            if resized and _from_size(c, n):
                fed = ", ".join(f"{p.name}: {a.shape}" for p, a in zip(placeholders, arrays))
                raise RuntimeError(
                    f"Graph.run: {s.op} (step {s.index}) {what}, made from the stand-in "
                    f"size {n} of a free (None) dimension while the graph was built, so it "
                    f"cannot run on feeds of other sizes ({fed}); let "
                    "the op read the size from its input (x.mean(0) rather than "
                    "x.sum(0) / x.shape[0], x.reshape(-1, k) rather than "
                    "x.reshape(x.shape[0], k)), or give the dimension a fixed size (if "
                    f"{n} is a real size in this graph, build it with "
                    "cr.static.Graph(free_size=...) set to another)")


def constants(step, program=None, made=()):
    """``(name, value)`` of every constant a step holds: its attrs, those of the forward op a
    derivative step recomputes, and (given the ``program`` and the values its steps ``made``)
    the constant tensors it reads, by their arrays (a default initial state, indices)."""
    if program is not None:
        for a in step.inputs:
            if a.index in made:
                continue
            t = program.tensor_of(a)
            if type(t).__name__ == "Placeholder" or getattr(t, "_requires_grad", False):
                continue   # fed, or a variable: read anew at every run
            yield f"%{a.index}", getattr(t, "_array", t)
    for name, c in step.attrs.items():
        inner = getattr(c, "template", None)
        if inner is not None:   # a VJPOf: the constants of the op it differentiates
            for k, a in enumerate(inner):
                if type(a) is not Value and a is not None and not _is_slot(a):
                    yield f"{c.op_class.__name__}.arg{k}", a
            continue
        yield name, c


def _is_slot(a):
    return type(a).__name__ == "_Slot"


def _from_size(c, n, in_shape=False) -> bool:
    """Whether constant ``c`` looks made from the stand-in size ``n``: an int n or k n (a size
    flattened with others), n - 1 alone (the unbiased divisor), a float n, n - 1, 1/n or
    1/(n - 1), a shape holding n or k n, an array with n in its shape."""
    if isinstance(c, (bool, np.bool_)) or c is None:
        return False
    if isinstance(c, (int, np.integer)):   # n, a multiple (a flattened size), n - 1 alone
        return (int(c) != 0 and int(c) % n == 0) or (not in_shape and int(c) == n - 1)
    if isinstance(c, (float, np.floating)):
        return any(np.isclose(float(c), v, rtol=1e-6, atol=0)
                   for v in (n, n - 1, 1 / n, 1 / (n - 1)))
    if isinstance(c, (tuple, list)):
        return any(_from_size(e, n, True) for e in c)
    if isinstance(c, np.ndarray):
        return n in c.shape or (c.size == 1 and _from_size(c.reshape(()).item(), n))
    return False


def _over_free_dim(c, n) -> bool:
    """An array (or a tuple of them, index coordinates) with the stand-in size in its shape."""
    if isinstance(c, (tuple, list)):
        return any(_over_free_dim(e, n) for e in c)
    return isinstance(c, np.ndarray) and c.ndim > 0 and n in c.shape


def _reads_stand_in(c, stand_ins) -> bool:
    if isinstance(c, (tuple, list)):
        return any(_reads_stand_in(e, stand_ins) for e in c)
    if not isinstance(c, np.ndarray) or c.size == 0:
        return False
    return any(a.size and np.shares_memory(c, a) for a in stand_ins)


def _brief(c) -> str:
    """A constant on one short line (a tuple of index arrays as their shapes)."""
    if isinstance(c, (tuple, list)):
        inner = ", ".join(_brief(e) for e in c[:4]) + (", ..." if len(c) > 4 else "")
        return f"({inner}{',' if len(c) == 1 else ''})"
    text = _short(c)
    return text if len(text) <= 60 and "\n" not in text else text.split("\n")[0][:57] + "..."
