"""NumPy's argument names that PyTorch also accepts: ``axis=`` for ``dim=``, ``keepdims=`` for
``keepdim=``.

    >>> x = cr.ones(2, 3)
    >>> x.sum(axis=1, keepdims=True).shape
    chainrule.Size([2, 1])

PyTorch's argument parser takes these aliases for the functions whose argument is a single
``dim`` (reductions, softmax, sort, cat, ...), not for ``roll(dims=)``, ``split`` or
``flatten``; the same functions here are wrapped with ``torch_aliases``.
"""

from __future__ import annotations

import functools

_ALIASES = (("axis", "dim"), ("keepdims", "keepdim"))


def torch_aliases(fn):
    """Let ``fn(..., axis=, keepdims=)`` mean ``fn(..., dim=, keepdim=)``."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if kwargs:
            for alias, name in _ALIASES:
                if alias in kwargs:
                    if name in kwargs:
                        raise TypeError(f"{fn.__name__}: got both {name}= and its alias {alias}=")
                    kwargs[name] = kwargs.pop(alias)
        return fn(*args, **kwargs)

    return wrapper


# The Tensor methods that take the aliases (tensor.py wraps them), like the functions below.
TENSOR_METHODS = (
    "sum", "mean", "prod", "var", "std", "max", "min", "amax", "amin", "argmax", "argmin",
    "logsumexp", "all", "any", "softmax", "log_softmax", "cumsum", "cumprod", "sort",
    "argsort", "topk", "squeeze", "unsqueeze", "gather", "index_select", "unbind", "chunk",
)
