"""chainrule's benchmark: chainrule vs PyTorch eager vs a hand-written NumPy floor.

Run ``python -m bench`` (a few minutes) or ``python -m bench --quick`` (under a minute).
Every implementation starts from the same weights and batches; its first losses,
gradients and updates are checked against the floor before anything is timed, and a
wrong answer makes the run exit non-zero. Timings are interleaved round-robin in one
process; the table gives median and min seconds per step and the ratios to the floor
and to PyTorch. See docs/benchmarks.md.
"""
