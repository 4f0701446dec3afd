"""The recorded graph as the pictures see it: its tensors, its ops, and every gradient on it.

Both pictures (``dot``) and the narrated backward pass (``explain``) read the graph through
this module. ``walk(root)`` collects every tensor and op that ``root`` depends on and names
them; for the gradients it does not redo backward: it reads what the engine's one walker
(``chainrule.autograd.graph.backprop``) did, as an observer. Before ``backward`` it runs that
walker with a sink that touches no ``.grad``; after a ``backward`` run inside
``keep_graph()`` it reads the record that backward kept. Either way it keeps the gradient of
*every* tensor (intermediates included) and one record per edge.

    >>> x, y, z = (cr.tensor(v, requires_grad=True) for v in (-2.0, 5.0, -4.0))
    >>> q = x + y
    >>> f = q * z
    >>> g = walk(f, names={"x": x, "y": y, "z": z, "q": q, "f": f})
    >>> [(t.name, float(t.grad)) for t in g.tensors]
    [('x', -4.0), ('y', -4.0), ('q', -4.0), ('z', 3.0), ('f', 1.0)]

Without ``keep_graph()``, ``backward`` releases the values the graph saved (activations),
and ``walk`` then says so instead of drawing zeros. Tensor hooks are not run here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

import contextlib

from ..autograd import grad_mode
from ..autograd.function import Released
from ..autograd.graph import backprop, fit_gradient, seed_gradient, topological_order
from ..tensor import Tensor
from .format import host

# What a tensor is in the picture; the lecture figures color them apart.
DATA, INPUT, PARAMETER, INTERMEDIATE, OUTPUT = (
    "data", "input", "parameter", "intermediate", "output")


@dataclass(eq=False)
class TensorInfo:
    """One tensor of the graph: its name, its kind and its gradient d root / d tensor."""

    tensor: Tensor
    name: str
    kind: str
    grad: np.ndarray | None = None   # computed here (None: no gradient reaches it)

    @property
    def value(self) -> np.ndarray:
        return self.tensor._array

    @property
    def shape(self) -> tuple:
        return tuple(self.tensor.shape)

    @property
    def shown_grad(self) -> np.ndarray | None:
        """What a picture shows: a leaf's ``.grad`` when backward has filled it, else ours."""
        g = self.tensor.grad if self.tensor.grad_fn is None else None
        if g is not None:
            return g._array
        return self.grad


@dataclass(eq=False)
class OpInfo:
    """One recorded operation: its node, the tensors it read and the one(s) it made."""

    node: object
    name: str
    inputs: list                      # [(argument index, TensorInfo)]
    constants: list                   # [(argument index, value)] -- numbers, dims, masks
    outputs: list = field(default_factory=list)   # [TensorInfo]


@dataclass(eq=False)
class Edge:
    """One edge of the backward pass: ``op`` sends ``grad`` to its input ``dst``.

    ``upstream`` is d root / d ``src`` (src is op's output; for an op with several outputs, a
    list with one gradient per output, None where none arrived), ``grad`` the product with the
    local derivative, already summed back to ``dst``'s shape; ``local`` is the local
    derivative d src / d dst when ``src`` has one element (the VJP of 1), else None.
    """

    op: OpInfo
    src: TensorInfo
    dst: TensorInfo
    arg: int
    upstream: np.ndarray | list
    grad: np.ndarray
    local: np.ndarray | None = None


@dataclass(eq=False)
class Graph:
    root: TensorInfo
    tensors: list     # data-flow order: producers before consumers
    ops: list         # data-flow order
    edges: list       # backward order (reverse topological), empty without gradients
    info: dict        # id(tensor) -> TensorInfo

    def __getitem__(self, name: str) -> TensorInfo:
        for t in self.tensors:
            if t.name == name:
                return t
        raise KeyError(f"no tensor named {name!r} in the graph (names: "
                       f"{[t.name for t in self.tensors]})")


def names_from(names) -> dict:
    """``{id(tensor): name}`` from a dict of name -> Tensor (``locals()`` works: Modules in
    it name their parameters "model.0.weight"), a Module (its ``named_parameters()``), or a
    list of those."""
    out = {}
    if names is None:
        return out
    sources = names if isinstance(names, (list, tuple)) else [names]
    for src in sources:
        if hasattr(src, "named_parameters"):
            src = dict(src.named_parameters())
        if not isinstance(src, dict):
            raise TypeError(f"names: expected a dict of name -> Tensor or a Module, "
                            f"got {type(src).__name__}")
        modules = []
        for name, t in src.items():
            if not isinstance(name, str) or name.startswith("_"):
                continue
            if isinstance(t, Tensor):
                out.setdefault(id(t), name)
            elif hasattr(t, "named_parameters") and not isinstance(t, type):
                modules.append((name, t))
        for name, m in modules:   # after plain names: a tensor's own variable name wins
            for pname, p in m.named_parameters():
                out.setdefault(id(p), f"{name}.{pname}")
    return out


