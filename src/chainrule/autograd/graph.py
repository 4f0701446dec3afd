"""The recorded graph as data, and the one loop that walks it backward.

A tensor made by a recorded op points at its node (``grad_fn``); a node's ``args`` are its
forward's arguments (Tensors and constants). That web of nodes *is* the graph: there is no
second copy of it. ``backprop`` is the only backward loop in chainrule: ``loss.backward()``,
``cr.autograd.grad`` and ``cr.viz`` all run it.

For every node, in an order where all of a node's consumers come before it, the loop takes
the upstream gradient (summed over every path that reached the node), asks the node for its
vector-Jacobian product (upstream x local), gives each result its input's shape (undoing
broadcasting, in one place: ``fit_gradient``), and hands it on to the node that made that
input -- or, for a leaf, to the *sink* (``.grad``, or the dict that ``grad()`` returns).
An *observer* sees each step as it happens; ``cr.viz`` draws from what it saw.

    >>> x = cr.tensor(3.0, requires_grad=True)
    >>> y = x * x + x          # two paths from x to y
    >>> y.backward()
    >>> x.grad                 # 2x + 1, summed over both paths
    tensor(7.)
"""

from __future__ import annotations

import numpy as np

from ..backend import get_array_module
from ..tensor import Tensor, _make
from . import grad_mode
from . import tracing as _trace


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


def fit_gradient(node, i, grad, target):
    """Give ``grad`` the shape and dtype of ``target`` (input ``i`` of ``node``), or explain."""
    shape = target._array.shape
    if grad.shape != shape:
        try:
            grad = sum_to_shape(grad, shape)
        except ValueError:
            pass
        if grad.shape != shape:
            raise RuntimeError(
                f"{node.name}: backward gave a gradient of shape {tuple(grad.shape)} for input {i} "
                f"of shape {tuple(shape)}")
    dtype = target._array.dtype
    if grad.dtype != dtype:
        grad = grad.to(dtype) if isinstance(grad, Tensor) else grad.astype(dtype)
    return grad


def seed_gradient(root, gradient, create_graph, op="backward"):
    """The gradient that starts the walk at ``root``: ones for a scalar, else ``gradient``."""
    if gradient is None:
        if root._array.size != 1:
            raise RuntimeError(
                f"{op}: grad can be implicitly created only for scalar outputs, but the "
                f"output has shape {tuple(root.shape)}; pass `gradient=` of that shape")
        arr = root._array
        g = (np if type(arr) is np.ndarray else get_array_module(arr)).empty(arr.shape, arr.dtype)
        g.fill(1)  # empty + fill: np.ones is a Python function, this runs every backward
    else:
        if isinstance(gradient, Tensor):
            g = gradient._array
        else:
            g = get_array_module(root._array).asarray(gradient, dtype=root._array.dtype)
        if g.shape != root._array.shape:
            raise RuntimeError(
                f"{op}: gradient has shape {tuple(g.shape)} but the output has shape "
                f"{tuple(root.shape)}")
        if create_graph and isinstance(gradient, Tensor):
            return gradient
    return _make(g, False, None) if create_graph else g


