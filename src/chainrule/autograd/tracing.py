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
    """One recorded operation: ``outputs = op(inputs, **attrs)``."""

    index: int
    op: str
    inputs: tuple
    attrs: dict
    outputs: tuple
    op_class: type = None

    def __str__(self):
        args = [str(v) for v in self.inputs]
        args += [f"{k}={_short(v)}" for k, v in self.attrs.items()]
        call = f"{self.op}({', '.join(args)})"
        if not self.outputs:
            return call
        return f"{', '.join(str(v) for v in self.outputs)} = {call}"


@dataclass(eq=False)
class Program:
    """What ran inside ``trace()``: the outside tensors it read, and the steps in order."""

    inputs: list = field(default_factory=list)
    steps: list = field(default_factory=list)
    _values: dict = field(default_factory=dict, repr=False)   # id(tensor) -> Value
    _alive: list = field(default_factory=list, repr=False)    # keeps ids unique while tracing

    def value(self, t: Tensor) -> Value:
        """The program's Value for tensor ``t`` (a new input if the program has not seen it)."""
        v = self._values.get(id(t))
        if v is None:
            kind = "parameter" if t.grad_fn is None and t._requires_grad else "input"
            v = Value(len(self._values), tuple(t.shape), t._array.dtype, kind,
                      getattr(t, "name", None))
            self._values[id(t)] = v
            self._alive.append(t)
            self.inputs.append(v)
        return v

    def add(self, op, inputs, attrs, outputs, op_class=None) -> Step:
        """Append a step; ``inputs``/``outputs`` are Tensors, ``attrs`` a dict of constants."""
        ins = tuple(self.value(t) for t in inputs)
        outs = []
        for t in outputs:
            v = Value(len(self._values), tuple(t.shape), t._array.dtype, "op")
            self._values[id(t)] = v
            self._alive.append(t)
            outs.append(v)
        step = Step(len(self.steps), op, ins, attrs, tuple(outs), op_class)
        self.steps.append(step)
        return step

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
def trace():
    """Record every op run in this thread inside the block; yields the ``Program``."""
    state = grad_mode.state
    program, prev = Program(), state.tracer
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
                type(node))


def note(op, inputs=(), outputs=(), **attrs):
    """Record a side effect done outside ``Op.apply`` (an update in place, a ``.grad``
    accumulation, an optimizer step) when this thread is tracing; else do nothing."""
    program = grad_mode.state.tracer
    if program is not None:
        program.add(op, [t for t in inputs if isinstance(t, Tensor)], attrs,
                    [t for t in outputs if isinstance(t, Tensor)])


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
