"""Interleaved round-robin timing: every round runs a block of steps of each implementation.

Machine noise (another process, frequency changes) then hits all implementations alike;
the order rotates every round so none always runs right after the same neighbour.

Two thread pools share the process: OpenBLAS's (NumPy: the floor and chainrule) and
PyTorch's OpenMP pool. Idle OpenBLAS workers spin for about 2^28 cycles (~0.1 s) before
they sleep, and on a machine with as many cores as threads they steal the cores PyTorch's
threads need (and the other way round), which no single-framework user would see. So
before a block whose pool differs from the previous block's, the runner sleeps
``settle_s`` until the other pool's workers are asleep.
"""

from __future__ import annotations

import statistics
import time
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


def round_robin(steps: dict, rounds: int, block_s: float, pools: dict | None = None,
                settle_s: float = 0.0) -> dict:
    """{name: {"median", "min", "samples", "block"}} in seconds per step.

    ``pools`` maps each name to its thread pool ("openblas", "torch"); switching pools
    first waits ``settle_s`` seconds.
    """
    names = list(steps)
    pools = pools or {}
    last_pool = [None]

    def settle(name):
        pool = pools.get(name)
        if settle_s and last_pool[0] is not None and pool != last_pool[0]:
            time.sleep(settle_s)
        last_pool[0] = pool

    block = {}
    for name in names:
        settle(name)
        block[name] = steps_per_block(steps[name], block_s)
    samples = {name: [] for name in names}
    for r in range(rounds):
        order = names[r % len(names):] + names[:r % len(names)]
        for name in order:
            settle(name)
            samples[name].append(time_block(steps[name], block[name]))
    return {name: {"median": statistics.median(s), "min": min(s), "samples": s,
                   "block": block[name]} for name, s in samples.items()}
