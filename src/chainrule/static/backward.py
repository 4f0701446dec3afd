"""The backward of a compiled function that returns tensors needing grad (AOT style).

``cr.compile(model)`` in an eager training loop -- ``loss = F.cross_entropy(cmodel(x), y);
loss.backward()`` -- needs a backward for what the replay computed. When the captured call
ran no backward itself, the capture also traces one: the eager graph it just built is walked
once more (``autograd.grad`` with placeholder seeds, ``retain_graph``), recording one VJP
step per node. The plan then holds both halves, compiled into one *generator*: the forward
runs and yields its outputs; the values the backward needs stay alive in its frame (as an
eager graph keeps them); ``send(upstream gradients)`` runs the backward and returns one
gradient per argument that requires grad and per parameter it read.

The replayed outputs hang on one graph node, ``CompiledBackward``, whose inputs are those
arguments and parameters: the eager engine walks into it, calls it once, and puts the
gradients where they belong (``.grad`` of the parameters, the graph of the arguments).
A second backward, or one with ``create_graph=True``, is refused.
"""

from __future__ import annotations

from ..autograd import engine, grad_mode
from ..autograd.function import Node
from ..tensor import Tensor, _make


def trace_backward(program, outputs, tensors):
    """Record the backward of the captured call's ``outputs`` (Values) into ``program``.

    Returns ``(seeds, wrt, grads, first)``: the Values of the placeholder seeds, the tensors
    the gradients are for (arguments that require grad, then the parameters read), the
    Values of their gradients (None where one gets none) and the index of the first
    backward step; or None when this backward cannot be planned (a gradient summed by the
    sink: the plan would not see the sum).
    """
    roots = [program.tensor_of(v) for v in outputs]
    wrt = [t for t in tensors if t._requires_grad]
    seen = {id(t) for t in wrt}
    for v in program.inputs:
        t = program.tensor_of(v)
        if v.kind == "parameter" and id(t) not in seen:
            wrt.append(t)
            seen.add(id(t))
    if not wrt:
        return None
    first = len(program.steps)
    state = grad_mode.state
    state.tracer = program  # the same program: its VJP steps name their forward steps
    try:
        # Seeds of 2, not 1: the trace then records them as inputs (Seed(root, gradient)).
        seeds = [_make(r._array * 0 + 2) for r in roots]
        grads = engine.grad(roots, wrt, seeds, retain_graph=True, allow_unused=True)
    finally:
        state.tracer = None
    seed_values = [s.inputs[1] for s in program.steps[first:] if s.op == "Seed"]
    if len(seed_values) != len(roots):
        return None
    values = []
    for g in grads:
        if g is None:
            values.append(None)
            continue
        v = program._values.get(id(g._array))
        if v is None or not any(o is v for s in program.steps[first:] for o in s.outputs):
            return None
        values.append(v)
    return seed_values, wrt, values, first


class CompileNode(Node):
    """A node that a replayed compiled call hangs its outputs on (``<CompiledBackward>``)."""

    @property
    def name(self):
        return "compile"

    def __repr__(self):
        return "<CompiledBackward>"


class CompiledBackward(CompileNode):
    """The graph node of a replayed compiled call: its backward is the plan's second half."""

    def __init__(self, gen, wrt, metas, named):
        self.args = tuple(wrt)
        self.n_outputs = len(metas)
        self.freed = False
        self._post_hooks = None
        self.version = sum(t._version for t in wrt)
        self._gen = gen
        self._metas = metas      # (shape, dtype, xp) of each output, for absent gradients
        self._named = named

    def vjp(self, grad, create_graph):
        if create_graph:
            raise RuntimeError("compile: create_graph=True through a compiled function is not "
                               "supported (its backward is a plan, not a graph)")
        gen, self._gen = self._gen, None
        if gen is None:
            raise RuntimeError("compile: trying to backward through a compiled call a second "
                               "time; its saved values were freed by the first backward")
        grads = grad if isinstance(grad, list) else [grad]
        upstream = [xp.zeros(shape, dtype) if g is None else
                    (g._array if isinstance(g, Tensor) else g)
                    for g, (shape, dtype, xp) in zip(grads, self._metas)]
        state = grad_mode.state
        tracer, state.tracer = state.tracer, None
        enabled, state.enabled = state.enabled, False
        try:
            gen.send(upstream)
        except StopIteration as stop:
            return tuple(self.arrange(stop.value))
        except (ValueError, TypeError, IndexError, ArithmeticError, RuntimeError) as exc:
            raise self._named(exc) from None
        finally:
            state.tracer, state.enabled = tracer, enabled
        raise RuntimeError("compile: the backward plan did not finish")
