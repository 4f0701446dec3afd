"""Optimizer: parameter groups, per-parameter state, and a state_dict in PyTorch's layout.

    >>> w, b = cr.ones(3, requires_grad=True), cr.zeros(1, requires_grad=True)
    >>> opt = cr.optim.SGD([{"params": [w]}, {"params": [b], "lr": 0.1}], lr=0.01, momentum=0.9)
    >>> (w.sum() + b).sum().backward(); opt.step(); opt.zero_grad()
    >>> w, b                   # lr 0.01 for w, 0.1 for b
    (tensor([0.9900, 0.9900, 0.9900], requires_grad=True), tensor([-0.1000], requires_grad=True))
    >>> opt.state_dict()["param_groups"][1]["lr"]
    0.1

The step is written once, here (:meth:`Optimizer.step`): it evaluates the closure, walks
the groups and the parameters that have a gradient, checks each gradient against its
parameter, creates missing state, counts the step, runs the update and bumps the
parameter's version. An algorithm only says what differs, through small hooks:

    update              the pure update function on raw arrays, in place (a staticmethod)
    _hyper(group)       the group's hyperparameters as the update's keyword arguments
    _state_spec(group)  the per-parameter state arrays, in the update's argument order
    _init_state         extra state beyond those arrays (NAdam's mu_product, ASGD's eta)
    _update_param       how one parameter is updated (default: ``update`` block by block)
    _update_group       a stateless group's parameters at once, where that is quicker

Updates run in place on ``p._array``, outside the graph. A new algorithm is a file of its
own: the pure update function with the algorithm in its docstring, and a subclass that
validates its hyperparameters and sets the hooks (see ``adamax.py`` for the smallest).
"""

from __future__ import annotations

import functools
from collections import defaultdict

import numpy as np

from .. import backend
from ..autograd import grad_mode
from ..autograd import tracing as _tracing
from ..autograd.grad_mode import state as _grad_state
from ..backend.host_blas import scaled_sum
from ..tensor import Tensor, _make

# Large arrays are updated block by block: a block and the update's scratch space stay in
# the CPU caches, so one pass over memory does the work of a dozen ufunc passes.
BLOCK = 1 << 15


