"""Graph nodes: the lectures' "gates", each a forward and its backward side by side.

Two kinds of node share one protocol with the engine (``args`` and ``vjp``):

* ``Op`` -- chainrule's own primitives. ``forward(self, *values)`` runs on raw arrays;
  ``backward(self, grad, *values)`` returns one gradient per argument (a vector-Jacobian
  product, never a Jacobian). ``values`` are the forward's arguments again: raw arrays on the
  fast first-order path, Tensors when ``create_graph=True``. A rule is therefore written with
  operators and the helpers of ``chainrule.ops.either`` that work on both, and the same code
  gives second derivatives. Anything a rule keeps on ``self`` in forward must be either a
  constant of the graph (a mask, an index, a shape) or a cache it can recompute, listed in
  ``caches`` so that it is dropped once backward has run.
* ``Function`` -- the PyTorch-style user op: static ``forward(ctx, ...)`` and
  ``backward(ctx, *grad_outputs)`` on Tensors, ``ctx.save_for_backward``.

    >>> class Cube(cr.autograd.Function):
    ...     @staticmethod
    ...     def forward(ctx, x):
    ...         ctx.save_for_backward(x)
    ...         return x ** 3
    ...     @staticmethod
    ...     def backward(ctx, grad):
    ...         (x,) = ctx.saved_tensors
    ...         return grad * 3 * x ** 2
"""

from __future__ import annotations

import numpy as np

from ..backend import get_array_module
from ..tensor import Tensor, _make
from . import grad_mode
from . import tracing as _trace
from ..errors import InvalidArgument, InvalidType

_new = object.__new__
_state = grad_mode.state
_tracing_threads = grad_mode.tracing_threads
_generic = np.generic
_ndarray = np.ndarray


class OpName(str):
    """A node's name as chainrule's messages use it (``"mul"``), which, called, gives the
    name torch's ``grad_fn.name()`` returns (``"MulBackward0"``).

        >>> g = (cr.ones(2, requires_grad=True) * 2).grad_fn
        >>> f"{g.name}: ...", g.name()
        ('mul: ...', 'MulBackward0')
    """

    def __new__(cls, value, node):
        name = super().__new__(cls, value)
        name._node = node
        return name

    def __call__(self):
        return repr(self._node)[1:-1]


class _NameAttribute:
    """A node class's own ``name`` (a string, or a function of the node): the string on the
    class, as it was written; an ``OpName`` on a node."""

    def __init__(self, value=None, fget=None):
        self.value, self.fget = value, fget

    def __get__(self, node, owner=None):
        if node is None:
            return self if self.fget is not None else self.value
        return OpName(self.value if self.fget is None else self.fget(node), node)


