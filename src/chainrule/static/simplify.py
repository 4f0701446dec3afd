"""Constant folding and common-subexpression elimination on a plan's steps.

Both apply only to forward steps that are plain functions of their arguments: a chainrule
op (not a user ``Function``), not a random draw (``ops/random.py``), with outputs, without a
VJP in the plan (its node is not needed later), none of whose values is written in place
by a step, and none of whose outputs the plan returns (a returned array must be new at each
call).

* Folding: a step whose tensor arguments are all constants -- tensors created inside the
  captured function from Python values (``cr.arange(8.0)``; each eager call makes them anew,
  with the same values) that no step writes, or values folded already -- runs once, when
  the plan is built; the replay reads its result.
* CSE: a step with the same op, the same argument values and equal constants as an earlier
  one reuses that step's outputs.

The program's own steps are never changed: a step whose arguments were replaced is a copy.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..autograd.function import Function
from ..autograd.tracing import Value

_SIMPLE = (int, float, bool, str, type(None))


def simplify(steps, outputs, written, constants):
    """``(steps, folded)``: the steps left, and {value index: array} of the folded values.

    ``written``: indices of values some step writes in place; ``constants``: {value index:
    array} of the constant tensors (see the module's docstring).
    """
    has_vjp = {s.of.index for s in steps if s.of is not None}
    returned = {v.index for v in outputs}
    alias = {}       # value index -> the Value that replaces it
    folded = {}      # value index -> array
    copies = {}      # original forward step index -> its copy (for the VJPs that use it)
    seen = {}
    kept = []
    for s in steps:
        s2 = _substituted(s, alias, copies)
        if _pure(s2, has_vjp, returned, written):
            values = _constant_args(s2, constants, folded)
            if values is not None:
                result = _run(s2, values)
                if result is not None:
                    for v, a in zip(s2.outputs, result):
                        folded[v.index] = a
                    continue
            key = _key(s2)
            if key is not None:
                first = seen.get(key)
                if first is not None:
                    for v, w in zip(s2.outputs, first.outputs):
                        alias[v.index] = w
                    continue
                seen[key] = s2
        kept.append(s2)
    return kept, folded


def _substituted(s, alias, copies):
    """``s`` with aliased values replaced (a copy when anything changed)."""
    def sub(v):
        return alias.get(v.index, v) if type(v) is Value else v
    inputs = tuple(sub(v) for v in s.inputs)
    args = None if s.args is None else tuple(sub(a) for a in s.args)
    of = copies.get(s.of.index, s.of) if s.of is not None else None
    changed = inputs != s.inputs or (args is not None and args != s.args) or of is not s.of
    if not changed:
        return s
    s2 = dataclasses.replace(s, inputs=inputs, args=args, of=of)
    if s.args is not None and s.of is None:
        copies[s.index] = s2
    return s2


def _pure(s, has_vjp, returned, written):
    if s.of is not None or s.args is None or not s.outputs or s.index in has_vjp:
        return False
    cls = s.op_class
    if issubclass(cls, Function) or cls.__module__.startswith("chainrule.ops.random"):
        return False
    values = [a for a in s.args if type(a) is Value] + [v for v in s.outputs if v is not None]
    return not any(v.index in written or v.index in returned for v in values)


def _constant_args(s, constants, folded):
    values = []
    for a in s.args:
        if type(a) is Value:
            arr = folded.get(a.index)
            if arr is None:
                arr = constants.get(a.index)
            if arr is None:
                return None
            values.append(arr)
        else:
            values.append(a)
    return values


def _run(s, values):
    """The outputs of ``s`` on constant arrays, or None if its forward refuses them."""
    try:
        out = object.__new__(s.op_class).forward(*values)
    except Exception:  # noqa: BLE001 - a step that does not fold is simply kept
        return None
    if isinstance(out, np.generic):
        out = np.asarray(out)
    outs = out if type(out) is tuple else (out,)
    if len(outs) != len(s.outputs):
        return None
    return outs


def _key(s):
    """A hashable description of what ``s`` computes, or None (an array constant)."""
    parts = [s.op_class]
    for a in s.args:
        if type(a) is Value:
            parts.append(("v", a.index))
        elif isinstance(a, _SIMPLE) or (type(a) is tuple and all(isinstance(e, _SIMPLE)
                                                                  for e in a)):
            parts.append(("c", type(a), a))
        else:
            return None
    return tuple(parts)
