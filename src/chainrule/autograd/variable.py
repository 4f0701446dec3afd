"""``Variable``, torch's pre-0.4 wrapper, kept as torch keeps it: a Tensor.

    >>> v = cr.autograd.Variable(cr.ones(2), requires_grad=True)
    >>> isinstance(v, cr.Tensor), v.requires_grad
    (True, True)
"""

from __future__ import annotations

from ..tensor import Tensor


class _VariableType(type):
    def __instancecheck__(cls, obj):
        return isinstance(obj, Tensor)

    def __call__(cls, data, requires_grad=False, volatile=False):
        if not isinstance(data, Tensor):
            raise TypeError(f"Variable: data must be a Tensor, got {type(data).__name__}")
        if volatile:
            raise RuntimeError("Variable: volatile was removed from torch (0.4); use "
                               "`with cr.no_grad():`")
        out = data.detach()
        if requires_grad:
            out.requires_grad_(True)
        return out


class Variable(metaclass=_VariableType):
    """Legacy: ``Variable(t)`` is ``t`` cut from its graph (and made to require grad when
    asked); every Tensor is an instance."""
