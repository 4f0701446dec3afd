"""A traced program made runnable again: the replay of a ``Program`` on new input arrays.

``Plan(program, inputs, outputs)`` keeps the steps that the ``outputs`` need, plus every step
with a side effect (a ``.grad`` accumulation, running statistics, an optimizer step, an
update in place), in the order they were traced, and runs them on arrays: a forward step
calls its op's ``forward`` on a fresh node (so the rules' constants -- a ReLU's mask, a
dropout draw -- are made anew), a ``VJP`` step calls that node's rule, exactly as the eager
engine does. The numbers are therefore the eager ones, bit for bit, without building
Tensors or walking a graph.

    >>> w = cr.tensor([1.0, 2.0], requires_grad=True)
    >>> x = cr.tensor([3.0, 4.0])
    >>> with cr.autograd.trace(backward="vjp") as program:
    ...     loss = (w * x).sum()
    ...     loss.backward()
    >>> plan = Plan(program, inputs=[program.value(x)], outputs=[program.value(loss)])
    >>> w.grad = None
    >>> [out] = plan.run([np.array([10.0, 20.0], dtype=np.float32)])
    >>> out, w.grad
    (array(50., dtype=float32), tensor([10., 20.]))

Values that are not ``inputs`` -- parameters, buffers, constants -- are read from the
tensors they were when traced, at every run (so parameter updates are seen).
"""

from __future__ import annotations

import numpy as np

from ..autograd import grad_mode
from ..autograd.function import Function, Op
from ..autograd.graph import sum_to_shape
from ..autograd.tracing import Value
from ..backend import get_array_module
from ..tensor import Tensor, _make

_new = object.__new__

# The updates in place a replay can run again (``Tensor._inplace`` records them by name).
_IN_PLACE = {"add_", "sub_", "mul_", "div_", "fill_", "zero_", "copy_"}

# Steps that change state outside their outputs: they run whether or not an output needs them.
_SIDE_EFFECTS = {"AccumulateGrad", "zero_grad", *_IN_PLACE}  # and "<Optimizer>.step"


class Plan:
    """The steps of ``program`` that ``outputs`` need (and every side effect), runnable."""

    def __init__(self, program, inputs, outputs):
        self.program = program
        self.inputs = list(inputs)
        self.outputs = list(outputs)
        self.steps = _needed(program, self.outputs)
        produced = {v.index for s in self.steps for v in s.outputs if v is not None}
        given = {v.index for v in self.inputs}
        # Everything else read by a kept step is bound to the tensor it was when traced.
        self.bound = {}
        for s in self.steps:
            for v in list(s.inputs) + [a for a in (s.args or ()) if _is_value(a)]:
                if v.index not in produced and v.index not in given:
                    self.bound[v.index] = program.tensor_of(v)
        for v in self.outputs:
            if v.index not in produced and v.index not in given and v.index not in self.bound:
                self.bound[v.index] = program.tensor_of(v)
        self._boxes = {}
        for s in self.steps:
            if s.of is None and s.args is not None:
                s_boxes = tuple(self._box(a) if _is_value(a) else a for a in s.args)
                self._boxes[s.index] = s_boxes

    def _box(self, v):
        """One Tensor per value, reused by every run: the ``args`` a node's rule may read
        (``wants``: requires_grad as traced; shapes)."""
        box = self._boxes.get(("value", v.index))
        if box is None:
            traced = self.program.tensor_of(v)
            requires_grad = traced._requires_grad if isinstance(traced, Tensor) else False
            box = _make(None, requires_grad, None)
            self._boxes[("value", v.index)] = box
        return box

    def run(self, arrays):
        """Run the plan with ``arrays`` for ``inputs``; returns the ``outputs``' arrays."""
        if len(arrays) != len(self.inputs):
            raise ValueError(f"Plan.run: expected {len(self.inputs)} input arrays, "
                             f"got {len(arrays)}")
        env = {}
        for v, a in zip(self.inputs, arrays):
            env[v.index] = a
        for index, t in self.bound.items():
            env[index] = t._array if isinstance(t, Tensor) else t
        nodes = {}
        owned = set()
        state = grad_mode.state
        tracer, state.tracer = state.tracer, None  # a replay is not itself traced
        enabled, state.enabled = state.enabled, False
        try:
            for s in self.steps:
                _run_step(self, s, env, nodes, owned)
        finally:
            state.tracer, state.enabled = tracer, enabled
        return [env[v.index] for v in self.outputs]


