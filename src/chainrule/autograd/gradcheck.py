"""Numerical gradient checking: backprop against central finite differences, in float64.

    >>> x = cr.randn(3, dtype=cr.float64, requires_grad=True)
    >>> cr.autograd.gradcheck(lambda x: (x.sin() * x).sum(), (x,))
    True

The lectures' "numerical vs analytical gradient", entry by entry. For small problems (at most
``FULL_JACOBIAN_MAX`` elements in the differentiable inputs and in the outputs, at most
``FULL_JACOBIAN_ENTRIES_MAX`` Jacobian entries) the whole Jacobian is built twice:
numerically, nudging each input entry by +-eps and watching every output move, J[i, j] ~ (f(x + eps e_j) - f(x - eps e_j))_i / 2 eps; and analytically, one
backward per output entry with a one-hot upstream gradient. A mismatch names the output entry,
the input entry and both derivatives. Larger problems get the fast check (``fast_mode=True``,
as in torch): random unit vectors u over the inputs and v over the outputs, and v.J.u from one
directional difference against v.J.u from one backward, per (output, input) pair.

Then, as torch does: backward run twice with the same upstream gradient must agree up to
``nondet_tol`` (reentrant), and zero upstream gradients must give zero gradients
(``check_undefined_grad``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import backend
from ..tensor import Tensor, _make
from .engine import grad as autograd_grad

# Up to this many elements in the differentiable inputs, and in the outputs, and this many
# Jacobian entries (8 MB per Jacobian), the check builds the full Jacobian: 2 forwards per input
# entry, 1 backward per output entry.
FULL_JACOBIAN_MAX = 4096
FULL_JACOBIAN_ENTRIES_MAX = 2 ** 20
# A full Jacobian this small is printed whole in the error message, as the lectures show it.
PRINT_JACOBIAN_MAX = 36
# How many mismatching entries the message lists (all of them are on the error).
LISTED_MISMATCHES = 8


@dataclass
class Mismatch:
    """One disagreeing Jacobian entry: d output[output_entry] / d input[input_entry].

    In fast mode the entries are None and the values are the projections v.J.u.
    """

    output: int
    output_entry: tuple | None
    input: int
    input_entry: tuple | None
    analytical: float
    numerical: float


class GradcheckError(RuntimeError):
    """The analytic and the numerical gradients disagree.

    ``mismatches``: the list of ``Mismatch``; ``analytical`` and ``numerical``: the Jacobians
    as ``{(output, input): array of shape output.shape + input.shape}`` (None in fast mode).
    """

    def __init__(self, message, mismatches=(), analytical=None, numerical=None):
        super().__init__(message)
        self.mismatches = list(mismatches)
        self.analytical = analytical
        self.numerical = numerical


def _as_tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _differentiable(inputs):
    return [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]


def _outputs(fn, inputs):
    return [o for o in _as_tuple(fn(*inputs)) if isinstance(o, Tensor) and o.dtype.kind == "f"]


def _check_float64(name, inputs):
    for i in _differentiable(inputs):
        if inputs[i].dtype != np.float64:
            raise GradcheckError(
                f"{name}: input {i} is {inputs[i].dtype}; finite differences need float64 "
                "(make it with dtype=cr.float64)")


class _Problem:
    """What is checked: the function, its inputs, which of them vary, names for the message."""

    def __init__(self, name, fn, inputs, n_inputs, output_labels, eps, atol, rtol):
        self.name, self.fn, self.inputs = name, fn, inputs
        self.output_labels = output_labels
        self.eps, self.atol, self.rtol = eps, atol, rtol
        self.wrt = _differentiable(inputs)
        self.n_inputs = len(inputs) if n_inputs is None else n_inputs
        self.outputs = _outputs(fn, inputs)

    def input_label(self, i):
        # gradgradcheck also varies the upstream gradients, after the inputs
        return f"input {i}" if i < self.n_inputs else f"grad_output {i - self.n_inputs}"

    def output_label(self, k):
        return self.output_labels[k] if self.output_labels else f"output {k}"

    def evaluate(self):
        """The outputs' arrays for the inputs as they are now (grad stays on: gradgradcheck's
        function takes a derivative inside)."""
        # The Jacobians live on the host, in float64, whatever the device of the arrays.
        return [_host(o._array) for o in _outputs(self.fn, self.inputs)]

    def backward(self, k, grad_output):
        """Gradients of output ``k`` (upstream ``grad_output``) for every varied input."""
        out = self.outputs[k]
        if not out.requires_grad:
            return [None] * len(self.wrt)
        g = _like(grad_output, out)
        grads = autograd_grad([out], [self.inputs[i] for i in self.wrt], [g],
                              retain_graph=True, allow_unused=True)
        return [None if gi is None else _host(gi._array) for gi in grads]


def _host_zeros(shape):
    """A float64 table on the host: the Jacobians are compared there, whatever the device of
    the inputs (``_host`` brings each gradient back; ``_like`` sends each seed over)."""
    return backend.array_module("cpu").zeros(tuple(shape), dtype=np.float64)


def numerical_jacobian(p: _Problem):
    """{(output k, input i): d output / d input} by central differences, one entry at a time."""
    jac = {}
    for i in p.wrt:
        data = p.inputs[i]._array  # nudged in place through a multi-index: any memory layout
        cols = {k: _host_zeros(o.shape + data.shape) for k, o in enumerate(p.outputs)}
        for j in np.ndindex(data.shape):
            orig = data[j]
            data[j] = orig + p.eps
            plus = p.evaluate()
            data[j] = orig - p.eps
            minus = p.evaluate()
            data[j] = orig
            for k, (a, b) in enumerate(zip(plus, minus)):
                cols[k][(Ellipsis, *j)] = (a - b) / (2 * p.eps)
        for k in cols:
            jac[k, i] = cols[k]
    return jac


def analytical_jacobian(p: _Problem):
    """{(output k, input i): d output / d input} from backward, one output entry at a time."""
    jac = {(k, i): _host_zeros(o.shape + p.inputs[i].shape)
           for k, o in enumerate(p.outputs) for i in p.wrt}
    for k, o in enumerate(p.outputs):
        if not o.requires_grad:
            continue
        for e in np.ndindex(o.shape):
            seed = _host_zeros(o.shape)
            seed[e] = 1.0
            for i, g in zip(p.wrt, p.backward(k, seed)):
                if g is not None:
                    jac[k, i][e] = g
    return jac


def _check_full(p: _Problem):
    numerical = numerical_jacobian(p)
    analytical = analytical_jacobian(p)
    mismatches, pairs = [], []
    for (k, i), num in numerical.items():
        ana = analytical[k, i]
        bad = ~np.isclose(ana, num, atol=p.atol, rtol=p.rtol)
        if not bad.any():
            continue
        pairs.append((k, i, int(bad.sum()), bad.size))
        ndim_out = p.outputs[k].ndim
        for idx in zip(*np.nonzero(bad)) if bad.ndim else [()]:
            idx = tuple(int(v) for v in idx)
            mismatches.append(Mismatch(k, idx[:ndim_out], i, idx[ndim_out:],
                                       float(ana[idx]), float(num[idx])))
    if not mismatches:
        return
    lines = [f"{p.name}: Jacobian mismatch (atol={p.atol}, rtol={p.rtol}): "
             + "; ".join(f"{p.output_label(k)} with respect to {p.input_label(i)}: {n} of "
                         f"{size} entries differ" for k, i, n, size in pairs)]
    for m in mismatches[:LISTED_MISMATCHES]:
        lines.append(f"  d {p.output_label(m.output)}{list(m.output_entry)} / "
                     f"d {p.input_label(m.input)}{list(m.input_entry)}: "
                     f"analytic {m.analytical:.8g} vs numerical {m.numerical:.8g}")
    if len(mismatches) > LISTED_MISMATCHES:
        lines.append(f"  ... and {len(mismatches) - LISTED_MISMATCHES} more (on the error's "
                     ".mismatches)")
    for k, i, _, size in pairs:
        if size <= PRINT_JACOBIAN_MAX:
            rows = (p.outputs[k]._array.size, p.inputs[i]._array.size)
            lines.append(f"  {p.output_label(k)} / {p.input_label(i)}, rows: output entries, "
                         f"columns: input entries\n  analytic:\n{_matrix(analytical[k, i], rows)}\n"
                         f"  numerical:\n{_matrix(numerical[k, i], rows)}")
    raise GradcheckError("\n".join(lines), mismatches, analytical, numerical)


def _matrix(a, rows):
    text = np.array2string(a.reshape(rows), precision=6, suppress_small=True,
                           max_line_width=100)
    return "\n".join("    " + line for line in text.splitlines())


def _check_projected(p: _Problem, rng):
    """torch's fast mode: v.J.u per (output, input) pair, u and v random unit vectors."""
    us = {i: _unit(rng, p.inputs[i].shape) for i in p.wrt}
    vs = [_unit(rng, o.shape) for o in p.outputs]
    numerical = {}
    for i in p.wrt:
        data = p.inputs[i]._array
        orig = data.copy()
        step = backend.to_device(p.eps * us[i], backend.device_of(data))
        data += step
        plus = p.evaluate()
        data[...] = orig - step
        minus = p.evaluate()
        data[...] = orig
        for k, (a, b) in enumerate(zip(plus, minus)):
            numerical[k, i] = float(((a - b) / (2 * p.eps) * vs[k]).sum())
    mismatches = []
    for k in range(len(p.outputs)):
        grads = p.backward(k, vs[k])
        for i, g in zip(p.wrt, grads):
            ana = 0.0 if g is None else float((g * us[i]).sum())
            num = numerical[k, i]
            # an entrywise error of atol moves v.J.u by at most atol |v|_1 |u|_1
            tol = p.atol * np.abs(us[i]).sum() * np.abs(vs[k]).sum() + p.rtol * abs(num)
            if not abs(ana - num) <= tol:
                mismatches.append(Mismatch(k, None, i, None, ana, num))
    if not mismatches:
        return
    m = mismatches[0]
    size = p.inputs[m.input]._array.size
    raise GradcheckError(
        f"{p.name} (fast mode): mismatch for {p.output_label(m.output)} with respect "
        f"to {p.input_label(m.input)}: the projection v.J.u of the Jacobian on random unit "
        f"vectors is analytic {m.analytical:.8g} vs numerical {m.numerical:.8g} "
        f"(atol={p.atol}, rtol={p.rtol}; {len(mismatches)} pair(s) differ); rerun with "
        f"fast_mode=False to see the entries (that input has {size} elements: "
        f"{2 * size} forward passes)", mismatches)


