"""Trace: record every op that runs, as a small program -- the graph as data.

Inside ``with cr.autograd.trace() as program:`` every op that passes through ``Op.apply``
(or a ``Function``) is recorded, whether or not its inputs require grad, with its constant
arguments by name; so are the backward pass (its rules run as recorded ops, and each
leaf's gradient accumulation is a step), side effects (running statistics, random masks)
and in-place updates. The program is what the pictures, the compiled static graph and
ONNX export read.

    >>> x = cr.ones(4, 3)
    >>> with cr.autograd.trace() as program:
    ...     y = (x * 2).sum(dim=1, keepdim=True)
    >>> print(program)
    %0 = input (4, 3) float32
    %1 = Mul(%0, b=2)
    %2 = Sum(%1, dim=(1,), keepdim=True)

A ``Step`` names its op (``op``, the class name), its tensor inputs and outputs
(``Value``: a number, shape, dtype and kind), and its constant ``attrs`` in the order of the
op's forward signature. Tracing is per thread and costs nothing when off (one attribute
read in ``Op.apply``).

Two ways to record the backward pass:

* ``trace()`` (``backward="ops"``): the rules run on Tensors, so the backward appears op by
  op, as primitive steps -- the derivative graph spelled out.
* ``trace(backward="vjp")``: the rules run on arrays, exactly as in an eager backward, and
  each node's rule is one ``VJP`` step (``of`` is the forward step it differentiates), with
  the steps that fit a gradient to its input's shape (``SumToShape``), that sum it over
  paths (``AddGrad``) and that put it into ``.grad`` (``AccumulateGrad``). Every value of
  the backward is then made by a step of the program from values the program knows, which
  is what a replay needs (``chainrule.static``): the rules' own constants (a ReLU's mask)
  are recomputed by the forward step they belong to, never frozen into the program.

    >>> w = cr.ones(3, requires_grad=True)
    >>> with cr.autograd.trace(backward="vjp") as program:
    ...     (w * 2).sum().backward()
    >>> print(program)
    %0 = parameter (3,) float32
    %1 = Mul(%0, b=2)
    %2 = Sum(%1, dim=(0,), keepdim=False)
    %3 = Seed(%2)
    %4, _, _ = VJP[Sum](%3)
    %5, _ = VJP[Mul](%4)
    AccumulateGrad(%0, %5)

(``_``: an argument that gets no gradient, here the constants.)
"""

from __future__ import annotations

import contextlib
import inspect
from dataclasses import dataclass, field

import numpy as np

from ..tensor import Tensor
from . import grad_mode


@dataclass(frozen=True, eq=False)
class Value:
    """One tensor of the program: ``%index``, its shape and dtype, and what it is.

    ``kind`` is "input" (data that came from outside), "parameter" (a leaf that requires
    grad) or "op" (made by a step of the program).
    """

    index: int
    shape: tuple
    dtype: np.dtype
    kind: str
    name: str | None = None

    def __str__(self):
        return f"%{self.index}"


@dataclass(eq=False)
class Step:
    """One recorded operation: ``outputs = op(inputs, **attrs)``.

    For an op, ``node`` is the node that ran (its class is ``op_class``) and ``args`` its
    forward's arguments in order, Values where Tensors were (what a replay calls forward
    with). A ``VJP`` step's ``of`` is the forward step whose rule it ran.
    """

    index: int
    op: str
    inputs: tuple
    attrs: dict
    outputs: tuple
    op_class: type = None
    node: object = None
    args: tuple = None
    of: "Step" = None

    def __str__(self):
        args = [str(v) for v in self.inputs]
        args += [f"{k}={_short(v)}" for k, v in self.attrs.items()]
        op = self.op if self.of is None else f"{self.op}[{self.of.op}]"
        call = f"{op}({', '.join(args)})"
        if not self.outputs:
            return call
        return f"{', '.join('_' if v is None else str(v) for v in self.outputs)} = {call}"


