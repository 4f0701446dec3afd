"""cr.viz: the graph drawn with values and gradients, and the narrated backward pass.

The lectures' worked examples are the fixtures: f = (x + y) z at (-2, 5, -4) and the
sigmoid neuron with w = (2, -3, -3), x = (-1, -2). Every gradient viz computes (for
intermediates too) is checked against torch's ``retain_grad``.
"""

from __future__ import annotations

import io
import os
import re
import stat
import subprocess
import sys

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import nn, viz


# --- reading the DOT text back ---------------------------------------------------------------

def _plain(label: str) -> str:
    """An HTML-like label as text, one row a line: 'x\\nvalue -2\\ngrad -4'."""
    text = label.replace("</TD></TR>", "\n").replace('<BR ALIGN="LEFT"/>', " ")
    text = re.sub(r"<[^>]+>", "", text)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    lines = (" ".join(line.split()) for line in text.strip().split("\n"))
    return "\n".join(line for line in lines if line)


def parse_dot(dot: str):
    """{node id: (attributes, plain label)} and [(src, dst)] from to_dot's output."""
    nodes, edges = {}, []
    for line in dot.splitlines():
        m = re.match(r"\s*(\w+) \[(.*)label=<(.*)>\];$", line)
        if m:
            nodes[m.group(1)] = (m.group(2), _plain(m.group(3)))
            continue
        m = re.match(r"\s*(\w+) -> (\w+)", line)
        if m:
            edges.append((m.group(1), m.group(2)))
    return nodes, edges


def tensor_nodes(dot):
    """{tensor name: its label's lines} for the tensor boxes of a flat picture."""
    nodes, _ = parse_dot(dot)
    return {label.split("\n")[0].split(" ")[0]: label.split("\n")
            for nid, (_, label) in nodes.items() if nid.startswith("t")}


def op_nodes(dot):
    nodes, _ = parse_dot(dot)
    return [label for nid, (_, label) in nodes.items() if nid.startswith("op")]


# --- the lecture graphs -----------------------------------------------------------------------

def xyz():
    x, y, z = (cr.tensor(v, requires_grad=True) for v in (-2.0, 5.0, -4.0))
    q = x + y
    f = q * z
    return dict(x=x, y=y, z=z, q=q, f=f)


def neuron():
    """The lectures' sigmoid neuron written with primitive gates: f = 1 / (1 + e^-(w.x + b))."""
    w0, x0, w1, x1, w2 = (cr.tensor(v, requires_grad=True) for v in (2.0, -1.0, -3.0, -2.0, -3.0))
    a = w0 * x0
    b = w1 * x1
    s = a + b + w2
    f = 1 / (1 + cr.exp(-s))
    return dict(w0=w0, x0=x0, w1=w1, x1=x1, w2=w2, a=a, b=b, s=s, f=f)


XYZ_VALUES = {"x": -2, "y": 5, "z": -4, "q": 3, "f": -12}
XYZ_GRADS = {"x": -4, "y": -4, "z": 3, "q": -4, "f": 1}


@pytest.mark.parametrize("after_backward", [False, True])
def test_xyz_dot_has_the_lecture_nodes_values_and_gradients(after_backward):
    t = xyz()
    if after_backward:
        with viz.keep_graph():  # keep the values for drawing after backward
            t["f"].backward()
    dot = viz.to_dot(t["f"], names=t)
    tensors = tensor_nodes(dot)
    assert sorted(tensors) == ["f", "q", "x", "y", "z"]
    assert sorted(op_nodes(dot)) == ["*", "+"]
    for name, lines in tensors.items():
        assert lines[1:] == [f"value {XYZ_VALUES[name]}", f"grad {XYZ_GRADS[name]}"], name
    # Edges run with the data: x, y -> + -> q; q, z -> * -> f.
    nodes, edges = parse_dot(dot)
    by_label = {label.split("\n")[0]: nid for nid, (_, label) in nodes.items()}
    expected = {("x", "+"), ("y", "+"), ("+", "q"), ("q", "*"), ("z", "*"), ("*", "f")}
    assert {(nodes[a][1].split("\n")[0], nodes[b][1].split("\n")[0]) for a, b in edges} == expected
    assert len(edges) == len(expected) and by_label["f"].startswith("t")
    if not after_backward:
        assert all(t[n].grad is None for n in "xyz"), "to_dot must not touch .grad"


