"""Guards: what a captured plan assumed, checked before every replay.

A plan is only valid for calls like the one it was captured from. The *signature* of a call
says so for the arguments: each tensor's shape, dtype, requires_grad and whether it is a
leaf; each Python number, string, bool or None by value (so ``f(x, 0.5)`` and ``f(x, 0.7)``
are two plans, never a frozen 0.5); any other object by identity (so one compiled method
shared by all instances of a class has a plan per instance); containers element by element;
and the grad mode. It is one hashable tuple, the key of the plan cache.

``ModuleGuard`` covers what the function read from the modules that ran while it was
captured: their train/eval mode and their plain settings (a dropout's ``p``, a batch norm's
``momentum``), compared before each replay. The optimizer needs no guard: a replay reads
its hyperparameters from ``param_groups`` at every step, nothing of it is frozen.
"""

from __future__ import annotations

import numpy as np

from ..autograd import grad_mode
from ..tensor import Tensor

_PLAIN = (int, float, bool, str, complex, type(None))
_Tensor = Tensor
_state = grad_mode.state   # one object (per-thread fields inside it)


def signature(args, kwargs):
    """``(key, tensors, objects)`` of a call: the hashable key (see the module's docstring),
    the tensor arguments in order, and the objects guarded by identity (kept alive by the
    plan so that their ids are not reused)."""
    if not kwargs:  # the common call, plain tensors only: no per-argument dispatch
        key = [_state._enabled]  # the attribute behind ``enabled``: no property call
        for a in args:
            if type(a) is not _Tensor:
                break
            arr = a._array
            key.append((arr.shape, arr.dtype, a._requires_grad, a.grad_fn is None))
        else:
            _note_aliases(key, args)
            return tuple(key), list(args), []
    key = [_state._enabled]
    tensors, objects = [], []
    for a in args:
        key.append(_describe(a, tensors, objects))
    if kwargs:
        key.append(tuple((k, _describe(v, tensors, objects)) for k, v in kwargs.items()))
    _note_aliases(key, tensors)
    return tuple(key), tensors, objects


def _note_aliases(key, tensors):
    """One tensor passed twice: the plan assumed the alias, so the key says where."""
    n = len(tensors)
    if n > 2 or n == 2 and tensors[0] is tensors[1]:
        ids = [id(t) for t in tensors]
        if len(set(ids)) != len(ids):
            key.append(("aliases", tuple(ids.index(i) for i in ids)))


def _describe(a, tensors, objects):
    if isinstance(a, Tensor):
        arr = a._array
        tensors.append(a)
        return (arr.shape, arr.dtype, a._requires_grad, a.grad_fn is None)
    if isinstance(a, _PLAIN):
        return (type(a), a)
    if isinstance(a, (tuple, list)):
        return (type(a), tuple(_describe(e, tensors, objects) for e in a))
    if isinstance(a, dict):
        return (dict, tuple((k, _describe(v, tensors, objects)) for k, v in a.items()))
    if isinstance(a, np.ndarray):
        raise TypeError("compile: pass arrays as Tensors (cr.from_numpy(a)); an ndarray "
                        "argument would be frozen into the plan")
    objects.append(a)
    return ("object", id(a))


def what_changed(old, new, names=()):
    """A line naming the first guard that differs between two signatures (for the log)."""
    if old[0] != new[0]:
        return f"grad mode {'on' if old[0] else 'off'} -> {'on' if new[0] else 'off'}"
    if len(old) != len(new):
        return f"{len(old) - 1} -> {len(new) - 1} arguments"
    for i, (a, b) in enumerate(zip(old[1:], new[1:])):
        if a != b:
            name = names[i] if i < len(names) else f"argument {i}"
            return f"{name}: {_show(a)} -> {_show(b)}"
    return "the same signature"


def _show(d):
    if isinstance(d, tuple) and len(d) == 4 and isinstance(d[0], tuple):
        shape, dtype, rg, leaf = d
        return (f"tensor {tuple(shape)} {dtype}" + (" requires_grad" if rg else "")
                + ("" if leaf else " (non-leaf)"))
    if isinstance(d, tuple) and len(d) == 2 and d[0] == "object":
        return f"object at {d[1]:#x}"
    if isinstance(d, tuple) and len(d) == 2 and isinstance(d[0], type) and d[0] in _PLAIN:
        return repr(d[1])
    return repr(d)


