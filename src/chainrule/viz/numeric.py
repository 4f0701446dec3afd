"""Numerical vs analytical gradient: central differences next to backprop, element by element.

    >>> w = cr.tensor([2.0, -3.0, -3.0], requires_grad=True)
    >>> x = cr.tensor([-1.0, -2.0])
    >>> table = cr.viz.numeric_vs_analytic(
    ...     lambda w: cr.sigmoid(w[0] * x[0] + w[1] * x[1] + w[2]), {"w": w})
    >>> print(table)
    input  index  numerical  analytical  abs. error  rel. error
    w      (0,)   -0.1966    -0.1966     7.3e-12     3.7e-11
    w      (1,)   -0.3932    -0.3932     1.5e-11     3.7e-11
    w      (2,)   0.1966     0.1966      7.3e-12     3.7e-11
    max relative error: 3.7e-11

The numerical gradient is (f(x + h) - f(x - h)) / 2h for each element in turn; the
analytical one is backprop's. Both run in float64 on copies of the inputs (the inputs
themselves are left alone), and the relative error is |a - n| / max(|a|, |n|), the
lectures' check: below ~1e-7 all is well, above ~1e-2 the gradient is probably wrong.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..tensor import Tensor, _make
from . import format as fmt


@dataclass
class GradientCheckRow:
    input: str
    index: tuple
    numerical: float
    analytical: float
    abs_error: float
    rel_error: float


class GradientTable(list):
    """A list of ``GradientCheckRow`` that prints as a table."""

    @property
    def max_rel_error(self) -> float:
        return max((r.rel_error for r in self), default=0.0)

    def __str__(self):
        head = ["input", "index", "numerical", "analytical", "abs. error", "rel. error"]
        body = [[r.input, str(r.index), fmt.number(r.numerical), fmt.number(r.analytical),
                 f"{r.abs_error:.1e}", f"{r.rel_error:.1e}"] for r in self]
        widths = [max(len(row[c]) for row in [head] + body) for c in range(len(head))]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip()
                 for row in [head] + body]
        lines.append(f"max relative error: {self.max_rel_error:.1e}")
        return "\n".join(lines)


def numeric_vs_analytic(fn, inputs, eps: float = 1e-6, max_elems: int = 20) -> GradientTable:
    """Compare finite-difference and backprop gradients of scalar ``fn(*inputs)``.

    ``inputs``: a Tensor, a list of Tensors, or a dict name -> Tensor (the names label the
    rows; ``fn`` is then called with the values in order). Only inputs that require grad
    are compared, and of each at most ``max_elems`` elements (the first ones, in order).
    """
    if isinstance(inputs, dict):
        names, tensors = list(inputs), list(inputs.values())
    else:
        tensors = [inputs] if isinstance(inputs, Tensor) else list(inputs)
        names = [getattr(t, "name", None) or f"input{i}" for i, t in enumerate(tensors)]
    for n, t in zip(names, tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"numeric_vs_analytic: input {n!r} is a {type(t).__name__}, "
                            "not a Tensor")
    wanted = [t.requires_grad for t in tensors]
    if not any(wanted):
        raise ValueError("numeric_vs_analytic: no input requires grad; nothing to compare")
    copies = [_make(t._array.astype(np.float64) if t.dtype.kind == "f" else t._array.copy(),
                    w, None) for t, w in zip(tensors, wanted)]

    out = fn(*copies)
    if not isinstance(out, Tensor) or out._array.size != 1:
        raise ValueError("numeric_vs_analytic: fn must return a one-element Tensor, got "
                         f"{type(out).__name__} {getattr(out, 'shape', '')}")
    from ..autograd.engine import grad  # noqa: PLC0415

    chosen = [c for c, w in zip(copies, wanted) if w]
    analytic = dict(zip(map(id, chosen), grad(out, chosen, allow_unused=True)))

    from ..autograd import grad_mode  # noqa: PLC0415

    table = GradientTable()
    with grad_mode.no_grad():
        for name, c, w in zip(names, copies, wanted):
            if not w:
                continue
            g = analytic[id(c)]
            flat = c._array.reshape(-1)    # a view: nudging it nudges the input
            for k in range(min(flat.size, max_elems)):
                saved = flat[k]
                flat[k] = saved + eps
                plus = float(fn(*copies)._array)
                flat[k] = saved - eps
                minus = float(fn(*copies)._array)
                flat[k] = saved
                num = (plus - minus) / (2 * eps)
                ana = 0.0 if g is None else float(g._array.reshape(-1)[k])
                err = abs(ana - num)
                scale = max(abs(ana), abs(num))
                index = tuple(int(i) for i in np.unravel_index(k, c.shape))
                table.append(GradientCheckRow(name, index, num, ana, err,
                                              err / scale if scale > 0 else 0.0))
    return table
