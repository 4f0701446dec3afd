"""Sampling and the default generator's state, as ``torch.random`` and ``torch.multinomial``.

    >>> _ = cr.manual_seed(0)
    >>> cr.multinomial(cr.tensor([0.1, 0.6, 0.3]), 2)   # torch.multinomial's draw
    tensor([2, 1])
    >>> sorted(cr.get_rng_state())                      # a JSON-friendly dict
    ['kind', 'seed', 'state']
"""

from __future__ import annotations

from . import backend
from .backend import (  # noqa: F401 - torch.random's names
    Generator, default_generator, get_rng_state, initial_seed, manual_seed, seed, set_rng_state,
)
from .tensor import Tensor


def multinomial(input, num_samples, replacement=False, *, generator=None, out=None):
    """Indices drawn from the categories of each row of ``input`` (weights, not log-weights).

    ``input`` is 1-D (one distribution) or 2-D (one per row); the weights need not sum to 1.
    Without replacement no index repeats within a row. With the default generator (torch's
    streams) the draws are torch's for the same seed.

        >>> cr.multinomial(cr.tensor([[0.0, 1.0], [1.0, 0.0]]), 1)
        tensor([[1],
                [0]])
    """
    if out is not None:
        raise TypeError("multinomial: out= is not supported; use the returned tensor")
    if not isinstance(input, Tensor):
        raise TypeError(f"multinomial: expected a Tensor, got {type(input).__name__}")
    probs = input._array
    if probs.ndim not in (1, 2):
        raise RuntimeError(f"multinomial: prob_dist must be 1 or 2 dim, got shape {probs.shape}")
    if probs.dtype.kind != "f":
        raise RuntimeError("multinomial: only supports floating-point dtypes for input, "
                           f"got {probs.dtype}")
    num_samples = int(num_samples)
    n_categories = probs.shape[-1]
    if num_samples <= 0:
        raise RuntimeError(f"multinomial: cannot sample n_sample <= 0 samples, got {num_samples}")
    if not replacement and num_samples > n_categories:
        raise RuntimeError(f"multinomial: cannot sample n_sample ({num_samples}) > "
                           f"prob_dist.size(-1) ({n_categories}) samples without replacement")
    xp = backend.get_array_module(probs)
    if not bool(xp.isfinite(probs).all()) or bool((probs < 0).any()):
        raise RuntimeError("multinomial: probability tensor contains either `inf`, `nan` or "
                           "element < 0")
    if bool((probs.sum(axis=-1) <= 0).any()):
        raise RuntimeError("multinomial: invalid multinomial distribution "
                           "(sum of probabilities <= 0)")
    from .ops.random import MultinomialDraw  # noqa: PLC0415 - an op: a replay draws anew
    return MultinomialDraw.apply(input, num_samples, bool(replacement), generator)
