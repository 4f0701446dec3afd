"""Second derivatives in a static graph: the derivative graph made differentiable again.

``Graph.gradients`` records the derivative graph as the engine runs it: a ``VJP`` step per
op, which calls the op's rule on arrays, plus the steps that sum over paths (``AddGrad``),
fit a shape (``SumToShape``) and seed (``Seed``). Fast to replay, but a VJP step has no
derivative of its own. To differentiate a value made from such steps, ``differentiable``
rebuilds the part of the program that made it out of ops that do have one:

* a ``VJP`` step becomes a ``VJPOf`` op: its forward runs the forward op again on its
  inputs and then the op's rule (what the VJP step computed); its backward is the rule's own
  derivative, taken by the eager engine with ``create_graph`` on the values of the run;
* ``AddGrad`` becomes ``+``, ``SumToShape`` ``sum_to_size``, a seed a constant 1;
* an op the user applied to gradients (``(dw ** 2).sum()``) is applied again to the rebuilt
  values.

Every value is thus computed anew from the run's inputs: nothing a rule read while the
graph was built (a ReLU's mask, a sigmoid's output, a batch size) is frozen into the result,
which is what makes the second derivatives right on a new feed. Derivatives of any order
follow, a ``VJPOf`` of a ``VJPOf`` being just another op. A forward op that draws random
numbers inside itself would draw them again in ``VJPOf``: chainrule's dropout draws its mask
in an op of its own, which ``VJPOf`` reads as an input, so it is consistent.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from ..autograd import engine, grad_mode
from ..autograd.function import Op
from ..autograd.graph import sum_to_shape
from ..autograd.tracing import Value
from ..backend import get_array_module
from ..backend.dtype import of_numpy
from ..ops.either import wants
from ..tensor import Tensor, _make

# The steps that make derivative values (a trace with ``backward="vjp"``).
DERIVATIVE_STEPS = ("VJP", "Seed", "SumToShape", "AddGrad")


class _Slot:
    """Where a tensor goes in the template of a ``VJPSpec`` (its value is an input)."""

    def __repr__(self):
        return "·"


SLOT = _Slot()


@dataclass(frozen=True, eq=False)
class VJPSpec:
    """What a ``VJPOf`` differentiates: the forward op, its arguments (``SLOT`` for each
    tensor, which ``VJPOf`` gets as inputs after the upstream gradients), which of them
    required grad when traced, which of its outputs got an upstream gradient (None: it has
    one output), and which arguments' gradients ``VJPOf`` returns."""

    op_class: type
    template: tuple
    requires: tuple
    outputs: tuple | None
    n_outputs: int
    positions: tuple

    @property
    def n_upstream(self) -> int:
        return 1 if self.outputs is None else len(self.outputs)

    def __repr__(self):
        return f"VJP of {self.op_class.__name__}"


