"""The optimizer's part of a replayed training step, without the eager step's overhead.

``sgd_step(opt)`` is ``opt.step()`` for a plain ``optim.SGD`` (``adam_step``: for ``Adam``
and ``AdamW``), with the same numbers bit for bit: it reads every group's hyperparameters
from ``param_groups`` at each call (a scheduler may have changed them; nothing is frozen,
so no guard is needed) and runs the optimizer's own pure update function (``sgd_update``,
``adam_update``) on the arrays, in cache-sized blocks as the optimizer does. What it leaves
out is what a replay already knows: the closure (none), the gradient checks (the plan made
the gradients, with the parameters' shapes and dtypes).
Any other optimizer is replayed by calling its ``step()``.

``zero_grad_to_none(opt)`` is ``opt.zero_grad()`` (set_to_none=True) without its trace check.

``emit_sgd`` writes the common case into the plan's source, one line per parameter: one
group, plain SGD (no momentum, weight decay or maximize, checked at every replay from the
group itself), else it calls ``sgd_step``.
"""

from __future__ import annotations

import numpy as np

from ..backend.host_blas import add_scaled
from ..optim.adam import Adam, AdamW, adam_update
from ..optim.optimizer import BLOCK, block_bounds
from ..optim.sgd import SGD, sgd_update
from ..tensor import _make


def emit_sgd(cg, opt, step):
    """The source of ``opt.step()`` for an ``optim.SGD`` (see the module's docstring)."""
    o = cg.const(opt, "O")
    groups = opt.param_groups
    if len(groups) != 1:
        cg.emit(f"{cg.const(sgd_step)}({o})", step)
        return
    params = cg.const(groups[0]["params"], "L")
    names = [cg.const(p, "P") for p in groups[0]["params"]]
    # The same list, and still the same parameters in it (a list edited in place must not
    # leave the baked updates on the old ones): else the optimizer's own step.
    same = " and ".join(f"{params}[{i}] is {n}" for i, n in enumerate(names)) or "True"
    cg.emit(f"G = {o}.param_groups", step)
    cg.emit(f"if len(G) == 1 and G[0]['params'] is {params} and len({params}) == {len(names)} "
            f"and {same} and G[0]['momentum'] == 0 "
            "and G[0]['weight_decay'] == 0 and not G[0]['maximize']:")
    cg.emit("    lr = -float(G[0]['lr'])")
    cg.emit(f"    {o}._opt_called = True")
    add = cg.const(add_scaled)
    for name in names:
        cg.emit(f"    t = {name}._grad")
        cg.emit("    if t is not None:")
        cg.emit(f"        {add}({name}._array, lr, t._array)")
        cg.emit(f"        {name}._version += 1")
    cg.emit("else:")
    cg.emit(f"    {cg.const(sgd_step)}({o})")


def fused_step(optimizer):
    """``emit(cg, optimizer, step)`` writing ``optimizer.step()`` into a plan, or None."""
    if any(type(p._array) is not np.ndarray for g in optimizer.param_groups
           for p in g["params"]):
        return None  # arrays of another device: the optimizer's own step
    if type(optimizer) is SGD:
        return emit_sgd
    if type(optimizer) in (Adam, AdamW):
        return emit_adam
    return None


def emit_adam(cg, opt, step):
    cg.emit(f"{cg.const(adam_step)}({cg.const(opt, 'O')})", step)


_ADAM_STATE = ("exp_avg", "exp_avg_sq")