def block_bounds(n):
    """``(start, stop)`` of the blocks of an array of ``n > BLOCK`` elements: BLOCK each, the
    last one taking the rest too (up to 2 BLOCK - 1 elements), so that no block is short.
    A block then rounds as its whole parameter does: ``add_scaled`` rounds once from
    ``host_blas.MIN_SIZE`` (<= BLOCK) elements up, NumPy's way below."""
    last = (n // BLOCK - 1) * BLOCK
    for start in range(0, last, BLOCK):
        yield start, start + BLOCK
    yield last, n


def effective_grad(param, grad, weight_decay, maximize, out):
    """The direction to descend: ``-grad`` when maximizing, plus the L2 term ``weight_decay * w``.

    Written into ``out`` (scratch shaped like ``param``) when it differs from ``grad``.
    """
    if weight_decay != 0:
        # torch's grad.add(param, alpha=weight_decay), rounded as it rounds (scaled_sum);
        # maximizing, -(g - wd w) is exactly -g + wd w
        if maximize:
            return np.negative(scaled_sum(grad, -weight_decay, param, out), out=out)
        return scaled_sum(grad, weight_decay, param, out)
    if maximize:
        return np.negative(grad, out=out)
    return grad


def lerp_(avg, target, weight, scratch):
    """``avg += weight * (target - avg)`` in place, as ``torch.lerp_`` computes it.

    The small-weight form keeps running averages accurate; the other is exact at weight 1.
    """
    weight = avg.dtype.type(weight)
    diff = np.subtract(target, avg, out=scratch)
    if abs(weight) < 0.5:
        diff *= weight
        avg += diff
    else:
        diff *= 1 - weight
        np.subtract(target, diff, out=avg)


class _Required:
    """Marks a hyperparameter with no default (like ``torch.optim.optimizer.required``)."""

    def __repr__(self):
        return "<required parameter>"


required = _Required()


def check_hyper(name: str, value, low=0.0, high=None, high_open=False):
    """Raise ``ValueError('Invalid <name>: <value>')`` unless low <= value (< or <=) high."""
    bad = value < low
    if high is not None:
        bad = bad or (value >= high if high_open else value > high)
    if bad:
        raise ValueError(f"Invalid {name}: {value}")


def check_betas(betas) -> tuple:
    """Two coefficients in [0, 1), as Python floats (``Invalid beta parameter at index i``)."""
    betas = tuple(float(b) for b in betas)
    if len(betas) != 2:
        raise ValueError(f"Invalid betas: expected two values, got {betas}")
    check_hyper("beta parameter at index 0", betas[0], 0.0, 1.0, high_open=True)
    check_hyper("beta parameter at index 1", betas[1], 0.0, 1.0, high_open=True)
    return betas


def _taking_flags(init, flags):
    """``init`` that also takes torch's implementation ``flags`` (keywords only)."""

    @functools.wraps(init)
    def taking_flags(self, *args, **kwargs):
        name = type(self).__name__
        for flag in ("foreach", "fused", "capturable", "differentiable"):
            if flag not in kwargs:
                continue
            if flag not in flags:
                raise TypeError(f"{name}.__init__() got an unexpected keyword argument {flag!r}")
            value = kwargs.pop(flag)
            if flag == "capturable" and value:
                raise RuntimeError(f"{name}: capturable=True is for CUDA graphs, which "
                                   "chainrule does not have")
            if flag == "differentiable" and value:
                raise NotImplementedError(f"{name}: differentiable=True (autograd through the "
                                          "optimizer step) is not supported")
        init(self, *args, **kwargs)

    return taking_flags


class Optimizer:
    """Base class of every optimizer.

    ``params`` is an iterable of Tensors, of ``(name, Tensor)`` pairs, or of dicts (param
    groups) with a ``"params"`` entry and their own hyperparameters; ``defaults`` fills in
    what a group does not say.
    """

    #: torch's flags that choose an implementation (``foreach``, ``fused``: chainrule has
    #: one, so they change nothing) or a mode chainrule lacks (``capturable``: CUDA graphs;
    #: ``differentiable``: autograd through the step), accepted where torch's class takes them.
    implementation_flags: tuple = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is not None and cls.implementation_flags:
            cls.__init__ = _taking_flags(init, cls.implementation_flags)
        step = cls.__dict__.get("step")
        if step is not None and not getattr(step, "_marks_called", False):
            # Schedulers warn when stepped before the optimizer ever was (PyTorch does too).
            @functools.wraps(step)
            def marked_step(self, *args, **kwargs):
                self._opt_called = True
                return step(self, *args, **kwargs)
            marked_step._marks_called = True
            cls.step = marked_step

    def __init__(self, params, defaults: dict):
        self.defaults = defaults
        self.state = defaultdict(dict)
        self.param_groups = []
        self._scratch = {}
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            "Tensors or dicts, but got a Tensor")
        if isinstance(params, (set, frozenset)):
            raise TypeError("optimizer parameters need to be organized in ordered collections, "
                            "but the ordering of tensors in sets changes between runs; use a list")
        groups = list(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def __repr__(self):
        lines = [type(self).__name__ + " ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(group):
                if key not in ("params", "param_names"):
                    lines.append(f"    {key}: {group[key]}")
        return "\n".join(lines) + "\n)"

    # --- groups ------------------------------------------------------------------------------
    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters (e.g. unfrozen layers) with its own hyperparameters."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        group = dict(param_group)
        params = group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, "
                            "but the ordering of tensors in sets changes between runs; use a list")
        params = list(params)
        names = [p[0] for p in params if isinstance(p, tuple)]
        params = [p[1] if isinstance(p, tuple) else p for p in params]
        if names:
            if len(names) != len(params):
                raise ValueError("all optimizer params should be with/without names. "
                                 "Some param names are missing")
            group["param_names"] = names
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params "
                                f"is {type(p).__name__}")
            if p.grad_fn is not None:
                raise ValueError("can't optimize a non-leaf Tensor")
        group["params"] = params
        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError(f"parameter group didn't specify a value of required "
                                 f"optimization parameter {name}")
            group.setdefault(name, default)
        if len({id(p) for p in params}) != len(params):
            raise ValueError("optimizer contains a parameter group with duplicate parameters")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    # --- gradients ---------------------------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients: set ``.grad`` to None (default) or fill it with zeros."""
        if _grad_state.tracer is not None:
            _tracing.note("zero_grad", [p for g in self.param_groups for p in g["params"]],
                          node=self, set_to_none=set_to_none)
        for group in self.param_groups:
            if set_to_none:  # every training step: one line a parameter
                for p in group["params"]:
                    p._grad = None
                continue
            for p in group["params"]:
                g = p._grad
                if g is not None:
                    g.grad_fn = None
                    g._requires_grad = False
                    g._array[...] = 0

    # --- the template step -------------------------------------------------------------------
    #: The algorithm's pure update function, ``update(w, g, *state, *scratch, **hyper)``,
    #: working in place on raw arrays (set as ``staticmethod(fn)``).
    update = None
    #: How many scratch arrays shaped like the parameter ``update`` needs.
    scratch_count = 2
    #: Keep a step counter ``state["step"]`` (a float32 0-d array, as torch does).
    counts_steps = True
    #: Pass the counter to ``update`` as ``step=`` (the count after this step, from 1).
    update_takes_step = True

    def _note_step(self):
        """Record this step in the thread's trace: every parameter that has a gradient and
        its gradient; the hyperparameters of a single group by name."""
        groups = self.param_groups
        attrs = self._hyper(groups[0]) if len(groups) == 1 else {"groups": len(groups)}
        _tracing.note(f"{type(self).__name__}.step",
                      [t for g in groups for p in g["params"] if p._grad is not None
                       for t in (p, p._grad)], node=self, **attrs)

    def _hyper(self, group) -> dict:
        """The group's hyperparameters as ``update``'s keyword arguments (Python scalars,
        which never upcast a float32 array)."""
        return {}

    def _state_spec(self, group) -> tuple:
        """``(name, fill)`` for each state array that ``update`` takes, in its order.

        ``fill`` is the initial value of a new array (None: left empty, the update fills it
        on its first step); an entry ``None`` is passed as None (an option that is off).
        """
        return ()

    def step(self, closure=None):
        """Update the parameters once; ``closure`` re-evaluates the model and returns the loss.

        Parameters whose ``.grad`` is None are skipped. A gradient of another shape or dtype
        than its parameter, or a parameter that is not floating point, raises an error that
        names the optimizer, the parameter and what differs.
        """
        if self.update is None and type(self)._update_param is Optimizer._update_param:
            raise TypeError(f"{type(self).__name__} must define step(closure=None), or the "
                            "hooks of the template step (update, _hyper, _state_spec)")
        loss = self._eval_closure(closure)
        self._opt_called = True
        todo = self._check_grads()  # all of them first: a refused step changes nothing
        # Read once per step, not once per parameter: this loop runs every training step.
        counts, takes_step = self.counts_steps, self.update_takes_step
        update_param, states = self._update_param, self.state
        if _grad_state.tracer is not None:  # the update is a step of a traced training step
            self._note_step()
        for group, work in zip(self.param_groups, todo):
            hyper = self._hyper(group)
            spec = self._state_spec(group)
            stateless = not spec and not counts  # torch's plain SGD: no state entry at all
            if stateless and self._update_group(work, hyper):
                continue
            for p, grad in work:
                if stateless:
                    update_param(p, grad, {}, spec, hyper, False)
                    p._version += 1
                    continue
                state = states[p]
                fresh = self._init_state(p, state, spec, group)
                kwargs = hyper
                if counts:
                    step_t = state["step"]._array
                    step_t += 1
                    if takes_step:
                        kwargs = dict(hyper, step=float(step_t))
                update_param(p, grad, state, spec, kwargs, fresh)
                p._version += 1
        return loss

    def _check_grads(self) -> list:
        """Check every gradient that a step would use (see :meth:`_checked_grad`); return,
        per param group, the ``(parameter, gradient array)`` pairs to update."""
        todo = []
        for group in self.param_groups:
            work = []
            for p in group["params"]:
                grad = p._grad  # the slot: .grad is a property (it warns on non-leaves)
                if grad is None:
                    continue
                w, g = p._array, grad._array
                if g.shape != w.shape or g.dtype != w.dtype or w.dtype.kind != "f":
                    self._refuse(p)
                work.append((p, g))
            todo.append(work)
        return todo

    def _refuse(self, p):
        """Raise the error of :meth:`_checked_grad` for parameter ``p`` (found by identity)."""
        for group_index, group in enumerate(self.param_groups):
            for index, q in enumerate(group["params"]):
                if q is p:
                    self._checked_grad(p, group_index, index)

    def _checked_grad(self, p, group_index: int, index: int):
        """``p.grad``'s array, after checking that it can update ``p`` in place."""
        w, g = p._array, p._grad._array
        if w.dtype.kind != "f":
            raise TypeError(f"{type(self).__name__}.step: parameter {index} of param group "
                            f"{group_index} has dtype {w.dtype}; optimizers update "
                            "floating-point parameters only")
        if g.shape != w.shape:
            raise ValueError(f"{type(self).__name__}.step: the gradient of parameter {index} "
                             f"of param group {group_index} has shape {tuple(g.shape)}, the "
                             f"parameter has shape {tuple(w.shape)}")
        if g.dtype != w.dtype:
            raise TypeError(f"{type(self).__name__}.step: the gradient of parameter {index} "
                            f"of param group {group_index} has dtype {g.dtype}, the "
                            f"parameter has dtype {w.dtype}")
        return g

    def _init_state(self, p, state: dict, spec, group: dict) -> bool:
        """Create the step counter and the state arrays ``spec`` names that ``state`` lacks.

        Returns True when an array was created (an update may treat its first step apart).
        """
        xp = None
        if self.counts_steps and "step" not in state:
            xp = backend.get_array_module(p._array)
            state["step"] = _make(xp.zeros((), np.float32))
        fresh = False
        for entry in spec:
            # A None entry (torch saves an SGD buffer not made yet as None) counts as missing.
            if entry is None or state.get(entry[0]) is not None:
                continue
            name, fill = entry
            xp = xp or backend.get_array_module(p._array)
            array = xp.empty_like(p._array) if fill is None else xp.full_like(p._array, fill)
            state[name] = _make(array)
            fresh = True
        return fresh

    def _update_group(self, work, hyper: dict) -> bool:
        """Update the ``(parameter, gradient array)`` pairs of a group without state in one
        go (versions bumped) and return True, or return False to go parameter by parameter
        (the default)."""
        return False

    def _update_param(self, p, grad, state: dict, spec, hyper: dict, fresh: bool) -> None:
        """Update one parameter: ``update`` on matching cache-sized blocks of the arrays."""
        arrays = [p._array, grad]
        arrays += [None if entry is None else state[entry[0]]._array for entry in spec]
        for blocks, scratch in self._blocks(arrays, self.scratch_count):
            self.update(*blocks, *scratch, **hyper)

    def _eval_closure(self, closure):
        if closure is None:
            return None
        with grad_mode.enable_grad():
            return closure()

    # --- scratch space for the update functions ----------------------------------------------
    def _buffers(self, like, size: int, count: int):
        """``count`` flat scratch arrays of ``like``'s dtype with at least ``size`` elements."""
        key = (like.dtype, type(like))
        bufs = self._scratch.get(key)
        if bufs is None or len(bufs) < count or bufs[0].size < size:
            size = max(size, bufs[0].size if bufs else 0)
            count = max(count, len(bufs) if bufs else 0)
            bufs = [np.empty_like(like, shape=(size,)) for _ in range(count)]
            self._scratch[key] = bufs
        return bufs

    def _blocks(self, arrays, count: int):
        """Yield matching flat blocks of ``arrays`` (None stays None) and ``count`` scratch blocks.

        Contiguous NumPy arrays larger than BLOCK are cut into cache-sized blocks
        (``block_bounds``); anything else (small, strided, on a GPU) is handed over whole.
        """
        first = arrays[0]
        n = first.size
        blockable = (n > BLOCK and isinstance(first, np.ndarray)
                     and all(a is None or a.flags.c_contiguous for a in arrays))
        if not blockable:
            scratch = self._buffers(first, n, count)
            shape = first.shape
            yield arrays, [s[:n].reshape(shape) for s in scratch[:count]]
            return
        scratch = self._buffers(first, 2 * BLOCK, count)
        flat = [None if a is None else a.reshape(-1) for a in arrays]
        for start, stop in block_bounds(n):
            yield ([None if a is None else a[start:stop] for a in flat],
                   [s[:stop - start] for s in scratch[:count]])

    # --- state_dict --------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """A snapshot of the optimizer: ``{"state": {index: {...}}, "param_groups": [...]}``.

        As in PyTorch, parameters are replaced by their index in the order of the groups; the
        state's arrays are copied, so later steps do not change a snapshot already taken.
        """
        index = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for p in group["params"]:
                index.setdefault(id(p), len(index))
            packed["params"] = [index[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {}
        for p, s in self.state.items():
            key = index[id(p)] if isinstance(p, Tensor) else p
            state[key] = {k: _snapshot(v) for k, v in s.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore a snapshot made by ``state_dict()`` (ours, or PyTorch's converted to arrays).

        Arrays are copied and cast to their parameter's dtype, except the step counter.
        """
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"loaded state dict has {len(saved_groups)} parameter groups, "
                             f"the optimizer has {len(self.param_groups)}")
        for i, (g, s) in enumerate(zip(self.param_groups, saved_groups)):
            if len(g["params"]) != len(s["params"]):
                raise ValueError(
                    f"loaded state dict's parameter group {i} has {len(s['params'])} "
                    f"parameters, the optimizer's has {len(g['params'])}")
        id_map = {}
        for g, s in zip(self.param_groups, saved_groups):
            id_map.update(zip(s["params"], g["params"]))
        state = defaultdict(dict)
        for key, value in state_dict["state"].items():
            key_int = int(key) if isinstance(key, str) and key.isdigit() else key
            if key_int in id_map:
                param = id_map[key_int]
                state[param] = self._restore_state(
                    param, {k: _restore(param, k, v) for k, v in value.items()})
            else:
                state[key] = value
        groups = []
        for g, s in zip(self.param_groups, saved_groups):
            new = {k: _plain(v) for k, v in s.items() if k != "params"}
            new["params"] = g["params"]
            if "param_names" in g and "param_names" not in new:
                new["param_names"] = g["param_names"]
            groups.append(new)
        self.state = state
        self.param_groups = groups
        self._setstate_groups()

    def _restore_state(self, param, state: dict) -> dict:
        """Subclasses turn loaded per-parameter state into their working form."""
        return state

    def _setstate_groups(self) -> None:
        """Fill in group keys that an older or foreign state_dict lacks."""
        for group in self.param_groups:
            for name, default in self.defaults.items():
                group.setdefault(name, default)


