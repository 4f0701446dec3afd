"""Three logistic regressions make a neural net: the triangle, by hand and then learned.

Inside a triangle is class 1. Each edge is a line; a logistic unit sigmoid(k (w.x + b))
says "on the inner side of this edge" (k sharpens it). A fourth unit ANDs the three:
sigmoid(k (h1 + h2 + h3 - 2.5)) is near 1 only when all three are. That is a 2-3-1 neural
net with hand-set weights. Then an MLP learns the same thing from the labeled points.

    python examples/triangle.py [--quick] [--plot learned.png]
"""

import argparse

import numpy as np

import chainrule as cr
from chainrule import nn, optim
from chainrule.data import DataLoader, TensorDataset, datasets
from chainrule.train import evaluate, fit


def hand_set_net(sharpness=50.0) -> nn.Sequential:
    """The 2-3-1 sigmoid net whose weights we write down instead of learning."""
    W, b = datasets.triangle_halfplanes()
    net = nn.Sequential(nn.Linear(2, 3), nn.Sigmoid(), nn.Linear(3, 1))
    with cr.no_grad():
        net[0].weight.copy_(cr.tensor(sharpness * W))
        net[0].bias.copy_(cr.tensor(sharpness * b))
        net[2].weight.copy_(cr.tensor([[sharpness] * 3]))   # h1 + h2 + h3 ...
        net[2].bias.copy_(cr.tensor([-2.5 * sharpness]))     # ... > 2.5: all three
    return net  # its output is the AND unit's score; sigmoid(score) > 0.5 means inside


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few epochs (for tests)")
    parser.add_argument("--plot", help="save the learned decision boundary to this file")
    args = parser.parse_args(argv)

    X, y = datasets.triangle(2000, seed=0)
    Xv, yv = datasets.triangle(1000, seed=1)
    with cr.no_grad():
        inside = (hand_set_net()(Xv).squeeze(1) > 0).long()
    hand_acc = float((inside.numpy() == yv.numpy()).mean())
    print(f"three hand-set logistic units + an AND unit: accuracy {hand_acc:.4f}")

    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(),
                          nn.Linear(16, 2))
    shuffle = cr.Generator().manual_seed(0)
    train = DataLoader(TensorDataset(X, y), 32, shuffle=True, generator=shuffle)
    val = DataLoader(TensorDataset(Xv, yv), 1000)
    fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=1e-2), train, val,
        epochs=8 if args.quick else 60, progress=False)
    learned = evaluate(model, val)["accuracy"]
    print(f"an MLP (2-16-16-2) learned from {len(y)} points: accuracy {learned:.4f}")
    first = model[0].weight.detach().numpy()
    print("some of its first-layer units are edge detectors like ours; their directions:\n",
          (first / np.linalg.norm(first, axis=1, keepdims=True))[:4].round(2))
    if args.plot:
        from chainrule.train import plot_decision_boundary

        plot_decision_boundary(model, Xv, yv, args.plot, title="the triangle, learned")
        print(f"wrote {args.plot}")
    return {"hand_set_accuracy": hand_acc, "learned_accuracy": learned}


if __name__ == "__main__":
    main()