class Node:
    """One recorded operation. ``args`` are its forward's arguments (Tensors and constants)."""

    # Slots keep a node cheap; ops may still set extra attributes (``__dict__``) for caches.
    # holds_big: whether ``release`` will find something big to free, noted by ``vjp`` while
    # it reads the arguments anyway; a node type whose vjp does not note it gets looked at.
    __slots__ = ("args", "version", "freed", "_post_hooks", "holds_big", "__dict__",
                 "__weakref__")

    n_outputs = 1
    # True when backward reads the output array itself (exp, sigmoid, ...): modifying the output
    # in place then invalidates the node, as the version check does for inputs.
    saves_output = False
    # Attributes that only speed up backward (recomputable), dropped once backward has run.
    caches: tuple = ()
    # False for ops whose output has no gradient (random masks, statistics, checks).
    differentiable = True

    # PyTorch's name for the node, shown in ``grad_fn=<MulBackward0>``. None means the class
    # name + "Backward0", which is PyTorch's for most ops; an op whose PyTorch name differs
    # sets it (``CumSum``: "CumsumBackward0"), as a property where it depends on the inputs.
    torch_name = None

    # The op's name as the user wrote it, e.g. ``mul`` (error messages use it); called,
    # torch's ``grad_fn.name()``, e.g. ``MulBackward0`` (see ``OpName``). An op may name
    # itself otherwise, with a string or a property (made an OpName by __init_subclass__).
    name = _NameAttribute(fget=lambda node: type(node).__name__.lower())

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        own = cls.__dict__.get("name")
        if isinstance(own, str):
            cls.name = _NameAttribute(own)
        elif isinstance(own, property):
            cls.name = _NameAttribute(fget=own.fget)

    def __repr__(self):
        return f"<{self.torch_name or type(self).__name__ + 'Backward0'}>"

    @property
    def next_functions(self):
        """Where the gradient goes next, as torch lists it: per Tensor input, (the node that
        made it, which of its outputs), ``(AccumulateGrad, 0)`` for a leaf that requires
        grad, ``(None, 0)`` for one that does not.

            >>> x = cr.ones(2, requires_grad=True)
            >>> (x * 2).exp().grad_fn.next_functions
            ((<MulBackward0>, 0),)
        """
        edges = []
        for a in self.args:
            if isinstance(a, Tensor):
                if a.grad_fn is not None:
                    edges.append((a.grad_fn, a._output_nr))
                elif a._requires_grad:
                    edges.append((AccumulateGrad(a), 0))
                else:
                    edges.append((None, 0))
        return tuple(edges)

    # --- the engine's side -------------------------------------------------------------
    def inputs(self):
        """The Tensor arguments, in order (constants left out)."""
        return [a for a in self.args if isinstance(a, Tensor)]

    def release(self):
        """Free what forward saved, once backward has run (without ``retain_graph``).

        Caches go, and every tensor argument of at least ``RELEASE_MIN_SIZE`` elements except
        the leaves that require grad (the parameters, alive anyway) is replaced by a
        ``Released`` placeholder of the same shape, dtype and ``grad_fn`` that holds no memory:
        the graph's structure stays walkable for inspection, its activations are freed.
        Smaller arrays are kept: making their placeholders would cost more time (a few
        microseconds a step on a tiny MLP) than their memory is worth.
        """
        self.freed = True
        if self.caches:
            for name in self.caches:
                self.__dict__.pop(name, None)
        # What vjp saw (True, "look", where it noted nothing): most nodes of a small model
        # hold nothing big.
        if getattr(self, "holds_big", True):
            self._release_args()

    def _release_args(self):
        """Replace the big saved arguments by placeholders (see ``release``)."""
        replaced = False
        kept = []
        for a in self.args:  # runs once per node of every backward: kept cheap
            if isinstance(a, Tensor):
                arr = a._array
                # Parameters are alive anyway; small arrays cost more time than memory.
                if arr.size < RELEASE_MIN_SIZE or (a._requires_grad and a.grad_fn is None) \
                        or type(a) is Released:
                    kept.append(a)
                    continue
                t = _new(Released)
                stub = _EMPTY.get((arr.shape, arr.dtype, type(arr)))
                t._array = _no_memory(arr) if stub is None else stub
                t._requires_grad = a._requires_grad
                t.grad_fn = fn = a.grad_fn
                t._grad = None
                t._version = 0
                t._output_nr = a._output_nr
                t._hooks = None
                if fn is None:  # only a tensor cut from a graph has an _origin
                    origin = getattr(a, "_origin", None)  # where it was cut (why_no_grad)
                    if origin is not None:
                        t._origin = origin
                kept.append(t)
                replaced = True
            elif type(a) not in CONSTANT_TYPES and is_big_constant(a):  # a mask, an index
                kept.append(_no_memory(a))
                replaced = True
            else:
                kept.append(a)
        if replaced:
            self.args = tuple(kept)

    def check_saved_versions(self):
        """Raise if an input was modified in place since forward (its version moved)."""
        version = 0
        for a in self.args:
            if isinstance(a, Tensor):
                version += a._version
        if version != self.version:
            raise RuntimeError(
                f"{self.name}: one of the tensors it saved for backward was modified in place "
                f"after the forward pass (shapes {[tuple(t.shape) for t in self.inputs()]}); "
                "clone it before modifying, or modify it outside the graph")

    def register_hook(self, output_nr, hook):
        """Call ``hook(grad)`` with the full gradient of output ``output_nr``."""
        if getattr(self, "_post_hooks", None) is None:
            self._post_hooks = []
        self._post_hooks.append((output_nr, hook))


