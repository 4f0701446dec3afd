"""Anomaly detection, as torch's: while it is on, every backward checks what each node sends
to its inputs and names the node that first returns a nan.

    >>> class Broken(cr.autograd.Function):
    ...     @staticmethod
    ...     def forward(ctx, x):
    ...         return x * 2
    ...     @staticmethod
    ...     def backward(ctx, grad):
    ...         return grad * float("nan")
    >>> x = cr.tensor([1.0], requires_grad=True)
    >>> with cr.autograd.detect_anomaly():
    ...     (Broken.apply(x) * 3).sum().backward()
    Traceback (most recent call last):
    RuntimeError: Function 'BrokenBackward' returned nan values in its 0th output.

It is one switch for the whole process, as torch's is; a backward under it walks the
graph's observed path (a copy of every gradient), so it is for finding a bug, not for speed.
"""

from __future__ import annotations

from ..backend import get_array_module
from ..tensor import Tensor

_state = {"enabled": False, "check_nan": True}


def is_anomaly_enabled() -> bool:
    return _state["enabled"]


def is_anomaly_check_nan_enabled() -> bool:
    return _state["check_nan"]


class _Switch:
    """Sets the mode on creation (as a call) and restores the previous one on exit (as a
    context manager), as torch's ``set_detect_anomaly``."""

    def __init__(self, mode, check_nan=True):
        self.previous = dict(_state)
        _state.update(enabled=bool(mode), check_nan=bool(check_nan))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _state.update(self.previous)
        return False


class set_detect_anomaly(_Switch):  # noqa: N801 - torch's name
    """``set_detect_anomaly(True)`` switches it on for good; ``with set_detect_anomaly(m):``
    for a block."""


class detect_anomaly:  # noqa: N801 - torch's name
    """``with detect_anomaly():`` (or as a decorator): anomaly detection on for a block."""

    def __init__(self, check_nan=True):
        self.check_nan = check_nan
        self.switch = None

    def __enter__(self):
        self.switch = _Switch(True, self.check_nan)
        return self

    def __exit__(self, *exc):
        return self.switch.__exit__(*exc)

    def __call__(self, fn):
        import functools  # noqa: PLC0415

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with detect_anomaly(self.check_nan):
                return fn(*args, **kwargs)

        return wrapper


class NanCheck:
    """The walker's observer under anomaly mode: raise at the first node that sends a nan."""

    def step(self, node, upstream, input_grads):
        for i, g in enumerate(input_grads):
            if g is None:
                continue
            arr = g._array if isinstance(g, Tensor) else g
            if arr.dtype.kind in "fc" and bool(get_array_module(arr).isnan(arr).any()):
                raise RuntimeError(f"Function '{repr(node)[1:-1]}' returned nan values in its "
                                   f"{i}th output.")


def observer():
    """The observer a backward should use now (None: anomaly detection is off)."""
    return NanCheck() if _state["enabled"] and _state["check_nan"] else None