@dataclass(eq=False)
class Program:
    """What ran inside ``trace()``: the outside tensors it read, and the steps in order."""

    inputs: list = field(default_factory=list)
    steps: list = field(default_factory=list)
    backward: str = "ops"   # how the backward pass is recorded: "ops" or "vjp" (see above)
    _values: dict = field(default_factory=dict, repr=False)   # id(tensor or array) -> Value
    _alive: list = field(default_factory=list, repr=False)    # keeps ids unique while tracing
    _steps_of: dict = field(default_factory=dict, repr=False)  # id(node) -> its forward Step
    _objects: list = field(default_factory=list, repr=False)  # Value.index -> tensor/array

    def value(self, t) -> Value:
        """The program's Value for tensor (or array) ``t``, a new input if it is not known."""
        v = self._values.get(id(t))
        if v is None:
            if isinstance(t, Tensor):
                kind = "parameter" if t.grad_fn is None and t._requires_grad else "input"
                arr = t._array
            else:
                kind, arr = "input", t
            v = self._new_value(t, arr, kind, getattr(t, "name", None))
            self.inputs.append(v)
        return v

    def _new_value(self, t, arr, kind, name=None):
        v = Value(len(self._objects), tuple(arr.shape), arr.dtype, kind, name)
        self._values[id(t)] = v
        self._alive.append(t)
        self._objects.append(t)
        return v

    def find(self, t) -> Value | None:
        """The program's Value for tensor (or array) ``t``, or None if it never saw it."""
        return self._values.get(id(t))

    def alias(self, t, like) -> Value:
        """Let tensor ``t`` stand for the Value of ``like``, a tensor or array the program
        knows: the Tensors ``grad()`` returns wrap the arrays a ``backward="vjp"`` trace
        recorded, and ops on them must read those Values (``chainrule.static``)."""
        v = self._values.get(id(like))
        if v is None:  # an outside tensor (a parameter, an input) first seen here
            v = self.value(like)
        self._values[id(t)] = v
        self._alive.append(t)
        return v

    def tensor_of(self, v: Value):
        """The tensor (or, for backward values, the array) that ``v`` stood for when traced."""
        return self._objects[v.index]

    def add(self, op, inputs, attrs, outputs, op_class=None, node=None, args=None,
            of=None) -> Step:
        """Append a step; ``inputs``/``outputs`` are Tensors (or the arrays of a backward
        traced with ``backward="vjp"``), ``attrs`` a dict of constants."""
        ins = tuple(self.value(t) for t in inputs)
        outs = []
        for t in outputs:
            if t is None:  # an input of a VJP that gets no gradient
                outs.append(None)
                continue
            arr = t._array if isinstance(t, Tensor) else t
            outs.append(self._new_value(t, arr, "op" if isinstance(t, Tensor) else "grad"))
        if args is not None:
            args = tuple(self.value(a) if isinstance(a, Tensor) else a for a in args)
        step = Step(len(self.steps), op, ins, attrs, tuple(outs), op_class, node, args, of)
        self.steps.append(step)
        if args is not None:  # an op's forward (a note's node is no graph node)
            self._steps_of[id(node)] = step
        return step

    def step_of(self, node) -> Step | None:
        """The forward step that ``node`` was recorded as (None if it ran before the trace)."""
        return self._steps_of.get(id(node))

    def ops(self) -> list:
        """The op names of the steps, in order."""
        return [s.op for s in self.steps]

    def __iter__(self):
        return iter(self.steps)

    def __len__(self):
        return len(self.steps)

    def __str__(self):
        lines = [f"{v} = {v.kind}{' ' + v.name if v.name else ''} {v.shape} {v.dtype}"
                 for v in self.inputs]
        # Inputs first seen mid-program are listed above with the others.
        return "\n".join(lines + [str(s) for s in self.steps])


