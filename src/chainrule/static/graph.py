"""Define-and-run, the lectures' TensorFlow way: build the graph once, then run it on feeds.

Inside ``with graph:`` the ordinary chainrule API builds a graph instead of computing a
result: placeholders stand for the data fed later, variables for the weights (Parameters,
which keep their values between runs), and every op is recorded (by the trace,
``chainrule.autograd.tracing``, with ``backward="vjp"``). ``graph.gradients(loss, [w])``
adds the derivative graph to the same graph -- one vector-Jacobian step per op, gradients
summed over paths -- and ``graph.run(fetches, feed)`` evaluates only what the fetches need.

    >>> g = cr.static.Graph()
    >>> with g:
    ...     x = g.placeholder("x", (None, 2))          # None: any batch size
    ...     w = g.variable("w", [[1.0], [2.0]])
    ...     loss = (x @ w).tanh().mean()
    ...     (dw,) = g.gradients(loss, [w])
    ...     train = g.assign_sub(w, 0.1 * dw)
    >>> g.run(loss, feed={x: np.ones((3, 2), np.float32)})       # doctest: +ELLIPSIS
    array(0.995..., dtype=float32)
    >>> for _ in range(10):
    ...     _ = g.run(train, feed={"x": np.ones((5, 2), np.float32)})   # w changes in place

While the graph is built the ops run once on stand-in values (placeholders hold 0.5, or 0
for integers, and a free dimension the size ``free_size``), so shapes are checked and every
op's rule is recorded, but those values mean nothing: read them through ``run``. An op
whose constants were made from the stand-in size (``x.reshape(x.shape[0], -1)``, an LSTM's
default initial state) or from a placeholder's own array is refused by ``run`` with the op's
name rather than run on a new feed with a stale constant (``chainrule.static.free_dims``).

Limits, as in any define-and-run framework: Python that reads a value while the graph is
built (``.item()``, ``if x.sum() > 0:``, a library function that computes indices in Python,
such as ``max(dim)``'s) freezes what it read. Over a free dimension such constants are
recognised by their size and refused; over fixed sizes they are not, so give the batch
dimension None. ``backward()`` and updates in place while building are refused (use
``gradients`` and ``assign``); tensor hooks do not run in ``gradients``.
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np

from ..autograd import grad_mode, tracing
from ..autograd.graph import backprop, seed_gradient
from ..backend import get_default_dtype
from ..backend.dtype import dtype as _cr_dtype, of_numpy
from ..nn.parameter import Parameter
from ..tensor import Tensor, _make
from . import free_dims, higher
from .plan import Plan

#: The size a free (None) dimension has while the graph is built: an odd size that shapes
#: rarely have, so that a constant made from it can be recognised (``free_dims``).
FREE_SIZE = 37

# Steps of the derivative graph (``backward="vjp"``); the other steps without a node are
# side effects (updates in place, ``.grad`` accumulation, optimizer steps).
DERIVATIVE_STEPS = higher.DERIVATIVE_STEPS

# Ops that change state (buffers) when their forward runs, not only their outputs.
_STATE_UPDATES = ("UpdateRunningStats",)

_MAX_PLANS = 64   # plans kept per graph (one per fetch set and feed shapes)


class Placeholder(Tensor):
    """A graph input that ``Graph.run`` feeds; inside the graph a stand-in Tensor.

    ``declared_shape`` has None for a free dimension. Made by ``Graph.placeholder``.
    """

    __slots__ = ("declared_shape",)

    def __repr__(self):
        return (f"<placeholder {self.name!r}: shape {shape_text(self.declared_shape)}, "
                f"{self.dtype}>")


@dataclasses.dataclass(eq=False)
class Update:
    """Updates of variables (``assign``, ``assign_sub``, ``minimize``, ``group``): recorded,
    not done, while the graph is built; done when ``run`` fetches them (fetched as None)."""

    name: str
    steps: tuple   # the recorded steps, in order

    def __repr__(self):
        return f"<update {self.name}: {len(self.steps)} step(s)>"


@dataclasses.dataclass(eq=False)
class Gradients:
    """One ``Graph.gradients`` call, for the pictures: what was differentiated with respect
    to what, the gradient Tensors, and the range of steps it added."""

    ys: list
    xs: list
    results: list
    first_step: int
    last_step: int


class Graph:
    """A static graph: placeholders, variables, ops, derivatives and updates; ``run`` it.

    ``free_size`` is the stand-in size of the free (None) dimensions while the graph is built.
    """

    def __init__(self, free_size: int = FREE_SIZE):
        if not isinstance(free_size, int) or free_size < 2:
            raise ValueError(f"Graph: free_size must be an int >= 2, got {free_size!r}")
        self.program = tracing.Program(backward="vjp")
        self.free_size = free_size
        self.placeholders: dict = {}   # name -> Placeholder, in order of creation
        self.variables: dict = {}      # name -> Parameter
        self.gradient_calls: list = []  # Gradients records, in order
        self._update_steps: set = set()   # ids of the steps made by assign/...
        self._plans: dict = {}
        self._selections: dict = {}
        self._saved: list = []
        self._derived = higher.Derived(self.program)   # values made by derivative steps

    # --- building ---------------------------------------------------------------------------
    def __enter__(self):
        state = grad_mode.state
        if state.tracer is not None and state.tracer is not self.program:
            raise RuntimeError("Graph: cannot build a static graph inside another trace "
                               "(cr.autograd.trace or cr.compile)")
        errors = np.errstate(all="ignore")   # stand-in values: their nans mean nothing
        errors.__enter__()
        self._saved.append((state.tracer, state.enabled, errors, len(self.program.steps)))
        state.tracer, state.enabled = self.program, True
        return self

    def __exit__(self, exc_type, exc, tb):
        state = grad_mode.state
        tracer, enabled, errors, first = self._saved.pop()
        state.tracer, state.enabled = tracer, enabled
        errors.__exit__(None, None, None)
        if exc_type is None:
            self._refuse_side_effects(first)
        return False

    def _building(self, what):
        if grad_mode.state.tracer is not self.program:
            raise RuntimeError(f"Graph.{what}: call it inside `with graph:` (it adds to the graph)")

    def placeholder(self, name: str, shape, dtype=None, requires_grad: bool = False):
        """An input fed by ``run``: ``shape`` a tuple with None for a free dimension.

        ``requires_grad=True`` lets ``gradients`` differentiate with respect to it.
        """
        self._new_name("placeholder", name)
        shape = tuple(shape) if isinstance(shape, (tuple, list)) else (shape,)
        for d in shape:
            if d is not None and (not isinstance(d, (int, np.integer)) or isinstance(d, bool)
                                  or d < 0):
                raise ValueError(f"Graph.placeholder {name!r}: shape must hold sizes >= 0 or "
                                 f"None, got {shape}")
            if d == self.free_size:
                raise ValueError(
                    f"Graph.placeholder {name!r}: size {d} is the stand-in size of the free "
                    f"dimensions; make the graph with another, cr.static.Graph(free_size=...)")
        np_dtype = _numpy_dtype(get_default_dtype() if dtype is None else dtype)
        if requires_grad and np_dtype.kind not in "fc":
            raise TypeError(f"Graph.placeholder {name!r}: only a floating-point placeholder "
                            f"can require grad, not {np_dtype}")
        concrete = tuple(self.free_size if d is None else int(d) for d in shape)
        fill = 0.5 if np_dtype.kind in "fc" else 0
        p = Placeholder.__new__(Placeholder)
        p._init(np.full(concrete, fill, np_dtype), requires_grad=requires_grad)
        p.name = name
        p.declared_shape = tuple(None if d is None else int(d) for d in shape)
        self.placeholders[name] = p
        self.program.value(p)
        return p

    def variable(self, name: str, value, requires_grad: bool = True):
        """A weight kept between runs: a Parameter made from ``value``, or ``value`` itself
        when it is a leaf tensor such as a module's ``nn.Parameter`` (shared, not copied)."""
        self._new_name("variable", name)
        if isinstance(value, Tensor):
            if value.grad_fn is not None:
                raise ValueError(f"Graph.variable {name!r}: a variable is a leaf; got a tensor "
                                 f"made by {value.grad_fn.name} (pass value.detach())")
            p = value
            if requires_grad and not p._requires_grad:
                p.requires_grad_(True)
        else:
            p = Parameter(Tensor._of(value)._array.copy(), requires_grad=requires_grad)
        if getattr(p, "name", None) is None:
            p.name = name
        self.variables[name] = p
        self.program.value(p)
        return p

    def _new_name(self, what, name):
        if not isinstance(name, str) or not name:
            raise TypeError(f"Graph.{what}: the name must be a non-empty str, got {name!r}")
        if name in self.placeholders or name in self.variables:
            raise ValueError(f"Graph.{what}: the graph already has a value named {name!r}")

    def gradients(self, ys, xs, grad_ys=None):
        """The derivative graph: d(sum of ``ys``)/dx for each x of ``xs``, as graph values.

        Built inside this graph from one VJP step per op (the engine's walker, recorded), so
        ``run`` evaluates it like any value, and it can be differentiated again (second
        derivatives). ``grad_ys``: weights of the ``ys`` (the VJP's vector), default ones.
        An x that the ys do not depend on gets None, as in TensorFlow.
        """
        self._building("gradients")
        single = isinstance(xs, Tensor)
        xs = [xs] if single else list(xs)
        ys = [ys] if isinstance(ys, Tensor) else list(ys)
        if grad_ys is None:
            grad_ys = [None] * len(ys)
        elif isinstance(grad_ys, Tensor) or not isinstance(grad_ys, (list, tuple)):
            grad_ys = [grad_ys]
        if len(grad_ys) != len(ys):
            raise ValueError(f"Graph.gradients: {len(grad_ys)} grad_ys for {len(ys)} ys")
        for i, x in enumerate(xs):
            if not isinstance(x, Tensor):
                raise TypeError(f"Graph.gradients: xs[{i}] is a {type(x).__name__}, not a Tensor")
            self._known(x, f"xs[{i}]", "Graph.gradients")
            if not x._requires_grad:
                hint = (" (make it with requires_grad=True)" if isinstance(x, Placeholder)
                        else "")
                raise ValueError(f"Graph.gradients: xs[{i}] ({describe(x)}) does not require "
                                 f"grad{hint}")
        first = len(self.program.steps)
        roots = []
        for i, (y, gy) in enumerate(zip(ys, grad_ys)):
            if not isinstance(y, Tensor):
                raise TypeError(f"Graph.gradients: ys[{i}] is a {type(y).__name__}, not a Tensor")
            self._known(y, f"ys[{i}]", "Graph.gradients")
            if y._array.dtype.kind not in "fc":
                raise TypeError(f"Graph.gradients: ys[{i}] has dtype {y.dtype}; only "
                                "floating-point values have gradients")
            # A weighted or non-scalar y is summed by an op of the graph, so that the seed is a
            # scalar 1 whatever the batch size (a seed array would freeze the stand-in shape).
            if gy is not None:
                y = (y * gy).sum()
            elif y._array.size != 1 or y.ndim:
                y = y.sum()
            roots.append(y)
        roots = higher.differentiable(self._derived, roots)
        roots = [r for r in roots if r._requires_grad]
        grads = _backprop(self.program, roots, xs) if roots else [None] * len(xs)
        self._refuse_outside_nodes(first)
        results = []
        for x, g in zip(xs, grads):
            if g is None:
                results.append(None)
                continue
            t = _make(np.asarray(g) if isinstance(g, np.generic) else g, False, None)
            self.program.alias(t, g)
            xname = getattr(x, "name", None)
            if xname:
                t.name = f"grad_{xname}"
            results.append(t)
        self.gradient_calls.append(Gradients(ys, xs, results, first, len(self.program.steps)))
        return results[0] if single else results

    # --- updates ----------------------------------------------------------------------------
    def assign(self, variable, value) -> Update:
        """``variable = value`` when ``run`` fetches the returned update."""
        return self._update("copy_", variable, value, "assign")

    def assign_add(self, variable, value) -> Update:
        """``variable += value`` when fetched."""
        return self._update("add_", variable, value, "assign_add")

    def assign_sub(self, variable, value) -> Update:
        """``variable -= value`` when fetched (gradient descent: ``assign_sub(w, lr * dw)``)."""
        return self._update("sub_", variable, value, "assign_sub")

    def group(self, *updates, name: str = "group") -> Update:
        """One update that does ``updates`` in order."""
        steps = []
        for u in updates:
            if not isinstance(u, Update):
                raise TypeError(f"Graph.group: expected updates, got {type(u).__name__}")
            steps.extend(u.steps)
        return Update(name, tuple(steps))

    def minimize(self, loss, lr: float, variables=None) -> Update:
        """One step of gradient descent on ``loss``: ``w -= lr * dloss/dw`` for every variable
        (default: all of this graph's variables that require grad), as one update."""
        self._building("minimize")
        if variables is None:
            variables = [v for v in self.variables.values() if v._requires_grad]
        variables = list(variables)
        grads = self.gradients(loss, variables)
        # w.sub_(g, alpha=lr): rounded once, as optim.SGD's step (and torch's) rounds it
        updates = [self._update("sub_", v, g, "minimize", alpha=lr)
                   for v, g in zip(variables, grads) if g is not None]
        return self.group(*updates, name="minimize")

    def _update(self, op, variable, value, method, **attrs):
        self._building(method)
        if not isinstance(variable, Tensor) or variable.grad_fn is not None:
            raise TypeError(f"Graph.{method}: the target must be a variable (a leaf tensor), "
                            f"got {describe(variable)}")
        self._known(variable, "the target", f"Graph.{method}")
        if not isinstance(value, Tensor):   # a constant
            value = Tensor._of(np.asarray(value, dtype=variable._array.dtype))
        if not _broadcasts_to(value._array.shape, variable._array.shape):
            raise ValueError(f"Graph.{method}: a value of shape {tuple(value.shape)} cannot "
                             f"update a variable of shape {tuple(variable.shape)}")
        # Recorded, not done: the update runs when fetched (the graph's values are stand-ins).
        step = self.program.add(op, [variable, value], attrs, [])
        self._update_steps.add(id(step))
        return Update(f"{op}({getattr(variable, 'name', None) or 'variable'})", (step,))

    def _known(self, t, what, where):
        if self.program.find(t) is None:
            raise ValueError(f"{where}: {what} ({describe(t)}) is not a value of this graph; "
                             "make it inside `with graph:` from its placeholders and variables")

    def _refuse_side_effects(self, first):
        """Updates done while the graph was built ran on stand-in values: say so loudly."""
        for s in self.program.steps[first:]:
            if s.args is not None and not s.outputs and s.op in _STATE_UPDATES:
                warnings.warn(
                    f"Graph: {s.op} (step {s.index}) updated its state once while the graph was "
                    "built, on the placeholders' stand-in values (batch norm's running "
                    "statistics); it updates them again at every run that computes its layer. "
                    "Reset them (module.reset_running_stats()) if that first update matters, "
                    "or build the graph with the module in eval() mode", stacklevel=3)
                continue
            if s.args is not None or s.op in DERIVATIVE_STEPS or id(s) in self._update_steps:
                continue
            if s.op in ("Backward",):
                continue
            target = self.program.tensor_of(s.inputs[0]) if s.inputs else None
            if s.op in ("AccumulateGrad", "zero_grad") or s.op.endswith(".step") or (
                    isinstance(target, Tensor) and (isinstance(target, Placeholder)
                                                    or target._requires_grad)):
                raise RuntimeError(
                    f"Graph: {s.op} ran while the graph was being built (step {s.index}), on "
                    "the placeholders' stand-in values; in a static graph an update is an op "
                    "that runs when fetched: use graph.gradients instead of backward(), and "
                    "graph.assign / assign_sub / minimize instead of updating in place")

    def _refuse_outside_nodes(self, first):
        for s in self.program.steps[first:]:
            if s.op == "VJP" and s.of is None:
                raise ValueError(
                    f"Graph.gradients: the gradient goes through {s.node.name}, an op computed "
                    "outside `with graph:`; build the whole computation inside the graph "
                    "(bring outside tensors in as variables or placeholders)")

    # --- running ----------------------------------------------------------------------------
    def run(self, fetches, feed=None):
        """Evaluate ``fetches`` (a value, an update, or a list/tuple/dict of them) on ``feed``
        (placeholder or its name -> array); returns NumPy arrays in the same structure
        (None for an update). Only the steps the fetches need run."""
        flat, rebuild = _flatten(fetches)
        outputs, updates = [], []
        for i, f in enumerate(flat):
            if isinstance(f, Update):
                updates.append(f)
            elif isinstance(f, Tensor):
                v = self.program.find(f)
                if v is None:
                    raise ValueError(f"Graph.run: fetch {i} ({describe(f)}) is not a value of "
                                     "this graph; make it inside `with graph:`")
                outputs.append(v)
            else:
                raise TypeError(f"Graph.run: fetch {i} is a {type(f).__name__}; fetch graph "
                                "values (Tensors made in the graph) or updates")
        steps, needed = self._selection(outputs, updates)
        arrays = self._feed_arrays(needed, feed)
        key = (tuple(v.index for v in outputs), tuple(id(u) for u in updates),
               tuple(a.shape for a in arrays))
        plan = self._plans.get(key)
        if plan is None:
            free_dims.check(self, steps, needed, arrays)
            sub = dataclasses.replace(self.program, steps=steps)
            plan = Plan(sub, [self.program.find(p) for p in needed], outputs,
                        fixed_shapes=False)  # traced on stand-in sizes
            if len(self._plans) >= _MAX_PLANS:
                self._plans.clear()
            self._plans[key] = plan
        try:
            results = plan.run(arrays)
        except (ValueError, TypeError, IndexError, RuntimeError) as exc:
            raise _run_error(exc, needed, arrays) from exc
        results = iter([np.array(r) for r in results])   # fresh arrays, never the graph's own
        return rebuild([None if isinstance(f, Update) else next(results) for f in flat])

    def steps_for(self, fetches) -> list:
        """The steps ``run(fetches)`` evaluates, in order (what a fetch costs)."""
        flat, _ = _flatten(fetches)
        outputs = [self.program.find(f) for f in flat if isinstance(f, Tensor)]
        if any(v is None for v in outputs):
            raise ValueError("Graph.steps_for: a fetch is not a value of this graph")
        return self._selection(outputs, [f for f in flat if isinstance(f, Update)])[0]

    def _selection(self, outputs, updates):
        """The steps the fetches need, in program order, and the placeholders they read."""
        key = (tuple(v.index for v in outputs), tuple(id(u) for u in updates),
               len(self.program.steps))
        hit = self._selections.get(key)
        if hit is not None:
            return hit
        wanted = {v.index for v in outputs}
        chosen = {id(s) for u in updates for s in u.steps}
        kept = []
        for s in reversed(self.program.steps):
            if id(s) in chosen:
                pass
            elif s.outputs:
                if not any(v is not None and v.index in wanted for v in s.outputs):
                    continue
            elif not (s.args is not None and any(v.index in wanted for v in s.inputs)):
                # An op without outputs that reads what the fetches need runs with them: a
                # check (a target's range), a side effect (batch norm's running statistics).
                continue
            kept.append(s)
            wanted.update(v.index for v in s.inputs)
            if s.args is not None:
                wanted.update(a.index for a in s.args if type(a) is tracing.Value)
            if s.of is not None:   # a VJP needs the node of its forward step
                wanted.update(v.index for v in s.of.outputs if v is not None)
                wanted.update(a.index for a in s.of.args if type(a) is tracing.Value)
        kept.reverse()
        needed = [p for p in self.placeholders.values()
                  if self.program.find(p).index in wanted]
        if len(self._selections) >= _MAX_PLANS:
            self._selections.clear()
        self._selections[key] = (kept, needed)
        return kept, needed

    def _feed_arrays(self, needed, feed):
        given = {}
        for k, value in (feed or {}).items():
            p = self.placeholders.get(k) if isinstance(k, str) else k
            if not isinstance(p, Placeholder) or self.placeholders.get(p.name) is not p:
                raise ValueError(f"Graph.run: feed key {k!r} is not a placeholder of this graph "
                                 f"(its placeholders: {list(self.placeholders)})")
            given[p.name] = value
        arrays = []
        for p in needed:
            if p.name not in given:
                raise ValueError(f"Graph.run: placeholder {p.name!r} (shape "
                                 f"{shape_text(p.declared_shape)}, {p.dtype}) is needed by the "
                                 f"fetches but was not fed; pass feed={{{p.name!r}: array}}")
            arrays.append(_feed_array(p, given[p.name]))
        return arrays

    def __repr__(self):
        return (f"<cr.static.Graph: {len(self.placeholders)} placeholders, "
                f"{len(self.variables)} variables, {len(self.program.steps)} steps>")


