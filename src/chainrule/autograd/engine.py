"""The reverse-mode engine: one loop over the graph in reverse topological order.

For every node, in an order where all of a node's consumers come before it, the engine
takes the upstream gradient (summed over every path that reached the node), asks the node
for its vector-Jacobian product, undoes broadcasting so each gradient has its input's
shape, and passes the results on to the nodes that made the inputs -- or, for leaves,
accumulates them into ``.grad``.

    >>> x = cr.tensor(3.0, requires_grad=True)
    >>> y = x * x + x          # two paths from x to y
    >>> y.backward()
    >>> x.grad                 # 2x + 1, summed over both paths
    tensor(7.)
"""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor, _make
from . import grad_mode


def topological_order(roots):
    """Nodes reachable from ``roots``, every consumer before its producers. No recursion."""
    order, visited = [], set()
    for root in roots:
        if root is None or root in visited:
            continue
        visited.add(root)
        stack = [(root, iter(root.args))]
        while stack:
            node, it = stack[-1]
            for a in it:
                fn = a.grad_fn if isinstance(a, Tensor) else None
                if fn is not None and fn not in visited:
                    visited.add(fn)
                    stack.append((fn, iter(fn.args)))
                    break
            else:
                stack.pop()
                order.append(node)  # post-order: producers first
    order.reverse()
    return order


