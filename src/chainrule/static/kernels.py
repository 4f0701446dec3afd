"""Replay kernels: the hot ops of a training step written straight into the plan's source.

A plan normally runs an op as eager does: a fresh node, its ``forward``, later its
``backward``. For the ops every MLP step spends its time in, the plan writes the op's
arithmetic directly into its source instead -- NumPy calls that give the eager values bit for
bit (the same calls, or fewer passes proven to give the same bits) -- and leaves out what a
node needs only to be part of a graph or to check its inputs (those checks passed when the
step was captured, and the guards hold the shapes and dtypes they passed on). No node is
made at all. Where an input is a dead array of the plan, the result is written into it.

    Linear          y = x @ W.T; y += b           gx = g @ W, gW = g.T @ x, gb = g.sum(0)
    Relu, Tanh      relu_array(x), np.tanh(x)     g * (y != 0) (= eager's g * not(x <= 0)),
                                                  g * (1 - y * y)
    CheckClassTarget  one reduction (targets viewed as unsigned); the op runs only to raise
    HardCrossEntropy  when every target is in [0, C) (none is the negative ignore_index): the
                    eager kernel without its all-true mask (``x * 1.0 == x`` exactly, so
                    leaving it out changes no bit), the softmax made in the dead logits; with
                    ignored targets, the eager op itself

A kernel ``fits`` a traced step (2-D, equal float dtypes, ...) or the plan runs the op as
eager does. Kernels write lines through the plan's code generator (``cg``): ``cg.var(v)``
names a value, ``cg.const(obj)`` binds a constant.
"""

from __future__ import annotations

from math import isfinite as _isfinite

import numpy as np

from ..ops.activation import Relu, Tanh, relu_array
from ..ops.fused.cross_entropy import CheckClassTarget, HardCrossEntropy
from ..ops.fused.linear import Linear
from ..ops.gemm import swapped_layout
from ..ops.softmax import row_max


def _is_value(a):
    from ..autograd.tracing import Value  # noqa: PLC0415
    return type(a) is Value


class _Kernel:
    #: It writes a traced size into the source (needs ``Plan(fixed_shapes=True)``).
    bakes_shapes = False
    #: The gradients its backward writes are new arrays, never views or shared ones.
    fresh_grads = True
    #: Its backward reads the forward's output (which must then stay alive until it).
    reads_output = False
    #: Its backward can take the seed of a scalar loss (ones) as a constant.
    takes_unit_seed = False

    def fits(self, cg, s) -> bool:
        return False

    def forward(self, cg, s):
        raise TypeError(f"{type(self).__name__} must define forward(cg, s)")

    def backward(self, cg, s, vjp):
        raise TypeError(f"{type(self).__name__} must define backward(cg, s, vjp)")


def _out(s):
    return f"v{s.outputs[0].index}"


class _Linear(_Kernel):
    """x @ W.T in the layout ``ops.gemm`` measured the faster for its shapes when the capture
    ran them eagerly: the plan writes that layout out, with no lookup at each replay."""

    def fits(self, cg, s):
        x, W, b = s.args
        if not (_is_value(x) and _is_value(W)) or len(x.shape) != 2 or len(W.shape) != 2:
            return False
        if b is not None and (not _is_value(b) or b.dtype != W.dtype):
            return False
        return x.dtype == W.dtype and W.dtype.kind == "f"

    def forward(self, cg, s):
        x, W, b = s.args
        y = _out(s)
        xv, Wv = cg.var(x), cg.var(W)
        if swapped_layout(tuple(x.shape), tuple(W.shape), x.dtype):  # measured by the capture
            cg.emit(f"{y} = ({Wv} @ {xv}.T).T.copy() if {xv}.flags.c_contiguous and "
                    f"{Wv}.flags.c_contiguous else {xv} @ {Wv}.T", s)  # as eager decides
        else:
            cg.emit(f"{y} = {xv} @ {Wv}.T", s)
        if b is not None:
            cg.emit(f"{y} += {cg.var(b)}")

    def backward(self, cg, s, vjp):
        x, W, b = s.args
        g = cg.var(vjp.inputs[0])
        gx, gW, gb = vjp.outputs
        if gx is not None:
            cg.emit(f"v{gx.index} = {g} @ {cg.var(W)}", vjp)
        if gW is not None:
            cg.emit(f"v{gW.index} = {g}.T @ {cg.var(x)}", vjp)
        if gb is not None:
            cg.emit(f"v{gb.index} = {g}.sum(0)", vjp)