def _backprop(program, roots, xs):
    """The engine's walker from ``roots``, recorded step by step (``backward="vjp"``), with a
    sink that returns the xs' gradients and records their sums over paths."""
    sink = _Sink(program, xs)
    seeds = [seed_gradient(r, None, False, "Graph.gradients") for r in roots]
    backprop(roots, seeds, sink, retain_graph=True, create_graph=False)
    return [sink.grads.get(id(x)) for x in xs]


class _Sink:
    """Where the walker hands the gradients of the xs (leaves and, through ``capture``, values
    made in the graph); a leaf reached along several paths gets an ``AddGrad`` step."""

    def __init__(self, program, xs):
        self.program = program
        self.wanted = {id(x) for x in xs}
        self.nonleaf = {}
        for x in xs:
            if x.grad_fn is not None:
                self.nonleaf.setdefault(x.grad_fn, []).append(x)
        self.owned = set()
        self.grads = {}

    def leaf(self, t, grad):
        k = id(t)
        if k not in self.wanted:
            return
        prev = self.grads.get(k)
        if prev is None:
            self.grads[k] = grad
            return
        total = prev + grad
        self.program.add("AddGrad", [prev, grad], {}, [total])
        self.grads[k] = total

    capture = leaf

    def flush(self):
        pass


