"""Interleaved round-robin timing: every round runs a block of steps of each implementation.

Machine noise (another process, frequency changes) then hits all implementations alike;
the order rotates every round so none always runs right after the same neighbour.

Two thread pools share the process: OpenBLAS's (NumPy: the floor and chainrule) and
PyTorch's OpenMP pool. Idle workers spin before they sleep -- OpenBLAS's for 2^28 cycles
(measured: a full core for ~100 ms after a matmul), PyTorch's for ~5-10 ms -- and on a
machine with as many cores as threads they steal the cores the other pool needs, which no
single-framework user would see. So when the next block runs on another pool, the runner
first sleeps until the workers of the pool it leaves are asleep (``settle_s[pool]``).
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
    """How many steps fill about ``block_s`` seconds (at least one).

    Sized on the fastest of three short trials, so that one slow moment of a busy machine
    does not leave an implementation with a block of a few steps.
    """
    t = time_block(step, 1)
    if t >= block_s:
        return 1
    n = max(1, int(block_s / 10 / max(t, 1e-9)))
    t = min(time_block(step, n) for _ in range(3))
    return max(1, int(block_s / max(t, 1e-9)))


def round_robin(steps: dict, rounds: int, block_s: float, pools: dict | None = None,
                settle_s: dict | None = None) -> dict:
    """{name: {"median", "min", "samples", "block"}} in seconds per step.

    ``pools`` maps each name to its thread pool ("openblas", "torch"); leaving a pool for
    another first waits ``settle_s[pool]`` seconds.
    """
    names = list(steps)
    pools = pools or {}
    settle_s = settle_s or {}
    last_pool = [None]

    def settle(name):
        pool, left = pools.get(name), last_pool[0]
        if left is not None and pool != left and settle_s.get(left):
            time.sleep(settle_s[left])
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