def _in_place(cg, s):
    """Whether an elementwise forward ``s`` may write into its input: a fresh array that
    only ``s`` and its VJP read (the VJP then reads the output instead, see below)."""
    vjp = cg.vjp_of.get(s.index)
    steps = [s] if vjp is None else [s, _Index(vjp)]
    return cg.dead_after(s.args[0], *steps)


class _Index:
    def __init__(self, index):
        self.index = index


def _upstream_in_place(cg, vjp):
    """Whether a VJP may write its gradient into its upstream gradient (fresh, read by it
    alone)."""
    return cg.dead_after(vjp.inputs[0], vjp)


class _Relu(_Kernel):
    """max(x, 0) -- into x itself when x is dead after it. The backward's mask, eager's
    ``not(x <= 0)``, is taken on y as ``y != 0``: the same mask in one pass instead of two
    (x > 0 gives y = x != 0; x <= 0 gives y = 0; x = nan gives y = nan, and nan != 0, so the
    gradient passes as eager lets it). The product ``g * mask`` is eager's, bit for bit
    (-0 and nan where g is negative or not finite included). The mask is a new array, not
    a buffer of the plan: a buffer saved little time and stayed in memory between steps.
    """

    reads_output = True  # the mask is read from y

    def fits(self, cg, s):
        return _is_value(s.args[0]) and s.args[0].dtype.kind in "f"

    def forward(self, cg, s):
        x = cg.var(s.args[0])
        relu = cg.const(relu_array, "c")
        if _in_place(cg, s):
            cg.emit(f"{_out(s)} = {relu}({x}, out={x})", s)
        else:
            cg.emit(f"{_out(s)} = {relu}({x})", s)

    def backward(self, cg, s, vjp):
        g, (gx,) = cg.var(vjp.inputs[0]), vjp.outputs
        if gx is None:
            return
        mask = f"({cg.var(s.outputs[0])} != 0)"
        if _upstream_in_place(cg, vjp):
            cg.emit(f"v{gx.index} = {cg.const(np.multiply, 'np_')}({g}, {mask}, out={g})", vjp)
        else:
            cg.emit(f"v{gx.index} = {g} * {mask}", vjp)


class _Tanh(_Kernel):
    """tanh(x) -- into x itself when x is dead after it (the backward reads y only);
    g * (1 - y * y) -- into g when g is dead after it."""

    reads_output = True

    def fits(self, cg, s):
        return _is_value(s.args[0]) and s.args[0].dtype.kind == "f"

    def forward(self, cg, s):
        x = cg.var(s.args[0])
        tanh = cg.const(np.tanh, "np_")
        out = f", out={x}" if _in_place(cg, s) else ""
        cg.emit(f"{_out(s)} = {tanh}({x}{out})", s)

    def backward(self, cg, s, vjp):
        g, (gx,) = cg.var(vjp.inputs[0]), vjp.outputs
        if gx is None:
            return
        y = cg.var(s.outputs[0])
        if _upstream_in_place(cg, vjp):
            sub, mul = cg.const(np.subtract, "np_"), cg.const(np.multiply, "np_")
            cg.emit(f"t = {y} * {y}", vjp)
            cg.emit(f"{sub}(1, t, out=t)")
            cg.emit(f"v{gx.index} = {mul}({g}, t, out={g})")
        else:
            cg.emit(f"v{gx.index} = {g} * (1 - {y} * {y})", vjp)