def _broadcasts_to(shape, target):
    if len(shape) > len(target):
        return False
    return all(a in (1, b) for a, b in zip(reversed(shape), reversed(target)))


def _feed_array(p, value):
    """The fed value as an array of ``p``'s dtype and shape, or an error naming ``p``."""
    want = p._array.dtype
    if isinstance(value, Tensor):
        arr = value._array
    elif hasattr(value, "dtype") and hasattr(value, "shape"):
        arr = np.asarray(value)
    else:  # Python numbers and lists take the placeholder's dtype
        try:
            arr = np.asarray(value, dtype=want)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"Graph.run: placeholder {p.name!r} cannot be fed {value!r}: "
                            f"{exc}") from None
    if arr.dtype != want:
        raise TypeError(f"Graph.run: placeholder {p.name!r} has dtype {p.dtype}, fed an array "
                        f"of dtype {of_numpy(arr.dtype)} (convert it: .astype({want.name!r}))")
    declared = p.declared_shape
    if arr.ndim != len(declared):
        raise ValueError(f"Graph.run: placeholder {p.name!r} has shape {shape_text(declared)} "
                         f"(rank {len(declared)}), fed an array of shape {arr.shape} "
                         f"(rank {arr.ndim})")
    for i, (d, n) in enumerate(zip(declared, arr.shape)):
        if d is not None and d != n:
            raise ValueError(f"Graph.run: placeholder {p.name!r} has shape "
                             f"{shape_text(declared)}, fed an array of shape {arr.shape} "
                             f"(dimension {i} must be {d})")
    return arr


