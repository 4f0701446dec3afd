"""torch's ``out=`` argument on the public functions: ``cr.matmul(a, b, out=y)``.

The result is computed as without ``out``, then written into ``out`` (cast to its dtype
where torch casts, refused where torch refuses) and ``out`` is returned. As in torch, a
function with ``out=`` records nothing for autograd, so an argument that requires grad
(under grad mode) is refused; an ``out`` of another shape is resized, with torch's warning
when it held elements. Only the ``cr.*`` names take it: chainrule's own code calls the ops
directly, without the wrapper.

    >>> y = cr.empty(2, 2)
    >>> cr.matmul(cr.eye(2), cr.ones(2, 2), out=y) is y
    True
"""

from __future__ import annotations

import functools
import warnings

from .autograd import grad_mode
from .promotion import check_inplace_cast
from .tensor import Tensor

# The functions of the PyTorch tutorials and courses that are called with out=.
FUNCTIONS = (
    "add", "sub", "subtract", "mul", "multiply", "div", "divide", "true_divide", "pow",
    "matmul", "mm", "bmm", "mv", "dot", "cat", "concatenate", "stack", "exp", "log", "sqrt",
    "abs", "neg", "sin", "cos", "tanh", "sigmoid", "clamp", "maximum", "minimum", "sum",
    "mean", "prod", "cumsum",
)


def with_out(fn):
    """``fn`` taking ``out=`` as torch's function of that name does."""

    @functools.wraps(fn)
    def wrapper(*args, out=None, **kwargs):
        if out is None:
            return fn(*args, **kwargs)
        name = fn.__name__
        if not isinstance(out, Tensor):
            raise TypeError(f"{name}(): argument 'out' must be a Tensor, not "
                            f"{type(out).__name__}")
        if grad_mode.state.enabled and (out._requires_grad or any(
                _requires_grad(a) for a in (*args, *kwargs.values()))):
            raise RuntimeError(f"{name}(): functions with out=... arguments don't support "
                               "automatic differentiation, but one of the arguments requires "
                               "grad.")
        return write(name, fn(*args, **kwargs), out)

    return wrapper


def _requires_grad(a):
    if isinstance(a, Tensor):
        return a._requires_grad
    if isinstance(a, (list, tuple)):
        return any(_requires_grad(e) for e in a)
    return False


def write(name, result, out):
    """Put ``result`` into ``out`` (torch's out= rules) and return ``out``."""
    arr = result._array if isinstance(result, Tensor) else result
    check_inplace_cast(name, arr.dtype, out._array.dtype)
    if tuple(arr.shape) == tuple(out._array.shape):
        out._array[...] = arr
    else:
        if out._array.size:
            warnings.warn(
                f"An output with one or more elements was resized since it had shape "
                f"{list(out._array.shape)}, which does not match the required output shape "
                f"{list(arr.shape)}. This behavior is deprecated, and in a future PyTorch "
                "release outputs will not be resized unless they have zero elements. You can "
                "explicitly reuse an out tensor t by resizing it, inplace, to zero elements "
                "with t.resize_(0).", UserWarning, stacklevel=3)
        out._array = arr.astype(out._array.dtype, copy=True)
    out._version += 1
    return out