class VJPOf(Op):
    """The gradients an op's rule sends to its arguments, as an op: ``VJPOf(spec, *upstream,
    *tensors)``. Forward: the forward op, then its rule; backward: the rule's derivative."""

    def forward(self, spec, *values):
        ups, tensors = values[:spec.n_upstream], values[spec.n_upstream:]
        with _eager():
            node = _forward(spec, tensors, [j in spec.positions or r
                                            for j, r in zip(_slots(spec), spec.requires)])
            grads = node.vjp(_upstream(spec, list(ups)), False)
        outs = tuple(_array(grads[j]) for j in spec.positions)
        return outs if len(outs) > 1 else outs[0]

    def backward(self, grad, spec, *values):
        create = any(isinstance(v, Tensor) for v in values)
        want = [wants(self, 1 + k) for k in range(len(values))]
        if not any(want):
            return (None,) * (1 + len(values))
        gg = list(grad) if len(spec.positions) > 1 else [grad]
        k_up = spec.n_upstream
        with _eager():
            if create:
                leaves = list(values)
            else:
                leaves = [_make(v, want[k] or k < k_up, None) for k, v in enumerate(values)]
            slots = _slots(spec)
            requires = [j in spec.positions or want[k_up + i] or r
                        for i, (j, r) in enumerate(zip(slots, spec.requires))]
            tensors = leaves[k_up:]
            if not create:   # the forward arguments as leaves that require what is needed
                tensors = [_make(t._array, r, None) for t, r in zip(tensors, requires)]
                leaves[k_up:] = tensors
            node = _forward(spec, tensors, None if create else requires)
            first = node.vjp(_upstream(spec, leaves[:k_up]), True)
            outs, grad_outs = [], []
            for j, g in zip(spec.positions, gg):
                o = first[j]
                if g is None or not isinstance(o, Tensor) or not o._requires_grad:
                    continue
                outs.append(o)
                grad_outs.append(g)
            inputs = [t for t, w in zip(leaves, want) if w]
            if not outs:
                return (None,) * (1 + len(values))
            got = engine.grad(outs, inputs, grad_outputs=grad_outs, allow_unused=True,
                              create_graph=create, retain_graph=create)
        got = iter(got)
        result = []
        for w in want:
            g = next(got) if w else None
            result.append(g if g is None or create else g._array)
        return (None, *result)


def _slots(spec):
    """The argument index of each tensor of the template, in order."""
    return [j for j, a in enumerate(spec.template) if a is SLOT]


def _forward(spec, tensors, requires):
    """Run the forward op on ``tensors`` (arrays, or Tensors under create_graph) recording its
    node; returns the node."""
    it = iter(tensors)
    args = []
    for a in spec.template:
        if a is SLOT:
            t = next(it)
            if not isinstance(t, Tensor):
                t = _make(t, False, None)
            args.append(t)
        else:
            args.append(a)
    if requires is not None:
        k = 0
        for i, a in enumerate(args):
            if spec.template[i] is SLOT:
                if not isinstance(tensors[k], Tensor) or tensors[k].grad_fn is None:
                    a._requires_grad = bool(requires[k]) and a._array.dtype.kind in "fc"
                k += 1
    out = spec.op_class.apply(*args)
    outs = out if isinstance(out, tuple) else (out,)
    node = next((o.grad_fn for o in outs if isinstance(o, Tensor) and o.grad_fn is not None),
                None)
    if node is None:
        raise RuntimeError(f"VJPOf: {spec.op_class.__name__} recorded no node to differentiate")
    return node


def _upstream(spec, ups):
    if spec.outputs is None:
        return ups[0]
    full = [None] * spec.n_outputs
    for i, u in zip(spec.outputs, ups):
        full[i] = u
    return full


def _array(g):
    return g._array if isinstance(g, Tensor) else g


@contextlib.contextmanager
def _eager():
    """Grad on and nothing traced: the op's rule and its derivative as an eager computation."""
    state = grad_mode.state
    tracer, enabled = state.tracer, state.enabled
    state.tracer, state.enabled = None, True
    try:
        yield
    finally:
        state.tracer, state.enabled = tracer, enabled


class Derived:
    """Which values of a program were made from derivative steps, and their rebuilt Tensors."""

    def __init__(self, program):
        self.program = program
        self.values = set()      # indices of values made (transitively) by derivative steps
        self.producer = {}       # value index -> (step, output position)
        self.rebuilt = {}        # value index -> differentiable Tensor
        self._scanned = 0

    def update(self):
        steps = self.program.steps
        for s in steps[self._scanned:]:
            outs = [v for v in s.outputs if v is not None]
            for k, v in enumerate(s.outputs):
                if v is not None:
                    self.producer[v.index] = (s, k)
            if s.op in DERIVATIVE_STEPS or any(v.index in self.values for v in s.inputs):
                self.values.update(v.index for v in outs)
        self._scanned = len(steps)


