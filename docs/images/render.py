"""Render the README's pictures: python docs/images/render.py (needs Graphviz's `dot`)."""

import importlib.util
import io
import os

import chainrule as cr
from chainrule import nn

HERE = os.path.dirname(os.path.abspath(__file__))


def out(name):
    return os.path.join(HERE, name)


# The lecture graph f = (x + y) z at (-2, 5, -4).
x = cr.tensor(-2.0, requires_grad=True)
y = cr.tensor(5.0, requires_grad=True)
z = cr.tensor(-4.0, requires_grad=True)
q = x + y
f = q * z
for suffix in ("svg", "png"):
    cr.viz.draw(f, out(f"xyz_graph.{suffix}"), names=locals(), dpi=144 if suffix == "png" else None)
text = io.StringIO()
cr.viz.explain(f, names=locals(), file=text)
with open(out("xyz_explain.txt"), "w", encoding="utf-8") as fh:
    fh.write(text.getvalue())

# The sigmoid neuron, gate by gate.
w0, x0, w1, x1, w2 = (cr.tensor(v, requires_grad=True) for v in (2.0, -1.0, -3.0, -2.0, -3.0))
f = 1 / (1 + cr.exp(-(w0 * x0 + w1 * x1 + w2)))
cr.viz.draw(f, out("neuron_graph.svg"), names=locals())

# A 3-layer MLP, one box per module call.
cr.manual_seed(0)
model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 3))
criterion = nn.CrossEntropyLoss()
inputs, target = cr.randn(8, 2), cr.randint(0, 3, (8,))
with cr.viz.trace_modules(model):
    loss = criterion(model(inputs), target)
loss.backward()
cr.viz.draw(loss, out("mlp_modules.svg"), group_modules=True, names={"x": inputs, "loss": loss})

# The lecture's neuron run eagerly, and as a static graph with its derivative graph.
_spec = importlib.util.spec_from_file_location(
    "static_graph", os.path.join(HERE, "..", "..", "examples", "static_graph.py"))
_example = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_example)
_example.main(["--quick", "--out", HERE])   # eager_graph.svg, static_graph.svg