def _kind(t: Tensor, is_root: bool) -> str:
    if is_root:
        return OUTPUT
    if t.grad_fn is not None:
        return INTERMEDIATE
    if not t._requires_grad:
        return DATA
    # nn.Parameter says so with a class attribute, so viz needs no import of nn.
    return PARAMETER if t.is_parameter else INPUT


def _is_index_data(t: Tensor) -> bool:
    """Integer or boolean data (class targets, indices, masks) carry no gradient: the
    pictures show them as constants of the op, as they show numbers and dims."""
    return t.grad_fn is None and not t._requires_grad and t._array.dtype.kind in "iub"


def walk(root: Tensor, names=None, gradient=None, grads: bool = True) -> Graph:
    """Collect ``root``'s graph and (with ``grads``) every tensor's gradient d root / d t.

    ``gradient`` seeds the backward pass (needed when ``root`` has more than one element,
    as for ``backward``); without it a non-scalar root gets no gradients.
    """
    if not isinstance(root, Tensor):
        raise TypeError(f"viz: expected a Tensor, got {type(root).__name__}")
    given = names_from(names)
    order = topological_order([root.grad_fn])      # consumers first
    info: dict = {}
    by_output: dict = {}   # (node, output_nr) -> TensorInfo: how the engine keys gradients

    def tensor_info(t: Tensor) -> TensorInfo:
        ti = info.get(id(t))
        if ti is None:
            key = (t.grad_fn, t._output_nr)
            if t.grad_fn is not None and key in by_output:
                return by_output[key]   # another wrapper of the same output
            ti = TensorInfo(t, given.get(id(t)) or getattr(t, "name", None) or "",
                            _kind(t, t is root))
            info[id(t)] = ti
            if t.grad_fn is not None:
                by_output[key] = ti
        return ti

    record = getattr(root.grad_fn, "backward_record", None)
    if grads and root.grad_fn is not None and root.grad_fn.freed and record is None:
        raise RuntimeError(
            "viz: backward() released this graph (to free memory); draw or explain it before "
            "backward, or run backward inside `with cr.viz.keep_graph():` to keep it")
    root_info = tensor_info(root)
    ops = []
    for node in reversed(order):   # data-flow order, so automatic names count forward
        inputs, constants = [], []
        for i, a in enumerate(node.args):
            if isinstance(a, Released):
                raise RuntimeError(
                    "viz: backward() released the values this graph saved (to free memory); "
                    "draw or explain it before backward, or run backward inside "
                    "`with cr.viz.keep_graph():` to keep them")
            if isinstance(a, Tensor) and not _is_index_data(a):
                inputs.append((i, tensor_info(a)))
            elif a is not None:
                constants.append((i, a))
        ops.append(OpInfo(node, node.name, inputs, constants))
    op_of = {id(o.node): o for o in ops}
    for (node, _), ti in by_output.items():
        op_of[id(node)].outputs.append(ti)

    tensors = _data_flow_order(ops, root_info)
    _auto_names(tensors)
    graph = Graph(root_info, tensors, ops, [], info)
    if grads:
        seed = _seed(root, gradient)
        record = getattr(root.grad_fn, "backward_record", None)
        if record is not None and gradient is None:
            steps = record.steps     # what the real backward did
        elif seed is not None and root.grad_fn is not None:
            steps = _observe(root, seed)
        else:
            steps = []
        if seed is not None:
            _read_steps(graph, steps, op_of, by_output, seed)
    return graph


@contextlib.contextmanager
def keep_graph():
    """Inside, ``backward`` keeps the values it would release and a record of what it did,
    so the graph can be drawn and narrated afterwards.

        >>> x, y = cr.tensor(3.0, requires_grad=True), cr.tensor(2.0, requires_grad=True)
        >>> f = x * y
        >>> with cr.viz.keep_graph():
        ...     f.backward()
        >>> cr.viz.explain(f, names={"x": x, "y": y, "f": f})    # after backward, from the record
        backward pass of f = 6, node by node in reverse topological order
        seed: df/df = 1
          1  f = x * y  ->  x :  upstream df/df = 1  ×  local df/dx = 2  =  df/dx = 2  x.grad
          2  f = x * y  ->  y :  upstream df/df = 1  ×  local df/dy = 3  =  df/dy = 3  y.grad
    """
    state = grad_mode.state
    prev, state.keep_graph = state.keep_graph, True
    try:
        yield
    finally:
        state.keep_graph = prev


