"""Softmax regression: one linear layer and the cross-entropy, three classes of points.

Scores s = W x + b (one per class); p = softmax(s); loss = -log p[true class].
nn.CrossEntropyLoss fuses log-softmax and the negative log-likelihood in one stable step.

    python examples/softmax_regression.py [--quick] [--plot boundary.png]
"""

import argparse

import chainrule as cr
from chainrule import nn, optim
from chainrule.data import DataLoader, TensorDataset, datasets
from chainrule.train import evaluate, fit


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few epochs (for tests)")
    parser.add_argument("--plot", help="save the decision boundary to this file")
    args = parser.parse_args(argv)

    cr.manual_seed(0)
    X, y = datasets.blobs(600, classes=3, std=0.6, seed=0)
    Xv, yv = datasets.blobs(300, classes=3, std=0.6, seed=1)
    shuffle = cr.Generator().manual_seed(0)
    train = DataLoader(TensorDataset(X, y), 32, shuffle=True, generator=shuffle)
    val = DataLoader(TensorDataset(Xv, yv), 300)

    model = nn.Linear(2, 3)
    history = fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), train, val,
                  epochs=5 if args.quick else 30, progress=False)
    result = evaluate(model, val, nn.CrossEntropyLoss())
    print(f"{len(history)} epochs: validation loss {result['loss']:.4f}, "
          f"accuracy {result['accuracy']:.3f}")
    probs = cr.softmax(model(Xv[:3]), dim=1)
    print("class probabilities of three points:\n", probs.detach().numpy().round(3))
    if args.plot:
        from chainrule.train import plot_decision_boundary

        plot_decision_boundary(model, X, y, args.plot, title="softmax regression")
        print(f"wrote {args.plot}")
    return result


if __name__ == "__main__":
    main()