def _host(array):
    return backend.to_device(array, "cpu").astype(np.float64)


def _like(values, out):
    """A host array of values as a Tensor of ``out``'s dtype, on ``out``'s device."""
    device = backend.device_of(out._array)
    return Tensor._of(np.asarray(values), dtype=out.dtype, device=device)


def _ones_like(out):
    """Ones of ``out``'s shape and dtype, made on its device (no host round trip)."""
    arr = out._array
    return _make(backend.get_array_module(arr).ones(arr.shape, arr.dtype))


def _unit(rng, shape):
    u = rng.standard_normal(shape)
    norm = np.sqrt((u * u).sum())
    return u / norm if norm > 0 else u


def _check_reentrant(p: _Problem, rng, nondet_tol):
    """Backward twice with the same upstream gradient: the same gradients, up to nondet_tol."""
    for k, o in enumerate(p.outputs):
        v = rng.standard_normal(o.shape)
        first, second = p.backward(k, v), p.backward(k, v)
        for i, a, b in zip(p.wrt, first, second):
            if a is None or b is None:
                continue
            diff = np.abs(a - b)
            if (diff > nondet_tol).any():
                j = np.unravel_index(int(np.argmax(diff)), diff.shape) if diff.ndim else ()
                entry = [int(v) for v in j]
                raise GradcheckError(
                    f"{p.name}: backward is not reentrant: two backward passes of "
                    f"{p.output_label(k)} with the same grad_output gave "
                    f"{p.input_label(i)}{entry} {float(a[j]):.8g} then {float(b[j]):.8g} (nondet_tol={nondet_tol})")