def test_kinds_are_colored_apart_and_names_come_from_slot_or_ids():
    t = xyz()
    t["x"].name = "x"   # the Tensor's own name
    dot = viz.to_dot(t["f"], names={"y": t["y"]})
    tensors = tensor_nodes(dot)
    assert "x" in tensors and "y" in tensors
    assert "out" in tensors                     # the unnamed output
    assert {"t1", "t2"} <= set(tensors)         # unnamed z and q: short ids
    nodes, _ = parse_dot(dot)
    fills = {label.split("\n")[0].split(" ")[0]: re.search(r'fillcolor="([^"]+)"', attrs)[1]
             for nid, (attrs, label) in nodes.items() if nid.startswith("t")}
    assert fills["x"] == fills["y"] == viz.dot.COLORS["input"][0]
    assert fills["out"] == viz.dot.COLORS["output"][0]
    assert len({fills["x"], fills["out"], fills["t1"] if fills["t1"] != fills["x"] else
                fills["t2"]}) == 3


def test_values_and_grads_can_be_hidden_and_large_tensors_show_norms():
    t = xyz()
    dot = viz.to_dot(t["f"], names=t, show_values=False, show_grads=False)
    assert tensor_nodes(dot)["q"] == ["q"]
    w = cr.ones(3, 4, requires_grad=True)
    y = (w * 2).sum()
    lines = tensor_nodes(viz.to_dot(y, names={"w": w}))["w"]
    assert lines == ["w (3, 4)", "value ‖·‖=3.464", "grad ‖·‖=6.928"]
    lines = tensor_nodes(viz.to_dot(y, names={"w": w}, max_elems=12))["w"]
    # A small matrix is a grid of numbers, row by row.
    assert lines[1:] == ["value 1 1 1 1", "1 1 1 1", "1 1 1 1",
                         "grad 2 2 2 2", "2 2 2 2", "2 2 2 2"]


def test_neuron_graph_values_and_every_gradient_match_torch():
    t = neuron()
    dot = viz.to_dot(t["f"], names=t)
    tensors = tensor_nodes(dot)
    # torch with retain_grad on every intermediate: the oracle for each box.
    tt = {k: torch.tensor(float(t[k].item()), requires_grad=True)
          for k in ("w0", "x0", "w1", "x1", "w2")}
    tt["a"] = tt["w0"] * tt["x0"]
    tt["b"] = tt["w1"] * tt["x1"]
    tt["s"] = tt["a"] + tt["b"] + tt["w2"]
    tt["f"] = 1 / (1 + torch.exp(-tt["s"]))
    for k in ("a", "b", "s", "f"):
        tt[k].retain_grad()
    with viz.keep_graph():  # keep the values for drawing after backward
        tt["f"].backward()
    assert abs(t["f"].item() - 0.7311) < 1e-4
    for name in ("w0", "x0", "w1", "x1", "w2", "a", "b", "s", "f"):
        lines = tensor_nodes(dot)[name]
        value = float(lines[1].split()[1])
        grad = float(lines[2].split()[1])
        assert value == pytest.approx(tt[name].item(), abs=1e-4), name
        assert grad == pytest.approx(tt[name].grad.item(), abs=1e-4), name
    # The lecture's numbers for the inputs.
    lecture = {"w0": -0.2, "x0": 0.39, "w1": -0.39, "x1": -0.59, "w2": 0.2}
    for name, g in lecture.items():
        assert float(tensors[name][2].split()[1]) == pytest.approx(g, abs=0.01)
    # Constants are folded into the gates, as on the slides.
    assert sorted(op_nodes(dot)) == sorted(["*", "*", "+", "+", "* -1", "exp", "1 + ·", "1 / ·"])


