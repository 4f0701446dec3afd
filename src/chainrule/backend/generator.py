"""``cr.Generator``: a seedable source of random numbers of one of two kinds.

- ``kind="torch"`` (the default): torch's CPU streams, bit for bit (``torch_random``), so that
  ``cr.manual_seed(2147483647); cr.randn(3)`` prints what ``torch.randn(3)`` prints after the
  same seed, and a course notebook run under chainrule shows the notebook's numbers. That
  is the point of following PyTorch's API; it is the default because programs written for
  torch seed the global generator and expect its numbers.
- ``kind="numpy"``: NumPy's PCG64 with NumPy's own transforms (ziggurat normals): faster for
  large draws (a float32 ``randn`` of 1M numbers: 11 ms against 35 ms) and statistically
  stronger, with numbers that no torch program will print.

Both kinds serve the same draws (``draw_uniform``, ``draw_normal``, ``draw_int``,
``draw_perm``, ``draw_bernoulli``, ...) to creation, init, dropout and the data loaders,
and both round-trip ``get_state`` / ``set_state`` through JSON (checkpoints store it).

    >>> g = cr.Generator().manual_seed(42)
    >>> a = cr.randn(3, generator=g)
    >>> fast = cr.Generator(kind="numpy").manual_seed(42)
"""

from __future__ import annotations

import numpy as np

from .torch_random import TORCH_DEFAULT_SEED, TorchStreams

KINDS = ("torch", "numpy")


def _fresh_seed() -> int:
    return int(np.random.SeedSequence().entropy) % (2**63)


class NumpyStreams:
    """The draws of ``TorchStreams`` from NumPy's ``np.random.Generator`` (PCG64).

    Any other attribute is the NumPy Generator's (``integers``, ``permutation``, ...).
    """

    def __init__(self, seed: int):
        self.rng = np.random.Generator(np.random.PCG64(seed))

    def __getattr__(self, name):
        return getattr(self.rng, name)

    def get_state(self) -> dict:
        return self.rng.bit_generator.state

    def set_state(self, state: dict) -> None:
        self.rng.bit_generator.state = state

    def draw_uniform(self, shape, low, high, dtype):
        if low == 0.0 and high == 1.0:
            return self.rng.random(shape, dtype=np.float64).astype(dtype)
        return self.rng.uniform(low, high, shape).astype(dtype)

    def draw_normal(self, shape, mean, std, dtype, contiguous=True):
        return self.rng.normal(mean, std, shape).astype(dtype)

    def draw_int(self, low, high, shape, dtype=np.int64):
        return self.rng.integers(low, high, shape).astype(dtype)

    def draw_perm(self, n):
        return self.rng.permutation(int(n)).astype(np.int64)

    def draw_bernoulli(self, shape, p, dtype):
        return (self.rng.random(shape, dtype=np.float64) < p).astype(dtype)

    def draw_bernoulli_tensor(self, probs, dtype):
        return (self.rng.random(probs.shape, dtype=np.float64) < probs).astype(dtype)

    def draw_exponential(self, shape, lambd, dtype):
        return self.rng.exponential(1.0 / lambd, shape).astype(dtype)

    def draw_multinomial(self, probs, num_samples, replacement):
        rows = probs.reshape(-1, probs.shape[-1]).astype(np.float64)
        rows = rows / rows.sum(axis=1, keepdims=True)
        out = np.empty((rows.shape[0], num_samples), np.int64)
        for r, row in enumerate(rows):
            out[r] = self.rng.choice(len(row), num_samples, replace=replacement, p=row)
        return out.reshape(probs.shape[:-1] + (num_samples,))


class Generator:
    """A seedable source of random numbers, like ``torch.Generator`` (module docstring).

        >>> g = cr.Generator().manual_seed(2147483647)
        >>> cr.randn(3, generator=g)      # the numbers torch prints for the same seed
        tensor([-0.9800, -1.6578, -0.0572])
    """

    def __init__(self, device="cpu", kind: str = "torch"):
        from . import device as as_device  # noqa: PLC0415 - the package imports this module
        from . import normalize_device  # noqa: PLC0415

        if kind not in KINDS:
            raise ValueError(f"Generator: kind must be one of {KINDS}, got {kind!r}")
        self.device = as_device(normalize_device(device))
        self.kind = kind
        self.manual_seed(TORCH_DEFAULT_SEED if kind == "torch" else _fresh_seed())

    def manual_seed(self, seed: int) -> "Generator":
        seed = int(seed)
        if seed < -(2**63) or seed >= 2**64:
            raise RuntimeError(f"Generator.manual_seed: seed {seed} is outside [-2**63, 2**64)")
        self._seed = seed % 2**64  # torch keeps a uint64: -1 becomes 2**64 - 1
        if self.kind == "torch":
            self.rng = TorchStreams(self._seed)
        else:
            self.rng = NumpyStreams(self._seed)
        return self

    def seed(self) -> int:
        """Seed from fresh entropy and return that seed."""
        return self.manual_seed(_fresh_seed())._seed

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self) -> dict:
        """The generator's state as a JSON-friendly dict (for checkpoints)."""
        return {"kind": self.kind, "seed": self._seed, "state": self.rng.get_state()}

    def set_state(self, state: dict) -> None:
        if "kind" not in state:  # a checkpoint from before generators had kinds: PCG64's dict
            state = {"kind": "numpy", "seed": self._seed, "state": state}
        if state["kind"] != self.kind:
            self.kind = state["kind"]
            self.manual_seed(state.get("seed", 0))
        self._seed = int(state.get("seed", self._seed))
        self.rng.set_state(state["state"])

    def __repr__(self):
        return f"<chainrule.Generator kind={self.kind!r} device='{self.device}'>"


default_generator = Generator()


def manual_seed(seed: int) -> Generator:
    """Seed the default generator: same seed, same run, bit for bit (and torch's numbers)."""
    return default_generator.manual_seed(seed)


def initial_seed() -> int:
    return default_generator.initial_seed()


def seed() -> int:
    return default_generator.seed()


def get_rng_state() -> dict:
    return default_generator.get_state()


def set_rng_state(state: dict) -> None:
    default_generator.set_state(state)


def memory_order(array):
    """A view of ``array`` whose C order walks its memory in order: where torch's in-place
    random fills (``uniform_``, ``normal_``) put their draws, one after another."""
    if array.flags.c_contiguous or array.ndim < 2:
        return array
    axes = sorted(range(array.ndim), key=lambda d: -abs(array.strides[d]))  # stable: ties keep
    return array.transpose(axes)


def rng_of(generator: Generator | None):
    """The streams of ``generator`` (or of the default one): ``draw_*`` and NumPy's methods."""
    return (generator or default_generator).rng
