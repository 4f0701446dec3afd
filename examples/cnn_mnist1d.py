"""MNIST-1D: a small CNN beats an MLP and logistic regression on 1-D digits (Greydanus, 2020).

MNIST-1D (the ``mnist1d`` package, which generates the data locally from ten 1-D templates
by padding, shearing, translating and adding noise) has 4000 training and 1000 test
sequences of length 40. The paper's table: logistic regression ~32%, MLP ~68%, CNN ~94%.
Translation moves each digit anywhere in the sequence, so a model that looks at every
position with the same small filters (a convolution) has the right inductive bias.

The CNN is the paper's: three Conv1d layers (25 channels, kernels 5-3-3, stride 2,
padding 1) with ReLU, then one Linear from 25 x 5 to 10; Adam, lr 1e-2, batch 100.

    python examples/cnn_mnist1d.py            # 6000 steps per model, the paper's setting
    python examples/cnn_mnist1d.py --quick    # fewer steps (what the tests and CI run)
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import chainrule as cr
from chainrule import nn, optim


def load_mnist1d(seed=42):
    """(x, y, x_test, y_test) as float32 (n, 40) and int64, generated locally (no download)."""
    try:
        from mnist1d.data import get_dataset_args, make_dataset  # noqa: PLC0415
    except ImportError as exc:
        raise SystemExit("this example needs the mnist1d package: "
                         "pip install 'chainrule[datasets]'") from exc
    args = get_dataset_args()
    args.seed = seed
    data = make_dataset(args)  # the package's generator: nothing is downloaded
    return (data["x"].astype(np.float32), data["y"].astype(np.int64),
            data["x_test"].astype(np.float32), data["y_test"].astype(np.int64))


class ConvBase(nn.Module):
    """The MNIST-1D paper's CNN: (N, 40) -> Conv1d x3 (25 channels, stride 2) -> Linear."""

    def __init__(self, channels=25, n_classes=10):
        super().__init__()
        self.conv1 = nn.Conv1d(1, channels, 5, stride=2, padding=1)
        self.conv2 = nn.Conv1d(channels, channels, 3, stride=2, padding=1)
        self.conv3 = nn.Conv1d(channels, channels, 3, stride=2, padding=1)
        self.linear = nn.Linear(channels * 5, n_classes)

    def forward(self, x):
        h = x.reshape(x.shape[0], 1, x.shape[-1])
        h = self.conv1(h).relu()
        h = self.conv2(h).relu()
        h = self.conv3(h).relu()
        return self.linear(h.reshape(h.shape[0], -1))


def models():
    return {
        "logistic regression": lambda: nn.Linear(40, 10),
        "MLP 40-100-100-10": lambda: nn.Sequential(nn.Linear(40, 100), nn.ReLU(),
                                                   nn.Linear(100, 100), nn.ReLU(),
                                                   nn.Linear(100, 10)),
        "CNN (3 x Conv1d)": ConvBase,
    }


def accuracy(model, x, y):
    with cr.no_grad():
        return float((model(cr.tensor(x)).argmax(1).numpy() == y).mean())


def train(model, x, y, steps, batch=100, lr=1e-2, seed=0):
    opt = optim.Adam(model.parameters(), lr=lr)
    rng = np.random.default_rng(seed)
    loss_fn = nn.CrossEntropyLoss()
    for step in range(steps):
        idx = rng.integers(0, len(y), batch)  # the paper samples batches with replacement
        opt.zero_grad()
        loss = loss_fn(model(cr.tensor(x[idx])), cr.tensor(y[idx]))
        loss.backward()
        opt.step()
    return loss.item()


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1000 steps per model (CI)")
    parser.add_argument("--steps", type=int, default=None, help="training steps per model")
    args = parser.parse_args(argv)
    steps = args.steps or (1000 if args.quick else 6000)

    x, y, x_test, y_test = load_mnist1d()
    print(f"MNIST-1D: {len(y)} train, {len(y_test)} test sequences of length {x.shape[1]}; "
          f"{steps} Adam steps of batch 100 per model")
    results = {}
    print(f"{'model':<22} {'params':>7} {'test acc':>9} {'paper':>6} {'seconds':>8}")
    paper = {"logistic regression": 0.32, "MLP 40-100-100-10": 0.68, "CNN (3 x Conv1d)": 0.94}
    for name, make in models().items():
        cr.manual_seed(0)
        model = make()
        start = time.perf_counter()
        train(model, x, y, steps)
        seconds = time.perf_counter() - start
        acc = accuracy(model, x_test, y_test)
        n_params = sum(p.numel() for p in model.parameters())
        results[name] = {"test_accuracy": acc, "params": n_params, "seconds": seconds}
        print(f"{name:<22} {n_params:>7,} {acc:>9.3f} {paper[name]:>6.2f} {seconds:>8.1f}")
    return results


if __name__ == "__main__":
    main()
