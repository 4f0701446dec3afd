"""Draw a static graph (``cr.static.Graph``), lecture style, with its derivative graph beside it.

    >>> g = cr.static.Graph()
    >>> with g:
    ...     x = g.placeholder("x", (None,))
    ...     a = g.variable("a", 2.0)
    ...     loss = (a * x).sigmoid().mean()
    ...     da = g.gradients(loss, a)
    >>> text = cr.viz.to_dot(g, derivatives=True, names=locals())
    >>> cr.viz.draw(g, "static.svg", derivatives=True, names=locals())   # doctest: +SKIP

Placeholders are green, variables amber, constants grey, intermediate values blue and the
output (the fetches, or the values nothing else reads) orange; operations are lavender
circles. Shapes show None for a free dimension. With ``derivatives=True`` the derivative
graph that ``graph.gradients`` built is drawn beside it, read right to left as backward runs:
one box per gradient (d out/d value), each edge labelled with its local derivative
(d(a*b)/da = b), and the sum over paths where several paths meet.

``to_dot`` and ``draw`` here take a static graph or a Tensor (then they are ``viz.dot``'s).
"""

from __future__ import annotations

from ..autograd.tracing import Value
from . import dot
from . import format as fmt
from .graph import DATA, INPUT, INTERMEDIATE, OUTPUT, PARAMETER, OpInfo, names_from

# The lectures' colours for a static graph: inputs green, output orange, intermediates blue.
STATIC_COLORS = {
    INPUT: ("#dcfce7", "#16a34a"),
    PARAMETER: ("#fef3c7", "#d97706"),
    DATA: ("#f3f4f6", "#6b7280"),
    INTERMEDIATE: ("#dbeafe", "#2563eb"),
    OUTPUT: ("#ffedd5", "#ea580c"),
}
GRAD_FILL = "#fef2f2"
_DERIVATIVE = ("VJP", "Seed", "SumToShape", "AddGrad")


def is_static_graph(obj) -> bool:
    return hasattr(obj, "program") and hasattr(obj, "placeholders") and hasattr(obj, "run")


def to_dot(root, *args, **options) -> str:
    """DOT text of a static graph (``graph_to_dot``'s options), or of a Tensor's graph
    (``viz.dot.to_dot``'s)."""
    if is_static_graph(root):
        return graph_to_dot(root, *args, **options)
    return dot.to_dot(root, *args, **options)


def draw(root, path=None, format: str | None = None, **options):  # noqa: A002 - graphviz's name
    """Render a static graph (or a Tensor's graph) to ``path``, svg or png; returns ``path``
    (a ``Drawing`` without one). Takes ``to_dot``'s options."""
    if not is_static_graph(root):
        return dot.draw(root, path, format, **options)
    return dot.draw(dot.Drawing(graph_to_dot(root, **options)), path, format)


def graph_to_dot(graph, fetches=None, derivatives: bool = False, names=None,
                 rankdir: str = "LR", title: str | None = None, dpi: float | None = None) -> str:
    """DOT text of a static graph. ``fetches``: draw only what they need; ``derivatives``:
    the derivative graph beside it; ``names``: dict name -> Tensor (``locals()`` works);
    ``rankdir``: "LR" or "TB"; ``dpi`` for PNG output."""
    picture = _Picture(graph, fetches, names)
    body = picture.forward()
    if derivatives:
        body += picture.derivatives()
    return dot.document(body, rankdir, title, dpi)