class ModuleGuard:
    """The train/eval mode, plain settings and parameter/buffer identity of the modules a
    capture saw run, and the shape, dtype and requires_grad of every tensor the plan reads
    from outside (parameters, buffers, tensors a closure holds), checked by one generated
    function (a few dozen nanoseconds a check). ``model.double()`` or freezing a layer with
    ``requires_grad_(False)`` therefore captures again. (A tensor is checked through its
    array: one given a new array -- ``p.data = ...``, ``.double()`` -- is checked again;
    no chainrule call changes an array's shape in place.)"""

    def __init__(self, modules, tensors=()):
        self.modules = list(modules)
        self.tensors = [(t, t._array.shape, t._array.dtype, t._requires_grad) for t in tensors]
        self.checks = []   # (module index, where, name, value)
        for i, m in enumerate(self.modules):
            for k, v in vars(m).items():
                if _is_setting(k, v):
                    self.checks.append((i, "attr", k, v))
            for where in ("_parameters", "_buffers"):
                for k, v in getattr(m, where, {}).items():
                    self.checks.append((i, where, k, v))
        namespace = {}
        terms = []
        for j, (i, where, k, v) in enumerate(self.checks):
            namespace[f"V{j}"] = v
            namespace[f"D{i}"] = vars(self.modules[i])
            if where == "attr":
                terms.append(f"D{i}[{k!r}] == V{j}")
            else:
                terms.append(f"D{i}[{where!r}][{k!r}] is V{j}")
        for j, (t, shape, dtype, rg) in enumerate(self.tensors):
            namespace[f"T{j}"], namespace[f"S{j}"], namespace[f"DT{j}"] = t, shape, dtype
            # The array it had when captured (kept alive here, so its id is never reused):
            # while the tensor still holds it, the shape and dtype are the captured ones,
            # and the check skips ``.shape`` (a new tuple at every call: a third of the
            # guard's cost). NumPy's dtypes of the built-in types are singletons: `is` is
            # exact for them (another equal dtype object only captures once more).
            namespace[f"AR{j}"] = t._array
            terms.append(f"T{j}._requires_grad is {rg!r} and (T{j}._array is AR{j} or "
                         f"T{j}._array.shape == S{j} and T{j}._array.dtype is DT{j})")
        namespace["_MISSING"] = _MISSING
        # A key gone from a module's dict (an attribute deleted) fails the guard too.
        source = ("def holds():\n    try:\n        return " + (" and ".join(terms) or "True")
                  + "\n    except KeyError:\n        return False\n")
        exec(compile(source, "<chainrule.compile guards>", "exec"), namespace)  # noqa: S102
        self.holds = namespace["holds"]

    def what_changed(self) -> str:
        for i, where, k, v in self.checks:
            m = self.modules[i]
            now = vars(m).get(k, _MISSING) if where == "attr" else \
                vars(m)[where].get(k, _MISSING)
            if (now != v) if where == "attr" else (now is not v):
                what = k if where == "attr" else f"{k} (a {where[1:-1]} replaced)"
                return f"{type(m).__name__}.{what}: {_short(v)} -> {_short(now)}"
        for t, shape, dtype, rg in self.tensors:
            now = (t._array.shape, t._array.dtype, t._requires_grad)
            if now != (shape, dtype, rg):
                return (f"a tensor the function reads: {tuple(shape)} {dtype} requires_grad="
                        f"{rg} -> {tuple(now[0])} {now[1]} requires_grad={now[2]}")
        return "nothing"


_MISSING = object()


def _short(v):
    if isinstance(v, Tensor):
        return f"tensor {tuple(v.shape)} at {id(v):#x}"
    return "(missing)" if v is _MISSING else repr(v)


def _is_setting(name, value):
    """A module attribute a forward may read as a constant (``training``, ``p``, ``eps``)."""
    if name.startswith("_") and name != "_training":
        return False
    if isinstance(value, _PLAIN):
        return True
    return isinstance(value, tuple) and all(isinstance(e, _PLAIN) for e in value)
