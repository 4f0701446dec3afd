"""chainrule's benchmark: chainrule vs PyTorch eager vs a hand-written NumPy floor.

Run ``python -m bench`` (a few minutes) or ``python -m bench --quick`` (under a minute)
from the repository root. Every implementation starts from the same weights and batches;
its first losses, gradients and updates are checked against the floor before anything is
timed, and a wrong answer makes the run exit non-zero. Timings are interleaved round-robin
in one process; the table gives median and min seconds per step and the ratios to the floor
and to PyTorch. See docs/benchmarks.md.

    cases.py           the cases, and the shared weights and batches (one NumPy seed)
    floor.py           the NumPy floor; impl_chainrule.py, impl_torch.py: the same cases
    impls.py           the implementations by name, imported lazily
    checks.py          correctness against the floor
    timing.py          interleaved round-robin timing
    memory.py          peak memory of a training run, in a fresh interpreter
    machine.py         CPU, BLAS, commit, import time, CPU taken by other processes
    report.py          tables and JSON; markdown.py and compare.py read the JSON back
    runner.py          ``python -m bench``
"""
