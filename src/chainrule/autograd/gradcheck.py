"""Numerical gradient checking: backprop against central finite differences, in float64.

    >>> x = cr.randn(3, dtype=cr.float64, requires_grad=True)
    >>> cr.autograd.gradcheck(lambda x: (x.sin() * x).sum(), (x,))
    True

The lectures' "numerical vs analytical gradient": for each input element, nudge it by
+-eps and watch the output move, (f(x+eps) - f(x-eps)) / 2 eps, then compare with what
backward says. On a mismatch the error names the input, the element and both values.
"""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor
from .engine import grad as autograd_grad


class GradcheckError(RuntimeError):
    """The analytic and the numerical gradients disagree."""


def _as_tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _differentiable(inputs):
    return [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]


def _outputs(fn, inputs):
    return [o for o in _as_tuple(fn(*inputs)) if isinstance(o, Tensor) and o.dtype.kind == "f"]


def numerical_jacobian_vjp(fn, inputs, index, grad_outputs, eps):
    """d <grad_outputs, fn(inputs)> / d inputs[index], element by element, by central differences."""
    t = inputs[index]
    data = t._array  # nudged in place through a multi-index: works for any memory layout
    result = np.zeros(data.shape, dtype=np.float64)
    # Grad stays on: gradgradcheck's fn takes a derivative inside.
    for k in np.ndindex(data.shape):
        orig = data[k]
        data[k] = orig + eps
        plus = sum(float((o._array * g).sum()) for o, g in zip(_outputs(fn, inputs), grad_outputs))
        data[k] = orig - eps
        minus = sum(float((o._array * g).sum()) for o, g in zip(_outputs(fn, inputs), grad_outputs))
        data[k] = orig
        result[k] = (plus - minus) / (2 * eps)
    return result


def _compare(name, label, analytic, numeric, atol, rtol, raise_exception):
    a = np.zeros(numeric.shape) if analytic is None else np.asarray(analytic, dtype=np.float64)
    bad = ~np.isclose(a, numeric, atol=atol, rtol=rtol)
    if not bad.any():
        return True
    if not raise_exception:
        return False
    k = np.unravel_index(int(np.argmax(bad)), numeric.shape) if numeric.ndim else ()
    raise GradcheckError(
        f"{name}: mismatch for {label} at element {tuple(int(j) for j in k)}: "
        f"analytic {a[k]:.8g} vs numerical {numeric[k]:.8g} "
        f"(atol={atol}, rtol={rtol}; {int(bad.sum())} of {bad.size} elements differ)")


def _check_float64(name, inputs):
    for i in _differentiable(inputs):
        if inputs[i].dtype != np.float64:
            raise GradcheckError(
                f"{name}: input {i} is {inputs[i].dtype}; finite differences need float64 "
                "(make it with dtype=cr.float64)")


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, *,
              _name="gradcheck", _n_inputs=None):
    """True when backprop's gradient of ``fn`` matches central differences for every input."""
    inputs = _as_tuple(inputs)
    _check_float64(_name, inputs)
    wrt = _differentiable(inputs)
    if not wrt:
        raise GradcheckError(f"{_name}: no input requires grad")
    n_inputs = len(inputs) if _n_inputs is None else _n_inputs
    outputs = _outputs(fn, inputs)
    rng = np.random.default_rng(0)
    # A random projection of the outputs checks the whole Jacobian's action in one backward.
    grad_outputs = [rng.standard_normal(o.shape) for o in outputs]
    diff_outputs = [(o, g) for o, g in zip(outputs, grad_outputs) if o.requires_grad]
    analytic = [None] * len(wrt)
    if diff_outputs:
        analytic = autograd_grad([o for o, _ in diff_outputs], [inputs[i] for i in wrt],
                                 [Tensor(g.astype(o.dtype)) for o, g in diff_outputs],
                                 allow_unused=True)
    for j, i in enumerate(wrt):
        numeric = numerical_jacobian_vjp(fn, inputs, i, grad_outputs, eps)
        a = None if analytic[j] is None else analytic[j]._array
        # gradgradcheck also varies the upstream gradients, after the inputs
        label = f"input {i}" if i < n_inputs else f"grad_output {i - n_inputs}"
        if not _compare(_name, label, a, numeric, atol, rtol, raise_exception):
            return False
    return True


def gradgradcheck(fn, inputs, grad_outputs=None, eps=1e-6, atol=1e-5, rtol=1e-3,
                  raise_exception=True):
    """gradcheck of the first derivative itself: checks second derivatives via create_graph."""
    inputs = _as_tuple(inputs)
    _check_float64("gradgradcheck", inputs)
    wrt = _differentiable(inputs)
    outputs = _outputs(fn, inputs)
    rng = np.random.default_rng(1)
    if grad_outputs is None:
        grad_outputs = [Tensor(rng.standard_normal(o.shape), dtype=np.float64, requires_grad=True)
                        for o in outputs]
    grad_outputs = list(_as_tuple(grad_outputs))

    def first_derivative(*args):
        xs = args[:len(inputs)]
        gs = args[len(inputs):]
        outs = [o for o in _outputs(fn, xs) if o.requires_grad]
        grads = autograd_grad(outs, [xs[i] for i in wrt], list(gs[:len(outs)]),
                              create_graph=True, allow_unused=True)
        return tuple(g for g in grads if g is not None)

    return gradcheck(first_derivative, (*inputs, *grad_outputs), eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception, _name="gradgradcheck",
                     _n_inputs=len(inputs))
