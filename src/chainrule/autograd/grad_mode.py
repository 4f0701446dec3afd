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
nothing traces (the common case), None while grad mode is off and nothing traces (no_grad),
False while a trace runs; ``enabled`` and ``tracer`` keep it up to date. Calling a
property costs another ~100 ns, so the autograd package's own hot paths read the fields
behind them (``_enabled``, ``_tracer``) and switch the mode with ``_switch``; everything
else uses the properties.
"""

from __future__ import annotations

import functools
import threading


class _ThreadState(threading.local):
    """What the engine and ``Op.apply`` read on every op, kept per thread."""

    plain = True        # ``Op.apply``'s one read on its hot path: see _plain
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
        self.plain = _plain(mode, self._tracer)

    @property
    def tracer(self):
        """The active ``trace()`` Program, if any (``autograd.tracing``)."""
        return self._tracer

    @tracer.setter
    def tracer(self, program):
        self._tracer = program
        self.plain = _plain(self._enabled, program)


def _plain(enabled, tracer):
    """``plain`` for this grad mode and tracer: True (recording, untraced), None (not
    recording, untraced) or False (traced)."""
    if tracer is not None:
        return False
    return True if enabled else None


state = _ThreadState()


def _switch(mode) -> None:
    """``state.enabled = mode`` without the property's call (a Python call is cheaper)."""
    state._enabled = mode
    state.plain = _plain(mode, state._tracer)


def is_grad_enabled() -> bool:
    """Whether ops record the graph in this thread."""
    return state.enabled


class _GradModeContext:
    """Sets grad mode inside a ``with`` block or a decorated function, restores it after."""

    mode = True

    def __enter__(self):
        # A stack per thread: one context object entered by several threads (or re-entered)
        # restores each entry's own previous mode.
        self._saved().append(state._enabled)
        _switch(self.mode)
        return self

    def __exit__(self, *exc):
        _switch(self._saved().pop())
        return False

    def _saved(self):
        try:
            return self._stacks[threading.get_ident()]
        except AttributeError:
            self._stacks = {}
        except KeyError:
            pass
        return self._stacks.setdefault(threading.get_ident(), [])

    def __call__(self, fn):
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            prev = state._enabled
            _switch(mode)
            try:
                return fn(*args, **kwargs)
            finally:
                _switch(prev)
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
