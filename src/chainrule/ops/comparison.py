"""Comparisons, logic and float tests: eq, lt, logical_and, isnan, allclose, ...

None has a gradient: each returns a bool Tensor outside the graph (or a Python bool for
``allclose`` and ``equal``), as in PyTorch. Each is an op of its own (``differentiable =
False``), so a traced program recomputes the mask on new data instead of freezing it.

    >>> cr.tensor([1.0, 2.0]) < 1.5
    tensor([ True, False])
"""

from __future__ import annotations

import numpy as np

from ..autograd import tracing
from ..autograd.function import Op
from ..tensor import Tensor, _make


def _data(x):
    return x._array if isinstance(x, Tensor) else x


class Compare(Op):
    """An elementwise test (``fn``, a NumPy ufunc) of one or two operands: a bool mask."""

    differentiable = False
    arg_names = ("input", "other")

    def forward(self, a, b=None):
        return self.fn(a) if b is None else self.fn(a, b)


def _compare(name, fn):
    return type(name, (Compare,), {"fn": staticmethod(fn), "name": name,
                                   "__doc__": f"``{fn.__name__}`` as an op."})


_OPS = {name: _compare(name, fn) for name, fn in [
    ("eq", np.equal), ("ne", np.not_equal), ("lt", np.less), ("le", np.less_equal),
    ("gt", np.greater), ("ge", np.greater_equal), ("logical_and", np.logical_and),
    ("logical_or", np.logical_or), ("logical_xor", np.logical_xor),
    ("logical_not", np.logical_not), ("isnan", np.isnan), ("isinf", np.isinf),
    ("isfinite", np.isfinite)]}


def eq(input, other):  # noqa: A002 - PyTorch's argument names
    return _OPS["eq"].apply(input, other)


def ne(input, other):  # noqa: A002 - PyTorch's argument names
    return _OPS["ne"].apply(input, other)


def lt(input, other):  # noqa: A002 - PyTorch's argument names
    return _OPS["lt"].apply(input, other)


def le(input, other):  # noqa: A002 - PyTorch's argument names
    return _OPS["le"].apply(input, other)


def gt(input, other):  # noqa: A002 - PyTorch's argument names
    return _OPS["gt"].apply(input, other)


def ge(input, other):  # noqa: A002 - PyTorch's argument names
    return _OPS["ge"].apply(input, other)


def logical_and(input, other):  # noqa: A002 - PyTorch's argument names
    return _OPS["logical_and"].apply(input, other)


def logical_or(input, other):  # noqa: A002 - PyTorch's argument names
    return _OPS["logical_or"].apply(input, other)


def logical_xor(input, other):  # noqa: A002 - PyTorch's argument names
    return _OPS["logical_xor"].apply(input, other)


def logical_not(x):
    return _OPS["logical_not"].apply(x)


def isnan(x):
    return _OPS["isnan"].apply(x)


def isinf(x):
    return _OPS["isinf"].apply(x)


def isfinite(x):
    return _OPS["isfinite"].apply(x)


def allclose(input, other, rtol=1e-5, atol=1e-8):  # noqa: A002 - PyTorch's argument names
    tracing.reads_values("allclose", "reads the values into a Python bool")
    return bool(np.allclose(_data(input), _data(other), rtol=rtol, atol=atol))


def isclose(input, other, rtol=1e-5, atol=1e-8, equal_nan=False):  # noqa: A002
    """Elementwise ``|input - other| <= atol + rtol |other|`` (a bool tensor), as torch's."""
    a, b = _data(input), _data(other)
    with np.errstate(invalid="ignore", over="ignore"):  # infinities compare as torch's do
        return _make(np.isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan))


def equal(input, other):  # noqa: A002 - PyTorch's argument names
    tracing.reads_values("equal", "reads the values into a Python bool")
    return bool(np.array_equal(_data(input), _data(other)))