def _check_zero_grad(p: _Problem):
    """Zero upstream gradients must give zero gradients (torch's check_undefined_grad)."""
    for k, o in enumerate(p.outputs):
        for i, g in zip(p.wrt, p.backward(k, _host_zeros(o.shape))):
            if g is not None and np.any(g != 0):
                raise GradcheckError(
                    f"{p.name}: with a zero grad_output for {p.output_label(k)}, backward "
                    f"still gives a nonzero gradient for {p.input_label(i)} (largest "
                    f"{float(np.abs(g).max()):.8g}); a backward must be linear in grad_output")


def _check_dtypes(p: _Problem):
    for k in range(len(p.outputs)):
        out = p.outputs[k]
        if not out.requires_grad:
            continue
        grads = autograd_grad([out], [p.inputs[i] for i in p.wrt],
                              [_ones_like(out)],
                              retain_graph=True, allow_unused=True)
        for i, g in zip(p.wrt, grads):
            if g is not None and g.dtype != p.inputs[i].dtype:
                raise GradcheckError(
                    f"{p.name}: the gradient of {p.input_label(i)} is {g.dtype} but the input "
                    f"is {p.inputs[i].dtype}")


def gradcheck(func, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True,
              nondet_tol=0.0, check_undefined_grad=True, check_grad_dtypes=False,
              fast_mode=None, _name="gradcheck", _n_inputs=None, _output_labels=None):
    """True when backprop's Jacobian of ``func`` matches central differences, entry by entry.

    ``inputs``: a Tensor or a tuple (Tensors that require grad must be float64; other
    arguments are passed through). ``fast_mode``: None (the default) checks the full
    Jacobian when the differentiable inputs and the outputs each have at most
    ``FULL_JACOBIAN_MAX`` elements (and the Jacobian at most ``FULL_JACOBIAN_ENTRIES_MAX``
    entries), and the fast projected check otherwise; True or False
    force one (torch's default is False). On a mismatch it raises ``GradcheckError`` that
    lists each disagreeing entry with both values, or returns False when
    ``raise_exception=False``.

        >>> x = cr.randn(2, 3, dtype=cr.float64, requires_grad=True)
        >>> cr.autograd.gradcheck(lambda x: x.softmax(1), x)
        True
    """
    inputs = _as_tuple(inputs)
    _check_float64(_name, inputs)
    if not _differentiable(inputs):
        raise GradcheckError(f"{_name}: no input requires grad")
    p = _Problem(_name, func, inputs, _n_inputs, _output_labels, eps, atol, rtol)
    if fast_mode is None:
        n_in = sum(inputs[i]._array.size for i in p.wrt)
        n_out = sum(o._array.size for o in p.outputs)
        fast_mode = (n_in > FULL_JACOBIAN_MAX or n_out > FULL_JACOBIAN_MAX
                     or n_in * n_out > FULL_JACOBIAN_ENTRIES_MAX)
    rng = np.random.default_rng(0)
    try:
        if fast_mode:
            _check_projected(p, rng)
        else:
            _check_full(p)
        _check_reentrant(p, rng, nondet_tol)
        if check_undefined_grad:
            _check_zero_grad(p)
        if check_grad_dtypes:
            _check_dtypes(p)
    except GradcheckError:
        if raise_exception:
            raise
        return False
    return True


