"""L-BFGS: a quasi-Newton method from the last few steps, with an optional strong-Wolfe search.

    >>> x = cr.tensor([-1.0, 2.0], requires_grad=True)
    >>> opt = cr.optim.LBFGS([x], lr=1, line_search_fn="strong_wolfe")
    >>> def closure():
    ...     opt.zero_grad()
    ...     loss = ((x - cr.tensor([3.0, -1.0])) ** 2).sum()
    ...     loss.backward()
    ...     return loss
    >>> opt.step(closure)                  # the first loss
    tensor(25., grad_fn=<SumBackward0>)
    >>> x                                  # a quadratic: at the minimum after one step
    tensor([ 3.0000, -1.0000], requires_grad=True)

The semantics (when to stop, how the first step is scaled, how the line search brackets
and zooms) follow ``torch.optim.LBFGS`` so that trajectories agree with PyTorch. Scalars
computed from float32 arrays stay NumPy float32 scalars, as PyTorch's 0-d tensors do.
"""

from __future__ import annotations

import numpy as np

from .. import backend
from ..autograd import grad_mode
from ..tensor import Tensor
from .optimizer import Optimizer, check_hyper


def cubic_minimizer(x1, f1, g1, x2, f2, g2, bounds=None):
    """Minimizer of the cubic through (x1, f1, f'=g1) and (x2, f2, f'=g2), clipped to bounds.

    With no real minimizer, the middle of the bounds (default: the interval [x1, x2]).
    """
    lo, hi = bounds if bounds is not None else (min(x1, x2), max(x1, x2))
    with np.errstate(all="ignore"):  # degenerate brackets give inf/nan as in PyTorch
        d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
        disc = d1 ** 2 - g1 * g2
        if not disc >= 0:
            return (lo + hi) / 2.0
        d2 = np.sqrt(disc)
        if x1 <= x2:
            x = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
        else:
            x = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return min(max(x, lo), hi)


class _Trial:
    """A point on the search line: step t, loss f, flat gradient g, slope gtd = g . d."""

    __slots__ = ("t", "f", "g", "gtd")

    def __init__(self, t, f, g, gtd):
        self.t, self.f, self.g, self.gtd = t, f, g, gtd


def strong_wolfe(evaluate, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9,
                 max_ls=25):
    """Find a step t along d meeting the strong Wolfe conditions (Nocedal & Wright, alg. 3.5).

    ``evaluate(t)`` returns (loss, flat gradient) at x + t d. Sufficient decrease:
    f(t) <= f + c1 t gtd; curvature: |g(t) . d| <= -c2 gtd. A bracketing phase grows t by
    cubic extrapolation until an interval holds an acceptable step, then a zoom phase
    shrinks the interval by safeguarded cubic interpolation. Returns (f, g, t, evaluations).
    """
    d_norm = np.abs(d).max()
    start = _Trial(0, f, g.copy(), gtd)
    evals = 0

    def trial(step):
        nonlocal evals
        f_new, g_new = evaluate(step)
        evals += 1
        return _Trial(step, f_new, g_new, g_new.dot(d))

    new = trial(t)
    prev = start
    bracket, done, it = None, False, 0
    while it < max_ls:
        if new.f > f + c1 * new.t * gtd or (it > 1 and new.f >= prev.f):
            bracket = [prev, new]
            break
        if abs(new.gtd) <= -c2 * gtd:
            bracket, done = [new], True
            break
        if new.gtd >= 0:
            bracket = [prev, new]
            break
        # Still descending: extrapolate, at least 1% past and at most 10x the current step.
        step = cubic_minimizer(prev.t, prev.f, prev.gtd, new.t, new.f, new.gtd,
                               bounds=(new.t + 0.01 * (new.t - prev.t), new.t * 10))
        prev, new = new, trial(step)
        it += 1
    if it == max_ls:  # out of evaluations while bracketing: keep the best of start and last
        bracket = [start, new]

    # Zoom: bracket[low] is the best point so far, bracket[high] the other end.
    low, high = (0, 1) if bracket[0].f <= bracket[-1].f else (1, 0)
    insufficient = False
    while not done and it < max_ls:
        a, b = bracket[0], bracket[1]
        if abs(b.t - a.t) * d_norm < tolerance_change:
            break
        step = cubic_minimizer(a.t, a.f, a.gtd, b.t, b.f, b.gtd)
        t_max, t_min = max(a.t, b.t), min(a.t, b.t)
        margin = 0.1 * (t_max - t_min)
        if min(t_max - step, step - t_min) < margin:
            # Too close to an end: move it inward unless the last try made progress.
            if insufficient or step >= t_max or step <= t_min:
                step = t_max - margin if abs(step - t_max) < abs(step - t_min) else t_min + margin
                insufficient = False
            else:
                insufficient = True
        else:
            insufficient = False
        new = trial(step)
        it += 1
        if new.f > f + c1 * new.t * gtd or new.f >= bracket[low].f:
            bracket[high] = new
            low, high = (0, 1) if bracket[0].f <= bracket[1].f else (1, 0)
        else:
            if abs(new.gtd) <= -c2 * gtd:
                done = True
            elif new.gtd * (bracket[high].t - bracket[low].t) >= 0:
                bracket[high] = bracket[low]
            bracket[low] = new
    best = bracket[low]
    return best.f, best.g, best.t, evals