def adam_step(opt):
    """``opt.step()`` of an ``optim.Adam`` / ``AdamW``: its step counter, its state made as
    it makes it (zeros, on the first step), ``adam_update`` on blocks of the arrays."""
    opt._opt_called = True
    state = opt.state
    for group in opt.param_groups:
        hyper = opt._hyper(group)
        names = _ADAM_STATE + (("max_exp_avg_sq",) if hyper["amsgrad"] else ())
        for p in group["params"]:
            grad_t = p._grad
            if grad_t is None:
                continue
            w, g = p._array, grad_t._array
            s = state[p]
            if "step" not in s:
                s["step"] = _make(np.zeros((), np.float32))
            for name in names:
                if s.get(name) is None:
                    s[name] = _make(np.full_like(w, 0))
            step_t = s["step"]._array
            step_t += 1
            kwargs = dict(hyper, step=float(step_t))
            arrays = [w, g, s["exp_avg"]._array, s["exp_avg_sq"]._array,
                      s["max_exp_avg_sq"]._array if hyper["amsgrad"] else None]
            n = w.size
            if n > BLOCK and type(w) is np.ndarray and all(
                    a is None or a.flags.c_contiguous for a in arrays):
                t1, t2 = _SCRATCH.get(w, 2 * BLOCK)
                flat = [None if a is None else a.reshape(-1) for a in arrays]
                for start, stop in block_bounds(n):
                    adam_update(*[None if a is None else a[start:stop] for a in flat],
                                t1[:stop - start], t2[:stop - start], **kwargs)
            else:
                t1, t2 = _SCRATCH.get(w, n)
                shape = w.shape
                adam_update(*arrays, t1[:n].reshape(shape), t2[:n].reshape(shape), **kwargs)
            p._version += 1


class _Scratch:
    """Two scratch blocks per dtype, kept by the plan between steps."""

    def __init__(self):
        self.bufs = {}

    def get(self, like, n):
        bufs = self.bufs.get(like.dtype)
        if bufs is None or bufs[0].size < n:
            bufs = self.bufs[like.dtype] = (np.empty(n, like.dtype), np.empty(n, like.dtype))
        return bufs


_SCRATCH = _Scratch()


def sgd_step(opt):
    """``opt.step()`` of an ``optim.SGD`` on the gradients the replay just made."""
    opt._opt_called = True
    for group in opt.param_groups:
        hyper = opt._hyper(group)
        lr = hyper["lr"]
        plain = hyper["momentum"] == 0 and hyper["weight_decay"] == 0 and not hyper["maximize"]
        state = opt.state
        for p in group["params"]:
            grad_t = p._grad
            if grad_t is None:
                continue
            w, g = p._array, grad_t._array
            if plain:
                add_scaled(w, -lr, g)
            else:
                _momentum(p, w, g, state, hyper)
            p._version += 1


def _momentum(p, w, g, state, hyper):
    """SGD with momentum / weight decay / maximize: ``sgd_update`` on blocks of the arrays."""
    fresh = False
    buf = None
    if hyper["momentum"] != 0:  # no state entry without momentum (as the optimizer)
        s = state[p]
        buf_t = s.get("momentum_buffer")
        if buf_t is None:
            buf_t = s["momentum_buffer"] = _make(np.empty_like(w))
            fresh = True
        buf = buf_t._array
    n = w.size
    blockable = (n > BLOCK and type(w) is np.ndarray and w.flags.c_contiguous
                 and g.flags.c_contiguous and (buf is None or buf.flags.c_contiguous))
    if not blockable:
        t1, t2 = _SCRATCH.get(w, n)
        shape = w.shape
        sgd_update(w, g, buf, t1[:n].reshape(shape), t2[:n].reshape(shape), first=fresh,
                   **hyper)
        return
    t1, t2 = _SCRATCH.get(w, 2 * BLOCK)
    wf, gf = w.reshape(-1), g.reshape(-1)
    bf = None if buf is None else buf.reshape(-1)
    for start, stop in block_bounds(n):  # (no short block: each rounds as the whole would)
        k = stop - start
        sgd_update(wf[start:stop], gf[start:stop], None if bf is None else bf[start:stop],
                   t1[:k], t2[:k], first=fresh, **hyper)


def zero_grad_to_none(opt):
    """``opt.zero_grad()`` of an Optimizer: every parameter's ``.grad`` becomes None."""
    for group in opt.param_groups:
        for p in group["params"]:
            p._grad = None