def backprop(roots, root_grads, sink, retain_graph=False, create_graph=False, observer=None,
             hooks=True):
    """Walk the graph from ``roots`` backward, handing leaf gradients to ``sink``.

    ``sink.leaf(tensor, grad)`` receives each leaf's gradient (once per path), ``sink.flush()``
    runs at the end, and ``sink.nonleaf`` (a dict node -> [tensors], may be empty) names
    non-leaf tensors whose gradient ``sink.capture(tensor, grad)`` wants. ``observer.step(node,
    upstream, input_grads)``, when given, sees every node's upstream gradient and the
    gradient it sent to each argument (None for constants and inputs that need none).
    ``hooks=False`` skips the nodes' hooks (``retain_grad``): an observer must change nothing.
    Without ``retain_graph`` each node releases what it saved as soon as it has run, unless
    the thread is inside ``cr.viz.keep_graph()`` (``grad_mode.state.keep_graph``).
    """
    state = grad_mode.state
    mode = state.__dict__  # this thread's own fields: one lookup for all (grad_mode._switch)
    plain = mode["plain"] is True  # grad on and no trace, the common case: one read says both
    tracer = None if plain else mode["_tracer"]
    # Traced with backward="vjp", the rules run on arrays as here untraced, and ``recorder``
    # records each node's rule as a step. Traced otherwise, the rules run on Tensors (as under
    # create_graph), so that every op of the backward pass is recorded as a step; no graph of
    # them is built unless create_graph.
    recorder = _trace.vjp_recorder() if tracer is not None else None
    rules_on_tensors = create_graph or (tracer is not None and recorder is None)
    if recorder is not None:
        for root, g in zip(roots, root_grads):
            _record_seed(recorder, root, g)
    elif tracer is not None:
        root_grads = [g if isinstance(g, Tensor) else _make(g, False, None) for g in root_grads]
        _trace.note("Backward", roots)
    grads = {}
    for root, g in zip(roots, root_grads):
        sink.owned.add(id(g))
        fn = root.grad_fn
        if fn is None:
            if root._requires_grad:
                sink.leaf(root, g)
            continue
        _add_grad(grads, fn, root._output_nr, g, recorder)

    nonleaf = sink.nonleaf
    observed = observer is not None
    order = topological_order([r.grad_fn for r in roots])
    release = not retain_graph and not mode["keep_graph"]
    prev_mode = True if plain else state.enabled
    if plain and not create_graph:  # as ``state.enabled = False``, without the setter's call
        mode["_enabled"] = False
        mode["plain"] = None  # (grad_mode._plain: off, untraced)
    else:
        state.enabled = create_graph  # the backward is recorded only under create_graph
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
            if node._post_hooks and hooks:
                grad = _node_hooks(node, grad, create_graph)
            if nonleaf and node in nonleaf:
                for t in nonleaf[node]:
                    g = grad[t._output_nr] if node.n_outputs > 1 else grad
                    if g is not None:
                        sink.capture(t, g)
            if observed:  # copies: rules and the sink may reuse arrays in place
                upstream = _copy(grad)
                _observe(observer, node, upstream, node.vjp(grad, rules_on_tensors), grads, sink)
            elif recorder is not None:  # trace(backward="vjp"): every step recorded
                _record_step(recorder, node, grad, node.vjp(grad, rules_on_tensors), grads,
                             sink)
            else:
                # The loop's hot path: once per edge of every backward, kept lean (the
                # observed variant, with its copies, is ``_observe``).
                for a, g in zip(node.args, node.vjp(grad, rules_on_tensors)):
                    if g is None or not isinstance(a, Tensor) or not a._requires_grad:
                        continue
                    arr = a._array
                    if g.shape != arr.shape or g.dtype != arr.dtype:
                        g = fit_gradient(node, _position(node.args, a), g, a)
                    fn = a.grad_fn
                    if fn is None:
                        sink.leaf(a, g)
                    elif fn.n_outputs == 1:  # _add_grad's common case, inlined
                        prev = grads.get(fn)
                        grads[fn] = g if prev is None else prev + g
                    else:
                        _add_grad(grads, fn, a._output_nr, g)
            if release and (node.caches or getattr(node, "holds_big", True)):  # vjp noted it
                node.release()  # sets node.freed
            elif not retain_graph:  # nothing to free, or keep_graph keeps it
                node.freed = True
        sink.flush()
    finally:
        if plain and not create_graph:
            mode["_enabled"] = True
            mode["plain"] = mode["_tracer"] is None or False  # (a hook may trace now)
        else:
            state.enabled = prev_mode


def _observe(observer, node, upstream, input_grads, grads, sink):
    """One step of ``backprop`` under an observer: hand the gradients on as the hot path
    does, and show the observer (a copy of) the upstream gradient and what went out."""
    seen = [None] * len(node.args)
    for i, (a, g) in enumerate(zip(node.args, input_grads)):
        if g is None or not isinstance(a, Tensor) or not a._requires_grad:
            continue
        if g.shape != a._array.shape or g.dtype != a._array.dtype:
            g = fit_gradient(node, i, g, a)
        seen[i] = _copy(g)
        fn = a.grad_fn
        if fn is None:
            sink.leaf(a, g)
        else:
            _add_grad(grads, fn, a._output_nr, g)
    observer.step(node, upstream, seen)


