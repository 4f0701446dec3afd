"""Comparisons, logic and float tests: eq, lt, logical_and, isnan, allclose, ...

None has a gradient: each returns a bool Tensor outside the graph (or a Python bool for
``allclose`` and ``equal``), as in PyTorch.

    >>> cr.tensor([1.0, 2.0]) < 1.5
    tensor([ True, False])
"""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor, _make


def _data(x):
    return x._array if isinstance(x, Tensor) else x


def _named(name, fn, a, b):
    try:
        return _make(fn(_data(a), _data(b)))
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None


def eq(input, other):  # noqa: A002 - PyTorch's argument names
    return _named("eq", np.equal, input, other)


def ne(input, other):  # noqa: A002 - PyTorch's argument names
    return _named("ne", np.not_equal, input, other)


def lt(input, other):  # noqa: A002 - PyTorch's argument names
    return _named("lt", np.less, input, other)


def le(input, other):  # noqa: A002 - PyTorch's argument names
    return _named("le", np.less_equal, input, other)


def gt(input, other):  # noqa: A002 - PyTorch's argument names
    return _named("gt", np.greater, input, other)


def ge(input, other):  # noqa: A002 - PyTorch's argument names
    return _named("ge", np.greater_equal, input, other)


def logical_and(input, other):  # noqa: A002 - PyTorch's argument names
    return _named("logical_and", np.logical_and, input, other)


def logical_or(input, other):  # noqa: A002 - PyTorch's argument names
    return _named("logical_or", np.logical_or, input, other)


def logical_xor(input, other):  # noqa: A002 - PyTorch's argument names
    return _named("logical_xor", np.logical_xor, input, other)


def logical_not(x):
    return _make(np.logical_not(_data(x)))


def isnan(x):
    return _make(np.isnan(_data(x)))


def isinf(x):
    return _make(np.isinf(_data(x)))


def isfinite(x):
    return _make(np.isfinite(_data(x)))


def allclose(input, other, rtol=1e-5, atol=1e-8):  # noqa: A002 - PyTorch's argument names
    return bool(np.allclose(_data(input), _data(other), rtol=rtol, atol=atol))


def equal(input, other):  # noqa: A002 - PyTorch's argument names
    return bool(np.array_equal(_data(input), _data(other)))
