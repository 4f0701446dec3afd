"""Correctness before speed: every implementation must agree with the floor.

The first steps of every case run on all three implementations from the same start, and
are compared with the floor within float32 tolerance:

* step 1, from identical weights: the loss, every gradient entry (within 1e-3 of the
  gradient's largest entry) and every parameter after the update (within 1e-2 of the
  floor's largest change), so a wrong rule, a wrong learning rate or a skipped parameter
  fails at once;
* later steps: the loss (rtol 1e-4) and each gradient as a whole (relative error of its
  norm within 1e-2), and the parameters after the last step (norm of the difference within
  1e-2 of the floor's total change). Entry by entry would be wrong there: once the weights
  differ in the last bit (OpenBLAS and MKL sum in different orders), a few ReLU inputs that
  sit at 0 switch sides, and their gradient entries differ by a few percent -- legitimately.
* Adam (no ReLU) is compared entry by entry after every step; inference outputs and the
  per-op results entry by entry; gradients accumulated by repeated backward exactly.

Dtypes must match the floor's (float32): a float64 upcast fails. A fast wrong answer is
reported as a failure and the run exits non-zero.
"""

from __future__ import annotations

import numpy as np

from .cases import op_spec

CHECK_STEPS = 3
LOSS_RTOL = 1e-4         # summation order differs (OpenBLAS vs MKL, pairwise vs blocked sums)
GRAD_RTOL = 1e-3         # step 1: entry error relative to the largest entry
UPDATE_RTOL = 1e-2       # entry error relative to the floor's largest change of the parameter
NORM_RTOL = 1e-2         # later steps: error norm relative to the floor's norm
OUT_RTOL = 1e-4


def _f64(a):
    return np.asarray(a, dtype=np.float64)


def _shapes_match(what, i, g, w, problems) -> bool:
    g = np.asarray(g)
    if g.shape != w.shape:
        problems.append(f"{what}[{i}]: shape {g.shape}, the floor's is {w.shape}")
        return False
    if g.dtype != w.dtype:
        problems.append(f"{what}[{i}]: dtype {g.dtype}, the floor's is {w.dtype}")
    return True


def compare_entries(what, got, want, tol_of, problems):
    """Every entry: max |got - want| <= tol_of(i, want) for each array i."""
    if len(got) != len(want):
        problems.append(f"{what}: {len(got)} arrays, the floor has {len(want)}")
        return
    for i, (g, w) in enumerate(zip(got, want)):
        if not _shapes_match(what, i, g, w, problems):
            continue
        err = float(np.max(np.abs(_f64(g) - _f64(w)), initial=0))
        tol = tol_of(i, w)
        if not err <= tol:  # also catches NaN
            problems.append(f"{what}[{i}] {w.shape}: max abs error {err:.3g} > tolerance {tol:.3g}")


def compare_norms(what, got, want, scales, rtol, problems):
    """As a whole: ||got - want|| <= rtol * scales[i] + 1e-7 for each array i."""
    if len(got) != len(want):
        problems.append(f"{what}: {len(got)} arrays, the floor has {len(want)}")
        return
    for i, (g, w) in enumerate(zip(got, want)):
        if not _shapes_match(what, i, g, w, problems):
            continue
        err = float(np.linalg.norm(_f64(g) - _f64(w)))
        tol = rtol * scales[i] + 1e-7
        if not err <= tol:
            problems.append(f"{what}[{i}] {w.shape}: error norm {err:.3g} > tolerance {tol:.3g}")


def _largest(w):
    return float(np.max(np.abs(w), initial=0))


