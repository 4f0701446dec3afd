"""The NumPy floor: the same math as the frameworks, hand-written with nothing wasted.

float32 throughout, the bias added in place into the matmul's fresh output, the
softmax-cross-entropy gradient written as ``(p - onehot) / N``, activations applied in place
(ReLU against a block of zeros), each layer's product in the BLAS layout measured faster at
set-up, in-place SGD updates, and an Adam whose in-place passes, like SGD's, run block by
block in cache. This is what a framework on NumPy would cost if it paid nothing for being
one.
"""

from __future__ import annotations

import numpy as np

from .cases import ADAM_LR, LR, Case, op_spec
from .floor_kernels import relu_, row_max, swapped_is_faster, times_transposed


# Elementwise passes over big arrays run in blocks of this many elements: a block of each
# operand stays in L2 cache between passes, so memory is read and written once per step.
BLOCK = 1 << 16


class FloorTrain:
    """One SGD training step of an MLP: forward, cross-entropy, backward, update."""

    name = "floor"

    def __init__(self, case: Case, data):
        self.Ws = [W.copy() for W, _ in data["weights"]]
        self.bs = [b.copy() for _, b in data["weights"]]
        self.tanh = case.act == "tanh"
        self.batches = data["batches"]
        self.rows = np.arange(case.batch)
        self.swapped = [swapped_is_faster(case.batch, W) for W in self.Ws]
        self.i = 0
        self.scratch = np.empty(BLOCK, dtype=np.float32)
        self.record = False   # checks only: keep a copy of the gradients the step applied
        self.last_loss = None
        self.last_grads = None

    def step(self):
        x, y = self.batches[self.i]
        self.i = (self.i + 1) % len(self.batches)
        Ws, bs, n_layers = self.Ws, self.bs, len(self.Ws)
        hs = [x]
        h = x
        for layer in range(n_layers):
            h = times_transposed(h, Ws[layer], self.swapped[layer])
            h += bs[layer]
            if layer < n_layers - 1:
                if self.tanh:
                    np.tanh(h, out=h)
                else:
                    relu_(h)
                hs.append(h)
        # Softmax cross-entropy on the logits, in place: z - max, exp, normalize.
        n = h.shape[0]
        h -= row_max(h)
        picked = h[self.rows, y]
        np.exp(h, out=h)
        s = h.sum(axis=1, keepdims=True)
        loss = (np.log(s).sum() - picked.sum()) / n
        h /= s
        h[self.rows, y] -= 1
        h *= 1.0 / n
        g = h
        grads = [] if self.record else None
        for layer in range(n_layers - 1, -1, -1):
            a = hs[layer]
            gW = g.T @ a
            gb = g.sum(axis=0)
            if layer > 0:
                g_next = g @ Ws[layer]
                if self.tanh:
                    t = a * a
                    np.subtract(1, t, out=t)
                    g_next *= t
                else:
                    g_next *= a > 0
            if grads is not None:
                grads[:0] = [gW.copy(), gb.copy()]
            self._sgd(Ws[layer], gW)
            self._sgd(bs[layer], gb)
            if layer > 0:
                g = g_next
        self.last_loss = loss
        self.last_grads = grads
        return loss

    def _sgd(self, w, g):
        """w -= LR * g in place, a cache-sized block at a time (two passes stay in cache)."""
        if w.size <= BLOCK:
            g *= LR
            w -= g
            return
        w, g, tmp = w.reshape(-1), g.reshape(-1), self.scratch
        for start in range(0, w.size, BLOCK):
            stop = min(start + BLOCK, w.size)
            t = tmp[:stop - start]
            np.multiply(g[start:stop], LR, out=t)
            w[start:stop] -= t

    def loss_dtype(self):
        return str(self.last_loss.dtype)

    def loss(self):
        return float(self.last_loss)

    def params(self):
        return [p for pair in zip(self.Ws, self.bs) for p in pair]

    def grads(self):
        return self.last_grads


class FloorInfer:
    """The MLP's forward pass only (no graph, nothing kept)."""

    name = "floor"

    def __init__(self, case: Case, data):
        self.Ws = [W.copy() for W, _ in data["weights"]]
        self.bs = [b.copy() for _, b in data["weights"]]
        self.tanh = case.act == "tanh"
        self.batches = data["batches"]
        self.swapped = [swapped_is_faster(case.batch, W) for W in self.Ws]
        self.i = 0
        self.last = None

    def step(self):
        x, _ = self.batches[self.i]
        self.i = (self.i + 1) % len(self.batches)
        h = x
        n_layers = len(self.Ws)
        for layer in range(n_layers):
            h = times_transposed(h, self.Ws[layer], self.swapped[layer])
            h += self.bs[layer]
            if layer < n_layers - 1:
                if self.tanh:
                    np.tanh(h, out=h)
                else:
                    relu_(h)
        self.last = h
        return h

    def output(self):
        return self.last


