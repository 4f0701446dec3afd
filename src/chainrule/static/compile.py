"""``cr.compile``: capture a function once, replay it as a plan on every later call.

    >>> model = nn.Linear(4, 2)
    >>> opt = cr.optim.SGD(model.parameters(), lr=0.1)
    >>> @cr.compile
    ... def train_step(x, y):
    ...     opt.zero_grad()
    ...     loss = F.cross_entropy(model(x), y)
    ...     loss.backward()
    ...     opt.step()
    ...     return loss
    >>> loss = train_step(cr.randn(8, 4), cr.tensor([0, 1] * 4))   # runs eagerly, captured
    >>> loss = train_step(cr.randn(8, 4), cr.tensor([1, 0] * 4))   # replayed

The first call with a given *signature* (see ``guards``: shapes, dtypes, requires_grad,
grad mode, Python arguments by value, other objects by identity) runs ``fn`` eagerly under
``trace(backward="vjp")`` -- so its results are the eager ones -- and builds a ``Plan`` of
what ran: forward, backward, gradient accumulation, ``zero_grad``, the optimizer's and the
scheduler's steps. Later calls with that signature check the guards of the modules that ran
(train/eval, their settings) and replay the plan on the new arguments' arrays. A guard that
changes captures again; each capture is logged on ``logging.getLogger("chainrule.compile")``
with what changed, and a function captured more than ``warn_after`` times warns.

What the plan cannot replay is refused while capturing (``CaptureError``, naming the line):
reading a tensor's value (``.item()``, ``float(t)``, an ``if`` on a tensor, ``print(t)``),
hooks, a backward into a graph built before the call. Every call returns fresh Tensors.
When the function runs no backward itself (``cr.compile(model)`` in an eager training
loop), its outputs that require grad hang on one ``CompiledBackward`` node whose backward
is planned too, at capture time (``static.backward``): ``loss.backward()`` outside works and
gives the eager gradients. Where that backward cannot be planned, calling it raises.

``cr.compile(model)`` compiles a Module's forward; as a decorator on a method it captures
per instance (``self`` is an argument, guarded by identity).

Not guarded (as in other JITs): Python values the function reads from globals or closures
(a captured ``if flag:`` keeps its branch; pass ``flag`` as an argument), and the contents
of tensors it reads from outside (parameters and buffers are read afresh at every replay,
so that is what one wants). A plan is not meant to be replayed by two threads at once.
"""

from __future__ import annotations

import functools
import inspect
import logging
import warnings

from ..autograd import grad_mode
from ..autograd.tracing import trace
from ..tensor import Tensor, _make
from .capture import Capture, CaptureError, capturing
from .guards import ModuleGuard, signature, what_changed
from ..backend import get_array_module
from .backward import CompiledBackward, CompileNode, trace_backward
from .plan import Plan

log = logging.getLogger("chainrule.compile")
_state = grad_mode.state

__all__ = ["compile", "CompiledFunction", "CaptureError"]


def compile(fn=None, *, warn_after=8):  # noqa: A001 - the public name, as torch.compile
    """Compile ``fn`` (a function, a bound method or a Module); usable as ``@cr.compile``.

    ``warn_after``: how many captures of one function are expected; beyond it each new
    capture warns, naming the guard that keeps changing.
    """
    if fn is None:
        return functools.partial(compile, warn_after=warn_after)
    if isinstance(fn, CompiledFunction):
        return fn
    return CompiledFunction(fn, warn_after=warn_after)


