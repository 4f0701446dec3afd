"""Correctness before speed: every implementation must agree with the floor.

The first steps of every case are run on all three implementations from the same start;
losses, gradients, outputs and updated parameters are compared with the floor within
float32 tolerance. A fast wrong answer is reported as a failure and the run exits non-zero.
"""

from __future__ import annotations

import numpy as np

CHECK_STEPS = 3
LOSS_RTOL = 1e-4      # summation order differs (OpenBLAS vs MKL, pairwise vs blocked sums)
GRAD_RTOL = 1e-3      # relative to the largest gradient entry of the parameter
UPDATE_RTOL = 1e-2    # relative to the largest change the floor made to the parameter
OUT_RTOL = 1e-4


def _max_err(a, b):
    return float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64)), initial=0))


def _compare_arrays(what, got, want, tol_of, problems):
    if len(got) != len(want):
        problems.append(f"{what}: {len(got)} arrays, the floor has {len(want)}")
        return
    for i, (g, w) in enumerate(zip(got, want)):
        g = np.asarray(g)
        if g.shape != w.shape:
            problems.append(f"{what}[{i}]: shape {g.shape}, the floor's is {w.shape}")
            continue
        if g.dtype != w.dtype:
            problems.append(f"{what}[{i}]: dtype {g.dtype}, the floor's is {w.dtype}")
        err, tol = _max_err(g, w), tol_of(i, w)
        if not err <= tol:  # also catches NaN
            problems.append(f"{what}[{i}] {w.shape}: max abs error {err:.3g} > tolerance {tol:.3g}")


def run_checks(case, impls, steps=CHECK_STEPS):
    """Run ``steps`` steps of every implementation; return {name: [problem, ...]}.

    ``impls`` maps names to implementations and must contain "floor". These steps are also
    the warm-up of the timing that follows.
    """
    floor = impls["floor"]
    problems = {name: [] for name in impls}
    has_params = case.kind in ("train", "adam")
    start = [p.copy() for p in floor.params()] if has_params else None
    if case.kind == "train":
        floor.record = True
    for k in range(steps):
        for impl in impls.values():
            impl.step()
        for name, impl in impls.items():
            if name == "floor":
                continue
            p = problems[name]
            if case.kind == "train":
                lf, li = floor.loss(), impl.loss()
                if not abs(li - lf) <= LOSS_RTOL * max(1.0, abs(lf)):
                    p.append(f"step {k + 1}: loss {li:.7g}, the floor's is {lf:.7g}")
                fg = floor.grads()
                _compare_arrays(f"step {k + 1} grad", impl.grads(), fg,
                                lambda i, w: GRAD_RTOL * float(np.max(np.abs(w))) + 1e-7, p)
            elif case.kind in ("infer", "op"):
                fo = np.asarray(floor.output())
                _compare_arrays(f"step {k + 1} output", [impl.output()], [fo],
                                lambda i, w: OUT_RTOL * float(np.max(np.abs(w))) + 1e-6, p)
    if case.kind == "train":
        floor.record = False
    if has_params:
        deltas = [float(np.max(np.abs(f - s))) for f, s in zip(floor.params(), start)]
        for name, impl in impls.items():
            if name != "floor":
                _compare_arrays(f"parameters after {steps} steps", impl.params(),
                                floor.params(),
                                lambda i, w: UPDATE_RTOL * deltas[i] + 1e-6, problems[name])
    if case.kind == "op":
        for name, impl in impls.items():
            if name != "floor" and impl.recorded() != (case.variant != "add"):
                problems[name].append(f"the result's requires_grad is {impl.recorded()}")
    if case.kind == "op" and case.variant == "add_backward":
        for name, impl in impls.items():
            if name != "floor":
                _compare_arrays("accumulated grads", impl.op_grads(), floor.op_grads(),
                                lambda i, w: 0.0, problems[name])
    # Deduplicate while keeping order: a wrong rule fails the same way at every step.
    return {name: list(dict.fromkeys(p)) for name, p in problems.items()}
