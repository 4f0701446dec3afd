"""Grad mode: whether ops record themselves in the graph.

    >>> with cr.no_grad():
    ...     y = w * 2          # y.grad_fn is None, nothing recorded
    >>> @cr.no_grad()
    ... def predict(x): ...
"""

from __future__ import annotations

import functools

# Read by every op on its hot path, so it is a plain module global, not a thread-local.
enabled = True


def is_grad_enabled() -> bool:
    return enabled


class _GradModeContext:
    """Sets grad mode inside a ``with`` block or a decorated function, restores it after."""

    mode = True

    def __enter__(self):
        global enabled
        self._prev = enabled
        enabled = self.mode
        return self

    def __exit__(self, *exc):
        global enabled
        enabled = self._prev
        return False

    def __call__(self, fn):
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            global enabled
            prev, enabled = enabled, mode
            try:
                return fn(*args, **kwargs)
            finally:
                enabled = prev
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
        global enabled
        self.mode = bool(mode)
        # Like PyTorch, calling it as a plain function switches the mode at once.
        self._prev = enabled
        enabled = self.mode

    def __enter__(self):
        return self

    def __call__(self, fn):
        global enabled
        enabled = self._prev  # used as a decorator: don't switch at definition time
        return super().__call__(fn)
