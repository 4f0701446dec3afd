"""The CNN training-step cases of issue 13: their layers, shared weights and batches.

A net is a list of layers, read the same way by the three implementations:
``("conv", c_in, c_out, kernel, stride, padding)`` (2-D, or 1-D when the input is 1-D),
``("relu",)``, ``("pool", 2)`` (max pooling, stride 2), ``("flatten",)``,
``("linear", n_in, n_out)``.
"""

from __future__ import annotations

import numpy as np

LENET = (("conv", 1, 6, 5, 1, 2), ("relu",), ("pool", 2), ("conv", 6, 16, 5, 1, 0), ("relu",),
         ("pool", 2), ("flatten",), ("linear", 400, 120), ("relu",), ("linear", 120, 84),
         ("relu",), ("linear", 84, 10))
WIDE_CNN = (("conv", 3, 32, 3, 1, 1), ("relu",), ("conv", 32, 32, 3, 1, 1), ("relu",),
            ("pool", 2), ("conv", 32, 64, 3, 1, 1), ("relu",), ("pool", 2), ("flatten",),
            ("linear", 4096, 10))
MNIST1D_CNN = (("conv", 1, 25, 5, 2, 1), ("relu",), ("conv", 25, 25, 3, 2, 1), ("relu",),
               ("conv", 25, 25, 3, 2, 1), ("relu",), ("flatten",), ("linear", 125, 10))
NETS = {"lenet": (LENET, (1, 28, 28)), "wide_cnn": (WIDE_CNN, (3, 32, 32)),
        "mnist1d_cnn": (MNIST1D_CNN, (1, 40))}


def layers(case):
    return NETS[case.variant][0]


def weights(case, seed):
    """[(W, b), ...] float32 for every conv and linear, drawn as PyTorch's: U(+-1/sqrt(fan_in))."""
    net, shape = NETS[case.variant]
    d = len(shape) - 1
    rng = np.random.default_rng(seed)
    out = []
    for layer in net:
        if layer[0] == "conv":
            _, c_in, c_out, k = layer[:4]
            w_shape = (c_out, c_in) + (k,) * d
            fan_in = c_in * k ** d
        elif layer[0] == "linear":
            w_shape, fan_in = (layer[2], layer[1]), layer[1]
        else:
            continue
        bound = 1.0 / np.sqrt(fan_in)
        out.append((rng.uniform(-bound, bound, w_shape).astype(np.float32),
                    rng.uniform(-bound, bound, (w_shape[0],)).astype(np.float32)))
    return out


def batches(case, seed):
    """``case.n_batches`` (x float32 (batch, C, *S), y int64 (batch,)) pairs."""
    shape = NETS[case.variant][1]
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal((case.batch,) + shape, dtype=np.float32),
             rng.integers(0, 10, case.batch, dtype=np.int64)) for _ in range(case.n_batches)]


def model(case, weights, lib):
    """The CNN of ``layers(case)`` as ``lib.nn`` layers (``lib``: chainrule or torch, the
    same code for both) holding the shared ``weights``."""
    nn = lib.nn
    d = 1 if case.variant == "mnist1d_cnn" else 2
    out, params = [], iter(weights)
    for layer in layers(case):
        if layer[0] in ("conv", "linear"):
            if layer[0] == "conv":
                _, c_in, c_out, k, s, p = layer
                mod = (nn.Conv1d if d == 1 else nn.Conv2d)(c_in, c_out, k, stride=s, padding=p)
            else:
                mod = nn.Linear(layer[1], layer[2])
            W, b = next(params)
            with lib.no_grad():
                mod.weight.copy_(lib.from_numpy(W))
                mod.bias.copy_(lib.from_numpy(b))
            out.append(mod)
        elif layer[0] == "relu":
            out.append(nn.ReLU())
        elif layer[0] == "flatten":
            out.append(nn.Flatten())
        else:
            out.append((nn.MaxPool1d if d == 1 else nn.MaxPool2d)(layer[1]))
    return nn.Sequential(*out)