class CompiledFunction:
    """A function with its plans, one per signature; call it as the function itself."""

    # How many plans it keeps: per signature (module guards that differ), and signatures in
    # all; beyond them the least recently captured are dropped (plans hold memory).
    max_per_signature = 4
    max_signatures = 64

    def __init__(self, fn, warn_after=8):
        self.fn = fn
        self.warn_after = warn_after
        self.__name__ = getattr(fn, "__name__", None) or type(fn).__name__
        self.__qualname__ = getattr(fn, "__qualname__", self.__name__)
        self.__doc__ = getattr(fn, "__doc__", None)
        self.__wrapped__ = fn
        self.plans = {}          # signature -> [Entry]
        self.captures = 0        # how many times fn was captured
        self._last = None        # the signature captured last (to say what changed)
        self._warned_at = 0
        try:
            self._names = list(inspect.signature(fn).parameters)
        except (TypeError, ValueError):
            self._names = []

    def __repr__(self):
        return f"<compiled {self.__qualname__}: {self.captures} captures>"

    def __get__(self, obj, objtype=None):
        """As a method: bound to the instance (which is then an argument, by identity)."""
        if obj is None:
            return self
        return functools.partial(self, obj)

    def __call__(self, *args, **kwargs):
        # (``_tracer``: the attribute behind ``state.tracer``, read without a property call)
        if _state._tracer is not None:  # inside a trace or a capture: run it inline
            return self.fn(*args, **kwargs)
        key, tensors, objects = signature(args, kwargs)
        entries = self.plans.get(key)
        if entries is not None:
            for entry in entries:
                if entry.modules.holds():
                    return entry.replay(tensors)
            changed = entries[-1].modules.what_changed()
        elif self._last is not None:
            changed = what_changed(self._last, key, self._names)
        else:
            changed = None
        return self._capture(key, tensors, objects, args, kwargs, changed)

    def _capture(self, key, tensors, objects, args, kwargs, changed):
        self.captures += 1
        self._last = key
        if changed is None:
            log.info("compile: capturing %s", self.__qualname__)
        else:
            log.info("compile: capturing %s again (%d): %s", self.__qualname__,
                     self.captures, changed)
        if changed is not None and self.captures > self.warn_after \
                and self.captures >= 2 * self._warned_at:
            self._warned_at = self.captures
            warnings.warn(f"compile: {self.__qualname__} has been captured {self.captures} "
                          f"times; the guard that keeps changing: {changed}. Each capture "
                          "runs eagerly and builds a new plan: pass what changes as a tensor, "
                          "or do not compile this function", RuntimeWarning, stacklevel=3)
        capture = Capture(self.__qualname__)
        with capturing(capture), trace(backward="vjp") as program:
            result = self.fn(*args, **kwargs)
        entry = Entry(program, tensors, result, capture.modules.values(), objects,
                      capture.made)
        entries = self.plans.pop(key, [])[-(self.max_per_signature - 1):]
        self.plans[key] = entries + [entry]       # the newest signature last
        if len(self.plans) > self.max_signatures:
            del self.plans[next(iter(self.plans))]
        return result


