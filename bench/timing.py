"""Interleaved round-robin timing: every round runs a block of steps of each implementation.

Machine noise (another process, frequency changes) then hits all implementations alike;
the order rotates every round so none always runs right after the same neighbour.
"""

from __future__ import annotations

import statistics
from time import perf_counter


def time_block(step, n: int) -> float:
    """Seconds per step over a block of ``n`` steps."""
    t0 = perf_counter()
    for _ in range(n):
        step()
    return (perf_counter() - t0) / n


def steps_per_block(step, block_s: float) -> int:
    """How many steps fill about ``block_s`` seconds (at least one)."""
    t = time_block(step, 1)
    if t < block_s / 10:  # a single fast step is too noisy to size the block on
        t = time_block(step, max(1, int(block_s / 10 / max(t, 1e-7))))
    return max(1, int(block_s / max(t, 1e-9)))


def round_robin(steps: dict, rounds: int, block_s: float) -> dict:
    """{name: {"median", "min", "samples", "block"}} in seconds per step."""
    names = list(steps)
    block = {name: steps_per_block(steps[name], block_s) for name in names}
    samples = {name: [] for name in names}
    for r in range(rounds):
        order = names[r % len(names):] + names[:r % len(names)]
        for name in order:
            samples[name].append(time_block(steps[name], block[name]))
    return {name: {"median": statistics.median(s), "min": min(s), "samples": s,
                   "block": block[name]} for name, s in samples.items()}
