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

    def __init__(self):
        # Run once in each thread that touches the state (threading.local calls it there), so
        # every field is in the thread's own ``__dict__``: hot paths read several fields
        # through one lookup of that dict (see _switch).
        self.plain = True        # ``Op.apply``'s one read on its hot path: see _plain
        self._enabled = True
        self._tracer = None
        self.keep_graph = False  # backward keeps saved values and a record (cr.viz.keep_graph)
        self.capture = None      # the capture of a ``cr.compile``d function running now

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
        if (self._tracer is None) != (program is None):  # this thread starts or stops tracing
            with _count_lock:
                tracing_threads[0] += 1 if program is not None else -1
        self._tracer = program
        self.plain = _plain(self._enabled, program)


def _plain(enabled, tracer):
    """``plain`` for this grad mode and tracer: True (recording, untraced), None (not
    recording, untraced) or False (traced)."""
    if tracer is not None:
        return False
    return True if enabled else None


state = _ThreadState()
_others_lock = threading.Lock()

# How many threads trace now (``tracing.trace``, a ``cr.compile`` capture). While none does,
# an op of tensors that need no grad has nothing to record in any grad mode, and Op.apply
# skips its read of ``state`` (a threading.local attribute costs ~800 instructions, a
# twentieth of a small op).
tracing_threads = [0]
_count_lock = threading.Lock()


def _switch(mode) -> None:
    """``state.enabled = mode`` without the property's call (a Python call is cheaper)."""
    # A threading.local's ``__dict__`` is the calling thread's own dict: one lookup of it
    # instead of one per attribute halves the cost (~100 ns instead of ~200).
    fields = state.__dict__
    fields["_enabled"] = mode
    fields["plain"] = (True if mode else None) if fields["_tracer"] is None else False  # _plain


def is_grad_enabled() -> bool:
    """Whether ops record the graph in this thread."""
    return state.enabled


class _GradModeContext:
    """Sets grad mode inside a ``with`` block or a decorated function, restores it after."""

    mode = True

    def __enter__(self):
        self._push(state._enabled)
        _switch(self.mode)
        return self

    def __exit__(self, *exc):
        own = self.__dict__
        _switch(self._pop_other() if own.get("_others") else own.pop("_first")[0])
        return False

    # Each entry restores its own previous mode, also when one object is re-entered or
    # shared by threads. The common case (a fresh object, entered once) keeps it in the
    # object: ``setdefault`` is atomic, so of two threads only one takes that place; an
    # entry made while it is held goes on a list with its thread's id (under a lock).
    def _push(self, prev):
        box = [prev]
        if self.__dict__.setdefault("_first", box) is not box:
            self._push_other(prev)

    def _push_other(self, prev):
        with _others_lock:
            self.__dict__.setdefault("_others", []).append((threading.get_ident(), prev))

    def _pop_other(self):
        """The previous mode of this thread's latest entry, which may be the first."""
        own = self.__dict__
        me = threading.get_ident()
        with _others_lock:
            others = own["_others"]
            for i in range(len(others) - 1, -1, -1):
                if others[i][0] == me:
                    return others.pop(i)[1]
        return own.pop("_first")[0]

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
        self._push(self._switched_from)
        return self

    def __call__(self, fn):
        state.enabled = self._switched_from  # used as a decorator: don't switch at definition time
        return super().__call__(fn)
