"""A two-layer net in 20 lines of NumPy, with backprop by hand -- and its chainrule twin.

Both start from the same weights and see the same data (spirals, 3 classes). NumPy's
gradients are derived on paper, chainrule's come from loss.backward(); we print both and
their largest difference, then train both with plain gradient descent side by side.

    python examples/numpy_vs_chainrule.py [--quick]
"""

import argparse

import numpy as np

import chainrule as cr
from chainrule.data import datasets


def numpy_step(X, y, W1, b1, W2, b2):
    """Forward and backward by hand: h = relu(X W1 + b1), s = h W2 + b2, softmax-CE loss."""
    n = len(X)
    h = np.maximum(0, X @ W1 + b1)                     # hidden layer, ReLU
    s = h @ W2 + b2                                    # class scores
    s = s - s.max(axis=1, keepdims=True)               # stable softmax
    p = np.exp(s) / np.exp(s).sum(axis=1, keepdims=True)
    loss = -np.log(p[np.arange(n), y]).mean()          # cross-entropy
    ds = p.copy()
    ds[np.arange(n), y] -= 1                           # dL/ds = (p - onehot) / n
    ds /= n
    dW2, db2 = h.T @ ds, ds.sum(axis=0)
    dh = ds @ W2.T
    dh[h <= 0] = 0                                     # ReLU passes gradient where h > 0
    dW1, db1 = X.T @ dh, dh.sum(axis=0)
    return loss, (dW1, db1, dW2, db2)


def chainrule_step(X, y, params):
    """The same net, written forward only: chainrule does the backward pass."""
    W1, b1, W2, b2 = params
    h = cr.relu(X @ W1 + b1)
    loss = cr.cross_entropy(h @ W2 + b2, y)
    for p in params:
        p.grad = None
    loss.backward()
    return loss.item(), tuple(p.grad.numpy() for p in params)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few steps (for tests)")
    args = parser.parse_args(argv)

    Xt, yt = datasets.spirals(300, classes=3, seed=0)
    X, y = Xt.numpy().astype(np.float64), yt.numpy()   # float64: the two should agree to ~1e-15
    rng = cr.Generator().manual_seed(0).rng
    hidden = 100
    weights = [0.5 * rng.standard_normal((2, hidden)), np.zeros(hidden),
               0.1 * rng.standard_normal((hidden, 3)), np.zeros(3)]
    params = [cr.tensor(w, requires_grad=True) for w in weights]
    Xc, yc = cr.tensor(X), cr.tensor(y)

    loss_np, grads_np = numpy_step(X, y, *weights)
    loss_cr, grads_cr = chainrule_step(Xc, yc, params)
    names = ("W1", "b1", "W2", "b2")
    print(f"loss: numpy {loss_np:.12f}  chainrule {loss_cr:.12f}")
    worst = 0.0
    for name, gn, gc in zip(names, grads_np, grads_cr):
        diff = float(np.abs(gn - gc).max())
        worst = max(worst, diff)
        print(f"d loss / d {name}: numpy {gn.ravel()[:3].round(6)}  "
              f"chainrule {gc.ravel()[:3].round(6)}  max |difference| {diff:.1e}")

    lr, steps = 1.0, (20 if args.quick else 2000)
    for step in range(steps + 1):
        loss_np, grads_np = numpy_step(X, y, *weights)
        loss_cr, grads_cr = chainrule_step(Xc, yc, params)
        if step % (steps // 4) == 0:
            print(f"step {step:5d}  loss numpy {loss_np:.6f}  chainrule {loss_cr:.6f}")
        for w, g in zip(weights, grads_np):
            w -= lr * g
        with cr.no_grad():
            for p in params:
                p -= lr * p.grad
    W1, b1, W2, b2 = weights
    acc = float(((np.maximum(0, X @ W1 + b1) @ W2 + b2).argmax(axis=1) == y).mean())
    drift = max(float(np.abs(w - p.detach().numpy()).max()) for w, p in zip(weights, params))
    print(f"training accuracy after {steps} steps: {acc:.3f}; largest weight difference "
          f"between the twins: {drift:.1e}")
    return {"max_grad_difference": worst, "loss_numpy": loss_np, "loss_chainrule": loss_cr,
            "weight_drift": drift, "accuracy": acc}


if __name__ == "__main__":
    main()
