"""The benchmark's cases, and the shared weights and batches every implementation starts from.

A case says what is measured (``kind``: train, infer, adam or op) and on what sizes; the
weights and data come from one NumPy ``default_rng`` seed and are copied into each
implementation, so all three start from the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SEED = 1234
LR = 0.01  # SGD learning rate of every training step
ADAM_LR = 1e-3


@dataclass(frozen=True)
class Case:
    name: str
    kind: str                  # "train", "infer", "adam" or "op"
    label: str                 # what the table prints
    sizes: tuple = ()          # MLP layer widths (train, infer); parameter shapes (adam)
    act: str = "relu"
    batch: int = 0
    ops: int = 1               # op cases: how many ops one timed "step" runs
    variant: str = ""          # op cases: "add", "add_grad", "add_backward", "pow3", ...
    target: float | None = None  # chainrule / floor target from issue 7
    n_batches: int = 4
    model: str = "mlp"         # train cases: "mlp", or "lstm" / "encoder" (bench/seq_cases.py)
    seq: int = 0               # sequence models: steps per sequence


MNIST = (784, 256, 128, 10)
# ~10M parameters: the weights and biases of a 1024-2048-2048-1024-1024 MLP.
ADAM_SHAPES = ((2048, 1024), (2048,), (2048, 2048), (2048,), (1024, 2048), (1024,),
               (1024, 1024), (1024,))
ADAM_SHAPES_QUICK = ((512, 512), (512,), (1024, 512), (1024,))


def all_cases(quick: bool = False) -> list[Case]:
    """Every case; ``quick`` keeps them all but shrinks the biggest ones."""
    wide = (1024, 1024, 1024, 10) if quick else (1024, 4096, 4096, 10)
    wide_batch = 64 if quick else 256
    adam = ADAM_SHAPES_QUICK if quick else ADAM_SHAPES
    n_adam = sum(int(np.prod(s)) for s in adam)
    ops = 100 if quick else 200
    pow_ops = 2 if quick else 10
    return [
        Case("tiny", "train", "tiny MLP 2-16-16-2 tanh, b64", (2, 16, 16, 2), "tanh", 64,
             target=2.5),
        Case("mnist32", "train", "MNIST MLP 784-256-128-10, b32", MNIST, "relu", 32,
             target=1.15),
        Case("mnist128", "train", "MNIST MLP 784-256-128-10, b128", MNIST, "relu", 128,
             target=1.15),
        Case("mnist1024", "train", "MNIST MLP 784-256-128-10, b1024", MNIST, "relu", 1024,
             target=1.1),
        Case("wide", "train", f"wide MLP {'-'.join(map(str, wide))}, b{wide_batch}", wide,
             "relu", wide_batch, target=1.1, n_batches=2),
        Case("adam", "adam", f"Adam step, {n_adam / 1e6:.1f}M params", adam, target=1.5),
        Case("infer1", "infer", "no_grad inference MNIST MLP, b1", MNIST, "relu", 1),
        Case("infer1024", "infer", "no_grad inference MNIST MLP, b1024", MNIST, "relu", 1024,
             target=1.1),
        *seq_cases(quick),
        # Issue 13's CNN training steps (layers in bench.cnn); the floor: bench.floor_cnn.
        Case("lenet", "cnn", f"LeNet 1x28x28, b{16 if quick else 64}", (1, 28, 28),
             batch=16 if quick else 64, variant="lenet", target=1.2),
        Case("wide_cnn", "cnn", f"wide CNN 3x32x32, b{16 if quick else 128}", (3, 32, 32),
             batch=16 if quick else 128, variant="wide_cnn", target=1.2, n_batches=2),
        Case("mnist1d_cnn", "cnn", f"MNIST-1D CNN, b{25 if quick else 100}", (1, 40),
             batch=25 if quick else 100, variant="mnist1d_cnn", target=1.2),
        Case("add", "op", "a + b, 1 element", ops=ops, variant="add"),
        Case("add_grad", "op", "a + b, 1 element, requires_grad", ops=ops, variant="add_grad"),
        Case("add_backward", "op", "a + b then backward, 1 element", ops=ops,
             variant="add_backward"),
        # issue 12: x ** 3 was np.power, 500x torch on a GPT-sized activation
        Case("pow3", "op", f"x ** 3, {_shape(POW_SHAPE)} float32", POW_SHAPE, ops=pow_ops,
             variant="pow3"),
        Case("pow1.5", "op", f"x ** 1.5, {_shape(POW_SHAPE)} float32", POW_SHAPE, ops=pow_ops,
             variant="pow1.5"),
        Case("pow2.7", "op", f"torch.pow(x, 2.7) (the general case), {_shape(POW_SHAPE)}",
             POW_SHAPE, ops=pow_ops, variant="pow2.7"),
        Case("pow3_backward", "op", f"x ** 3 then backward, {_shape(POW_SHAPE)}", POW_SHAPE,
             ops=pow_ops, variant="pow3_backward"),
    ]


# The activations of a small GPT's MLP: (batch, block, 4 * embedding) as in the issue.
POW_SHAPE = (32, 16, 256)


def _shape(shape):
    return "x".join(map(str, shape))


@dataclass(frozen=True)
class OpSpec:
    """What an op case runs: ``a + b`` or ``x ** exponent``, recorded or not, with backward."""

    op: str
    exponent: float = 0.0
    grad: bool = False
    backward: bool = False


def op_spec(variant: str) -> OpSpec:
    """"add", "add_grad", "add_backward", "pow<e>" and "pow<e>_backward" as an OpSpec."""
    name, _, mode = variant.partition("_")
    backward = mode == "backward"
    if name == "add":
        return OpSpec("add", grad=mode in ("grad", "backward"), backward=backward)
    if name.startswith("pow"):
        return OpSpec("pow", float(name[3:]), grad=backward, backward=backward)
    raise ValueError(f"bench: unknown op variant {variant!r}")


def find_case(name: str, quick: bool = False) -> Case:
    for case in all_cases(quick):
        if case.name == name:
            return case
    names = ", ".join(c.name for c in all_cases(quick))
    raise SystemExit(f"bench: unknown case {name!r}; the cases are: {names}")


def mlp_weights(sizes, seed=SEED):
    """[(W, b), ...] float32 with W (out, in), drawn as PyTorch's Linear: U(+-1/sqrt(in))."""
    rng = np.random.default_rng(seed)
    layers = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        bound = 1.0 / np.sqrt(n_in)
        W = rng.uniform(-bound, bound, (n_out, n_in)).astype(np.float32)
        b = rng.uniform(-bound, bound, (n_out,)).astype(np.float32)
        layers.append((W, b))
    return layers