class AccumulateGrad:
    """The end of a path in ``next_functions``: the leaf whose ``.grad`` receives it."""

    __slots__ = ("variable",)

    def __init__(self, variable):
        self.variable = variable

    next_functions = ()

    def name(self):
        return "torch::autograd::AccumulateGrad"

    def __repr__(self):
        return "<AccumulateGrad>"


class Released(Tensor):
    """Stands for a tensor whose values backward released: shape, dtype and graph links only."""

    __slots__ = ()


#: Arrays of fewer elements (16 KB of float32) stay with a released node (see ``release``).
RELEASE_MIN_SIZE = 4096

# Types of constant arguments that never hold an array (``release`` skips them at once).
CONSTANT_TYPES = {type(None), int, float, bool, str, tuple, slice, type(Ellipsis)}


def constant_type(cls):
    """Class decorator: instances of ``cls`` are constants that never hold an array (an op's
    geometry), so ``vjp`` and ``release`` skip them without looking inside."""
    CONSTANT_TYPES.add(cls)
    return cls

_EMPTY: dict = {}


def is_big_constant(a):
    """True for a constant argument that is an array (a mask, an index) worth releasing."""
    return type(a) not in CONSTANT_TYPES and getattr(a, "ndim", 0) \
        and a.size >= RELEASE_MIN_SIZE


def _no_memory(arr):
    """A read-only array of ``arr``'s shape and dtype that holds one element (zero strides)."""
    key = (arr.shape, arr.dtype, type(arr))
    empty = _EMPTY.get(key)
    if empty is None:
        if len(_EMPTY) > 4096:  # shapes seen once (varying batch sizes) must not pile up
            _EMPTY.clear()
        xp = get_array_module(arr)
        empty = _EMPTY[key] = xp.broadcast_to(xp.zeros((), arr.dtype), arr.shape)
    return empty


class Op(Node):
    """Base of chainrule's primitive ops: forward on arrays, a backward for arrays or Tensors."""

    __slots__ = ()

    @classmethod
    def apply(cls, *args):
        """Run the op on ``args`` (Tensors or constants) and record it when grad is on."""
        node = _new(cls)
        values = []
        requires_grad = False
        version = 0
        for a in args:
            if isinstance(a, Tensor):
                values.append(a._array)
                if a._requires_grad:
                    requires_grad = True
                version += a._version
            else:
                if type(a) is list and any(isinstance(e, Tensor) for e in a):
                    _refuse_list(node.name, args)  # no op takes Tensors in a list constant
                values.append(a)
        try:
            out = node.forward(*values)
        except (ValueError, TypeError, IndexError, ArithmeticError) as exc:
            raise _named_error(node.name, exc, args) from None
        if type(out) is _ndarray:
            if not requires_grad and not _tracing_threads[0]:  # nothing to record, any mode
                return _make(out, False, None)
            plain = _state.plain
            if plain is True:  # the hot path: grad on, no trace
                if requires_grad and node.differentiable:
                    node.args = args
                    node.version = version
                    node.freed = False
                    node._post_hooks = None
                    return _make(out, True, node)
                return _make(out, False, None)
            if plain is None:  # no_grad, no trace: nothing recorded
                result = _make(out, False, None)
                if requires_grad:  # cut from the graph by no_grad: why_no_grad names the op
                    result._origin = cls
                return result
        return _finish(node, cls, args, out, requires_grad, version)

    def saved_output(self, grad):
        """The output that forward kept as ``self.y``, for a backward given upstream ``grad``:
        the array on the first-order path, or, under create_graph (``grad`` is a Tensor), a
        Tensor that *is* this node's output, so the backward of the backward runs through
        this node again instead of recomputing it."""
        if isinstance(grad, Tensor):
            return _make(self.y, True, self)
        return self.y

    def forward(self, *values):
        raise TypeError(f"{type(self).__name__} must define forward(self, *values)")

    def backward(self, grad, *values):
        raise TypeError(f"{type(self).__name__} must define backward(self, grad, *values)")

    def vjp(self, grad, create_graph):
        """The input gradients for upstream ``grad``; also checks saved inputs weren't modified."""
        values = []
        version = 0
        big = False  # noted for the walker: release() is worth calling (it runs next)
        for a in self.args:
            if isinstance(a, Tensor):
                arr = a._array
                values.append(a if create_graph else arr)
                version += a._version
                if arr.size >= RELEASE_MIN_SIZE:
                    big = True
            else:
                values.append(a)
                if type(a) not in CONSTANT_TYPES and is_big_constant(a):
                    big = True
        self.holds_big = big
        if version != self.version:
            self.check_saved_versions()
        out = self.backward(grad, *values)
        return out if isinstance(out, tuple) else (out,)