def _position(args, t):
    """Where ``t`` is among ``args`` (for an error message only)."""
    return next(i for i, a in enumerate(args) if a is t)


def _record_step(recorder, node, grad, input_grads, grads, sink):
    """One step of ``backprop`` traced with ``backward="vjp"``: hand the gradients on as the
    hot path does, recording the rule (``VJP``), each fit to an input's shape
    (``SumToShape``) and each sum over paths (``AddGrad``) as steps."""
    _record_vjp(recorder, node, grad, input_grads)
    for i, (a, g) in enumerate(zip(node.args, input_grads)):
        if g is None or not isinstance(a, Tensor) or not a._requires_grad:
            continue
        if g.shape != a._array.shape or g.dtype != a._array.dtype:
            fitted = fit_gradient(node, i, g, a)
            recorder.add("SumToShape", [g], {"shape": tuple(a._array.shape),
                                             "dtype": a._array.dtype}, [fitted])
            g = fitted
        fn = a.grad_fn
        if fn is None:
            sink.leaf(a, g)
        else:
            _add_grad(grads, fn, a._output_nr, g, recorder)


def _add_grad(grads, fn, output_nr, g, recorder=None):
    """Sum the gradients reaching ``fn`` along several paths (never in place: arrays are shared)."""
    if fn.n_outputs == 1:
        prev = grads.get(fn)
        grads[fn] = g if prev is None else _sum_paths(prev, g, recorder)
    else:
        slot = grads.setdefault(fn, [None] * fn.n_outputs)
        prev = slot[output_nr]
        slot[output_nr] = g if prev is None else _sum_paths(prev, g, recorder)


def _sum_paths(prev, g, recorder):
    total = prev + g
    if recorder is not None:
        recorder.add("AddGrad", [prev, g], {}, [total])
    return total


def _record_seed(recorder, root, g):
    """``Seed(%root)``: ones for a scalar root; ``Seed(%root, %gradient)`` for a given one."""
    g_array = g._array if isinstance(g, Tensor) else g
    if root._array.size == 1 and g_array.size == 1 and g_array.reshape(()) == 1:
        recorder.add("Seed", [root], {}, [g])
    else:
        recorder.add("Seed", [root, g_array.copy()], {}, [g])


def _record_vjp(recorder, node, grad, input_grads):
    """One ``VJP`` step: the upstream gradient(s) in, one gradient per argument out (None for
    constants and inputs that need none)."""
    if node.n_outputs > 1:
        which = tuple(i for i, u in enumerate(grad) if u is not None)
        upstream, attrs = [grad[i] for i in which], {"outputs": which}
    else:
        upstream, attrs = [grad], {}
    outs = [g if g is not None and isinstance(a, Tensor) and a._requires_grad else None
            for a, g in zip(node.args, input_grads)]
    recorder.add("VJP", upstream, attrs, outs, node=node, of=recorder.step_of(node))


def run_hooks(hooks, grad, create_graph):
    """Tensor hooks see a Tensor; one that returns a Tensor replaces the gradient."""
    for hook in list(hooks):
        g = grad if isinstance(grad, Tensor) else _make(grad, False, None)
        result = hook(g)
        if result is not None:
            grad = result if create_graph else result._array
    return grad


def _node_hooks(node, grad, create_graph):
    if node.n_outputs == 1:
        for output_nr, hook in list(node._post_hooks):
            grad = run_hooks([hook], grad, create_graph)
        return grad
    grad = list(grad)
    for output_nr, hook in list(node._post_hooks):
        if grad[output_nr] is not None:
            grad[output_nr] = run_hooks([hook], grad[output_nr], create_graph)
    return grad


class BackwardRecord:
    """What one backward did, node by node: kept on the root's node inside ``keep_graph()``.

    ``steps`` is a list of ``(node, upstream, input_grads)`` in the order the loop ran them.
    """

    def __init__(self):
        self.steps = []

    def step(self, node, upstream, input_grads):
        self.steps.append((node, upstream, input_grads))


def _copy(g):
    if isinstance(g, list):
        return [_copy(x) for x in g]
    return g.copy() if g is not None and not isinstance(g, Tensor) else g
