"""The reverse-mode engine: ``backward`` and ``grad``, on the one walker of ``graph.py``.

``backward`` accumulates each leaf's gradient into its ``.grad``; ``grad`` returns the
gradients of the inputs asked for. Both seed the root, choose the sink the walker hands leaf
gradients to, and let the walker (``graph.backprop``) do the work.

    >>> x = cr.tensor(3.0, requires_grad=True)
    >>> y = x * x + x          # two paths from x to y
    >>> y.backward()
    >>> x.grad                 # 2x + 1, summed over both paths
    tensor(7.)
"""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor, _make
from . import anomaly as _anomaly
from . import grad_mode
from . import tracing as _trace
from .graph import BackwardRecord, backprop, run_hooks, seed_gradient

_state = grad_mode.state
_ndarray = np.ndarray


class _Accumulator:
    """Where gradients go: leaf ``.grad`` (backward) or a dict of wanted inputs (grad)."""

    __slots__ = ("create_graph", "wanted", "captured", "nonleaf", "owned", "hooked", "tracing",
                 "plain")

    def __init__(self, create_graph, wanted=None, wanted_tensors=()):
        self.create_graph = create_graph
        self.wanted = wanted  # None: deposit into .grad; else {id(tensor): index}
        self.captured = {}
        self.nonleaf = {}     # node -> wanted non-leaf tensors it made (grad(), not .grad)
        if wanted_tensors:
            for t in wanted_tensors:
                if t.grad_fn is not None:
                    self.nonleaf.setdefault(t.grad_fn, []).append(t)
        self.owned = set()   # ids of arrays already given to a .grad: never share one
        self.hooked = {}     # leaves with hooks: their summed gradient, hooked once in flush()
        self.tracing = not _state.plain and _state.tracer is not None  # read once a backward
        # backward() untraced, without create_graph: a leaf's array gradient goes straight
        # into its .grad (the common case, once per parameter of every step)
        self.plain = wanted is None and not create_graph and not self.tracing

    def leaf(self, t, grad):
        if t._hooks:  # a hook sees the leaf's total gradient, not each path's share (as torch)
            prev = self.hooked.get(id(t))
            self.hooked[id(t)] = (t, grad if prev is None else prev[1] + grad)
            return
        if self.plain and type(grad) is _ndarray:
            self._into_grad(t, grad)
        else:
            self._deposit(t, grad)

    def capture(self, t, grad):
        self.captured[id(t)] = grad

    def flush(self):
        hooked, self.hooked = self.hooked, {}
        for t, grad in hooked.values():
            self._deposit(t, run_hooks(t._hooks, grad, self.create_graph))

    def _deposit(self, t, grad):
        if self.wanted is not None:
            k = id(t)
            if k in self.wanted:
                prev = self.captured.get(k)
                self.captured[k] = grad if prev is None else prev + grad
            return
        if self.create_graph:
            g = grad if isinstance(grad, Tensor) else _make(grad, False, None)
            t._grad = g if t._grad is None else t._grad + g
            return
        if isinstance(grad, Tensor):
            _trace.note("AccumulateGrad", (t, grad))
            grad = grad._array
        elif self.tracing:
            _trace.note("AccumulateGrad", (t, grad))  # a backward traced with backward="vjp"
        if isinstance(grad, np.generic):  # NumPy gives scalars for 0-d results
            grad = np.asarray(grad)
        self._into_grad(t, grad)

    def _into_grad(self, t, grad):
        if t._grad is None:
            # The leaf owns its .grad: copy views and arrays handed out elsewhere already.
            if grad.base is not None or id(grad) in self.owned or not grad.flags.writeable:
                grad = grad.copy()
            self.owned.add(id(grad))
            t._grad = _make(grad, False, None)
        else:
            t._grad._array += grad  # accumulate in place across backward calls


def _walk(roots, root_grads, retain_graph, create_graph, sink):
    """Run the walker; inside ``cr.viz.keep_graph()`` keep a record of it on the root's node;
    under anomaly detection, check every gradient for nans."""
    if not grad_mode.state.keep_graph:
        backprop(roots, root_grads, sink, retain_graph, create_graph,
                 observer=_anomaly.observer() if _anomaly._state["enabled"] else None)
        return
    record = BackwardRecord()
    backprop(roots, root_grads, sink, retain_graph, create_graph, observer=record)
    for root in roots:
        if root.grad_fn is not None:
            root.grad_fn.backward_record = record


def backward(tensor, gradient=None, retain_graph=None, create_graph=False, inputs=None):
    """``tensor.backward(...)``: accumulate d tensor / d leaf into every leaf's ``.grad``."""
    if not tensor._requires_grad:
        raise RuntimeError(
            "backward: the tensor does not require grad and has no grad_fn (was it computed "
            "under no_grad, or from tensors without requires_grad=True?)")
    if retain_graph is None:
        retain_graph = create_graph
    g = seed_gradient(tensor, gradient, create_graph)
    if inputs is not None:
        inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
        grads = grad([tensor], inputs, [g], retain_graph, create_graph, allow_unused=True)
        for t, gi in zip(inputs, grads):
            if gi is not None:
                acc = _Accumulator(create_graph)
                acc.leaf(t, gi if create_graph else gi._array)
                acc.flush()
        return
    if _state.keep_graph or _anomaly._state["enabled"]:
        _walk([tensor], [g], retain_graph, create_graph, _Accumulator(create_graph))
    else:  # the common case, without _walk's call: backward runs every training step
        backprop([tensor], [g], _Accumulator(create_graph), retain_graph, create_graph)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=False):
    """Gradients of ``outputs`` with respect to ``inputs``, returned, not put into ``.grad``.

        >>> x = cr.tensor(2.0, requires_grad=True)
        >>> (dy,) = cr.autograd.grad(x ** 3, x, create_graph=True)   # 3x^2 = 12
        >>> (d2y,) = cr.autograd.grad(dy, x)                          # 6x = 12
    """
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    single = isinstance(inputs, Tensor)
    inputs = [inputs] if single else list(inputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, Tensor) or not isinstance(grad_outputs, (list, tuple)):
        grad_outputs = [grad_outputs]
    if retain_graph is None:
        retain_graph = create_graph
    for t in inputs:
        if not t._requires_grad:
            raise RuntimeError("grad: one of the inputs does not require grad")
    roots, root_grads = [], []
    for out, g in zip(outputs, grad_outputs):
        if not out._requires_grad:
            raise RuntimeError("grad: one of the outputs does not require grad and has no grad_fn")
        roots.append(out)
        root_grads.append(g if isinstance(g, Tensor) and g.grad_fn is not None and create_graph
                          else seed_gradient(out, g, create_graph, "grad"))
    acc = _Accumulator(create_graph, {id(t): i for i, t in enumerate(inputs)}, inputs)
    _walk(roots, root_grads, retain_graph, create_graph, acc)
    result = []
    for i, t in enumerate(inputs):
        g = acc.captured.get(id(t))
        if g is None:
            if not allow_unused:
                raise RuntimeError(
                    f"grad: input {i} (shape {tuple(t.shape)}) was not used to compute the "
                    "outputs; pass allow_unused=True if that is expected")
            result.append(None)
        elif isinstance(g, Tensor):
            result.append(g)
        else:
            result.append(_make(g, False, None))
    return tuple(result)