def test_every_intermediate_gradient_matches_torch_with_broadcasting_and_fan_out():
    rng = np.random.default_rng(0)
    arrays = {"a": rng.standard_normal((3, 1)), "b": rng.standard_normal((1, 4)),
              "c": rng.standard_normal(4)}
    ct = {k: cr.tensor(v.astype(np.float32), requires_grad=True) for k, v in arrays.items()}
    tt = {k: torch.tensor(v.astype(np.float32), requires_grad=True) for k, v in arrays.items()}
    for m, lib in ((ct, cr), (tt, torch)):
        m["q"] = m["a"] * m["b"]            # broadcast (3,1) x (1,4)
        m["r"] = m["q"] + m["c"]
        m["s"] = lib.tanh(m["r"])
        m["u"] = (m["s"] * m["q"]).sum()    # q reaches u along two paths
    for k in ("q", "r", "s", "u"):
        tt[k].retain_grad()
    with viz.keep_graph():  # keep the values for drawing after backward
        tt["u"].backward()
    graph = viz.walk(ct["u"], names=ct)
    for k in ("a", "b", "c", "q", "r", "s", "u"):
        np.testing.assert_allclose(graph[k].grad, tt[k].grad.numpy(), rtol=1e-5, atol=1e-6,
                                   err_msg=k)
        assert graph[k].grad.shape == tuple(tt[k].shape)
    assert all(ct[k].grad is None for k in "abc")


# --- explain ----------------------------------------------------------------------------------

XYZ_TRANSCRIPT = [
    "backward pass of f = -12, node by node in reverse topological order",
    "seed: df/df = 1",
    "1 f = q * z -> q : upstream df/df = 1 × local df/dq = -4 = df/dq = -4",
    "2 f = q * z -> z : upstream df/df = 1 × local df/dz = 3 = df/dz = 3 z.grad",
    "3 q = x + y -> x : upstream df/dq = -4 × local dq/dx = 1 = df/dx = -4 x.grad",
    "4 q = x + y -> y : upstream df/dq = -4 × local dq/dy = 1 = df/dy = -4 y.grad",
]


def _transcript(loss, **kw):
    out = io.StringIO()
    viz.explain(loss, file=out, **kw)
    return [" ".join(line.split()) for line in out.getvalue().splitlines()]


@pytest.mark.parametrize("after_backward", [False, True])
def test_explain_xyz_prints_each_edge_in_reverse_topological_order(after_backward):
    t = xyz()
    if after_backward:
        with viz.keep_graph():  # keep the values for drawing after backward
            t["f"].backward()     # frees the graph: explain still works on the kept values
    assert _transcript(t["f"], names=t) == XYZ_TRANSCRIPT
    steps = viz.explain(t["f"], names=t, file=False, return_steps=True)
    assert [(s.op, s.output, s.input) for s in steps] == [
        ("mul", "f", "q"), ("mul", "f", "z"), ("add", "q", "x"), ("add", "q", "y")]
    assert [(float(s.upstream), float(s.local), float(s.grad)) for s in steps] == [
        (1, -4, -4), (1, 3, 3), (-4, 1, -4), (-4, 1, -4)]
    if not after_backward:
        assert all(t[n].grad is None for n in "xyz"), "explain must not touch .grad"


def test_explain_backward_true_fills_grad_like_backward():
    t = xyz()
    viz.explain(t["f"], file=False, backward=True)
    assert (t["x"].grad.item(), t["y"].grad.item(), t["z"].grad.item()) == (-4, -4, 3)


def test_explain_neuron_follows_the_chain_rule_gate_by_gate():
    t = neuron()
    steps = viz.explain(t["f"], names=t, file=False, return_steps=True)
    # Reverse topological order: the division first, the weights' products last.
    assert [s.op for s in steps][:4] == ["div", "add", "exp", "neg"]
    assert [s.input for s in steps][-4:] == ["w1", "x1", "w0", "x0"]
    for s in steps:   # every line is upstream x local = grad
        assert float(s.grad) == pytest.approx(float(s.upstream) * float(s.local), rel=1e-6)
    first = steps[0]   # d(1/u)/du = -1/u^2 at u = 1 + e^-1
    assert float(first.local) == pytest.approx(-1 / (1 + np.exp(-1.0)) ** 2, rel=1e-5)
    grads = {s.input: float(s.grad) for s in steps if s.leaf}
    assert grads["w0"] == pytest.approx(-0.1966, abs=1e-4)
    assert grads["x1"] == pytest.approx(-0.5898, abs=1e-4)
    text = _transcript(t["f"], names=t)
    assert text[0] == "backward pass of f = 0.7311, node by node in reverse topological order"
    assert text[2] == ("1 f = 1 / t4 -> t4 : upstream df/df = 1 × local df/dt4 = -0.5344 "
                       "= df/dt4 = -0.5344")