def _snapshot(value):
    """A copy of one state value: arrays and Tensors become fresh Tensors."""
    if isinstance(value, Tensor):
        return _make(value._array.copy())
    if isinstance(value, np.generic):
        return _make(np.array(value))
    if isinstance(value, np.ndarray) or backend.device_of(value) != "cpu":
        return _make(value.copy())  # an array of any device stays there
    if isinstance(value, list):
        return [_snapshot(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_snapshot(v) for v in value)
    return value


def _is_array_like(value) -> bool:
    return (isinstance(value, (Tensor, np.ndarray, np.generic))
            or (hasattr(value, "__array__") and hasattr(value, "shape")))


# Scalar state that torch keeps in float32 whatever the parameter's dtype.
_SCALAR_STATE = frozenset({"step", "mu_product", "eta", "mu"})


def _restore(param, key, value):
    """Copy a loaded state value, casting arrays to the parameter's dtype (scalars stay)."""
    if _is_array_like(value):
        # asarray then copy: foreign arrays (a torch tensor) may not take numpy's copy=...
        raw = value._array if isinstance(value, Tensor) else value
        arr = raw.copy() if backend.device_of(raw) != "cpu" else np.asarray(raw).copy()
        if key in _SCALAR_STATE:
            arr = arr.astype(np.float32, copy=False)
        elif arr.dtype.kind == "f" and param._array.dtype.kind == "f":
            arr = arr.astype(param._array.dtype, copy=False)
        device = backend.device_of(param._array)
        if device != "cpu":  # a CPU checkpoint loaded next to parameters on a GPU
            arr = backend.to_device(arr, device)
        return _make(arr)
    if isinstance(value, dict):
        return {k: _restore(param, k, v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_restore(param, None, v) for v in value)
    return value


def _plain(value):
    """Hyperparameters come back as Python values (a JSON round trip turns tuples to lists)."""
    if isinstance(value, list) and value and all(isinstance(v, (int, float)) for v in value):
        return tuple(value)
    if isinstance(value, (np.generic,)):
        return value.item()
    return value