class Entry:
    """One captured call: its plan, the structure of its result, its guards."""

    def __init__(self, program, tensors, result, modules, objects, created):
        self.objects = objects   # guarded by identity: kept alive so ids stay unique
        inputs = [program.value(t) for t in tensors]
        self.n_inputs = len(tensors)
        outputs = []
        self.template = _template(result, program, tensors, outputs, created)
        self.out_grad = [_requires_grad(program, v) for v in outputs]
        # Outputs that need grad from a call that ran no backward: plan the backward too.
        self.backward = None
        if any(self.out_grad) and not any(s.op == "VJP" for s in program.steps):
            self.backward = trace_backward(
                program, [v for v, rg in zip(outputs, self.out_grad) if rg], tensors)
        split = None
        n_forward = len(outputs)
        if self.backward is not None:
            seeds, wrt, grads, first = self.backward
            self.wrt_args = [j for j, t in enumerate(tensors) if t._requires_grad]
            self.wrt_bound = wrt[len(self.wrt_args):]
            self.grad_slots = [g is not None for g in grads]
            split = (first, seeds, n_forward)
            outputs = outputs + [g for g in grads if g is not None]
            self.metas = [(tuple(program.tensor_of(v)._array.shape),
                           program.tensor_of(v)._array.dtype,
                           get_array_module(program.tensor_of(v)._array))
                          for v, rg in zip(outputs[:n_forward], self.out_grad) if rg]
        self.plan = Plan(program, inputs, outputs, created=created, simplify=True, split=split)
        # What the plan reads from outside, except the .grad it reads live.
        bound = [t for t in self.plan.bound.values() if isinstance(t, Tensor)]
        grads = {id(t._grad) for t in bound if t._grad is not None}
        self.modules = ModuleGuard(modules, [t for t in bound if id(t) not in grads])
        self.plan.forget_trace()  # the captured call's tensors are not kept alive

        self._fn = self.plan._fn
        self._single = self.template == ("out", 0)   # one tensor made by the plan
        # Grad mode need not be switched off for a replay that runs on arrays alone.
        self._plain = self.plan.array_only and self.backward is None

    def replay(self, tensors):
        if self._plain:  # arrays only, no backward to hand out: grad mode left as it is
            try:
                out = self._fn(None, tensors)   # None: the plan reads the tensors' arrays
            except (ValueError, TypeError, IndexError, ArithmeticError, RuntimeError) as exc:
                raise self.plan._named(exc) from None
            return self._outputs(out, tensors)
        state = _state
        enabled, state.enabled = state.enabled, False   # the replay records no graph
        try:
            out = self._fn(None, tensors)
            if self.backward is not None:  # a generator: the forward, up to its yield
                gen, out = out, next(out)
        except (ValueError, TypeError, IndexError, ArithmeticError, RuntimeError) as exc:
            raise self.plan._named(exc) from None
        finally:
            state.enabled = enabled
        if self.backward is not None:
            return self._with_backward(gen, out, tensors)
        return self._outputs(out, tensors)

    def _outputs(self, out, tensors):
        if self._single:
            return _make(out[0], True, _NoGraph()) if self.out_grad[0] else _make(out[0])
        fresh = [_make(a, True, _NoGraph()) if rg else _make(a, False, None)
                 for a, rg in zip(out, self.out_grad)]
        return _fill(self.template, fresh, tensors)

    def _with_backward(self, gen, out, tensors):
        """The outputs, those that need grad on one ``CompiledBackward`` node."""
        wrt = [tensors[j] for j in self.wrt_args] + self.wrt_bound
        node = CompiledBackward(gen, wrt, self.metas, self.plan._named)
        slots = self.grad_slots

        def grads_for_args(grads):
            it = iter(grads)
            return [next(it) if present else None for present in slots]
        node.arrange = grads_for_args
        fresh, k = [], 0
        for a, rg in zip(out, self.out_grad):
            if rg:
                t = _make(a, True, node)
                t._output_nr = k
                k += 1
            else:
                t = _make(a)
            fresh.append(t)
        return _fill(self.template, fresh, tensors)


def _requires_grad(program, v):
    t = program.tensor_of(v)
    return isinstance(t, Tensor) and t._requires_grad


def _template(result, program, tensors, outputs, created):
    """The result with each Tensor replaced by a slot: ("out", i) a new tensor from the
    plan's i-th output, ("arg", j) the j-th argument tensor itself, ("same", t) a tensor
    from outside (a parameter), returned as it is."""
    if isinstance(result, Tensor):
        for j, t in enumerate(tensors):
            if t is result:
                return ("arg", j)
        v = program._values.get(id(result))
        if v is None and id(result) in created:  # created inside, no op read it
            v = program.value(result)
        if v is None or not _made(program, v) and id(result) not in created:
            return ("same", result)   # from outside (a parameter): returned as it is
        outputs.append(v)
        return ("out", len(outputs) - 1)
    if isinstance(result, (tuple, list)):
        items = [_template(r, program, tensors, outputs, created) for r in result]
        return ("seq", type(result), items)
    if isinstance(result, dict):
        return ("dict", [(k, _template(r, program, tensors, outputs, created))
                         for k, r in result.items()])
    return ("const", result)


def _made(program, v):
    return any(o is v for s in program.steps for o in s.outputs)


def _fill(template, fresh, tensors):
    kind = template[0]
    if kind == "out":
        return fresh[template[1]]
    if kind == "arg":
        return tensors[template[1]]
    if kind in ("same", "const"):
        return template[1]
    if kind == "seq":
        items = [_fill(t, fresh, tensors) for t in template[2]]
        cls = template[1]
        return tuple(items) if cls is tuple else cls(items) if cls is list else cls(*items)
    return {k: _fill(t, fresh, tensors) for k, t in template[1]}


class _NoGraph(CompileNode):
    """The grad_fn of a replayed output that requires grad: the replay built no graph."""

    def __init__(self):
        self.args = ()
        self.freed = False
        self._post_hooks = None

    def vjp(self, grad, create_graph):
        raise RuntimeError(
            "compile: backward through the output of a replayed compiled function: the "
            "replay builds no graph. Call backward inside the compiled function (compile "
            "the whole training step), or do not compile this function")