class FloorAdam:
    """Adam (PyTorch's update, bias-corrected) over a list of arrays, vectorized and in place.

    The ~13 passes over the arrays run block by block (``BLOCK`` elements, so a block of
    every array stays in L2 cache), with one scratch block for every temporary; the blocks
    are views cut once, up front.
    """

    name = "floor"

    def __init__(self, case: Case, data):
        self.ps = [p.copy() for p in data["params"]]
        self.gs = [g.copy() for g in data["grads"]]
        self.ms = [np.zeros_like(p) for p in self.ps]
        self.vs = [np.zeros_like(p) for p in self.ps]
        scratch = np.empty(BLOCK, dtype=np.float32)
        self.blocks = []
        for arrays in zip(self.ps, self.gs, self.ms, self.vs):
            p, g, m, v = (a.reshape(-1) for a in arrays)
            for start in range(0, p.size, BLOCK):
                stop = min(start + BLOCK, p.size)
                self.blocks.append((p[start:stop], g[start:stop], m[start:stop],
                                    v[start:stop], scratch[:stop - start]))
        self.t = 0
        self.lr, self.b1, self.b2, self.eps = ADAM_LR, 0.9, 0.999, 1e-8

    def step(self):
        self.t += 1
        b1, b2, eps = self.b1, self.b2, self.eps
        bc2_sqrt = (1 - b2 ** self.t) ** 0.5
        step_size = self.lr / (1 - b1 ** self.t)
        for p, g, m, v, tmp in self.blocks:
            m *= b1                                  # m = b1 m + (1 - b1) g
            np.multiply(g, 1 - b1, out=tmp)
            m += tmp
            v *= b2                                  # v = b2 v + (1 - b2) g^2
            np.multiply(g, g, out=tmp)
            tmp *= 1 - b2
            v += tmp
            np.sqrt(v, out=tmp)                      # p -= lr/bc1 * m / (sqrt(v)/sqrt(bc2) + eps)
            tmp /= bc2_sqrt
            tmp += eps
            np.divide(m, tmp, out=tmp)
            tmp *= step_size
            p -= tmp

    def params(self):
        return self.ps


class FloorOp:
    """``a + b`` on 1-element arrays, or ``x ** e`` written the fastest NumPy way (x*x*x,
    x*sqrt(x), exp(e log x)); for the backward cases, the hand-written accumulation."""

    name = "floor"

    def __init__(self, case: Case, data):
        spec = op_spec(case.variant)
        self.pow, self.exponent, self.backward = spec.op == "pow", spec.exponent, spec.backward
        values = [v.copy() for v in data["values"]]
        self.a, self.b = values[0], (values[1] if len(values) > 1 else None)
        self.n = case.ops
        self.variant = case.variant
        self.a_grad = np.zeros_like(self.a)
        self.b_grad = None if self.b is None else np.zeros_like(self.b)
        self.last = None

    @staticmethod
    def power(x, e):
        if e == 2:
            return x * x
        if e == 3:
            y = x * x
            y *= x
            return y
        if e == 1.5:
            y = np.sqrt(x)
            y *= x
            return y
        y = np.log(x)
        y *= np.float32(e)
        return np.exp(y, out=y)

    def step(self):
        a, b = self.a, self.b
        if self.pow:
            e = self.exponent
            for _ in range(self.n):
                c = self.power(a, e)
                if self.backward:  # d x^e = e x^(e-1), times the upstream ones
                    g = self.power(a, e - 1)
                    g *= np.float32(e)
                    self.a_grad += g
        elif self.variant == "add_backward":
            ag, bg = self.a_grad, self.b_grad
            for _ in range(self.n):
                c = a + b
                g = np.ones_like(c)
                ag += g
                bg += g
        else:
            for _ in range(self.n):
                c = a + b
        self.last = c
        return c

    def output(self):
        return self.last

    def op_grads(self):
        return [g for g in (self.a_grad, self.b_grad) if g is not None]


def build(case: Case, data):
    if case.model != "mlp":  # the sequence models (issue 14)
        from . import seq_floor  # noqa: PLC0415
        return seq_floor.build(case, data)
    from .floor_cnn import FloorCNN  # noqa: PLC0415 - the CNN cases' floor, in its own file
    return {"train": FloorTrain, "infer": FloorInfer, "adam": FloorAdam,
            "op": FloorOp, "cnn": FloorCNN}[case.kind](case, data)