class _HardCrossEntropy(_Kernel):
    """Class-index targets checked by the plan's CheckClassTarget kernel: when every target
    is in [0, C) (none is the negative ignore_index), the eager kernel without its all-true
    mask (``x * 1.0 == x`` exactly, so leaving the mask out changes no bit). When the check
    found ignored targets (and no bad one), the op runs as eager runs it, node and all."""

    fresh_grads = False  # its gradient is its softmax array, which it keeps no more

    bakes_shapes = True  # the batch size: its row index and the mean's divisor
    takes_unit_seed = True

    def fits(self, cg, s):
        x, target, ignore_index, reduction = s.args
        if not (_is_value(x) and _is_value(target)) or reduction != "mean":
            return False
        if len(x.shape) != 2 or x.shape[0] == 0 or x.dtype.kind != "f":
            return False
        if not (isinstance(ignore_index, int) and ignore_index < 0):
            return False
        # The target must have been checked in [0, C) by a step that runs before this one,
        # written by its kernel (whose flag says which way this loss goes).
        return any(c.op == "CheckClassTarget" and c.inputs and c.inputs[0] is target
                   and c.attrs.get("num_classes") == x.shape[1] and c.index in cg.kernel_of
                   for c in cg.plan.steps if c.index < s.index)

    def forward(self, cg, s):
        x, target, ignore_index, reduction = s.args
        n = x.shape[0]
        rows = cg.const(np.arange(n), "rows")
        exp, log, asarray = (cg.const(f, "np_") for f in (np.exp, np.log, np.asarray))
        k = s.index
        xv, tv = cg.var(x), cg.var(target)
        cg.emit(f"if {cg.checked[target.index]}:", s)
        # stable_max(x, 1) without its two passes over the maxima in the common case: one
        # dot product of them with themselves is finite when every maximum is (an overflow
        # of it takes the exact path too; a dot product raises no floating-point warning).
        vdot, isfinite, fin, where = (cg.const(f, "np_") for f in
                                      (np.vdot, _isfinite, np.isfinite, np.where))
        lines = [f"m{k} = {cg.const(row_max)}({xv}, 1)",
                 f"if not {isfinite}({vdot}(m{k}, m{k})):",
                 f"    m{k} = {where}({fin}(m{k}), m{k}, 0)  # rows of +-inf or nan: 0"]
        if _in_place(cg, s):
            # x is dead after the loss (its backward reads p only): shift and exponentiate
            # in x, the picked entries taken first. The same values, two arrays less.
            lines += [f"sh{k} = {xv}", f"sh{k} -= m{k}"]
            if _flat(cg, s):
                # The picked entries addressed by flat indices into x (a matmul's own output,
                # so C-contiguous and its reshape a view): one index array instead of two,
                # read here and written by the backward. The same entries, the same bits.
                offsets = cg.const(np.arange(n) * x.shape[1], "offs")
                lines += [f"f{k} = {tv} + {offsets}", f"pf{k} = sh{k}.reshape(-1)",
                          f"q{k} = pf{k}[f{k}]"]
                cg.flat_losses.add(k)
            else:
                lines.append(f"q{k} = sh{k}[{rows}, {tv}]")
            lines += [f"p{k} = {exp}(sh{k}, out=sh{k})",
                      f"s{k} = p{k}.sum(axis=1, keepdims=True)",
                      f"l{k} = {log}(s{k}[:, 0]) - q{k}", f"del q{k}"]
        else:
            lines += [f"sh{k} = {xv} - m{k}", f"p{k} = {exp}(sh{k})",
                      f"s{k} = p{k}.sum(axis=1, keepdims=True)",
                      f"l{k} = {log}(s{k}[:, 0]) - sh{k}[{rows}, {tv}]"]
        lines += [f"p{k} /= s{k}",
                  f"{_out(s)} = {asarray}(l{k}.sum() / {float(n)!r}, "
                  f"dtype={cg.const(x.dtype, 'D')})",
                  f"del sh{k}, s{k}, l{k}, m{k}"]
        for line in lines:
            cg.emit("    " + line, s)
        # Ignored targets: the eager op, its node kept in p{k} for the backward.
        cg.emit("else:")
        cg.emit(f"    p{k} = _new({cg.const(HardCrossEntropy, 'C')})", s)
        cg.emit(f"    {_out(s)} = p{k}.forward({xv}, {tv}, {ignore_index!r}, {reduction!r})",
                s)

    def backward(self, cg, s, vjp):
        x, target, ignore_index, reduction = s.args
        n = x.shape[0]
        rows = cg.const(np.arange(n), "rows")
        k = s.index
        gx = vjp.outputs[0]
        tv = cg.var(target)
        unit = vjp.inputs[0].index in cg.unit_seed
        g = cg.const(np.ones((), x.dtype), "one") if unit else cg.var(vjp.inputs[0])
        xv = cg.var(x)
        cg.emit(f"if type(p{k}) is {cg.const(HardCrossEntropy, 'C')}:", vjp)
        grad = f"p{k}.backward({g}, {xv}, {tv}, {ignore_index!r}, {reduction!r})[0]"
        cg.emit(f"    {'r = ' if gx is None else f'v{gx.index} = '}{grad}", vjp)
        cg.emit("else:")
        if k in cg.flat_losses:
            cg.emit(f"    pf{k}[f{k}] -= 1", vjp)
            cg.emit(f"    del pf{k}, f{k}")
        else:
            cg.emit(f"    p{k}[{rows}, {tv}] -= 1", vjp)
        if unit:  # g is the loss's seed 1: g / n, once
            scale = np.ones((), x.dtype) / float(n)   # the eager scale, computed alike
            cg.emit(f"    p{k} *= {cg.const(scale, 'scale')}", vjp)
        else:
            cg.emit(f"    p{k} *= {g} / {float(n)!r}", vjp)
        if gx is not None:
            cg.emit(f"    v{gx.index} = p{k}", vjp)
        cg.emit(f"del p{k}")


