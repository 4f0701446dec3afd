"""Logistic regression on two Gaussian clouds, labels in {-1, +1}, trained on the logloss.

The model is one linear unit s = w . x + b; the probability of class +1 is sigmoid(s) and
the loss of a sample is the logloss  log(1 + exp(-y s))  -- PyTorch's SoftMarginLoss.
We write it out once by hand, check it against nn.SoftMarginLoss, and train with SGD.

    python examples/logistic_regression.py [--quick] [--plot boundary.png]
"""

import argparse

import chainrule as cr
from chainrule import nn, optim
from chainrule.data import datasets
from chainrule.train import accuracy


def logloss(scores, y):
    """mean over samples of log(1 + exp(-y * s)), written with softplus to stay stable."""
    return nn.functional.softplus(-y * scores).mean()


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few steps (for tests)")
    parser.add_argument("--plot", help="save the decision boundary to this file")
    args = parser.parse_args(argv)

    cr.manual_seed(0)
    X, y = datasets.two_clouds(400, distance=3.0, signed=True, seed=0)
    target = y.float()  # -1.0 / +1.0
    model = nn.Linear(2, 1)
    opt = optim.SGD(model.parameters(), lr=0.5)
    steps = 30 if args.quick else 200
    for step in range(steps):
        scores = model(X).squeeze(1)
        loss = logloss(scores, target)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % (steps // 5) == 0:
            print(f"step {step:4d}  logloss {loss.item():.4f}")

    scores = model(X).squeeze(1)
    by_hand = logloss(scores, target).item()
    library = nn.SoftMarginLoss()(scores, target).item()
    acc = accuracy(scores.detach().numpy(), y.numpy())
    w, b = model.weight.detach().numpy()[0], model.bias.item()
    print(f"logloss by hand {by_hand:.6f} = nn.SoftMarginLoss {library:.6f}")
    print(f"w = {w.round(3)}, b = {b:.3f}, training accuracy {acc:.3f}")
    if args.plot:
        from chainrule.train import plot_decision_boundary

        plot_decision_boundary(model, X, y, args.plot, title="logistic regression")
        print(f"wrote {args.plot}")
    return {"loss": by_hand, "soft_margin_loss": library, "accuracy": acc}


if __name__ == "__main__":
    main()
