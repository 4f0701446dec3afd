"""cr.viz draws a static graph: placeholders, variables, ops, fetches, and its derivatives."""

import re

import numpy as np

import chainrule as cr
from chainrule.viz import static as vs


def _neuron():
    g = cr.static.Graph()
    with g:
        x1 = g.placeholder("x1", (None,))
        x2 = g.placeholder("x2", (None,))
        y = g.placeholder("y", (None,))
        alpha = g.variable("alpha", 0.5)
        beta = g.variable("beta", -0.5)
        z = alpha * x1 + beta * x2
        y_hat = z.sigmoid()
        loss = -(y * y_hat.log() + (1 - y) * (1 - y_hat).log()).mean()
        grads = g.gradients(loss, [alpha, beta])
        unused = x1.exp()
    return g, locals()


def _node(text, name):
    """The DOT line of the value box whose label starts with ``name``."""
    lines = [ln for ln in text.splitlines() if f"<B>{name}</B>" in ln]
    assert lines, name
    return lines[0]


def test_kinds_have_the_lectures_colours():
    g, names = _neuron()
    text = cr.viz.to_dot(g, fetches=names["loss"], names=names)
    green, amber, blue, orange = (vs.STATIC_COLORS[k][0] for k in
                                  ("input", "parameter", "intermediate", "output"))
    assert green in _node(text, "x1") and green in _node(text, "y")
    assert amber in _node(text, "alpha")
    assert blue in _node(text, "z") and blue in _node(text, "y_hat")
    assert orange in _node(text, "loss")
    assert "(None,)" in _node(text, "x1") and "(None,)" in _node(text, "z")  # the free dim
    assert "<B>sigmoid</B>" in text and "<B>+</B>" in text
    assert "exp" not in text           # fetches=loss: only what the loss needs
    assert "exp" in cr.viz.to_dot(g)   # everything


def test_the_derivative_graph_labels_each_edge_with_its_local_derivative():
    g, names = _neuron()
    text = cr.viz.to_dot(g, derivatives=True, names=names)
    assert "cluster_derivatives" in text
    labels = set(re.findall(r"label=<(∂[^>]*?)>\]", text))
    assert "∂t1/∂alpha = x1" in labels and "∂t2/∂beta = x2" in labels   # d(alpha*x1)/dalpha
    assert "∂y_hat/∂z = y_hat(1-y_hat)" in labels
    assert "∂t3/∂y_hat = 1/y_hat" in labels                              # the log
    assert text.count("sum over paths") == 2   # y_hat feeds two logs: one sum, two edges in
    assert "∂loss/∂alpha" in text and "∂loss/∂y_hat, one path" in text


def test_draw_writes_svg_for_a_graph_and_still_draws_tensors(tmp_path):
    g, names = _neuron()
    path = cr.viz.draw(g, tmp_path / "static.svg", derivatives=True, names=names)
    svg = (tmp_path / "static.svg").read_text()
    assert str(path).endswith("static.svg") and "<svg" in svg and "alpha" in svg
    assert cr.viz.draw(g).source.startswith("digraph")          # a Drawing without a path
    x = cr.tensor(2.0, requires_grad=True)
    f = x * x
    assert "digraph" in cr.viz.to_dot(f) and cr.viz.draw(f, tmp_path / "f.svg")


def test_a_multi_layer_graph_draws_its_matmul_derivatives():
    g = cr.static.Graph()
    with g:
        x = g.placeholder("x", (None, 2))
        W = g.variable("W", np.ones((2, 3), np.float32))
        h = (x @ W).tanh()
        out = h.sum()
        (dW,) = g.gradients(out, [W])
    text = cr.viz.to_dot(g, derivatives=True, names=locals())
    assert "= xᵀ ·" in text and "= 1-h²" in text


def test_a_graph_with_second_derivatives_draws_its_first_order_derivative_graph():
    g = cr.static.Graph()
    with g:
        x = g.placeholder("x", (None,), requires_grad=True)
        y = (x ** 3).sum()
        dx = g.gradients(y, x)
        d2x = g.gradients(dx.sum(), x)
    text = cr.viz.to_dot(g, derivatives=True, names=locals())
    assert "∂t1/∂x = 3·x^2" in text and "VJPOf" not in text
    assert "%" not in re.sub(r"&[a-z#0-9]+;", "", text)   # no value left unnamed