def _flat(cg, s):
    """Whether the logits of the loss ``s`` are the output of a Linear kernel (a matmul's
    new C-contiguous array, its bias added in place), and its targets add to the int64
    offsets as integers (a uint64 one would give floats)."""
    x, target = s.args[0], s.args[1]
    if target.dtype.kind == "u" and target.dtype.itemsize == 8:
        return False
    return any(p.index in cg.kernel_of and p.op_class is Linear and p.of is None
               and any(v is x for v in p.outputs) for p in cg.plan.steps if p.index < s.index)


class _CheckClassTarget(_Kernel):
    """One reduction (as eager's ``classes_in_range``): a signed target viewed as unsigned
    turns every negative index into one above any class count, so ``max < C`` alone says
    all are in [0, C). The op itself runs (and raises its error) only when that fails."""

    def fits(self, cg, s):
        target = s.args[0]
        return _is_value(target) and len(target.shape) == 1 and target.shape[0] > 0 \
            and target.dtype.kind in "iu"

    def forward(self, cg, s):
        t = cg.var(s.args[0])
        num_classes, ignore_index = s.args[1], s.args[2]
        dtype = s.args[0].dtype
        # ok{k}: every target in [0, C); the loss kernel reads it (ignored targets: eager op)
        ok = f"ok{s.index}"
        cg.checked[s.args[0].index] = ok
        if dtype.kind == "i" and dtype.isnative:
            unsigned = cg.const(np.dtype(f"u{dtype.itemsize}"), "D")
            cg.emit(f"{ok} = {t}.view({unsigned}).max() < {num_classes!r}", s)
        else:
            cg.emit(f"{ok} = {t}.min() >= 0 and {t}.max() < {num_classes!r}", s)
        cg.emit(f"if not {ok}:", s)
        cg.emit(f"    _new({cg.const(CheckClassTarget, 'C')}).forward({t}, {num_classes!r}, "
                f"{ignore_index!r})", s)


KERNELS = {Linear: _Linear(), Relu: _Relu(), Tanh: _Tanh(),
           HardCrossEntropy: _HardCrossEntropy(), CheckClassTarget: _CheckClassTarget()}


def kernel_for(cg, s):
    """The kernel that writes forward step ``s`` into the source, or None."""
    kernel = KERNELS.get(s.op_class)
    if kernel is None:
        return None
    # NumPy arrays only: the kernels call NumPy itself (another device runs the op's code).
    for a in s.args:
        if _is_value(a) and type(getattr(cg.program.tensor_of(a), "_array", None)) \
                is not np.ndarray:
            return None
    if kernel.bakes_shapes and not cg.plan.fixed_shapes:
        return None
    return kernel if kernel.fits(cg, s) else None
