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
tensors they were when traced, at every run (so parameter updates are seen); a leaf's
``.grad`` read inside the step is read from the leaf at every run.

How it runs fast: the kept steps are compiled once into the source of one Python function
(``plan.source``), straight-line code with every index resolved: a local variable per
value, the op's class, its constants and its argument tensors bound by name, ``del`` of a
value after its last use (so memory is given back as the eager engine frees its graph), the
optimizer's update and ``zero_grad`` fused where that is exact (``optim_step``). No dict,
no ``isinstance`` and no graph walking is left on the hot path: what stays is the op's own
forward and backward, as eager runs them -- or, for the hot ops of an MLP, their NumPy
calls written into the source (``kernels``), writing into a dead input where that gives the
same bits (a ReLU into its matmul's output).

Options ``cr.compile`` uses: ``created`` (tensors the traced function created, with their
first values: each run makes them anew), ``simplify`` (constant folding and CSE,
``static.simplify``) and ``split`` (the plan of a forward and its backward as one generator,
``static.backward``). ``plan.source`` is the generated function; ``forget_trace()`` drops the
program once the plan is built.
"""

from __future__ import annotations

import itertools
import linecache
import re

import numpy as np

from ..autograd import grad_mode
from ..autograd.function import Function, Node
from ..autograd.graph import sum_to_shape
from ..autograd.tracing import Value
from ..backend import get_array_module
from ..optim.lr_scheduler import LRScheduler
from ..optim.optimizer import Optimizer
from ..tensor import Tensor, _make
from . import kernels, optim_step
from .simplify import simplify as _simplify

_new = object.__new__

# The updates in place a replay can run again (``Tensor._inplace`` records them by name).
_IN_PLACE = {"add_", "sub_", "mul_", "div_", "fill_", "zero_", "copy_"}

# Steps that change state outside their outputs: they run whether or not an output needs them.
# (and "<Optimizer>.step", "<Scheduler>.step")
_SIDE_EFFECTS = {"AccumulateGrad", "zero_grad", "Call", "set_grad_none", *_IN_PLACE}

_counter = itertools.count()
_HOT = {"_new", "_nd", "_scalar", "_asarray", "_make", "_tuple"}  # helpers read on every replay


class Plan:
    """The steps of ``program`` that ``outputs`` need (and every side effect), runnable."""

    def __init__(self, program, inputs, outputs, created=None, simplify=False, split=None,
                 fixed_shapes=True):
        # ``fixed_shapes``: every run feeds the traced shapes (cr.compile guards them), so
        # kernels may bake sizes in; a static Graph, traced on stand-in sizes, says False.
        self.fixed_shapes = fixed_shapes
        # ``split`` (static.backward): (index of the first backward step, the seed Values,
        # how many of ``outputs`` the forward yields); the plan is then a generator.
        self.split = split
        self.program = program
        self.inputs = list(inputs)
        self.outputs = list(outputs)
        self.steps = _needed(program, self.outputs)
        for s in self.steps:
            _check_replayable(s)
        # Tensors created inside the traced function ({id: (tensor, first values)}): a run
        # makes them anew from those values, as each eager call does.
        self.created = created or {}
        self.written = _written(self.steps)
        self.folded = {}
        if simplify:  # constant folding and CSE (static.simplify)
            given = {v.index for v in self.inputs}
            constants = {}
            for s in self.steps:
                for v in (*s.inputs, *(a for a in s.args or () if _is_value(a))):
                    t = program.tensor_of(v)
                    made = self.created.get(id(t))
                    if made is not None and v.index not in given \
                            and v.index not in self.written:
                        constants[v.index] = made[1]
            self.steps, self.folded = _simplify(self.steps, self.outputs, self.written,
                                                constants)
        produced = {v.index for s in self.steps for v in s.outputs if v is not None}
        produced |= set(self.folded)
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
        codegen = _Codegen(self)
        self.source, self._fn, lines = codegen.build()
        # Whether every step works on arrays alone (kernels, op rules, .grad, fused optimizer
        # steps): then grad mode cannot change what a run does, and a caller may leave it as
        # it is (switching it costs more than a small plan's arithmetic).
        self.array_only = codegen.array_only
        # line of the source -> the name of the op it runs (errors are named after it)
        self._lines = {line: s.node.name for line, s in lines.items()
                       if isinstance(s.node, Node)}

    def forget_trace(self):
        """Drop the traced program (every tensor of the captured call, its nodes, their
        saved arrays): the plan keeps only what a replay reads. ``steps`` and ``bound``
        are gone with it."""
        self.program = None
        self.steps = []
        self.bound = {}

    def run(self, arrays, tensors=None):
        """Run the plan with ``arrays`` for ``inputs``; returns the ``outputs``' arrays.

        ``tensors`` (optional) are the Tensors those arrays belong to: a gradient
        accumulated into an input, or an update in place of one, then reaches that tensor.
        """
        if len(arrays) != len(self.inputs):
            raise ValueError(f"Plan.run: expected {len(self.inputs)} input arrays, "
                             f"got {len(arrays)}")
        state = grad_mode.state
        tracer, state.tracer = state.tracer, None  # a replay is not itself traced
        enabled, state.enabled = state.enabled, False
        try:
            return self._fn(arrays, tensors)
        except (ValueError, TypeError, IndexError, ArithmeticError, RuntimeError) as exc:
            raise self._named(exc) from None
        finally:
            state.tracer, state.enabled = tracer, enabled

    def _named(self, exc):
        """``exc`` raised by a step: named as the eager op names it (``op: message``)."""
        tb, line = exc.__traceback__, None
        while tb is not None:
            if tb.tb_frame.f_code.co_filename == self._filename:
                line = tb.tb_lineno
            tb = tb.tb_next
        name = self._lines.get(line)
        msg = str(exc)
        if name is None or msg.startswith(f"{name}:"):
            return exc
        cls = next(c for c in (IndexError, TypeError, ValueError, RuntimeError, ArithmeticError)
                   if isinstance(exc, c))
        return cls(f"{name}: {msg}")

    @property
    def _filename(self):
        return self._fn.__code__.co_filename


def _written(steps):
    """Indices of the values a step writes in place (or may: what a side effect takes)."""
    written = set()
    for s in steps:
        if s.op in _IN_PLACE or s.op == "AccumulateGrad":
            written.add(s.inputs[0].index)
        elif s.op in ("Call", "zero_grad") or s.op.endswith(".step"):
            written.update(v.index for v in s.inputs)
        elif s.args is not None and s.of is None and not s.outputs:  # a side-effect op
            written.update(a.index for a in s.args if _is_value(a))
    return written


def _check_replayable(s):
    """Refuse, when the plan is built, a step that a replay could not run again."""
    if s.op == "VJP":
        if s.of is None:
            raise RuntimeError(
                f"Plan: the backward reaches {s.node!r}, made before the trace started; a "
                "replay cannot run it again (start the computation inside the compiled "
                "function, or .detach() what comes from outside)")
        return
    if s.args is not None or s.op in ("Seed", "SumToShape", "AddGrad", "AccumulateGrad",
                                      "zero_grad", "Call", "set_grad_none") or s.op in _IN_PLACE:
        return
    if s.op.endswith(".step") and isinstance(s.node, (Optimizer, LRScheduler)):
        for a in (*s.attrs.get("args", ()), *s.attrs.get("kwargs", {}).values()):
            if isinstance(a, Tensor):
                raise RuntimeError(f"Plan: {s.op} was given a tensor; its value would be "
                                   "frozen into the replay")
        return
    raise RuntimeError(f"Plan: no replay for the traced step {s}")


class _Codegen:
    """Writes the plan's steps as the source of one function ``replay(A, T)``.

    ``A`` are the input arrays, ``T`` the input Tensors (or None). Values are locals
    ``v<index>``; nodes are ``n<step>``; everything constant (op classes, constants,
    argument tensors, traced tensors) is a global of the function's own namespace.
    """

    def __init__(self, plan):
        self.plan = plan
        self.program = plan.program
        self.ns = {"_new": _new, "_nd": np.ndarray, "_scalar": _is_scalar,
                   "_asarray": np.asarray, "_make": _make, "_sum_to_shape": sum_to_shape,
                   "_xp": get_array_module, "_run_function": _run_function, "_tuple": tuple}
        self.lines = []
        self.line_steps = {}
        self.loaded = set()
        self.boxes = {}                   # value index -> name of its box tensor
        self.input_pos = {}               # value index -> position in the inputs
        for j, v in enumerate(plan.inputs):
            self.input_pos.setdefault(v.index, j)
        self.grad_of = self._grads_of_leaves()
        # False once a step runs code on Tensors (a user Function, an update in place, a
        # call, an optimizer's or a scheduler's own step): see ``Plan.array_only``.
        self.array_only = True
        self.checked = {}   # target value index -> the local a CheckClassTarget kernel set
        self.flat_losses = set()   # cross-entropy steps that pick by flat indices (kernels)

    # --- names ----------------------------------------------------------------------------
    def const(self, value, hint="c"):
        name = f"{hint}{len(self.ns)}"
        self.ns[name] = value
        return name

    def emit(self, line, step=None):
        self.lines.append("    " + line)
        if step is not None:
            self.line_steps[len(self.lines) + 1] = step  # +1: the "def" line

    def var(self, v: Value) -> str:
        """The local holding ``v``'s array, loading a bound value at its first use."""
        name = f"v{v.index}"
        if v.index not in self.loaded:
            self.loaded.add(v.index)
            made = self.made(v)
            if v.index in self.plan.folded:
                self.emit(f"{name} = {self.const(self.plan.folded[v.index], 'FOLD')}")
            elif made is not None:  # created inside: its first values, new when written
                copy = ".copy()" if v.index in self.plan.written else ""
                self.emit(f"{name} = {self.const(made[1], 'INIT')}{copy}")
            else:
                self.emit(f"{name} = {self.live(v)}._array" if self._is_tensor_value(v)
                          else f"{name} = {self.live(v)}")
        return name

    def made(self, v):
        """(tensor, first values) when ``v`` is a tensor created inside the function."""
        if v.index in self.input_pos:
            return None
        return self.plan.created.get(id(self.program.tensor_of(v)))

    def _is_tensor_value(self, v):
        return isinstance(self.program.tensor_of(v), Tensor)

    def live(self, v: Value) -> str:
        """An expression for the tensor (or array) that a bound value is at run time."""
        t = self.program.tensor_of(v)
        owner = self.grad_of.get(id(t))
        if owner is not None:  # a leaf's .grad read in the step: whatever .grad is now
            return f"{self.const(owner, 'P')}._grad"
        return self.const(t, "K")

    def tensor(self, v: Value) -> str:
        """An expression for a Tensor whose array is ``v``'s (for a call on a Tensor)."""
        j = self.input_pos.get(v.index)
        if j is not None:
            return f"(T[{j}] if T is not None else _make({self.var(v)}))"
        if v.index in self.plan.bound and self._is_tensor_value(v) and self.made(v) is None:
            self.var(v)
            return self.live(v)
        return f"_make({self.var(v)})"

    def box(self, v: Value) -> str:
        """The Tensor a node keeps as this argument (what its rule reads: requires_grad,
        shapes). A bound tensor is its own box; others get one box, reused by every run."""
        if v.index in self.plan.bound and self._is_tensor_value(v) \
                and id(self.program.tensor_of(v)) not in self.grad_of and self.made(v) is None:
            return self.const(self.program.tensor_of(v), "K")
        name = self.boxes.get(v.index)
        if name is None:
            traced = self.program.tensor_of(v)
            requires_grad = traced._requires_grad if isinstance(traced, Tensor) else False
            name = self.boxes[v.index] = self.const(_make(None, requires_grad, None), "B")
        return name

    def _grads_of_leaves(self):
        """id(traced .grad tensor) -> its leaf, for every leaf the step accumulated into."""
        owners = {}
        for s in self.plan.steps:
            if s.op == "AccumulateGrad" or s.op == "zero_grad" or s.op.endswith(".step"):
                for v in s.inputs:
                    t = self.program.tensor_of(v)
                    if isinstance(t, Tensor) and t._grad is not None:
                        owners[id(t._grad)] = t
        return owners

    # --- the function ---------------------------------------------------------------------
    def build(self):
        plan = self.plan
        steps = plan.steps
        self.kernel_of = {}
        self.vjp_of = {}    # forward step index -> the index of its VJP step
        for s in steps:
            if s.of is None and s.args is not None:
                kernel = kernels.kernel_for(self, s)
                if kernel is not None:
                    self.kernel_of[s.index] = kernel
            elif s.of is not None:
                self.vjp_of[s.of.index] = s.index
        self.outputs = outputs = {v.index for v in plan.outputs}
        self.readers = self._readers()
        last = self._last_uses()
        if plan.inputs:
            names = ", ".join(f"v{v.index}" for v in plan.inputs)
            # A is None: the arrays are read from the tensors T (cr.compile's replay: no list
            # of arrays made per call).
            self.emit("if A is None:")
            self.emit("    " + "; ".join(f"v{v.index} = T[{j}]._array"
                                         for j, v in enumerate(plan.inputs)))
            self.emit("else:")
            self.emit(f"    {names}, = A")
            self.loaded.update(v.index for v in plan.inputs)
        self.seed_arrays = set()
        self.deposited = set()
        self.nodes_made = set()
        self.fresh = set()   # values a kernel made as new arrays (never views, never shared)
        self.in_place = {}   # forward step index -> True when a kernel wrote into its input
        self.unit_seed = set()  # seeds of ones not made: their one reader takes them as 1
        split = plan.split
        yielded = split is None
        for i, s in enumerate(steps):
            if not yielded and s.index >= split[0]:
                self._yield(split)
                yielded = True
            self.step(s)
            for index, kind in last.get(i, ()):
                if kind == "node":
                    if index in self.nodes_made:
                        self.emit(f"del n{index}")
                elif index not in outputs and index in self.loaded:
                    self.emit(f"del v{index}")
                    box = self.boxes.get(index)
                    if box is not None:
                        self.emit(f"{box}._array = None")
        if not yielded:
            self._yield(split)
        returned = plan.outputs if split is None else plan.outputs[split[2]:]
        self.emit(f"return [{self._results(returned)}]")
        filename = f"<chainrule plan {next(_counter)}>"
        body = "\n".join(self.lines)
        source = "def replay(A, T):\n" + body + "\n"
        # The constants the body names are the free variables of a closure: read as fast as
        # locals, and at no cost per call (globals are dict lookups).
        used = [n for n in self.ns if (n[0] != "_" or n in _HOT)
                and re.search(rf"\b{re.escape(n)}\b", body)]
        wrapped = (f"def _plan({', '.join(used)}):\n"
                   + "".join("    " + line + "\n" for line in source.splitlines())
                   + "    return replay\n")
        code = compile(wrapped, filename, "exec")
        # The source in linecache: tracebacks and profilers show the plan's lines.
        linecache.cache[filename] = (len(wrapped), None, wrapped.splitlines(True), filename)
        exec(code, self.ns)  # noqa: S102 - our own generated code
        replay = self.ns["_plan"](*(self.ns[n] for n in used))
        # Lines of the wrapped source are one below those of ``source``.
        lines = {line + 1: step for line, step in self.line_steps.items()}
        return source, replay, lines

    def _readers(self):
        """{value index: the indices of the steps that read it} (a VJP reads its forward's
        arguments; -1 stands for the plan's outputs). A value read by one step only, made
        fresh by a kernel, may be overwritten by that step (``dead_after``)."""
        readers = {}
        for s in self.plan.steps:
            for v in s.inputs:
                readers.setdefault(v.index, set()).add(s.index)
            for a in s.args or ():
                if _is_value(a):
                    readers.setdefault(a.index, set()).add(s.index)
            if s.of is not None:
                for a in s.of.args:
                    if _is_value(a):
                        readers.setdefault(a.index, set()).add(s.index)
                kernel = self.kernel_of.get(s.of.index)
                if kernel is None and s.of.op_class.saves_output or \
                        kernel is not None and kernel.reads_output:
                    for v in s.of.outputs:
                        if v is not None:
                            readers.setdefault(v.index, set()).add(s.index)
        for index in self.outputs:
            readers.setdefault(index, set()).add(-1)
        return readers

    def dead_after(self, v, *steps):
        """Whether ``v`` is a fresh array of this plan that nothing but ``steps`` reads: those
        steps may then write their result into it (same values, one array less)."""
        allowed = {s.index for s in steps}
        return v.index in self.fresh and self.readers.get(v.index, set()) <= allowed

    def _last_uses(self):
        """{step position: [(value index, "value") or (step index, "node")]} -- what dies
        after each step: a value after the last step that reads it, a node after its last
        VJP (or its forward, when no VJP runs it)."""
        steps = self.plan.steps
        last_value, last_node = {}, {}
        for i, s in enumerate(steps):
            for v in s.outputs:
                if v is not None:
                    last_value[v.index] = i
            for v in s.inputs:
                last_value[v.index] = i
            for a in s.args or ():
                if _is_value(a):
                    last_value[a.index] = i
            if s.args is not None and s.of is None:
                last_node[s.index] = i
            if s.of is not None:
                last_node[s.of.index] = i
                for a in s.of.args:
                    if _is_value(a):
                        last_value[a.index] = i
                kernel = self.kernel_of.get(s.of.index)
                if kernel is not None and kernel.reads_output:  # tanh's rule reads y
                    for v in s.of.outputs:
                        if v is not None:
                            last_value[v.index] = i
        dies = {}
        for index, i in last_value.items():
            dies.setdefault(i, []).append((index, "value"))
        for index, i in last_node.items():
            dies.setdefault(i, []).append((index, "node"))
        return dies

    def step(self, s):
        op = s.op
        if s.of is None and s.args is not None:
            self.forward(s)
        elif op == "VJP":
            self.vjp(s)
        elif op == "Seed":
            root = s.inputs[0]
            out = f"v{s.outputs[0].index}"
            readers = self.readers.get(s.outputs[0].index, set())
            if len(s.inputs) == 2:
                self.emit(f"{out} = {self.var(s.inputs[1])}", s)
            elif len(readers) == 1 and self._unit_seed_taker(next(iter(readers))):
                # The seed 1 is read by one kernel that folds it into a constant: not made.
                self.unit_seed.add(s.outputs[0].index)
                return
            else:
                self.emit(f"{out} = _xp({self.var(root)}).ones({root.shape!r}, "
                          f"{self.const(root.dtype, 'D')})", s)
            self.seed_arrays.add(id(self.program.tensor_of(s.outputs[0])))
            self.loaded.add(s.outputs[0].index)
        elif op == "SumToShape":
            g, out = s.inputs[0], s.outputs[0]
            line = f"v{out.index} = _sum_to_shape({self.var(g)}, {s.attrs['shape']!r})"
            if g.dtype != s.attrs["dtype"]:
                line += f".astype({self.const(s.attrs['dtype'], 'D')})"
            self.emit(line, s)
            self.loaded.add(out.index)
        elif op == "AddGrad":
            a, b = (self.var(v) for v in s.inputs)
            self.emit(f"v{s.outputs[0].index} = {a} + {b}", s)
            self.loaded.add(s.outputs[0].index)
        elif op == "AccumulateGrad":
            self.accumulate(s)
        elif op in _IN_PLACE:
            self.array_only = False
            target = self.tensor(s.inputs[0])
            value = self.tensor(s.inputs[1]) if len(s.inputs) > 1 else \
                self.const(s.attrs["value"])
            kwargs = {k: v for k, v in s.attrs.items() if k != "value"}
            method = "fill_" if op == "zero_" else op
            extra = f", **{self.const(kwargs)}" if kwargs else ""
            self.emit(f"{target}.{method}({value}{extra})", s)
        elif op == "zero_grad":
            node = self.const(s.node, "O")
            if s.attrs["set_to_none"] and isinstance(s.node, Optimizer):
                self.emit(f"{self.const(optim_step.zero_grad_to_none)}({node})", s)
            else:
                self.array_only = False
                self.emit(f"{node}.zero_grad(set_to_none={s.attrs['set_to_none']!r})", s)
        elif op == "set_grad_none":  # `p.grad = None`
            j = self.input_pos.get(s.inputs[0].index)
            target = self.const(self.program.tensor_of(s.inputs[0]), "P") if j is None \
                else f"T[{j}]"
            self.emit(f"{target}._grad = None", s)
        elif op == "Call":  # a @replayable function on raw arrays, called again
            self.array_only = False
            args = []
            given = {v.index for v in s.inputs}
            for a in s.attrs["args"]:
                v = self.program._values.get(id(a)) if isinstance(a, Tensor) else None
                args.append(self.tensor(v) if v is not None and v.index in given
                            else self.const(a))
            kwargs = f", **{self.const(s.attrs['kwargs'])}" if s.attrs["kwargs"] else ""
            call = f"{self.const(s.node, 'F')}({', '.join(args)}{kwargs})"
            if s.outputs:
                self.emit(f"v{s.outputs[0].index} = {call}._array", s)
                self.loaded.add(s.outputs[0].index)
            else:
                self.emit(call, s)
        else:  # an optimizer's or a scheduler's step, as they are now
            node = self.const(s.node, "O")
            fused = optim_step.fused_step(s.node) if isinstance(s.node, Optimizer) else None
            if fused is not None:
                fused(self, s.node, s)
            else:
                self.array_only = False
                args = self.const(s.attrs.get("args", ()))
                kwargs = self.const(s.attrs.get("kwargs", {}))
                self.emit(f"{node}.step(*{args}, **{kwargs})", s)

    def _results(self, values):
        """The arrays returned for ``values``; one that is no new array of this run (a
        constant) as a copy."""
        return ", ".join(
            self.var(v) + (".copy()" if v.index in self.plan.folded or (
                self.made(v) is not None and v.index not in self.plan.written) else "")
            for v in values)

    def _yield(self, split):
        """Yield the forward's outputs; receive the upstream gradients (the seeds)."""
        _, seeds, n_forward = split
        self.emit(f"G = yield [{self._results(self.plan.outputs[:n_forward])}]")
        if seeds:
            self.emit(", ".join(f"v{v.index}" for v in seeds) + ", = G")
            self.loaded.update(v.index for v in seeds)

    def _unit_seed_taker(self, step_index):
        """Whether the step ``step_index`` is the VJP of a kernel that takes a seed of ones
        as a constant (``takes_unit_seed``)."""
        for forward_index, vjp_index in self.vjp_of.items():
            if vjp_index == step_index:
                kernel = self.kernel_of.get(forward_index)
                return kernel is not None and kernel.takes_unit_seed
        return False

    def forward(self, s):
        kernel = self.kernel_of.get(s.index)
        if kernel is not None:  # the op's arithmetic written into the source, no node
            kernel.forward(self, s)
            for v in s.outputs:
                if v is not None:
                    self.loaded.add(v.index)
                    self.fresh.add(v.index)
            return
        self.nodes_made.add(s.index)
        cls = self.const(s.op_class, "C")
        values, boxes = [], []
        for a in s.args:
            if _is_value(a):
                values.append(self.var(a))
                box = self.box(a)
                boxes.append(box)
                if box in self.boxes.values():
                    self.emit(f"{box}._array = {self.var(a)}")
            else:
                name = self.const(a) if not _literal(a) else repr(a)
                values.append(name)
                boxes.append(name)
        n = f"n{s.index}"
        box_tuple = "(" + ", ".join(boxes) + ("," if len(boxes) == 1 else "") + ")"
        if issubclass(s.op_class, Function):
            self.array_only = False
            self.emit(f"{n}, o = _run_function({cls}, {box_tuple})", s)
        else:
            self.emit(f"{n} = _new({cls})")
            self.emit(f"o = {n}.forward({', '.join(values)})", s)
            self.emit(f"{n}.args = {box_tuple}")
        outs = [v for v in s.outputs if v is not None]
        if len(outs) == 1:
            self.emit(f"v{outs[0].index} = o[0] if type(o) is _tuple else o")
        elif outs:
            self.emit(", ".join(f"v{v.index}" for v in outs) + ", = o")
        for v in outs:
            self.loaded.add(v.index)
            if v.shape == ():  # NumPy gives scalars for 0-d results; keep arrays (as apply)
                self.emit(f"if type(v{v.index}) is not _nd and _scalar(v{v.index}): "
                          f"v{v.index} = _asarray(v{v.index})")

    def vjp(self, s):
        kernel = self.kernel_of.get(s.of.index)
        if kernel is not None:
            kernel.backward(self, s.of, s)
            for v in s.outputs:
                if v is not None:
                    self.loaded.add(v.index)
                    if kernel.fresh_grads:
                        self.fresh.add(v.index)
            return
        n = f"n{s.of.index}"
        if "outputs" in s.attrs:
            slots = ["None"] * len(s.of.outputs)
            for i, u in zip(s.attrs["outputs"], s.inputs):
                slots[i] = self.var(u)
            grad = "[" + ", ".join(slots) + "]"
        else:
            grad = self.var(s.inputs[0])
        if issubclass(s.of.op_class, Function):
            self.array_only = False
            self.emit(f"r = {n}.vjp({grad}, False)", s)
        else:
            values = [self.var(a) if _is_value(a) else
                      (repr(a) if _literal(a) else self.const(a)) for a in s.of.args]
            self.emit(f"r = {n}.backward({grad}, {', '.join(values)})", s)
        if len(s.outputs) == 1:
            if s.outputs[0] is not None:
                self.emit(f"v{s.outputs[0].index} = r[0] if type(r) is _tuple else r")
        else:
            for i, v in enumerate(s.outputs):
                if v is not None:
                    self.emit(f"v{v.index} = r[{i}]")
        for v in s.outputs:
            if v is not None:
                self.loaded.add(v.index)

    def accumulate(self, s):
        """``.grad`` of a leaf: the eager sink's rule (a fresh array is taken, a view or an
        array handed out already is copied; else it is added in place)."""
        leaf_v, grad_v = s.inputs
        leaf = self.program.tensor_of(leaf_v)
        if leaf._hooks:
            raise RuntimeError(f"Plan: a hook is registered on a leaf of shape "
                               f"{tuple(leaf.shape)}; a replay does not run hooks")
        j = self.input_pos.get(leaf_v.index)
        # An input's gradient goes to the tensor ``run`` was given for it, else (arrays only)
        # to the tensor it was when traced, as the first version of Plan did.
        target = self.const(leaf, "P") if j is None else \
            f"(T[{j}] if T is not None else {self.const(leaf, 'P')})"
        g = self.var(grad_v)
        traced = self.program.tensor_of(grad_v)
        shared = id(traced) in self.seed_arrays or id(traced) in self.deposited
        self.deposited.add(id(traced))
        if grad_v.shape == ():
            self.emit(f"if type({g}) is not _nd and _scalar({g}): {g} = _asarray({g})")
        self.emit(f"t = {target}", s)
        self.emit("if t._grad is None:")
        if shared:
            self.emit(f"    t._grad = _make({g}.copy())")
        elif grad_v.index in self.fresh:  # a kernel's matmul or sum: always a new array
            self.emit(f"    t._grad = _make({g})")
        else:
            self.emit(f"    t._grad = _make({g} if {g}.base is None and {g}.flags.writeable "
                      f"else {g}.copy())")
        self.emit("else:")
        self.emit(f"    t._grad._array += {g}")


def _is_scalar(a):
    """A NumPy scalar (what NumPy gives for a 0-d result), never a device's 0-d array."""
    return isinstance(a, np.generic)


def _literal(a):
    """A constant written into the source as itself (small and exact in repr)."""
    if a is None or type(a) in (bool, int, str):
        return True
    if type(a) is tuple:
        return all(_literal(e) for e in a)
    return False


def _run_function(cls, boxes):
    """A user ``autograd.Function``: its forward on Tensors, its ctx kept for the VJP."""
    ctx = _new(cls)
    ctx.needs_input_grad = tuple(isinstance(b, Tensor) and b._requires_grad for b in boxes)
    ctx.saved_tensors = ()
    ctx._non_differentiable = ()
    result = cls.forward(ctx, *boxes)
    outs = result if isinstance(result, tuple) else (result,)
    ctx._recorded(boxes, outs, result)
    arrays = tuple(o._array for o in outs)
    return ctx, (arrays if len(arrays) > 1 else arrays[0])


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