class _Picture:
    """The forward steps of a graph and the derivative steps that differentiate them."""

    def __init__(self, graph, fetches, names):
        self.graph = graph
        self.program = graph.program
        given = names_from(names)
        if fetches is None:
            steps = self.program.steps
            fetched = set()
        else:
            flat = fetches if isinstance(fetches, (list, tuple)) else [fetches]
            steps = graph.steps_for(list(flat))
            fetched = {self.program.find(f).index for f in flat if self.program.find(f)}
        derived = graph._derived
        derived.update()
        self.forward_steps = [s for s in steps if s.args is not None and s.of is None
                              and s.outputs and not any(v is not None and v.index in
                                                        derived.values for v in s.outputs)
                              and s.op != "VJPOf"]
        drawn = {id(s) for s in self.forward_steps}
        values = {v.index for s in self.forward_steps for v in s.outputs if v is not None}
        # The derivatives of what is drawn (a second derivative's steps differentiate steps
        # that rebuild the derivative graph, which the picture leaves out).
        self.derivative_steps = [s for s in self.program.steps if s.op in _DERIVATIVE
                                 and (s.op != "VJP" or id(s.of) in drawn)
                                 and (s.op != "Seed" or s.inputs[0].index in values)]
        self._names = {}
        read = {a.index for s in self.forward_steps for a in s.args if type(a) is Value}
        made = [v for s in self.forward_steps for v in s.outputs if v is not None]
        self.outputs = fetched or {v.index for v in made if v.index not in read}
        self._name_values(given)

    # --- names and kinds --------------------------------------------------------------------
    def _name_values(self, given):
        taken = set()
        order = []
        for s in self.forward_steps:
            for a in s.args:
                if type(a) is Value:
                    order.append(a)
            order.extend(v for v in s.outputs if v is not None)
        n = 0
        for v in order:
            if v.index in self._names:
                continue
            t = self.program.tensor_of(v)
            name = given.get(id(t)) or getattr(t, "name", None) or v.name
            if name is None and v.index in self.outputs and "out" not in taken:
                name = "out"
            if name is None:
                n += 1
                while f"t{n}" in taken:
                    n += 1
                name = f"t{n}"
            taken.add(name)
            self._names[v.index] = name

    def name(self, v) -> str:
        return self._names.get(v.index) or v.name or f"%{v.index}"

    def kind(self, v) -> str:
        if v.index in self.outputs:
            return OUTPUT
        t = self.program.tensor_of(v)
        if v.index in self.graph._derived.producer:
            return INTERMEDIATE
        if type(t).__name__ == "Placeholder":
            return INPUT
        if getattr(t, "_requires_grad", False):
            return PARAMETER
        return DATA

    def shape(self, v) -> str:
        t = self.program.tensor_of(v)
        declared = getattr(t, "declared_shape", None)
        if declared is not None:
            return _shape(declared)
        free = any(d is None for p in self.graph.placeholders.values() for d in p.declared_shape)
        return _shape(tuple(None if free and d == self.graph.free_size else d for d in v.shape))

    # --- the forward graph ------------------------------------------------------------------
    def forward(self) -> list:
        lines, seen = ['  subgraph cluster_forward {', '    label=<<B>graph</B>>; '
                       'color="#d1d5db"; style="rounded";'], set()

        def value_node(v):
            if v.index in seen:
                return
            seen.add(v.index)
            fill, border = STATIC_COLORS[self.kind(v)]
            rows = [f"<B>{dot._esc(self.name(v))}</B>"
                    f'<FONT POINT-SIZE="10" COLOR="{dot.MUTED}">  {self.shape(v)}</FONT>']
            t = self.program.tensor_of(v)
            if self.kind(v) == DATA and hasattr(t, "_array") and t._array.size <= 4:
                rows.append(dot._colored(dot.MUTED, fmt.array(t._array, 4)))
            lines.append(f'    v{v.index} [shape=box, style="rounded,filled", fillcolor="{fill}", '
                         f'color="{border}", margin="0.12,0.06", label=<{dot._table(rows)}>];')

        for s in self.forward_steps:
            for a in s.args:
                if type(a) is Value:
                    value_node(a)
            for v in s.outputs:
                if v is not None:
                    value_node(v)
            lines.append("  " + dot._op_node(f"s{s.index}", _op_info(s)))
            for a in s.args:
                if type(a) is Value:
                    lines.append(f"    v{a.index} -> s{s.index};")
            for v in s.outputs:
                if v is not None:
                    lines.append(f"    s{s.index} -> v{v.index};")
        lines.append("  }")
        return lines

    # --- the derivative graph ---------------------------------------------------------------
    def derivatives(self) -> list:
        if not self.derivative_steps:
            return []
        lines = ['  subgraph cluster_derivatives {',
                 '    label=<<B>derivative graph</B> (backward: upstream × local, summed over '
                 'paths)>; color="#fca5a5"; style="rounded";']
        of = {}          # gradient value index -> the forward value it is the gradient of
        root_of = {}     # gradient value index -> the root's name
        partial = set()  # gradients that are one path's share of a sum
        for s in self.derivative_steps:
            if s.op == "AddGrad":
                partial.update(v.index for v in s.inputs)
        wanted = {id(t) for call in self.graph.gradient_calls for t in call.results
                  if t is not None}
        nodes = {}

        latest = {}      # forward value index -> its gradient so far (a Value)

        def node(gv, forward, root):
            latest[forward.index] = gv
            if gv.index in nodes:
                return
            nodes[gv.index] = True
            of[gv.index], root_of[gv.index] = forward, root
            what = f"∂{root}/∂{self.name(forward)}"
            if gv.index in partial:
                what = f"{what}, one path"
            kind = self.kind(forward)
            border = STATIC_COLORS[kind][1]
            result = id(self.program.tensor_of(gv)) in wanted or any(
                self.program.find(t) is gv for t in self._results())
            width = 2.6 if result else 1.4
            lines.append(f'    g{gv.index} [shape=box, style="rounded,filled", '
                         f'fillcolor="{GRAD_FILL}", color="{border}", penwidth={width}, '
                         f'margin="0.1,0.05", label=<{dot._colored(dot.GRAD_COLOR, what)}'
                         f'<FONT POINT-SIZE="10" COLOR="{dot.MUTED}">  '
                         f'{self.shape(gv)}</FONT>>];')

        for s in self.derivative_steps:
            if s.op == "Seed":
                root = self.name(s.inputs[0])
                node(s.outputs[0], s.inputs[0], root)
            elif s.op == "VJP":
                f = s.of
                # The upstream is the gradient of the forward step's output(s), found by that
                # value: an op whose rule returns one array for several arguments (an Add)
                # makes values that the program tells apart only by their position.
                outs = [f.outputs[k] for k in s.attrs.get("outputs", (0,))]
                ups = [latest[o.index] for o in outs if o is not None and o.index in latest]
                if not ups:
                    continue
                root = root_of[ups[0].index]
                out = outs[0]
                for j, gv in enumerate(s.outputs):
                    if gv is None:
                        continue
                    arg = f.args[j]
                    node(gv, arg, root)
                    label = f"∂{self.name(out)}/∂{self.name(arg)} = {local(f, j, self.name)}"
                    for u in ups:
                        lines.append(f"    g{u.index} -> g{gv.index} "
                                     f"[label=<{dot._esc(label)}>];")
            elif s.op == "SumToShape" and s.inputs[0].index in of:
                src = s.inputs[0]
                node(s.outputs[0], of[src.index], root_of[src.index])
                lines.append(f"    g{src.index} -> g{s.outputs[0].index} "
                             f"[label=<summed to {fmt.shape(s.attrs['shape'])}>];")
            elif s.op == "AddGrad" and all(v.index in of for v in s.inputs):
                a, b = s.inputs
                node(s.outputs[0], of[a.index], root_of[a.index])
                for v in (a, b):
                    lines.append(f"    g{v.index} -> g{s.outputs[0].index} "
                                 f'[label=<+ (sum over paths)>, color="{dot.GRAD_COLOR}"];')
        lines.append("  }")
        return lines

    def _results(self):
        for call in self.graph.gradient_calls:
            for t in call.results:
                if t is not None:
                    yield t