class LBFGS(Optimizer):
    """Limited-memory BFGS, like ``torch.optim.LBFGS`` (one param group; needs a closure).

    Args: ``lr=1``, ``max_iter=20`` (iterations per ``step``), ``max_eval=max_iter*5//4``,
    ``tolerance_grad=1e-7``, ``tolerance_change=1e-9``, ``history_size=100``,
    ``line_search_fn=None`` or ``"strong_wolfe"``.

    Each iteration: the direction is d = -H g, with H the inverse Hessian estimated from
    the last ``history_size`` pairs (s = step, y = change of gradient) by the two-loop
    recursion and scaled by s.y / y.y; the step is lr along d (the very first one shortened
    to min(1, 1/|g|_1) lr) or what the strong-Wolfe search finds. It stops on a small
    gradient (max |g| <= tolerance_grad), a small change, or max_iter / max_eval.
    """

    def __init__(self, params, lr=1.0, max_iter=20, max_eval=None, tolerance_grad=1e-7,
                 tolerance_change=1e-9, history_size=100, line_search_fn=None):
        check_hyper("learning rate", lr)
        if line_search_fn not in (None, "strong_wolfe"):
            raise ValueError(f"LBFGS: line_search_fn must be None or 'strong_wolfe', "
                             f"got {line_search_fn!r}")
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        defaults = dict(lr=lr, max_iter=max_iter, max_eval=max_eval,
                        tolerance_grad=tolerance_grad, tolerance_change=tolerance_change,
                        history_size=history_size, line_search_fn=line_search_fn)
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        self._params = self.param_groups[0]["params"]

    def add_param_group(self, param_group):
        if self.param_groups:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        super().add_param_group(param_group)

    # --- the parameters as one flat vector -------------------------------------------------
    def _flat_grad(self):
        self._check_grads()
        xp = backend.get_array_module(self._params[0]._array)
        return xp.concatenate([
            xp.zeros(p._array.size, p._array.dtype) if p.grad is None else p.grad._array.reshape(-1)
            for p in self._params])

    def _add_to_params(self, t, d):
        offset = 0
        for p in self._params:
            n = p._array.size
            p._array += np.multiply(d[offset:offset + n], t).reshape(p._array.shape)
            p._version += 1
            offset += n

    def _set_params(self, saved):
        for p, x in zip(self._params, saved):
            np.copyto(p._array, x)
            p._version += 1

    def _evaluate(self, closure):
        with grad_mode.enable_grad():
            return closure()

    def step(self, closure=None):
        """Run up to ``max_iter`` iterations; ``closure`` clears grads, computes and backprops
        the loss, and returns it. Returns the loss of the first evaluation."""
        if closure is None:
            raise RuntimeError("LBFGS.step needs a closure that re-evaluates the loss")
        group = self.param_groups[0]
        lr = float(group["lr"])
        max_iter, max_eval = group["max_iter"], group["max_eval"]
        tolerance_grad, tolerance_change = group["tolerance_grad"], group["tolerance_change"]
        history_size = group["history_size"]

        # LBFGS's state is global; like PyTorch it lives under the first parameter.
        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        orig_loss = self._evaluate(closure)
        loss = float(orig_loss)
        evals = 1
        state["func_evals"] += 1
        flat_grad = self._flat_grad()
        if np.abs(flat_grad).max() <= tolerance_grad:
            return orig_loss

        d, t = state.get("d"), state.get("t")
        old_dirs, old_stps, ro = state.get("old_dirs"), state.get("old_stps"), state.get("ro")
        H_diag = state.get("H_diag")
        prev_flat_grad, prev_loss = state.get("prev_flat_grad"), state.get("prev_loss")

        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1

            # Direction.
            if state["n_iter"] == 1:
                d = -flat_grad
                old_dirs, old_stps, ro = [], [], []
                H_diag = 1
            else:
                y = flat_grad - prev_flat_grad
                s = d * t
                ys = y.dot(s)
                if ys > 1e-10:  # keep the pair only if the curvature is positive
                    if len(old_dirs) == history_size:
                        old_dirs.pop(0)
                        old_stps.pop(0)
                        ro.pop(0)
                    old_dirs.append(y)
                    old_stps.append(s)
                    ro.append(1.0 / ys)
                    H_diag = ys / y.dot(y)
                if "al" not in state:
                    state["al"] = [None] * history_size
                al = state["al"]
                # Two-loop recursion: q = -g through the history, newest first, ...
                q = -flat_grad
                for i in range(len(old_dirs) - 1, -1, -1):
                    al[i] = old_stps[i].dot(q) * ro[i]
                    q -= old_dirs[i] * al[i]
                # ... scaled by the initial inverse Hessian, then back, oldest first.
                d = r = q * H_diag
                for i in range(len(old_dirs)):
                    be_i = old_dirs[i].dot(r) * ro[i]
                    r += old_stps[i] * (al[i] - be_i)

            if prev_flat_grad is None:
                prev_flat_grad = flat_grad.copy()
            else:
                np.copyto(prev_flat_grad, flat_grad)
            prev_loss = loss

            # Step length.
            if state["n_iter"] == 1:
                t = min(1.0, 1.0 / np.abs(flat_grad).sum()) * lr
            else:
                t = lr
            gtd = flat_grad.dot(d)
            if gtd > -tolerance_change:  # not a descent direction any more
                break

            ls_evals = 0
            if group["line_search_fn"] == "strong_wolfe":
                x0 = [p._array.copy() for p in self._params]

                def evaluate(step, x0=x0, d=d):
                    self._add_to_params(step, d)
                    f_step = float(self._evaluate(closure))
                    g_step = self._flat_grad()
                    self._set_params(x0)
                    return f_step, g_step

                loss, flat_grad, t, ls_evals = strong_wolfe(
                    evaluate, t, d, loss, flat_grad, gtd, max_ls=max_eval - evals)
                self._add_to_params(t, d)
                opt_cond = np.abs(flat_grad).max() <= tolerance_grad
            else:
                self._add_to_params(t, d)
                opt_cond = False
                if n_iter != max_iter:  # the last iteration's loss would go unused
                    loss = float(self._evaluate(closure))
                    flat_grad = self._flat_grad()
                    opt_cond = np.abs(flat_grad).max() <= tolerance_grad
                    ls_evals = 1
            evals += ls_evals
            state["func_evals"] += ls_evals

            if n_iter == max_iter or evals >= max_eval or opt_cond:
                break
            if np.abs(d * t).max() <= tolerance_change:
                break
            if abs(loss - prev_loss) < tolerance_change:
                break

        state.update(d=d, t=t, old_dirs=old_dirs, old_stps=old_stps, ro=ro, H_diag=H_diag,
                     prev_flat_grad=prev_flat_grad, prev_loss=prev_loss)
        return orig_loss

    def _restore_state(self, param, state):
        """Loaded Tensors back to the arrays and NumPy scalars the iterations work on."""
        def arr(v):
            if v is None or isinstance(v, (int, float)):
                return v
            a = v._array if isinstance(v, Tensor) else v
            a = a.copy() if backend.device_of(a) != "cpu" else np.asarray(a).copy()
            return a[()] if a.ndim == 0 and backend.device_of(a) == "cpu" else a
        out = {}
        for k, v in state.items():
            out[k] = [arr(x) for x in v] if isinstance(v, (list, tuple)) else arr(v)
        for k in ("func_evals", "n_iter"):
            if k in out and not isinstance(out[k], int):
                out[k] = int(out[k])
        return out