def _finish(node, cls, args, out, requires_grad, version):
    """The rest of ``Op.apply``: no grad mode, a trace, a scalar, no output, several outputs,
    or another device's array."""
    state = _state
    if isinstance(out, _generic):  # NumPy gives scalars for 0-d results; keep arrays
        arr = get_array_module(out).asarray(out)
        if getattr(node, "y", None) is out:  # a saved output too: a float64 scalar would
            node.y = arr                     # promote as a Python number (to float32)
        out = arr
    record = requires_grad and state._enabled and node.differentiable  # (grad_mode: why raw)
    if out is None:  # a check or a side effect (running statistics): no output
        result = None
    elif type(out) is tuple:  # several outputs (an LSTM step: h and c)
        result = _many_outputs(node, args, out, record, version)
    elif record:
        node.args = args
        node.version = version
        node.freed = False
        node._post_hooks = None
        result = _make(out, True, node)
    else:
        result = _make(out, False, None)
        if requires_grad:  # cut from the graph by no_grad: why_no_grad names the op
            result._origin = cls
    if state._tracer is not None:
        _trace.record(node, args, result)
    return result


def _many_outputs(node, args, outs, record, version):
    """The Tensors of a forward that returned a tuple of arrays; backward then gets a list
    with one upstream gradient per output (None where an output was not used)."""
    if not record:
        return tuple(_make(o, False, None) for o in outs)
    node.args = args
    node.version = version
    node.freed = False
    node._post_hooks = None
    node.n_outputs = len(outs)
    result = []
    for i, o in enumerate(outs):
        t = _make(o, True, node)
        t._output_nr = i
        result.append(t)
    return tuple(result)


# The exception classes an op raises, in the order a NumPy error is mapped onto them: an
# AxisError (both IndexError and ValueError) stays an IndexError, as torch's dim errors are.
_ERROR_CLASSES = (IndexError, TypeError, ValueError, RuntimeError)


def _describe(args):
    return ", ".join(
        f"{tuple(a.shape)} {a.dtype}" if isinstance(a, Tensor) else type(a).__name__
        for a in args)


def _named_error(name, exc, args):
    """``exc`` as one of ``_ERROR_CLASSES`` whose message starts with ``name:``.

    The new exception is built from the plain base class, never ``type(exc)``: NumPy's own
    classes (``_UFuncNoLoopError``...) take other constructor arguments, and a division by
    zero in an op's arithmetic is a bad value (ValueError), not a crash of the caller.
    """
    msg = str(exc)
    if msg.startswith(f"{name}:") and (type(exc) in _ERROR_CLASSES
                                       or type(exc).__module__.startswith("chainrule.")):
        return exc  # raised by chainrule itself, named already
    cls = next((c for c in _ERROR_CLASSES if isinstance(exc, c)), ValueError)
    # NumPy's complaints (shapes that do not broadcast or reshape, a ufunc with no loop for
    # a dtype) are RuntimeErrors in torch: ours are both (``chainrule.errors``).
    cls = {ValueError: InvalidArgument, TypeError: InvalidType}.get(cls, cls)
    if msg.startswith(f"{name}:"):
        return cls(msg)
    return cls(f"{name}: {msg} (inputs: {_describe(args)})")


def _refuse_list(name, args):
    """A list of Tensors where an op takes a Tensor (``cr.add([t, t], t)``): refuse it, as
    torch does, rather than let NumPy stack it into an array cut from the graph."""
    raise TypeError(f"{name}: expected a Tensor, got a list of Tensors "
                    f"(inputs: {_describe(args)})")


