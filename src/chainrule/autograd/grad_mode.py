"""Grad mode: whether ops record themselves in the graph, per thread (as PyTorch).

    >>> w = cr.ones(3, requires_grad=True)
    >>> with cr.no_grad():
    ...     y = w * 2
    >>> y.grad_fn is None, y.requires_grad      # nothing recorded
    (True, False)
    >>> @cr.no_grad()
    ... def predict(x):
    ...     return x * w
    >>> predict(cr.ones(3)).requires_grad
    False

Each thread has its own mode: a ``no_grad`` block in a serving thread never stops another
thread from recording, and the engine switching recording off during backward affects only
the thread that runs the backward. The state is one ``threading.local`` object. Reading one
of its attributes costs a few hundred instructions (the thread's own dict is looked up
first), so the op hot path reads a single one, ``plain``: True while grad mode is on and
nothing traces, the common case; ``enabled`` and ``tracer`` keep it up to date.
"""

from __future__ import annotations

import functools
import threading


class _ThreadState(threading.local):
    """What the engine and ``Op.apply`` read on every op, kept per thread."""

    plain = True        # enabled and not tracing: ``Op.apply``'s one read on its hot path
    _enabled = True
    _tracer = None
    keep_graph = False  # backward keeps saved values and a record of itself (cr.viz.keep_graph)
    capture = None      # the capture of a ``cr.compile``d function running now (static.capture)

    @property
    def enabled(self) -> bool:
        """Record the graph (grad mode)."""
        return self._enabled

    @enabled.setter
    def enabled(self, mode):
        self._enabled = mode
        self.plain = bool(mode) and self._tracer is None

    @property
    def tracer(self):
        """The active ``trace()`` Program, if any (``autograd.tracing``)."""
        return self._tracer

    @tracer.setter
    def tracer(self, program):
        self._tracer = program
        self.plain = program is None and bool(self._enabled)


state = _ThreadState()


def is_grad_enabled() -> bool:
    """Whether ops record the graph in this thread."""
    return state.enabled


class _GradModeContext:
    """Sets grad mode inside a ``with`` block or a decorated function, restores it after."""

    mode = True

    def __enter__(self):
        # A stack per thread: one context object entered by several threads (or re-entered)
        # restores each entry's own previous mode.
        self._saved().append(state.enabled)
        state.enabled = self.mode
        return self

    def __exit__(self, *exc):
        state.enabled = self._saved().pop()
        return False

    def _saved(self):
        stacks = self.__dict__.setdefault("_stacks", {})
        return stacks.setdefault(threading.get_ident(), [])

    def __call__(self, fn):
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            prev = state.enabled
            state.enabled = mode
            try:
                return fn(*args, **kwargs)
            finally:
                state.enabled = prev
        return wrapper


class no_grad(_GradModeContext):
    """Record no graph inside: for evaluation and for updating weights in place."""

    mode = False


class enable_grad(_GradModeContext):
    """Record the graph inside, even within ``no_grad``."""

    mode = True


class set_grad_enabled(_GradModeContext):
    """``set_grad_enabled(False)`` is ``no_grad()``; usable as a call, a context or a decorator."""

    def __init__(self, mode: bool):
        self.mode = bool(mode)
        # Like PyTorch, calling it as a plain function switches the mode at once.
        self._switched_from = state.enabled
        state.enabled = self.mode

    def __enter__(self):
        self._saved().append(self._switched_from)
        return self

    def __call__(self, fn):
        state.enabled = self._switched_from  # used as a decorator: don't switch at definition time
        return super().__call__(fn)