def differentiable(derived, roots):
    """``roots`` as Tensors whose graph reaches the variables through every derivative step
    they were made from (themselves when they were made from none)."""
    derived.update()
    program = derived.program
    found = [program.find(r) for r in roots]
    if not any(v is not None and v.index in derived.values for v in found):
        return roots
    needed = _needed_steps(derived, [v for v in found if v is not None])
    for s in needed:
        _rebuild(derived, s)
    return [r if v is None or v.index not in derived.values else derived.rebuilt[v.index]
            for r, v in zip(roots, found)]


def _needed_steps(derived, values):
    """The derivative-made steps that ``values`` come from, in program order."""
    wanted = {v.index for v in values if v.index in derived.values}
    todo = sorted({derived.producer[i][0].index for i in wanted}, reverse=True)
    chosen, seen = [], set()
    steps = derived.program.steps
    while todo:
        s = steps[todo.pop(0)]
        if s.index in seen:
            continue
        seen.add(s.index)
        chosen.append(s)
        reads = list(s.inputs)
        if s.args is not None:
            reads += [a for a in s.args if type(a) is Value]
        if s.of is not None:
            reads += [a for a in s.of.args if type(a) is Value]
        for v in reads:
            if v.index in derived.values and v.index not in derived.rebuilt:
                p = derived.producer[v.index][0].index
                if p not in seen:
                    todo.append(p)
        todo.sort(reverse=True)
    return sorted(chosen, key=lambda s: s.index)


def _rebuild(derived, s):
    """The differentiable Tensors for the outputs of derivative-made step ``s``."""
    rebuilt = derived.rebuilt
    if all(v is None or v.index in rebuilt for v in s.outputs):
        return

    def tensor(v):
        if v.index in rebuilt:
            return rebuilt[v.index]
        if v.index in derived.values:   # a derivative value that was not rebuilt: a bug here
            raise RuntimeError(f"Graph.gradients: the value %{v.index} of {s} was not rebuilt")
        t = derived.program.tensor_of(v)
        return t if isinstance(t, Tensor) else _make(t, False, None)

    if s.op == "VJP":
        f = s.of
        template, tensors, requires = [], [], []
        for a in f.args:
            if type(a) is Value:
                template.append(SLOT)
                t = tensor(a)
                tensors.append(t)
                traced = derived.program.tensor_of(a)
                requires.append(isinstance(traced, Tensor) and traced._requires_grad)
            else:
                template.append(a)
        positions = tuple(j for j, o in enumerate(s.outputs) if o is not None)
        spec = VJPSpec(f.op_class, tuple(template), tuple(requires), s.attrs.get("outputs"),
                       len(f.outputs), positions)
        out = VJPOf.apply(spec, *[tensor(u) for u in s.inputs], *tensors)
        outs = out if isinstance(out, tuple) else (out,)
        for j, o in zip(positions, outs):
            rebuilt[s.outputs[j].index] = o
    elif s.op == "SumToShape":
        g = sum_to_shape(tensor(s.inputs[0]), s.attrs["shape"])
        if g._array.dtype != s.attrs["dtype"]:
            g = g.to(of_numpy(s.attrs["dtype"]))
        rebuilt[s.outputs[0].index] = g
    elif s.op == "AddGrad":
        rebuilt[s.outputs[0].index] = tensor(s.inputs[0]) + tensor(s.inputs[1])
    elif s.op == "Seed":
        root = derived.program.tensor_of(s.inputs[0])
        if len(s.inputs) == 2:
            seed = derived.program.tensor_of(s.inputs[1])
        else:
            seed = get_array_module(root._array).ones(root._array.shape, root._array.dtype)
        rebuilt[s.outputs[0].index] = _make(seed, False, None)
    elif s.args is not None and s.of is None:   # an op applied to derivative values
        args = [tensor(a) if type(a) is Value else a for a in s.args]
        out = s.op_class.apply(*args)
        outs = out if isinstance(out, tuple) else (out,)
        for v, o in zip(s.outputs, outs):
            if v is not None:
                rebuilt[v.index] = o
    else:
        raise RuntimeError(f"Graph.gradients: cannot differentiate through the step {s}")