class Function(Node):
    """A user-defined op, PyTorch style: subclass and write static ``forward``/``backward``.

    ``forward(ctx, *args)`` gets Tensors (run without recording) and returns a Tensor or a
    tuple of them; ``backward(ctx, *grad_outputs)`` returns one gradient (or ``None``) per
    forward argument. ``ctx.needs_input_grad`` tells which are wanted.
    """

    __slots__ = ()

    # What ``ctx.save_for_backward`` kept is dropped with the caches once backward has run;
    # reading ``ctx.saved_tensors`` then gives the class's empty default.
    caches = ("saved_tensors",)
    saved_tensors = ()

    @property
    def name(self) -> str:
        return type(self).__name__

    def __repr__(self):  # PyTorch calls a user Function's node <NameBackward>
        return f"<{type(self).__name__}Backward>"

    @classmethod
    def apply(cls, *args):
        ctx = _new(cls)
        ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a._requires_grad for a in args)
        ctx.saved_tensors = ()
        ctx._non_differentiable = ()
        state = _state
        tracer, state.tracer = state.tracer, None  # traced as one step, not its inner ops
        try:
            with grad_mode.no_grad():
                result = cls.forward(ctx, *args)
        finally:
            state.tracer = tracer
        outputs = result if isinstance(result, tuple) else (result,)
        for o in outputs:
            if not isinstance(o, Tensor):
                raise TypeError(f"{cls.__name__}.forward must return Tensors, got {type(o).__name__}")
        if not (any(ctx.needs_input_grad) and state.enabled):
            if tracer is not None:
                _trace.record(ctx, args, result)
            return result
        ctx._recorded(args, outputs, result)
        wrapped = []
        for i, o in enumerate(outputs):
            if any(o is nd for nd in ctx._non_differentiable) or o.dtype.kind != "f":
                wrapped.append(_make(o._array, False, None))
                continue
            t = _make(o._array, True, ctx)
            t._output_nr = i
            wrapped.append(t)
        result = wrapped[0] if ctx.single_output else tuple(wrapped)
        if tracer is not None:
            _trace.record(ctx, args, result)
        return result

    def _recorded(self, args, outputs, result):
        """Make this ctx a node of the graph for ``args`` -> ``outputs`` (also what a replay
        of a traced Function does, ``chainrule.static.plan``)."""
        self.args = args
        self.version = sum(a._version for a in args if isinstance(a, Tensor))
        self.freed = False
        self._post_hooks = None
        self.n_outputs = len(outputs)
        self.single_output = not isinstance(result, tuple)
        # zeros for unused outputs, made on the outputs' device
        self._output_meta = [(o.shape, o._array.dtype, get_array_module(o._array))
                             for o in outputs]

    def save_for_backward(self, *tensors):
        self.saved_tensors = tensors

    def mark_non_differentiable(self, *tensors):
        self._non_differentiable = tensors

    def vjp(self, grad, create_graph):
        self.holds_big = True  # its saved tensors go with the caches: release() always runs
        self.check_saved_versions()
        grads = grad if isinstance(grad, list) else [grad]
        # An output that got no gradient gets zeros, as PyTorch's materialize_grads does.
        grads = [g if isinstance(g, Tensor) else
                 _make(xp.zeros(shape, dtype), False, None) if g is None else Tensor._of(g)
                 for g, (shape, dtype, xp) in zip(grads, self._output_meta)]
        with grad_mode.set_grad_enabled(create_graph):
            result = type(self).backward(self, *grads)
        result = result if isinstance(result, tuple) else (result,)
        if len(result) != len(self.args):
            raise RuntimeError(
                f"{self.name}.backward returned {len(result)} gradients, "
                f"expected {len(self.args)} (one per forward argument)")
        if create_graph:
            return result
        return tuple(r._array if isinstance(r, Tensor) else r for r in result)

    @staticmethod
    def forward(ctx, *args):
        raise TypeError("a Function subclass must define a static forward(ctx, ...)")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise TypeError("a Function subclass must define a static backward(ctx, ...)")