def _run_step(plan, s, env, nodes, owned):
    op = s.op
    if s.of is None and s.args is not None:  # a forward op
        boxes = plan._boxes[s.index]
        values = []
        for a, b in zip(s.args, boxes):
            if _is_value(a):
                b._array = env[a.index]
                values.append(b._array)
            else:
                values.append(a)
        cls = s.op_class
        if issubclass(cls, Function):
            out = _run_function(cls, boxes, nodes, s)
        else:
            node = _new(cls)
            node.args = boxes
            node.freed = False
            node._post_hooks = None
            out = node.forward(*values)
            nodes[s.index] = node
        if isinstance(out, np.generic):
            out = np.asarray(out)
        outs = out if type(out) is tuple else (out,) if out is not None else ()
        for v, o in zip(s.outputs, outs):
            env[v.index] = o
    elif op == "VJP":
        node = nodes[s.of.index]
        upstream = [env[v.index] for v in s.inputs]
        if "outputs" in s.attrs:
            grad = [None] * len(s.of.outputs)
            for i, u in zip(s.attrs["outputs"], upstream):
                grad[i] = u
        else:
            grad = upstream[0]
        if isinstance(node, Function):
            grads = node.vjp(grad, False)
        else:
            values = [env[a.index] if _is_value(a) else a for a in s.of.args]
            grads = node.backward(grad, *values)
            grads = grads if isinstance(grads, tuple) else (grads,)
        for v, g in zip(s.outputs, grads):
            if v is not None:
                env[v.index] = g
    elif op == "Seed":
        root = env[s.inputs[0].index]
        if len(s.inputs) == 2:
            env[s.outputs[0].index] = env[s.inputs[1].index]
        else:
            env[s.outputs[0].index] = get_array_module(root).ones(root.shape, root.dtype)
        owned.add(id(env[s.outputs[0].index]))
    elif op == "SumToShape":
        g = sum_to_shape(env[s.inputs[0].index], s.attrs["shape"])
        if g.dtype != s.attrs["dtype"]:
            g = g.astype(s.attrs["dtype"])
        env[s.outputs[0].index] = g
    elif op == "AddGrad":
        env[s.outputs[0].index] = env[s.inputs[0].index] + env[s.inputs[1].index]
    elif op == "AccumulateGrad":
        _accumulate(plan.program.tensor_of(s.inputs[0]), env[s.inputs[1].index], owned)
    elif op in _IN_PLACE:  # an update in place outside the graph (``p.data -= lr * g``)
        target = _make(env[s.inputs[0].index], False, None)  # writes into that very array
        value = (_make(env[s.inputs[1].index], False, None) if len(s.inputs) > 1
                 else s.attrs["value"])
        kwargs = {k: v for k, v in s.attrs.items() if k != "value"}
        getattr(target, "fill_" if op == "zero_" else op)(value, **kwargs)
    elif op == "zero_grad":
        s.node.zero_grad(set_to_none=s.attrs["set_to_none"])
    elif op.endswith(".step") and s.node is not None:  # an optimizer's update, as it is now
        s.node.step()
    else:
        raise RuntimeError(f"Plan: no replay for the traced step {s}")


def _accumulate(t, grad, owned):
    """What the eager engine's sink does with a leaf's gradient (``.grad``, in place)."""
    if isinstance(grad, np.generic):
        grad = np.asarray(grad)
    if t._grad is None:
        if grad.base is not None or id(grad) in owned or not grad.flags.writeable:
            grad = grad.copy()
        owned.add(id(grad))
        t._grad = _make(grad, False, None)
    else:
        t._grad._array += grad


def _run_function(cls, boxes, nodes, s):
    """A user ``autograd.Function``: its forward on Tensors, its ctx kept for the VJP."""
    ctx = _new(cls)
    ctx.needs_input_grad = tuple(isinstance(b, Tensor) and b._requires_grad for b in boxes)
    ctx.saved_tensors = ()
    ctx._non_differentiable = ()
    result = cls.forward(ctx, *boxes)
    outs = result if isinstance(result, tuple) else (result,)
    ctx.args = boxes
    ctx.version = sum(b._version for b in boxes if isinstance(b, Tensor))
    ctx.freed = False
    ctx._post_hooks = None
    ctx.n_outputs = len(outs)
    ctx.single_output = not isinstance(result, tuple)
    ctx._output_meta = [(o.shape, o._array.dtype, get_array_module(o._array)) for o in outs]
    nodes[s.index] = ctx
    arrays = tuple(o._array for o in outs)
    return arrays if len(arrays) > 1 else arrays[0]


def _needed(program, outputs):
    """The steps that ``outputs`` depend on, and every step with a side effect, in order."""
    wanted = {v.index for v in outputs}
    kept = []
    for s in reversed(program.steps):
        side_effect = not s.outputs or s.op in _SIDE_EFFECTS
        if side_effect or any(v is not None and v.index in wanted for v in s.outputs):
            kept.append(s)
            wanted.update(v.index for v in s.inputs)
            if s.args is not None:
                wanted.update(a.index for a in s.args if _is_value(a))
            if s.of is not None:  # a VJP needs its forward node (and what it read)
                wanted.update(v.index for v in s.of.outputs if v is not None)
                wanted.update(a.index for a in s.of.args if _is_value(a))
    kept.reverse()
    # A VJP's forward step must run even when none of its outputs is wanted otherwise.
    forward_needed = {s.of.index for s in kept if s.of is not None}
    if forward_needed - {s.index for s in kept}:
        return _needed(program, list(outputs) + [v for s in program.steps
                                                 if s.index in forward_needed
                                                 for v in s.outputs if v is not None])
    return kept


def _is_value(a):
    return type(a) is Value