def _check_train_step(k, floor, impl, before, p):
    lf, li = floor.loss(), impl.loss()
    if not abs(li - lf) <= LOSS_RTOL * max(1.0, abs(lf)):
        p.append(f"step {k + 1}: loss {li:.7g}, the floor's is {lf:.7g}")
    ld, fd = impl.loss_dtype(), floor.loss_dtype()
    if _dtype_name(ld) != _dtype_name(fd):
        p.append(f"loss dtype {ld}, the floor's is {fd}")
    fg = floor.grads()
    if k == 0:
        compare_entries("step 1 grad", impl.grads(), fg,
                        lambda i, w: GRAD_RTOL * _largest(w) + 1e-7, p)
        change = [_largest(f - b) for f, b in zip(floor.params(), before)]
        compare_entries("parameters after step 1", impl.params(), floor.params(),
                        lambda i, w: UPDATE_RTOL * change[i] + 1e-7, p)
    else:
        compare_norms(f"step {k + 1} grad", impl.grads(), fg,
                      [float(np.linalg.norm(_f64(g))) for g in fg], NORM_RTOL, p)


def run_checks(case, impls, steps=CHECK_STEPS):
    """Run ``steps`` steps of every implementation; return {name: [problem, ...]}.

    ``impls`` maps names to implementations and must contain "floor". These steps are also
    the warm-up of the timing that follows. An implementation whose step raises is reported
    (``"raised: ..."``) and removed from ``impls``; the floor's errors propagate.
    """
    floor = impls["floor"]
    others = {name: impl for name, impl in impls.items() if name != "floor"}
    problems = {name: [] for name in impls}
    trains = case.kind in ("train", "cnn")
    has_params = trains or case.kind == "adam"
    start = [w.copy() for w in floor.params()] if has_params else None
    if trains:
        floor.record = True
    for k in range(steps):
        before = [w.copy() for w in floor.params()] if has_params and k == 0 else None
        floor.step()
        for name, impl in list(others.items()):
            try:
                impl.step()
            except Exception as exc:  # noqa: BLE001 - report it, go on with the others
                problems[name].append(f"step {k + 1} raised: {type(exc).__name__}: {exc}")
                del others[name], impls[name]
        for name, impl in others.items():
            p = problems[name]
            if trains:
                _check_train_step(k, floor, impl, before, p)
            elif case.kind == "adam":
                change = [_largest(f - s) for f, s in zip(floor.params(), start)]
                compare_entries(f"parameters after step {k + 1}", impl.params(), floor.params(),
                                lambda i, w: UPDATE_RTOL * change[i] + 1e-7, p)
            else:
                fo = np.asarray(floor.output())
                compare_entries(f"step {k + 1} output", [impl.output()], [fo],
                                lambda i, w: OUT_RTOL * _largest(w) + 1e-6, p)
    if trains:
        floor.record = False
        total = [float(np.linalg.norm(_f64(f) - _f64(s))) for f, s in zip(floor.params(), start)]
        for name, impl in others.items():
            compare_norms(f"parameters after {steps} steps", impl.params(), floor.params(),
                          total, NORM_RTOL, problems[name])
    if case.kind == "infer":
        for name, impl in others.items():
            if impl.recorded():
                problems[name].append("the output requires grad: no_grad recorded a graph")
    if case.kind == "op":
        spec = op_spec(case.variant)
        # a + b's gradients are sums of ones: exact; x ** e's are rounded like its values
        grad_tol = (lambda i, w: 0.0) if spec.op == "add" else \
            (lambda i, w: OUT_RTOL * _largest(w) + 1e-6)
        for name, impl in others.items():
            if impl.recorded() != spec.grad:
                problems[name].append(f"the result's requires_grad is {impl.recorded()}")
            if spec.backward:
                compare_entries("accumulated grads", impl.op_grads(), floor.op_grads(),
                                grad_tol, problems[name])
    # Deduplicate while keeping order: a wrong rule fails the same way at every step.
    return {name: list(dict.fromkeys(p)) for name, p in problems.items()}


def _dtype_name(dtype) -> str:
    """'float32' for NumPy's, torch's and chainrule's float32 alike."""
    return str(dtype).rsplit(".", 1)[-1]
