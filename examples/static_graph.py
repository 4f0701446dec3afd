"""The lecture's single neuron as a static graph: build it once, draw it, differentiate it, run it.

Define-and-run, TensorFlow's model in the lectures: placeholders x1, x2, y stand for the data,
variables alpha, beta for the weights, z = alpha x1 + beta x2, y_hat = sigmoid(z), and the
logloss -[y log y_hat + (1 - y) log(1 - y_hat)] (computed from z, where it is stable).
``graph.gradients`` adds the derivative graph to the same graph (each edge a local
derivative, sums over paths); running the graph means feeding the placeholders. Then the
neuron is trained as a logistic regression on two clouds of points, by feeding batches: once
with the update as an op of the graph, once fetching the gradients and updating the
variables outside it.

    python examples/static_graph.py [--quick] [--out folder]
"""

import argparse
import os
import tempfile

import numpy as np

import chainrule as cr
from chainrule.data import datasets
from chainrule.nn import functional as F


def logloss(z, y):
    """mean of -[y log sigmoid(z) + (1 - y) log(1 - sigmoid(z))], written with softplus
    (log sigmoid(z) = -softplus(-z)) so that it stays finite where sigmoid(z) rounds to 0 or 1."""
    return (y * F.softplus(-z) + (1 - y) * F.softplus(z)).mean()


def build(lr):
    """The static graph: the neuron, its loss, the derivative graph and a training update."""
    graph = cr.static.Graph()
    with graph:
        x1 = graph.placeholder("x1", (None,))       # None: any number of points
        x2 = graph.placeholder("x2", (None,))
        y = graph.placeholder("y", (None,))
        alpha = graph.variable("alpha", 0.5)
        beta = graph.variable("beta", -0.5)
        z = alpha * x1 + beta * x2
        y_hat = z.sigmoid()
        loss = logloss(z, y)
        dalpha, dbeta = graph.gradients(loss, [alpha, beta])
        train = graph.group(graph.assign_sub(alpha, lr * dalpha),
                            graph.assign_sub(beta, lr * dbeta))
    return graph, locals()


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer epochs (for tests)")
    parser.add_argument("--out", help="folder for the pictures (default: a temporary one)")
    args = parser.parse_args(argv)
    out = args.out or tempfile.mkdtemp(prefix="chainrule-static-")
    os.makedirs(out, exist_ok=True)

    graph, v = build(lr=0.5)
    print(graph)

    # Draw: the static graph with its derivative graph, and the same neuron run eagerly.
    pictures = [cr.viz.draw(graph, os.path.join(out, "static_graph.svg"), derivatives=True,
                            fetches=[v["loss"], v["dalpha"], v["dbeta"]], names=v,
                            rankdir="TB")]
    e = {"x1": cr.tensor(1.0), "x2": cr.tensor(-2.0), "y": cr.tensor(1.0),
         "alpha": cr.tensor(0.5, requires_grad=True), "beta": cr.tensor(-0.5, requires_grad=True)}
    e["z"] = e["alpha"] * e["x1"] + e["beta"] * e["x2"]
    e["y_hat"] = e["z"].sigmoid()
    e["loss"] = logloss(e["z"], e["y"])
    pictures.append(cr.viz.draw(e["loss"], os.path.join(out, "eager_graph.svg"), names=e))
    print("wrote", ", ".join(pictures))

    # Differentiate and run on the same point: the graph gives the eager gradients.
    feed = {v["x1"]: [1.0], v["x2"]: [-2.0], v["y"]: [1.0]}
    loss, dalpha, dbeta = graph.run([v["loss"], v["dalpha"], v["dbeta"]], feed=feed)
    eager = cr.autograd.grad(e["loss"], [e["alpha"], e["beta"]])
    difference = max(abs(float(dalpha) - eager[0].item()), abs(float(dbeta) - eager[1].item()))
    print(f"at x = (1, -2), y = 1: loss {float(loss):.4f}, dloss/dalpha {float(dalpha):.4f}, "
          f"dloss/dbeta {float(dbeta):.4f} (eager: {eager[0].item():.4f}, {eager[1].item():.4f})")

    # Train: logistic regression on two clouds, feeding batches of 32 points.
    X, labels = datasets.two_clouds(400, distance=4.0, seed=0)
    X, labels = X.numpy(), labels.numpy().astype(np.float32)
    everything = {v["x1"]: X[:, 0], v["x2"]: X[:, 1], v["y"]: labels}

    def accuracy():
        y_hat = graph.run(v["y_hat"], feed={v["x1"]: X[:, 0], v["x2"]: X[:, 1]})
        return float(((y_hat > 0.5) == (labels > 0.5)).mean())

    epochs = 3 if args.quick else 20
    order = np.random.default_rng(0)
    for epoch in range(epochs):
        for batch in np.array_split(order.permutation(len(X)), len(X) // 32):
            graph.run(v["train"], feed={v["x1"]: X[batch, 0], v["x2"]: X[batch, 1],
                                        v["y"]: labels[batch]})
    in_graph = accuracy()
    print(f"update inside the graph: {epochs} epochs, loss "
          f"{float(graph.run(v['loss'], feed=everything)):.4f}, alpha {v['alpha'].item():.3f}, "
          f"beta {v['beta'].item():.3f}, accuracy {in_graph:.3f}")

    # The same training with the update outside: fetch the gradients, change the variables.
    with cr.no_grad():
        v["alpha"].fill_(0.5)
        v["beta"].fill_(-0.5)
    for epoch in range(epochs):
        for batch in np.array_split(order.permutation(len(X)), len(X) // 32):
            da, db = graph.run([v["dalpha"], v["dbeta"]],
                               feed={v["x1"]: X[batch, 0], v["x2"]: X[batch, 1],
                                     v["y"]: labels[batch]})
            with cr.no_grad():
                v["alpha"] -= 0.5 * float(da)
                v["beta"] -= 0.5 * float(db)
    outside = accuracy()
    print(f"update outside the graph: accuracy {outside:.3f}")
    return {"accuracy_in_graph": in_graph, "accuracy_outside": outside,
            "max_grad_difference": difference, "pictures": pictures}


if __name__ == "__main__":
    main()