def test_explain_says_where_paths_are_summed():
    x = cr.tensor(3.0, requires_grad=True)
    a = x * x
    y = a + x
    text = _transcript(y, names=locals())
    assert text[-1] == "sum at x: 1 + 3 + 3 = 7 x.grad"
    assert [line.endswith(f"path {k} of 3") for k, line in zip((1, 2, 3), text[3:6])]
    steps = viz.explain(y, names=locals(), file=False, return_steps=True)
    total = steps[-1]
    assert isinstance(total, viz.GradientSum) and float(total.total) == 7 and total.leaf
    with viz.keep_graph():  # keep the values for drawing after backward
        y.backward()
    assert x.grad.item() == 7


def test_explain_tensor_graph_gives_shapes_and_norms():
    cr.manual_seed(0)
    x = cr.randn(4, 3)
    W = cr.randn(2, 3, requires_grad=True)
    h = cr.tanh(x @ W.T)
    loss = (h * h).mean()
    text = _transcript(loss, names=locals())
    assert any("local VJP" in line and "(4, 2) ‖·‖=" in line for line in text)
    steps = viz.explain(loss, names=locals(), file=False, return_steps=True)
    assert [s.tensor for s in steps if isinstance(s, viz.GradientSum)] == ["h"]
    leaf = [s for s in steps if isinstance(s, viz.BackwardStep) and s.input == "W"]
    assert len(leaf) == 1 and leaf[0].local is None
    Wt = torch.tensor(W._array, requires_grad=True)
    (torch.tanh(torch.tensor(x._array) @ Wt.T) ** 2).mean().backward()
    np.testing.assert_allclose(leaf[0].grad, Wt.grad.numpy(), rtol=1e-5, atol=1e-7)


def test_explain_non_scalar_needs_a_gradient():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    with pytest.raises(RuntimeError, match=r"explain: the output has shape \(2,\)"):
        viz.explain(y)
    steps = viz.explain(y, gradient=cr.tensor([1.0, -1.0]), file=False, return_steps=True)
    np.testing.assert_array_equal(steps[0].grad, [3.0, -3.0])
    with pytest.raises(RuntimeError, match="does not require grad"):
        viz.explain(cr.tensor(1.0))


# --- rendering --------------------------------------------------------------------------------

def test_dot_parses_and_renders_with_graphviz(tmp_path):
    t = neuron()
    dot = viz.to_dot(t["f"], names=t)
    svg = viz.Drawing(dot).pipe("svg").decode()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    assert "0.7311" in svg and "w0" in svg
    for suffix in ("svg", "png"):
        path = viz.draw(t["f"], tmp_path / f"neuron.{suffix}", names=t)
        data = (tmp_path / f"neuron.{suffix}").read_bytes()
        assert path.endswith(suffix) and len(data) > 1000
    assert (tmp_path / "neuron.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_tensor_shows_its_graph_in_jupyter():
    t = xyz()
    svg = t["f"]._repr_svg_()
    assert "<svg" in svg and "-12" in svg
    assert viz.render_svg(t["f"]).count("<svg") == 1
    assert t["x"]._repr_svg_() is None     # a leaf has no graph to show
    h = t["f"]
    for _ in range(100):
        h = h * 1.0
    with pytest.raises(ValueError, match="the graph has 102 operations"):
        viz.render_svg(h)
    assert h._repr_svg_() is None            # too big to show: the notebook shows the text
    assert "<svg" in viz.render_svg(h, max_ops=None)
    source = viz.draw(t["f"])               # no path: a Drawing, shown by notebooks
    assert isinstance(source, viz.Drawing) and "value -12" in source.source
    assert "<svg" in source._repr_svg_() and "-12" in source._repr_svg_()


def test_draw_errors_are_clear(tmp_path, monkeypatch):
    t = xyz()
    with pytest.raises(ValueError, match="cannot tell the format"):
        viz.draw(t["f"], tmp_path / "graph")
    with pytest.raises(ValueError, match="cannot render format 'nosuch'"):
        viz.draw(t["f"], tmp_path / "graph.nosuch")
    monkeypatch.setattr(viz.dot, "RENDERERS", ("no-such-graphviz",))   # neither dot nor pure
    with pytest.raises(RuntimeError, match=r"no Graphviz.*pip install 'chainrule\[viz\]'"):
        viz.draw(t["f"], tmp_path / "graph.svg")
    with pytest.raises(RuntimeError, match="no Graphviz"):
        viz.render_svg(t["f"])
    assert not list(tmp_path.iterdir())


def test_drawn_files_get_the_usual_permissions(tmp_path):
    t = xyz()
    old = os.umask(0o022)
    try:
        viz.draw(t["f"], tmp_path / "f.svg")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "f.svg").stat().st_mode) == 0o644