def batches(case: Case, seed=SEED + 1):
    """``case.n_batches`` (x float32 (batch, in), y int64 (batch,)) pairs, cycled by every step."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(case.n_batches):
        x = rng.standard_normal((case.batch, case.sizes[0]), dtype=np.float32)
        y = rng.integers(0, case.sizes[-1], case.batch, dtype=np.int64)
        out.append((x, y))
    return out


def adam_tensors(shapes, seed=SEED + 2):
    """Initial parameters and the fixed gradients an Adam step applies, float32."""
    rng = np.random.default_rng(seed)
    params = [rng.standard_normal(s, dtype=np.float32) * 0.05 for s in shapes]
    grads = [rng.standard_normal(s, dtype=np.float32) * 0.01 for s in shapes]
    return params, grads


def op_values():
    """The two 1-element float32 operands of the per-op cases."""
    return np.array([1.5], dtype=np.float32), np.array([-0.25], dtype=np.float32)


def make_data(case: Case) -> dict:
    """Everything an implementation is built from, as NumPy arrays (each copies what it keeps)."""
    if case.model != "mlp":
        return seq_data(case)
    if case.kind in ("train", "infer"):
        return {"weights": mlp_weights(case.sizes), "batches": batches(case)}
    if case.kind == "cnn":
        from . import cnn  # noqa: PLC0415
        return {"weights": cnn.weights(case, SEED), "batches": cnn.batches(case, SEED + 1)}
    if case.kind == "adam":
        params, grads = adam_tensors(case.sizes)
        return {"params": params, "grads": grads}
    if op_spec(case.variant).op == "pow":
        return {"values": (pow_values(case.sizes),)}
    return {"values": op_values()}


def pow_values(shape, seed=SEED + 3):
    """The base of the pow cases: float32 in [0.5, 2), where every exponent is defined."""
    return np.random.default_rng(seed).uniform(0.5, 2.0, shape).astype(np.float32)


from .seq_cases import seq_cases, seq_data  # noqa: E402 - the sequence models' cases (issue 14)
