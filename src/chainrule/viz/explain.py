"""Narrate the backward pass: at every edge, upstream gradient times local derivative.

    >>> x, y, z = (cr.tensor(v, requires_grad=True) for v in (-2.0, 5.0, -4.0))
    >>> q = x + y
    >>> f = q * z
    >>> cr.viz.explain(f, names=locals())
    backward pass of f = -12, node by node in reverse topological order
    seed: df/df = 1
      1  f = q * z  ->  q :  upstream df/df = 1   ×  local df/dq = -4  =  df/dq = -4
      2  f = q * z  ->  z :  upstream df/df = 1   ×  local df/dz = 3   =  df/dz = 3   z.grad
      3  q = x + y  ->  x :  upstream df/dq = -4  ×  local dq/dx = 1   =  df/dx = -4  x.grad
      4  q = x + y  ->  y :  upstream df/dq = -4  ×  local dq/dy = 1   =  df/dy = -4  y.grad

Each line is one edge of the graph, walked as the engine walks it: the gradient that
arrived at an op's output (upstream), the op's local derivative, and their product sent
to the input. Where one tensor feeds several ops, the products of all its paths are
added, and a "sum at" line says so. For an op whose output has more than one element
the local derivative is a Jacobian that is never built (a vector-Jacobian product does the
work), so the line gives shapes and norms instead.

``explain`` never touches ``.grad``: before ``loss.backward()`` it watches the engine's walker
run without depositing anything; after a backward run inside ``cr.viz.keep_graph()`` it reads
what that backward did. ``backward=True`` also runs ``loss.backward()`` at the end, as if you
had called it.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np

from . import format as fmt
from .dot import SYMBOLS
from .graph import walk


@dataclass
class BackwardStep:
    """One edge: ``op`` (which made ``output``) sends ``grad = upstream x local`` to ``input``."""

    index: int
    op: str                      # the op's name, e.g. "mul"
    forward: str                 # the forward equation, e.g. "f = q * z"
    output: str                  # the op's output tensor, e.g. "f" ("u, v" for several)
    input: str                   # the input tensor receiving the gradient, e.g. "q"
    upstream: np.ndarray | list  # d root / d output (a list: one per output, None if unused)
    local: np.ndarray | None     # d output / d input when output has one element, else None
    grad: np.ndarray             # what this edge sends: d root / d input along this path
    path: int = 1                # this edge is path `path` of `paths` reaching `input`
    paths: int = 1
    leaf: bool = False           # input is a leaf: its .grad gets the (summed) gradient


@dataclass
class GradientSum:
    """Gradients reaching one tensor along several paths, added up."""

    tensor: str
    parts: list
    total: np.ndarray
    leaf: bool = False


def explain(loss, file=None, return_steps: bool = False, names=None, gradient=None,
            backward: bool = False, max_elems: int = 4):
    """Print the backward pass of ``loss``, one line per edge (see the module docstring).

    ``names``: a dict name -> Tensor (``locals()`` works) or a Module, to name tensors.
    ``gradient``: the seed for a ``loss`` with more than one element.
    ``file``: where to print (default stdout); ``file=False`` prints nothing.
    ``return_steps``: return the steps as a list of ``BackwardStep`` and ``GradientSum``.
    ``backward``: run ``loss.backward(gradient)`` afterwards, filling the leaves' ``.grad``.
    """
    if not loss.requires_grad:
        raise RuntimeError("explain: the tensor does not require grad and has no graph "
                           "(computed under no_grad, or from tensors without requires_grad?)")
    if gradient is None and loss._array.size != 1:
        raise RuntimeError(f"explain: the output has shape {tuple(loss.shape)}; pass "
                           "`gradient=` of that shape to seed the backward pass")
    graph = walk(loss, names, gradient)
    steps = _steps(graph)
    if file is not False:
        _print(graph, steps, sys.stdout if file is None else file, max_elems)
    if backward:
        loss.backward(gradient)
    return steps if return_steps else None


def _steps(graph) -> list:
    paths = {}
    for e in graph.edges:
        paths[id(e.dst)] = paths.get(id(e.dst), 0) + 1
    seen, parts, steps = {}, {}, []
    for index, e in enumerate(graph.edges, 1):
        k = seen[id(e.dst)] = seen.get(id(e.dst), 0) + 1
        leaf = e.dst.tensor.grad_fn is None
        steps.append(BackwardStep(
            index, e.op.name,
            forward_equation(e.op), _output_names(e), e.dst.name, e.upstream, e.local, e.grad,
            k, paths[id(e.dst)], leaf))
        parts.setdefault(id(e.dst), []).append(e.grad)
        if k == paths[id(e.dst)] > 1:
            steps.append(GradientSum(e.dst.name, parts[id(e.dst)], e.dst.grad, leaf))
    return steps


def _output_names(edge) -> str:
    if not isinstance(edge.upstream, list):
        return edge.src.name
    by_nr = {t.tensor._output_nr: t.name for t in edge.op.outputs}
    return ", ".join(by_nr.get(k, "?") for k in range(len(edge.upstream)))


def forward_equation(op) -> str:
    """``f = q * z``, ``t5 = t4 + 1``, ``h = linear(x, W, b)``: what the op computed."""
    outs = sorted(op.outputs, key=lambda t: t.tensor._output_nr)
    lhs = ", ".join(t.name for t in outs) or "?"
    args = {i: t.name for i, t in op.inputs}
    args.update({i: fmt.constant(c) for i, c in op.constants})
    ordered = [args[i] for i in sorted(args)]
    sym = SYMBOLS.get(op.name)
    if sym is not None and len(ordered) == 2:
        return f"{lhs} = {ordered[0]} {sym} {ordered[1]}"
    if op.name == "neg" and len(ordered) == 1:
        return f"{lhs} = -{ordered[0]}"
    return f"{lhs} = {op.name}({', '.join(ordered)})"


def _value(a, max_elems) -> str:
    a = fmt.host(a)
    if a.size <= max_elems:
        return fmt.array(a, max_elems)
    return f"{fmt.shape(a.shape)} ‖·‖={fmt.number(fmt.norm(a))}"


def _print(graph, steps, out, max_elems) -> None:
    root = graph.root.name
    seed = graph.root.grad
    print(f"backward pass of {root} = {_value(graph.root.value, max_elems)}, "
          "node by node in reverse topological order", file=out)
    print(f"seed: d{root}/d{root} = {_value(seed, max_elems)}", file=out)
    rows = []
    for s in steps:
        if isinstance(s, GradientSum):
            rows.append(s)
            continue
        if s.local is not None:
            local = f"local d{s.output}/d{s.input} = {_value(s.local, max_elems)}"
        else:
            local = "local VJP"
        note = ""
        if s.paths > 1:
            note = f"path {s.path} of {s.paths}"
        elif s.leaf:
            note = f"{s.input}.grad"
        if isinstance(s.upstream, list):   # an op with several outputs
            outs = s.output.split(", ")
            upstream = "upstream " + ", ".join(
                f"d{root}/d{o} = {_value(u, max_elems)}"
                for o, u in zip(outs, s.upstream) if u is not None)
        else:
            upstream = f"upstream d{root}/d{s.output} = {_value(s.upstream, max_elems)}"
        rows.append([f"{s.index:3d}", s.forward, f"->  {s.input} :", upstream,
                     "×", local, "=", f"d{root}/d{s.input} = {_value(s.grad, max_elems)}", note])
    table = [r for r in rows if isinstance(r, list)]
    widths = [max((len(r[c]) for r in table), default=0) for c in range(9)]
    for r in rows:
        if isinstance(r, GradientSum):
            parts = " + ".join(_value(p, max_elems) for p in r.parts)
            where = f"   {r.tensor}.grad" if r.leaf else ""
            print(f"{'':{widths[0]}}  sum at {r.tensor}: {parts} = "
                  f"{_value(r.total, max_elems)}{where}", file=out)
            continue
        cells = [r[0].rjust(widths[0])] + [r[c].ljust(widths[c]) for c in range(1, 9)]
        print(("  ".join(cells)).rstrip(), file=out)
    if not steps:
        print("(no edges: the output is a leaf, made by no operation)", file=out)