def test_importing_chainrule_does_not_import_graphviz():
    code = "import sys, chainrule, chainrule.viz; assert 'graphviz' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


# --- group_modules ----------------------------------------------------------------------------

def _mlp_loss(model, traced=()):
    cr.manual_seed(0)
    x = cr.randn(8, 2)
    y = cr.randint(0, 3, (8,))
    criterion = nn.CrossEntropyLoss()
    with viz.trace_modules(*traced) as trace:
        loss = criterion(model(x), y)
    return loss, trace, x


def test_grouped_mlp_has_one_box_per_module_call():
    cr.manual_seed(1)
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(),
                          nn.Linear(16, 3))
    loss, trace, x = _mlp_loss(model, (model,))
    labels = ["0: Linear", "1: ReLU", "2: Linear", "3: ReLU", "4: Linear", "CrossEntropyLoss"]
    assert [c.label for c in trace.calls] == labels
    for group in (trace, True):
        dot = viz.to_dot(loss, group_modules=group, names={"x": x, "loss": loss})
        nodes, edges = parse_dot(dot)
        boxes = {nid: label.split("\n")[0] for nid, (_, label) in nodes.items()
                 if nid.startswith("u")}
        assert sorted(boxes.values()) == sorted(labels)
        tensors = {label.split("\n")[0].split(" ")[0] for nid, (_, label) in nodes.items()
                   if nid.startswith("t")}
        assert tensors == {"x", "loss"}      # parameters live inside their boxes
        # A chain: x -> 0 -> 1 -> 2 -> 3 -> 4 -> loss box -> loss.
        chain = [nid for nid, _ in sorted(boxes.items(), key=lambda kv: labels.index(kv[1]))]
        inner = [(a, b) for a, b in edges if a in boxes and b in boxes]
        assert inner == list(zip(chain, chain[1:]))
        assert "weight (16, 2)" in nodes[chain[0]][1] and "grad ‖·‖=" in nodes[chain[0]][1]
    svg = viz.Drawing(dot).pipe("svg").decode()
    assert "CrossEntropyLoss" in svg


def test_grouped_view_leaves_a_models_functional_ops_as_gates():
    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(2, 4)
            self.fc2 = nn.Linear(4, 3)

        def forward(self, x):
            return self.fc2(cr.relu(self.fc1(x)))

    model = MLP()
    loss, trace, _ = _mlp_loss(model, (model,))
    assert [c.label for c in trace.calls] == ["fc1: Linear", "fc2: Linear", "CrossEntropyLoss"]
    nodes, _ = parse_dot(viz.to_dot(loss, group_modules=trace))
    assert sorted(label.split("\n")[0] for nid, (_, label) in nodes.items()
                  if nid.startswith("u")) == ["CrossEntropyLoss", "fc1: Linear", "fc2: Linear",
                                              "relu"]
    # Unnamed modules (no model given) are traced too, named by class; hooks are removed.
    loss2, trace2, _ = _mlp_loss(model)
    assert [c.label for c in trace2.calls] == ["Linear", "Linear", "CrossEntropyLoss"]
    assert not nn.module._global_forward_hooks and not nn.module._global_forward_pre_hooks


def test_walk_gradients_equal_the_engines_on_an_mlp():
    cr.manual_seed(2)
    model = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 4))
    loss, _, _ = _mlp_loss(nn.Sequential(nn.Linear(2, 3), nn.ReLU(), model))
    graph = viz.walk(loss)
    with viz.keep_graph():  # keep the values for drawing after backward
        loss.backward()
    for p in model.parameters():
        np.testing.assert_allclose(graph.info[id(p)].grad, p.grad._array, rtol=1e-6, atol=1e-7)
    # After backward a leaf's box shows its .grad, which is the same number.
    assert graph.info[id(p)].shown_grad is p.grad._array