def _run_error(exc, needed, arrays):
    """An error of a replayed op, with the op and the feeds' shapes added."""
    where = ""
    tb = exc.__traceback__
    while tb is not None:   # the plan's frame that ran the failing step, if it is named
        step = tb.tb_frame.f_locals.get("s")
        if isinstance(step, tracing.Step):
            where = f" (in {step.op}, step {step.index})"
        tb = tb.tb_next
    feeds = ", ".join(f"{p.name}: {a.shape}" for p, a in zip(needed, arrays))
    cls = type(exc) if type(exc) in (ValueError, TypeError, IndexError, RuntimeError) else \
        RuntimeError
    return cls(f"Graph.run: {exc}{where}; feeds {{{feeds}}}")


def _flatten(fetches):
    """The fetches (nested lists, tuples and dicts of them) as a flat list, and a function
    that puts results back in that structure."""
    if isinstance(fetches, (dict, list, tuple)):
        items = list(fetches.values() if isinstance(fetches, dict) else fetches)
        parts = [_flatten(f) for f in items]
        flat = [f for part, _ in parts for f in part]

        def rebuild(results):
            out, k = [], 0
            for part, put_back in parts:
                out.append(put_back(results[k:k + len(part)]))
                k += len(part)
            if isinstance(fetches, dict):
                return dict(zip(fetches, out))
            return tuple(out) if isinstance(fetches, tuple) else out

        return flat, rebuild
    return [fetches], lambda r: r[0]


def _numpy_dtype(dtype):
    if isinstance(dtype, _cr_dtype):
        return np.dtype(dtype.dtype)
    return np.dtype(dtype)


def shape_text(shape) -> str:
    """``(None, 2)``: a shape with its free dimensions."""
    inner = ", ".join("None" if d is None else str(d) for d in shape)
    return f"({inner}{',' if len(shape) == 1 else ''})"


def describe(t) -> str:
    if isinstance(t, Placeholder):
        return f"placeholder {t.name!r}"
    if isinstance(t, Tensor):
        name = getattr(t, "name", None)
        return (f"{'tensor ' + repr(name) + ' ' if name else 'a tensor '}of shape "
                f"{tuple(t.shape)}")
    return type(t).__name__