def _op_info(s) -> OpInfo:
    inputs, constants = [], []
    for i, a in enumerate(s.args):
        if type(a) is Value:
            inputs.append((i, None))
        elif a is not None:
            constants.append((i, a))
    name = s.node.name if s.node is not None else s.op.lower()
    return OpInfo(s.node, name, inputs, constants)


def _shape(shape) -> str:
    inner = ", ".join("None" if d is None else str(d) for d in shape)
    return f"({inner}{',' if len(shape) == 1 else ''})"


def _other(step, j, name):
    """The name (or number) of the argument of a two-argument op that is not ``j``."""
    k = 1 - j if j in (0, 1) else 0
    a = step.args[k] if k < len(step.args) else None
    if type(a) is Value:
        return name(a)
    return fmt.constant(a)


def local(step, j, name) -> str:
    """The local derivative d out/d arg ``j`` of a forward step, as the lectures write it."""
    op = step.op
    arg = step.args[j]
    a = name(arg) if type(arg) is Value else fmt.constant(arg)
    out = name(step.outputs[0]) if step.outputs and step.outputs[0] is not None else "out"
    if op == "Add":
        return "1"
    if op == "Sub":
        return "1" if j == 0 else "-1"
    if op == "Neg":
        return "-1"
    if op == "Mul":
        return _other(step, j, name)
    if op == "Div":
        b = _other(step, 0, name)
        return f"1/{b}" if j == 0 else f"-{_other(step, 1, name)}/{a}²"
    if op == "Pow":
        e = step.args[1]
        if type(e) is not Value and j == 0:
            return f"{fmt.constant(e)}·{a}^{fmt.number(e - 1)}"
        return f"{out}·ln {_other(step, 1, name)}" if j == 1 else f"e·{a}^(e-1)"
    if op == "MatMul":
        return f"· {_other(step, 0, name)}ᵀ" if j == 0 else f"{_other(step, 1, name)}ᵀ ·"
    rule = _UNARY_RULES.get(op)
    return f"the {op} rule" if rule is None else rule.format(a=a, out=out)


# The local derivatives written in the op's input ``a`` and its output ``out``.
_UNARY_RULES = {
    "Exp": "{out}", "Log": "1/{a}", "Sqrt": "1/(2{out})", "Sigmoid": "{out}(1-{out})",
    "Tanh": "1-{out}²", "Relu": "[{a}>0]", "Softplus": "sigmoid({a})", "Sum": "1",
    "SumToSize": "1", "Mean": "1/n",
}