def sum_to_shape(grad, shape):
    """Undo broadcasting: sum ``grad`` over the axes that broadcasting added or stretched."""
    if isinstance(grad, Tensor):
        return grad.sum_to_size(shape)
    lead = grad.ndim - len(shape)
    if lead < 0:
        return grad.reshape(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and grad.shape[lead + i] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    if lead:
        grad = grad.reshape(shape)
    return grad


def _fit_gradient(node, i, grad, target):
    """Give ``grad`` the shape and dtype of ``target`` (input ``i`` of ``node``), or explain."""
    if grad.shape != target._array.shape:
        try:
            grad = sum_to_shape(grad, target._array.shape)
        except ValueError:
            pass
        if grad.shape != target._array.shape:
            raise RuntimeError(
                f"{node.name}: backward gave a gradient of shape {tuple(grad.shape)} for input {i} "
                f"of shape {tuple(target._array.shape)}")
    if grad.dtype != target._array.dtype:
        grad = grad.to(target._array.dtype) if isinstance(grad, Tensor) else grad.astype(target._array.dtype)
    return grad


def _as_root_grad(root, gradient, create_graph):
    if gradient is None:
        if root._array.size != 1:
            raise RuntimeError(
                f"backward: grad can be implicitly created only for scalar outputs, but the "
                f"output has shape {tuple(root.shape)}; pass `gradient=` of that shape")
        g = np.ones(root._array.shape, dtype=root._array.dtype)
    else:
        g = gradient._array if isinstance(gradient, Tensor) else np.asarray(gradient, dtype=root.dtype)
        if g.shape != root._array.shape:
            raise RuntimeError(
                f"backward: gradient has shape {tuple(g.shape)} but the output has shape "
                f"{tuple(root.shape)}")
        if create_graph and isinstance(gradient, Tensor):
            return gradient
    return _make(g, False, None) if create_graph else g


def _run_hooks(hooks, grad, create_graph):
    """Tensor hooks see a Tensor; one that returns a Tensor replaces the gradient."""
    for hook in list(hooks):
        g = grad if isinstance(grad, Tensor) else _make(grad, False, None)
        result = hook(g)
        if result is not None:
            grad = result if create_graph else result._array
    return grad


class _Accumulator:
    """Where gradients go: leaf ``.grad`` (backward) or a dict of wanted inputs (grad)."""

    def __init__(self, create_graph, wanted=None):
        self.create_graph = create_graph
        self.wanted = wanted  # None: deposit into .grad; else {id(tensor): index}
        self.captured = {}
        self.owned = set()   # ids of arrays already given to a .grad: never share one
        self.hooked = {}     # leaves with hooks: their summed gradient, hooked once in flush()

    def leaf(self, t, grad):
        if t._hooks:  # a hook sees the leaf's total gradient, not each path's share (as torch)
            prev = self.hooked.get(id(t))
            self.hooked[id(t)] = (t, grad if prev is None else prev[1] + grad)
            return
        self._deposit(t, grad)

    def flush(self):
        hooked, self.hooked = self.hooked, {}
        for t, grad in hooked.values():
            self._deposit(t, _run_hooks(t._hooks, grad, self.create_graph))

    def _deposit(self, t, grad):
        if self.wanted is not None:
            k = id(t)
            if k in self.wanted:
                prev = self.captured.get(k)
                self.captured[k] = grad if prev is None else prev + grad
            return
        if self.create_graph:
            g = grad if isinstance(grad, Tensor) else _make(grad, False, None)
            t.grad = g if t.grad is None else t.grad + g
            return
        if isinstance(grad, Tensor):
            grad = grad._array
        if isinstance(grad, np.generic):  # NumPy gives scalars for 0-d results
            grad = np.asarray(grad)
        if t.grad is None:
            # The leaf owns its .grad: copy views and arrays handed out elsewhere already.
            if grad.base is not None or id(grad) in self.owned or not grad.flags.writeable:
                grad = grad.copy()
            self.owned.add(id(grad))
            t.grad = _make(grad, False, None)
        else:
            t.grad._array += grad  # accumulate in place across backward calls


def run(roots, root_grads, retain_graph, create_graph, acc):
    """Backpropagate ``root_grads`` from ``roots`` through the recorded graph."""
    grads = {}
    for root, g in zip(roots, root_grads):
        acc.owned.add(id(g))
        fn = root.grad_fn
        if fn is None:
            if root._requires_grad:
                acc.leaf(root, g)
            continue
        _add_grad(grads, fn, root._output_nr, g)

    wanted_nonleaf = {}
    if acc.wanted is not None:
        for t in acc.wanted_tensors:
            if t.grad_fn is not None:
                wanted_nonleaf.setdefault(t.grad_fn, []).append(t)

    order = topological_order([r.grad_fn for r in roots])
    state = grad_mode.state
    prev_mode = state.enabled
    state.enabled = create_graph  # the backward itself is recorded only under create_graph
    try:
        for node in order:
            grad = grads.pop(node, None)
            if grad is None:
                continue
            if node.freed:
                raise RuntimeError(
                    f"{node.name}: trying to backward through the graph a second time, but its "
                    "saved values were freed by the first backward; pass retain_graph=True to "
                    "the first backward() if you need to go through it again")
            if node._post_hooks:
                grad = _node_hooks(node, grad, create_graph)
            if wanted_nonleaf and node in wanted_nonleaf:
                for t in wanted_nonleaf[node]:
                    g = grad[t._output_nr] if node.n_outputs > 1 else grad
                    if g is not None:
                        acc.captured[id(t)] = g
            input_grads = node.vjp(grad, create_graph)
            if not retain_graph:
                node.freed = True
                if node.caches:
                    node.release()
            for a, g in zip(node.args, input_grads):
                if g is None or not isinstance(a, Tensor) or not a._requires_grad:
                    continue
                if g.shape != a._array.shape or g.dtype != a._array.dtype:
                    g = _fit_gradient(node, _position(node.args, a), g, a)
                fn = a.grad_fn
                if fn is None:
                    acc.leaf(a, g)
                elif fn.n_outputs == 1:  # _add_grad's common case, inlined: once per edge
                    prev = grads.get(fn)
                    grads[fn] = g if prev is None else prev + g
                else:
                    _add_grad(grads, fn, a._output_nr, g)
        acc.flush()
    finally:
        state.enabled = prev_mode


def _position(args, t):
    return next(i for i, a in enumerate(args) if a is t)


def _add_grad(grads, fn, output_nr, g):
    """Sum the gradients reaching ``fn`` along several paths (never in place: arrays are shared)."""
    if fn.n_outputs == 1:
        prev = grads.get(fn)
        grads[fn] = g if prev is None else prev + g
    else:
        slot = grads.setdefault(fn, [None] * fn.n_outputs)
        slot[output_nr] = g if slot[output_nr] is None else slot[output_nr] + g


def _node_hooks(node, grad, create_graph):
    if node.n_outputs == 1:
        for output_nr, hook in list(node._post_hooks):
            grad = _run_hooks([hook], grad, create_graph)
        return grad
    grad = list(grad)
    for output_nr, hook in list(node._post_hooks):
        if grad[output_nr] is not None:
            grad[output_nr] = _run_hooks([hook], grad[output_nr], create_graph)
    return grad


def backward(tensor, gradient=None, retain_graph=None, create_graph=False, inputs=None):
    """``tensor.backward(...)``: accumulate d tensor / d leaf into every leaf's ``.grad``."""
    if not tensor._requires_grad:
        raise RuntimeError(
            "backward: the tensor does not require grad and has no grad_fn (was it computed "
            "under no_grad, or from tensors without requires_grad=True?)")
    if retain_graph is None:
        retain_graph = create_graph
    g = _as_root_grad(tensor, gradient, create_graph)
    if inputs is not None:
        inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
        grads = grad([tensor], inputs, [g], retain_graph, create_graph, allow_unused=True)
        for t, gi in zip(inputs, grads):
            if gi is not None:
                acc = _Accumulator(create_graph)
                acc.leaf(t, gi if create_graph else gi._array)
                acc.flush()
        return
    run([tensor], [g], retain_graph, create_graph, _Accumulator(create_graph))


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
                          else _as_root_grad(out, g, create_graph))
    acc = _Accumulator(create_graph, wanted={id(t): i for i, t in enumerate(inputs)})
    acc.wanted_tensors = inputs
    run(roots, root_grads, retain_graph, create_graph, acc)
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