@contextlib.contextmanager
def trace(backward: str = "ops"):
    """Record every op run in this thread inside the block; yields the ``Program``.

    ``backward="vjp"`` records the backward pass as one ``VJP`` step per node, run on arrays
    as an eager backward runs (see the module's docstring); ``"ops"`` records its ops.
    """
    if backward not in ("ops", "vjp"):
        raise ValueError(f"trace: backward must be 'ops' or 'vjp', got {backward!r}")
    state = grad_mode.state
    program, prev = Program(backward=backward), state.tracer
    state.tracer = program
    try:
        yield program
    finally:
        state.tracer = prev


def is_tracing() -> bool:
    return grad_mode.state.tracer is not None


def record(node, args, result):
    """Record one ``Op.apply`` / ``Function.apply`` call (called by them when tracing)."""
    program = grad_mode.state.tracer
    names = _arg_names(type(node), len(args))
    inputs, attrs = [], {}
    for name, a in zip(names, args):
        if isinstance(a, Tensor):
            inputs.append(a)
        elif a is not None:
            attrs[name] = a
    outputs = () if result is None else (result if isinstance(result, tuple) else (result,))
    program.add(type(node).__name__, inputs, attrs, [o for o in outputs if o is not None],
                type(node), node, args)


def reads_values(name, what="computes a constant from the tensor's values in Python"):
    """Refuse, under ``trace(backward="vjp")`` (a program meant to be replayed), library code
    that reads a tensor's values in Python (or makes a state change no step records): what
    it computes would be frozen into the program and replayed, stale, on new data. Outside
    such a trace it costs one attribute read.

        >>> with cr.autograd.trace(backward="vjp"):
        ...     F.one_hot(cr.tensor([0, 2]))         # the width is read from the labels
        Traceback (most recent call last):
        RuntimeError: one_hot: reads num_classes from the labels' values in Python ... cannot be replayed ...
    """
    program = grad_mode.state.tracer
    if program is not None and program.backward == "vjp":
        raise RuntimeError(f"{name}: {what}; cannot be replayed (a replay of the traced "
                           f"program would reuse what it read): call it outside the traced "
                           f"function")


def vjp_recorder():
    """The program recording this thread's backward node by node (``backward="vjp"``), or
    None: the walker asks once per backward."""
    program = grad_mode.state.tracer
    return program if program is not None and program.backward == "vjp" else None


def note(op, inputs=(), outputs=(), node=None, **attrs):
    """Record a side effect done outside ``Op.apply`` (an update in place, a ``.grad``
    accumulation, an optimizer step) when this thread is tracing; else do nothing.
    ``node`` is the object that did it (an optimizer), for a replay to call again."""
    program = grad_mode.state.tracer
    if program is not None:
        program.add(op, [t for t in inputs if _is_value(t)], attrs,
                    [t for t in outputs if _is_value(t)], node=node)


def _is_value(t):
    """A Tensor, or an array of a backward traced with ``backward="vjp"``."""
    return isinstance(t, Tensor) or (hasattr(t, "shape") and hasattr(t, "dtype"))


_NAMES: dict = {}


def _arg_names(cls, n):
    """The names of an op's arguments: its ``arg_names`` (torch's, e.g. ``dim``), else its
    forward's parameters after ``self``/``ctx``."""
    names = _NAMES.get(cls)
    if names is None and getattr(cls, "arg_names", None) is not None:
        names = _NAMES[cls] = list(cls.arg_names)  # an op's own names, e.g. torch's
    if names is None:
        try:
            params = list(inspect.signature(cls.forward).parameters.values())
        except (TypeError, ValueError):
            params = []
        names = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY,
                                                       p.POSITIONAL_OR_KEYWORD)]
        if names and names[0] in ("self", "ctx"):
            names = names[1:]
        _NAMES[cls] = names
    return names + [f"arg{i}" for i in range(len(names), n)]


def _short(v):
    if isinstance(v, np.ndarray):
        if v.size <= 4:
            return np.array2string(v, separator=", ")
        return f"array{tuple(v.shape)} {v.dtype}"
    if isinstance(v, float):
        return f"{v:g}"
    return repr(v)