def gradgradcheck(func, inputs, grad_outputs=None, *, eps=1e-6, atol=1e-5, rtol=1e-3,
                  raise_exception=True, nondet_tol=0.0, check_undefined_grad=True,
                  check_grad_dtypes=False, fast_mode=None):
    """gradcheck of the first derivative itself: checks second derivatives via create_graph.

    The checked function maps (inputs, grad_outputs) to the gradients of ``func``'s outputs
    (weighted by ``grad_outputs``, random when not given) with respect to the inputs; its
    Jacobian holds the second derivatives.

        >>> x = cr.randn(3, dtype=cr.float64, requires_grad=True)
        >>> cr.autograd.gradgradcheck(lambda x: x.tanh(), x)
        True
    """
    inputs = _as_tuple(inputs)
    _check_float64("gradgradcheck", inputs)
    wrt = _differentiable(inputs)
    outputs = _outputs(func, inputs)
    rng = np.random.default_rng(1)
    if grad_outputs is None:
        grad_outputs = [Tensor._of(rng.standard_normal(o.shape), dtype=np.float64,
                                   requires_grad=True, device=backend.device_of(o._array))
                        for o in outputs]
    grad_outputs = list(_as_tuple(grad_outputs))

    def first_derivative(*args):
        xs = args[:len(inputs)]
        gs = args[len(inputs):]
        outs = [o for o in _outputs(func, xs) if o.requires_grad]
        grads = autograd_grad(outs, [xs[i] for i in wrt], list(gs[:len(outs)]),
                              create_graph=True, allow_unused=True)
        used[:] = [i for i, g in zip(wrt, grads) if g is not None]
        return tuple(g for g in grads if g is not None)

    used = []
    first_derivative(*inputs, *grad_outputs)   # which inputs get a gradient: the labels
    labels = [f"grad_input {i}" for i in used]   # the outputs checked: d func / d input i
    return gradcheck(first_derivative, (*inputs, *grad_outputs), eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception, nondet_tol=nondet_tol,
                     check_undefined_grad=check_undefined_grad,
                     check_grad_dtypes=check_grad_dtypes, fast_mode=fast_mode,
                     _name="gradgradcheck", _n_inputs=len(inputs), _output_labels=labels)