CACHED_OPS = {   # ops that keep values for backward and drop them after it
    "softmax": lambda x: (cr.softmax(x, 1) ** 2).sum(),
    "log_softmax": lambda x: cr.log_softmax(x, 1).sum(),
    "cross_entropy": lambda x: cr.cross_entropy(x, cr.tensor([0, 1, 2, 3])),
    "smoothed_ce": lambda x: cr.cross_entropy(x, cr.tensor([0, 1, 2, 3]), label_smoothing=0.1),
    "exp_sqrt_tanh_sigmoid": lambda x: x.exp().sqrt().tanh().sigmoid().sum(),
    "layer_norm": lambda x: (nn.LayerNorm(5)(x) * x).sum(),
    "batch_norm": lambda x: (nn.BatchNorm1d(5)(x) * x).sum(),
}


@pytest.mark.parametrize("name", sorted(CACHED_OPS))
def test_walk_works_before_and_after_backward_frees_the_graph(name):
    cr.manual_seed(3)
    x = cr.randn(4, 5, requires_grad=True)
    y = CACHED_OPS[name](x)
    before = viz.walk(y).info[id(x)].grad.copy()
    with viz.keep_graph():  # keep the values for drawing after backward
        y.backward()
    after = viz.walk(y).info[id(x)].grad
    np.testing.assert_allclose(before, x.grad._array, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(after, x.grad._array, rtol=1e-5, atol=1e-6)


def test_names_from_locals_name_a_models_parameters():
    model = nn.Linear(2, 1)
    x = cr.ones(3, 2)
    out = model(x).sum()
    names = viz.walk(out, names=locals()).tensors
    assert [t.name for t in names] == ["x", "model.weight", "model.bias", "t1", "out"]
    names = viz.walk(out, names=model).tensors
    assert [t.name for t in names] == ["t1", "weight", "bias", "t2", "out"]


def test_group_modules_without_a_trace_says_how_to_make_one():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match="trace_modules"):
        viz.to_dot((x * 2).sum(), group_modules=True)
    with pytest.raises(TypeError, match="group_modules"):
        viz.to_dot((x * 2).sum(), group_modules="yes")


def test_module_called_twice_gets_two_boxes():
    lin = nn.Linear(3, 3)
    x = cr.randn(2, 3)
    with viz.trace_modules(lin) as trace:
        y = lin(cr.tanh(lin(x))).sum()
    assert [c.label for c in trace.calls] == ["Linear", "Linear #2"]
    nodes, _ = parse_dot(viz.to_dot(y, group_modules=trace))
    # The shared weight feeds both calls, so it is drawn as a tensor of its own.
    assert sum(nid.startswith("u") for nid in nodes) == 4   # 2 calls, tanh, sum


# --- numerical vs analytical gradient ---------------------------------------------------------

def test_numeric_vs_analytic_agrees_on_the_neuron_and_leaves_inputs_alone():
    w = cr.tensor([2.0, -3.0, -3.0], requires_grad=True)
    x = cr.tensor([-1.0, -2.0], requires_grad=True)
    before = w._array.copy()
    table = viz.numeric_vs_analytic(
        lambda w, x: cr.sigmoid(w[0] * x[0] + w[1] * x[1] + w[2]), {"w": w, "x": x})
    assert [(r.input, r.index) for r in table] == [
        ("w", (0,)), ("w", (1,)), ("w", (2,)), ("x", (0,)), ("x", (1,))]
    expected = [-0.1966, -0.3932, 0.1966, 0.3932, -0.5898]
    for row, e in zip(table, expected):
        assert row.analytical == pytest.approx(e, abs=1e-4)
        assert row.numerical == pytest.approx(e, abs=1e-4)
    assert table.max_rel_error < 1e-7
    text = str(table)
    assert text.splitlines()[0].split() == ["input", "index", "numerical", "analytical",
                                            "abs.", "error", "rel.", "error"]
    assert "max relative error" in text
    np.testing.assert_array_equal(w._array, before)
    assert w.grad is None and w.dtype == np.float32


def test_numeric_vs_analytic_catches_a_wrong_backward():
    class BadSquare(cr.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad * x          # forgot the 2

    x = cr.tensor([[1.0, -2.0], [0.5, 3.0]], requires_grad=True)
    table = viz.numeric_vs_analytic(lambda x: BadSquare.apply(x).sum(), [x])
    assert [r.index for r in table] == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert table.max_rel_error == pytest.approx(0.5, abs=1e-6)
    with pytest.raises(ValueError, match="one-element Tensor"):
        viz.numeric_vs_analytic(lambda x: x * 2, [x])
    with pytest.raises(ValueError, match="no input requires grad"):
        viz.numeric_vs_analytic(lambda x: x.sum(), [cr.ones(2)])
