"""Functions a backward rule calls that work on raw arrays *and* on Tensors.

A rule written with operators (``+ - * / ** @``), ``.reshape``, ``.swapaxes``, indexing and
these helpers runs on arrays on the fast first-order path and on Tensors under
``create_graph=True``, where the same code records a graph of the backward itself (that is
how double backward works). ``is_graph`` tells the two apart; ``value`` gives the array
behind either, for masks and indices, which are constants of the graph.

    >>> from chainrule.ops import either
    >>> either.exp(np.zeros(2))                                # array in, array out
    array([1., 1.])
    >>> either.exp(cr.zeros(2, requires_grad=True)).grad_fn   # Tensor in, recorded
    <ExpBackward0>
"""
from __future__ import annotations

import numpy as np

from ..tensor import Tensor


def is_graph(x) -> bool:
    """True when a rule runs under create_graph (its gradient arrived as a Tensor)."""
    return isinstance(x, Tensor)


def value(x):
    """The raw array behind ``x``: for masks and indices, which are constants of the graph."""
    return x._array if isinstance(x, Tensor) else x


def wants(node, i) -> bool:
    """Whether argument ``i`` of ``node`` needs a gradient (a rule skips work for constants)."""
    a = node.args[i]
    return isinstance(a, Tensor) and a._requires_grad


def array_of(x):
    """The array behind a Tensor, an array of any device as it is, host data (lists, numbers)
    as a NumPy array: ``np.asarray`` alone would pull a GPU array to the host (or fail)."""
    if isinstance(x, Tensor):
        return x._array
    if hasattr(x, "dtype") and hasattr(x, "shape"):
        return x
    return np.asarray(x)


def exp(x):
    return x.exp() if isinstance(x, Tensor) else np.exp(x)


def log(x):
    return x.log() if isinstance(x, Tensor) else np.log(x)


def sqrt(x):
    return x.sqrt() if isinstance(x, Tensor) else np.sqrt(x)


def sin(x):
    return x.sin() if isinstance(x, Tensor) else np.sin(x)


def cos(x):
    return x.cos() if isinstance(x, Tensor) else np.cos(x)


def sign(x):
    return np.sign(value(x))  # piecewise constant: never differentiated


def sum(x, axis=None, keepdims=False):
    if isinstance(x, Tensor):
        return x.sum(axis, keepdims)
    return x.sum(axis=axis, keepdims=keepdims)


def broadcast_to(x, shape):
    if isinstance(x, Tensor):
        return x.broadcast_to(shape)
    return np.broadcast_to(x, shape)


def permute(x, axes):
    return x.permute(axes) if isinstance(x, Tensor) else x.transpose(axes)


def where(condition, a, b):
    """``condition`` is a constant mask; ``a`` and ``b`` may be Tensors, arrays or numbers."""
    if isinstance(a, Tensor) or isinstance(b, Tensor):
        from .unary import where as tensor_where  # noqa: PLC0415 - unary imports this module
        return tensor_where(value(condition), a, b)
    return np.where(condition, a, b)