class _Observed:
    """A sink that keeps leaf gradients to itself: the walker runs, no ``.grad`` changes."""

    nonleaf = {}

    def __init__(self):
        self.owned = set()
        self.steps = []

    def leaf(self, t, grad):
        pass

    def flush(self):
        pass

    def step(self, node, upstream, input_grads):
        self.steps.append((node, upstream, input_grads))


def _observe(root, seed):
    """Run the engine's walker from ``root`` as an observer: graph kept, no hooks, no .grad."""
    observer = _Observed()
    backprop([root], [seed], observer, retain_graph=True, observer=observer, hooks=False)
    return observer.steps


def _data_flow_order(ops, root_info) -> list:
    seen, tensors = set(), []
    for op in ops:
        for ti in [t for _, t in op.inputs] + sorted(op.outputs, key=lambda t: t.tensor._output_nr):
            if id(ti) not in seen:
                seen.add(id(ti))
                tensors.append(ti)
    if id(root_info) not in seen:   # a leaf root: a graph of one tensor
        tensors.append(root_info)
    return tensors


def _auto_names(tensors) -> None:
    """Short ids for unnamed tensors, counted in data-flow order: t1, t2, ...; the output
    is "out" unless that name is taken."""
    taken = {t.name for t in tensors if t.name}
    root = next((t for t in tensors if t.kind == OUTPUT), None)
    if root is not None and not root.name and "out" not in taken:
        root.name = "out"
    n = 0
    for t in tensors:
        if not t.name:
            n += 1
            while f"t{n}" in taken:
                n += 1
            t.name = f"t{n}"


def _seed(root: Tensor, gradient):
    """The walker's seed, made as backward makes it (``graph.seed_gradient``); a root of more
    than one element without ``gradient`` gets no gradients (a picture of values only)."""
    if gradient is None and (root._array.size != 1 or root._array.dtype.kind not in "fc"):
        return None
    try:
        return seed_gradient(root, gradient, False, "viz")
    except RuntimeError as exc:  # a gradient of the wrong shape: a bad argument to viz
        raise ValueError(str(exc)) from None


def _read_steps(graph: Graph, steps, op_of, by_output, seed) -> None:
    """Turn the walker's steps into every tensor's gradient and one Edge per (op, input)."""
    graph.root.grad = seed
    pending = {}   # id(TensorInfo) -> a leaf's gradient so far
    for node, grad, input_grads in steps:
        op = op_of.get(id(node))
        if op is None:       # a step of another root's graph (grad() with several outputs)
            continue
        outs = [by_output.get((node, k)) for k in range(node.n_outputs)]
        upstream = [_array(grad)] if node.n_outputs == 1 else [
            None if g is None else _array(g) for g in grad]
        for o, g in zip(outs, upstream):
            if o is not None and g is not None:
                o.grad = g
        # The local derivative of a one-element output is its VJP with upstream 1.
        local_grads = None
        src = outs[0] if node.n_outputs == 1 else None
        if src is not None and src.value.size == 1:
            with grad_mode.no_grad():
                local_grads = node.vjp(np.ones_like(upstream[0]), False)
        for (i, dst) in op.inputs:
            g = input_grads[i]
            if g is None:
                continue
            g = _array(g)
            local = None
            if local_grads is not None and local_grads[i] is not None:
                local = _array(fit_gradient(node, i, local_grads[i], dst.tensor))
            if src is not None:
                graph.edges.append(Edge(op, src, dst, i, src.grad, g, local))
            else:   # several outputs: the upstream is one gradient per output (None: unused)
                first = next(o for o, u in zip(outs, upstream) if o is not None and u is not None)
                graph.edges.append(Edge(op, first, dst, i, list(upstream), g, local))
            prev = pending.get(id(dst))
            pending[id(dst)] = g if prev is None else prev + g
    for ti in graph.tensors:
        if ti.tensor.grad_fn is None and id(ti) in pending:
            ti.grad = pending[id(ti)]


def _array(g):
    return host(g._array if isinstance(g, Tensor) else g)  # values are drawn from the host
