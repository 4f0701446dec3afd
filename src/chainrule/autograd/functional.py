"""Whole derivatives of a function, as ``torch.autograd.functional``: ``jacobian``,
``hessian``, ``vjp``, ``jvp``, ``hvp`` and ``vhp``, built on reverse mode.

The engine never forms a Jacobian: it multiplies the upstream gradient by each node's local
derivative (a vector-Jacobian product). ``jacobian`` asks for one such product per output
element, one row each; ``jvp`` gets J v from two of them (the VJP is linear in the
upstream vector, so differentiating it once more gives the product with J).

    >>> J = cr.autograd.functional.jacobian(lambda x: x ** 2, cr.tensor([1.0, 2.0]))
    >>> J
    tensor([[2., 0.],
            [0., 4.]])
"""

from __future__ import annotations

from ..tensor import Tensor
from .engine import grad
from .grad_mode import enable_grad


def _as_tuple(name, what, x):
    """(tuple of Tensors, whether ``x`` was a single Tensor)."""
    if isinstance(x, Tensor):
        return (x,), True
    if isinstance(x, (tuple, list)) and all(isinstance(t, Tensor) for t in x):
        return tuple(x), False
    raise TypeError(f"{name}: {what} must be a Tensor or a tuple of Tensors, got "
                    f"{type(x).__name__}")


def _prepared(inputs, create_graph):
    """Leaves to differentiate at: the inputs themselves when a graph of the result is
    wanted through them, else detached copies that require grad."""
    if create_graph:
        return tuple(t if t.requires_grad else t.detach().requires_grad_() for t in inputs)
    return tuple(t.detach().requires_grad_() for t in inputs)


def _grads(name, outputs, inputs, grad_outputs, create_graph, strict):
    gs = grad(outputs, inputs, grad_outputs, retain_graph=True, create_graph=create_graph,
              allow_unused=True)
    out = []
    for i, (g, t) in enumerate(zip(gs, inputs)):
        if g is None:
            if strict:
                raise RuntimeError(f"{name}: output is independent of input {i} (strict=True)")
            from ..creation import zeros_like  # noqa: PLC0415 - creation builds on tensor
            g = zeros_like(t)
        out.append(g if create_graph else g.detach())
    return tuple(out)


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False,
             strategy="reverse-mode"):
    """d func(inputs) / d inputs: for one input and one output a tensor of shape
    ``output.shape + input.shape``; tuples of them where ``func`` takes or returns tuples
    (indexed ``[output][input]``), as torch."""
    if strategy != "reverse-mode":
        raise ValueError(f"jacobian: only strategy='reverse-mode' is available, got {strategy!r}")
    xs, single_in = _as_tuple("jacobian", "inputs", inputs)
    with enable_grad():
        xs = _prepared(xs, create_graph)
        ys, single_out = _as_tuple("jacobian", "the outputs of func",
                                   func(*xs) if not single_in else func(xs[0]))
        rows = []
        for y in ys:
            n = y.numel()
            flat = y.reshape(-1)
            per_input = [[] for _ in xs]
            for k in range(n):
                gs = _grads("jacobian", [flat[k]], xs, None, create_graph, strict)
                for j, g in enumerate(gs):
                    per_input[j].append(g)
            from ..ops.shape import stack  # noqa: PLC0415
            blocks = []
            for j, x in enumerate(xs):
                if n:
                    block = stack(per_input[j]).reshape(tuple(y.shape) + tuple(x.shape))
                else:
                    from ..creation import zeros  # noqa: PLC0415
                    block = zeros(*(tuple(y.shape) + tuple(x.shape)), dtype=x.dtype)
                blocks.append(block)
            rows.append(blocks[0] if single_in else tuple(blocks))
    return rows[0] if single_out else tuple(rows)


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False,
            outer_jacobian_strategy="reverse-mode"):
    """The second derivatives of a scalar ``func``: shape ``input.shape * 2`` for one input,
    a tuple of tuples ``[i][j]`` for several."""
    xs, single_in = _as_tuple("hessian", "inputs", inputs)

    def gradient(*args):
        y = func(*args)
        if not isinstance(y, Tensor) or y.numel() != 1:
            raise RuntimeError("hessian: func must return a single-element Tensor")
        gs = _grads("hessian", [y.reshape(())], args, None, True, strict)
        return gs[0] if single_in else gs

    return jacobian(gradient, xs[0] if single_in else xs, create_graph=create_graph,
                    strict=strict)


def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), v^T J): the product the engine computes, for an upstream ``v`` (None
    for a single-element output)."""
    xs, single_in = _as_tuple("vjp", "inputs", inputs)
    with enable_grad():
        xs = _prepared(xs, create_graph)
        out = func(*xs) if not single_in else func(xs[0])
        ys, single_out = _as_tuple("vjp", "the outputs of func", out)
        vs = None
        if v is not None:
            vs, _ = _as_tuple("vjp", "v", v)
        elif any(y.numel() != 1 for y in ys):
            raise RuntimeError("vjp: v can be omitted only for single-element outputs")
        gs = _grads("vjp", list(ys), xs, None if vs is None else list(vs), create_graph, strict)
    outputs = out if create_graph else (ys[0].detach() if single_out
                                        else tuple(y.detach() for y in ys))
    return outputs, (gs[0] if single_in else gs)


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), J v), through two reverse passes: u -> u^T J is linear in u, so its
    gradient with respect to u, taken along v, is J v."""
    from ..creation import zeros_like  # noqa: PLC0415
    xs, single_in = _as_tuple("jvp", "inputs", inputs)
    with enable_grad():
        xs = _prepared(xs, True)
        out = func(*xs) if not single_in else func(xs[0])
        ys, single_out = _as_tuple("jvp", "the outputs of func", out)
        if v is None:
            if any(x.numel() != 1 for x in xs):
                raise RuntimeError("jvp: v can be omitted only for single-element inputs")
            vs = tuple(zeros_like(x) + 1 for x in xs)
        else:
            vs, _ = _as_tuple("jvp", "v", v)
        us = tuple(zeros_like(y).requires_grad_() for y in ys)
        gs = _grads("jvp", list(ys), xs, list(us), True, strict)
        jv = _grads("jvp", list(gs), us, list(vs), create_graph, strict)
    outputs = out if create_graph else (ys[0].detach() if single_out
                                        else tuple(y.detach() for y in ys))
    return outputs, (jv[0] if single_out else jv)


def vhp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), v^T H) of a scalar ``func``."""
    xs, single_in = _as_tuple("vhp", "inputs", inputs)
    with enable_grad():
        xs = _prepared(xs, True)
        y = func(*xs) if not single_in else func(xs[0])
        if not isinstance(y, Tensor) or y.numel() != 1:
            raise RuntimeError("vhp: func must return a single-element Tensor")
        gs = _grads("vhp", [y], xs, None, True, strict)
        vs, _ = _as_tuple("vhp", "v", v) if v is not None else (None, None)
        if vs is None:
            if any(x.numel() != 1 for x in xs):
                raise RuntimeError("vhp: v can be omitted only for single-element inputs")
            from ..creation import ones_like  # noqa: PLC0415
            vs = tuple(ones_like(x) for x in xs)
        hv = _grads("vhp", list(gs), xs, list(vs), create_graph, strict)
    return (y if create_graph else y.detach()), (hv[0] if single_in else hv)


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), H v) of a scalar ``func``: H is symmetric, so H v = (v^T H)^T."""
    return vhp(func, inputs, v, create_graph, strict)
