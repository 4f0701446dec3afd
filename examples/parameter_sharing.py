"""Parameter sharing: why convolutions, in one parameter count (the CNN lecture's opening).

A 100 x 100 image flattened into two dense layers of 300 units needs 3 million weights in
the first layer alone: every unit has its own weight for every pixel. A convolution
applies one small filter at every position, so it detects the same primitive (an edge, a
corner) everywhere with a handful of weights, whatever the image size.

    python examples/parameter_sharing.py
"""

from __future__ import annotations

import argparse

from chainrule import nn


def dense():
    return nn.Sequential(nn.Flatten(), nn.Linear(100 * 100, 300), nn.ReLU(),
                         nn.Linear(300, 300), nn.ReLU(), nn.Linear(300, 10))


def cnn():
    return nn.Sequential(
        nn.Conv2d(1, 16, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),     # 16 x 50 x 50
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),    # 32 x 25 x 25
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
        nn.Flatten(), nn.Linear(64, 10))


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the same (it is already quick)")
    parser.parse_args(argv)
    print("A 100 x 100 grey image, 10 classes.\n")
    counts = {}
    for name, make in (("dense 10000-300-300-10", dense), ("small CNN", cnn)):
        print(f"--- {name}")
        stats = make().summary(input_size=(1, 1, 100, 100))
        counts[name] = stats.total_params
        print()
    first_dense = 100 * 100 * 300 + 300
    first_conv = 16 * 1 * 5 * 5 + 16
    print(f"first dense layer: {first_dense:,} parameters (a weight per pixel per unit)")
    print(f"first conv layer:  {first_conv:,} parameters (16 filters of 5 x 5, shared by all "
          f"10,000 positions)")
    dense_total, cnn_total = counts["dense 10000-300-300-10"], counts["small CNN"]
    print(f"whole models: dense {dense_total:,} vs CNN {cnn_total:,} "
          f"({dense_total / cnn_total:.0f}x)")
    return {"dense": counts["dense 10000-300-300-10"], "cnn": counts["small CNN"],
            "first_dense": first_dense, "first_conv": first_conv}


if __name__ == "__main__":
    main()
