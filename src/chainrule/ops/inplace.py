"""In-place ops on tensors that are part of the graph, recorded as PyTorch records them.

``y.add_(1)``, ``y += 1``, ``y.mul_(2)``, ``y.relu_()``, ``y[idx] -= 1`` on a ``y`` that the
graph made (or with an operand that requires grad): the op runs out of place on ``y``'s
previous version, the result is written into ``y``'s own array (so every alias of that
array sees it), and ``y`` becomes the output of the new node ("rebasing" its history).

    >>> x = cr.randn(3, requires_grad=True)
    >>> y = x * 2
    >>> z = y                      # an alias
    >>> y += 1                     # recorded: z sees the change, and backward is right
    >>> y[0] = 0.0                 # an index-put node

Rules, each in one place here:
- The previous version keeps the old values only when the new node's backward reads them
  (a copy is made then); otherwise it shares the array.
- Nodes that saved ``y`` before see its version move and refuse to backward (the version
  counter), as PyTorch's do; a leaf that requires grad refuses in-place ops outside
  ``no_grad`` (``Tensor._check_inplace``).
- A view made by basic indexing (``v = y[1:]``) carries its base: an in-place op on the view
  also rebases the base through an index-put node, so the base's gradient stays right.
- The result must have the tensor's shape (no broadcasting of the output) and a dtype that
  casts to the tensor's: a float result into an int tensor raises, as in PyTorch.
"""

from __future__ import annotations

import numpy as np

from ..autograd import grad_mode as _grad_mode
from ..backend import device_of, to_device
from ..promotion import check_inplace_cast
from ..tensor import Tensor, _make
from .index import GetItem, IndexPut, IndexPutT, _has_tensor, _is_basic, _key_on, _template


def rebase(name, target, compute, reads_target):
    """Run ``compute(previous)`` out of place and make its result ``target``, in place."""
    capture = _grad_mode.state.capture
    if capture is not None:  # cr.compile cannot replay a rebased history yet: refused
        capture.refuse(target, "inplace")
    previous = _previous_version(target, copy=reads_target)
    tracer = _traced(name, target, previous)
    view_of = _view_base(target)
    result = compute(previous)
    _write_back(name, target, result)
    if tracer is not None:  # from now on ``target`` is the op's output in the program
        tracer.alias(target, result)
    if view_of is not None:
        _rebase_base(target, *view_of)
    return target


def _traced(name, target, previous):
    """While a trace records: let ``previous`` stand for ``target``'s value in the program
    (the op reads it), and return the program. A replayed program runs the op out of place
    and reads its output wherever ``target`` is read afterwards, as the eager code reads the
    array written in place; an input or parameter of the program cannot be followed so
    (``program.value(t)`` must keep meaning the value fed), and is refused."""
    program = _grad_mode.state.tracer
    if program is None:
        return None
    v = program.value(target)
    if v.kind != "op" and program.backward == "vjp":
        raise RuntimeError(f"{name}: an in-place op on {v} ({v.kind} {v.shape}), a tensor from "
                           f"outside the traced program, cannot be replayed; work on a copy "
                           f"(t = t.clone()) inside the traced function")
    program.alias(previous, target)
    return program


def _previous_version(t, copy):
    old = _make(t._array.copy() if copy else t._array, t._requires_grad, t.grad_fn)
    old._output_nr = t._output_nr
    old._version = t._version
    return old


def _write_back(name, target, result):
    if result.shape != target.shape:
        raise RuntimeError(
            f"{name}: the result has shape {tuple(result.shape)}, which does not match the "
            f"shape {tuple(target.shape)} of the tensor written in place")
    check_inplace_cast(name, result._array.dtype, target._array.dtype)
    target._array[...] = result._array
    target.grad_fn = result.grad_fn
    target._requires_grad = result._requires_grad
    target._output_nr = result._output_nr
    target._version += 1


def _view_base(t):
    """(base, key, getitem node) when ``t`` is a basic-indexing view of a graph tensor."""
    fn = t.grad_fn
    if isinstance(fn, GetItem) and not fn.freed and _is_basic(fn.args[1]):
        base = fn.args[0]
        if isinstance(base, Tensor) and t._array.base is not None:
            return base, fn.args[1], fn
    return None


def _rebase_base(view, base, key, getitem_node):
    """The base's array already changed (the view shares it): give it the node that says so."""
    if base.grad_fn is None and base._requires_grad:
        raise RuntimeError(
            "a view of a leaf tensor that requires grad is used in an in-place operation; "
            "wrap the update in `with cr.no_grad():`")
    previous = _previous_version(base, copy=False)
    tracer = _traced("in-place op on a view", base, previous)
    # The view's own history must start at the base's previous version, not at the base.
    getitem_node.args = (previous,) + tuple(getitem_node.args[1:])
    result = IndexPut.apply(previous, view, key)
    if tracer is not None:
        tracer.alias(base, result)
    base.grad_fn = result.grad_fn
    base._requires_grad = result._requires_grad
    base._output_nr = 0
    base._version += 1


def setitem(target, key, value):
    """``target[key] = value`` inside the graph: an index-put node (index Tensors in ``key``
    are inputs of it, so that a replayed program writes at the new indices)."""
    if _has_tensor(key):
        template, parts = _template(key)
        return rebase("__setitem__", target,
                      lambda old: IndexPutT.apply(old, value, template, *parts), False)
    if type(target._array) is not np.ndarray:  # a device tensor: value and key go there too
        device = device_of(target._array)
        if isinstance(value, Tensor) and device_of(value._array) != device:
            value = value.to(device)
        elif type(value) is np.ndarray:
            value = to_device(value, device)
        key = _key_on(key, target._array)
    return rebase("__setitem__", target, lambda old: IndexPut.apply(old, value, key), False)
