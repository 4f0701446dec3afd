"""Why is ``.grad`` None? One or two sentences about a tensor and the loss it should come from.

    >>> w = cr.randn(3, requires_grad=True)
    >>> h = w * 2
    >>> loss = (h * h).sum()
    >>> loss.backward()
    >>> print(cr.autograd.why_no_grad(h, loss, name="h"))
    h is not a leaf (it was made by mul), and backward() fills .grad only on leaves; ...

The reasons, in the order they are checked: an integer tensor, a tensor made by ``detach()``
or ``.data`` (with the file and line of the call), one computed under ``no_grad`` (with the op),
``requires_grad=False``, a loss without a graph, a tensor that the loss does not use (and,
when it can be told, the ``detach()`` or ``no_grad`` that cut the path), a non-leaf without
``retain_grad()``, and a backward that has not run or whose ``.grad`` was reset since.
Nothing here runs backward or changes a tensor; it reads the recorded graph.
"""

from __future__ import annotations

import os

from ..tensor import Tensor, _Cut
from .graph import topological_order
from .function import Node


def why_no_grad(tensor, loss=None, name: str | None = None) -> str:
    """Explain why ``tensor.grad`` is None after (or before) ``loss.backward()``.

    ``name`` is what to call the tensor in the sentence (default: its ``.name``, else
    "the tensor"). Without ``loss`` only the tensor's own state is examined.

        >>> x = cr.randn(3, requires_grad=True)
        >>> with cr.no_grad():
        ...     y = x * 2
        >>> print(cr.autograd.why_no_grad(y))
        the tensor was computed by mul under no_grad() ...
    """
    if not isinstance(tensor, Tensor):
        raise TypeError(f"why_no_grad: expected a Tensor, got {type(tensor).__name__}")
    if loss is not None and not isinstance(loss, Tensor):
        raise TypeError(f"why_no_grad: loss must be a Tensor, got {type(loss).__name__}")
    label = name or getattr(tensor, "name", None) or "the tensor"
    reason = _own_reason(tensor, label)
    if reason is None and loss is not None:
        reason = _graph_reason(tensor, loss, label)
    if reason is None:
        reason = _leaf_reason(tensor, loss, label)
    return reason


# --- the tensor itself -------------------------------------------------------------------------

def _own_reason(t, label):
    if t._array.dtype.kind not in "fc":
        kind = "an integer" if t._array.dtype.kind in "iu" else "a non-float"
        return (f"{label} is {kind} tensor ({t.dtype}): only floating-point tensors can "
                f"have gradients; make it with a float dtype (e.g. dtype=cr.float32)")
    if t._requires_grad:
        return None
    origin = getattr(t, "_origin", None)
    if isinstance(origin, _Cut):
        how = origin.how
        return (f"{label} was made by {how} ({_where(origin)}{_of_node(origin)}): it shares "
                "the data but not the graph, so it does not require grad and no gradient "
                f"flows back through it; use the tensor before {how} if it should learn")
    if isinstance(origin, type) and issubclass(origin, Node):
        return (f"{label} was computed by {_op_name(origin)} under no_grad() (or "
                "set_grad_enabled(False)), so no graph was recorded and it does not require "
                "grad; compute it outside no_grad() if gradients should flow through it")
    return (f"{label} has requires_grad=False, so autograd does not track it; create it with "
            f"requires_grad=True (or call .requires_grad_()) before computing the loss")


# --- the loss's graph --------------------------------------------------------------------------

def _graph_reason(t, loss, label):
    if loss is t:
        return None
    if not loss._requires_grad:
        origin = getattr(loss, "_origin", None)
        how = (f"it was computed by {_op_name(origin)} under no_grad()"
               if isinstance(origin, type) and issubclass(origin, Node)
               else f"it was made by {origin.how}" if isinstance(origin, _Cut)
               else "no tensor it was computed from requires grad, or it was computed "
                    "under no_grad()")
        return (f"the loss has no graph (requires_grad=False: {how}), so backward() cannot "
                f"reach {label}")
    order = topological_order([loss.grad_fn]) if loss.grad_fn is not None else []
    used = {id(a) for node in order for a in node.args if isinstance(a, Tensor)}
    # After backward a node keeps placeholders of its non-leaf inputs (their values were
    # released): a non-leaf reaches the loss when the node that made it is in the graph.
    if id(t) in used or (t.grad_fn is not None and t.grad_fn in order):
        return None
    return (f"{label} is not used to compute the loss, so no gradient reaches it"
            + _cut(t, order, label))


def _cut(t, order, label):
    """Where the path from ``t`` to the loss was cut, when the graph still tells."""
    cuts = []
    seen = set()
    for node in order:
        for a in node.args:
            origin = getattr(a, "_origin", None) if isinstance(a, Tensor) else None
            if origin is None or id(a) in seen:
                continue
            seen.add(id(a))
            if isinstance(origin, _Cut):
                source = _source(origin)
                if source is not None and _upstream(t, source):
                    return (f": the path is cut by {origin.how} at {_where(origin)} (of the "
                            f"output of {source.name}), which {label} feeds")
                cuts.append(f"{origin.how} at {_where(origin)}")
            elif isinstance(origin, type) and issubclass(origin, Node):
                cuts.append(f"{_op_name(origin)} under no_grad()")
    if cuts:
        return ("; the loss uses tensors cut from a graph (" + ", ".join(cuts[:3])
                + (", ..." if len(cuts) > 3 else "") + "): if it flowed through one of them, "
                "that is where the path ends")
    return " (compute the loss from it, or check that the tensor you ask about is the one used)"


def _upstream(t, node):
    """Whether ``t`` is an input (directly or further up) of ``node``."""
    if t.grad_fn is node:
        return True
    order = topological_order([node])
    return (t.grad_fn is not None and t.grad_fn in order) or any(
        a is t for n in order for a in n.args)


# --- a leaf that should have a gradient ----------------------------------------------------------

def _leaf_reason(t, loss, label):
    if t.grad_fn is not None and not t.retains_grad:
        call = f"{label}.retain_grad()" if label != "the tensor" else ".retain_grad() on it"
        return (f"{label} is not a leaf (it was made by {t.grad_fn.name}), and backward() fills "
                f".grad only on leaves; call {call} before backward(), or get it with "
                "cr.autograd.grad(loss, tensor)")
    if t._grad is not None:
        return f"{label} has a gradient: .grad is set (shape {tuple(t._grad.shape)})"
    node = loss.grad_fn if loss is not None else None
    if node is not None and node.freed:
        return (f"backward() has run through the loss, but {label}'s .grad was reset since "
                "(optimizer.zero_grad() and model.zero_grad() set it to None); read .grad "
                "after backward() and before zero_grad()")
    return (f"backward() has not been called yet{' on the loss' if loss is not None else ''}: "
            f".grad of {label} is filled by loss.backward()")


def _where(cut):
    return f"{os.path.basename(cut.filename)}:{cut.line}"


def _source(cut):
    """The node whose output was cut, while it is alive (the cut holds it weakly)."""
    return cut.node() if cut.node is not None else None


def _of_node(cut):
    node = _source(cut)
    return f", of the output of {node.name}" if node is not None else ""


def _op_name(cls):
    try:
        return object.__new__(cls).name
    except Exception:  # noqa: BLE001 - a name property that needs state: fall back
        return cls.__name__.lower()
