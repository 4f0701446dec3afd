"""The NumPy floor of the sequence cases: an LSTM and a pre-norm Transformer encoder layer.

As ``floor.py``: float32, nothing wasted, every array written in place where it can be.

* LSTM: the input projection of all steps is one GEMM; each step is one small GEMM for the
  four gates and ~12 in-place passes (sigmoid as (1 + tanh(a / 2)) / 2, with the tanh gate in
  the same pass); backward, ~17 passes and one GEMM per step, and the weight gradients as
  two GEMMs over all steps at the end.
* Encoder layer: matmuls straight on strided views of the fused QKV buffer, softmax in place,
  LayerNorm and exact GELU (erf to float32 precision) written out, forward and backward.
"""

from __future__ import annotations

import numpy as np

from .cases import LR, Case
from .floor_kernels import row_max


def _sgd(params, grads):
    for p, g in zip(params, grads):
        g2 = g * LR
        p -= g2


class _Base:
    name = "floor"

    def __init__(self, case: Case, data):
        self.ps = [w.copy() for _, w in data["weights"]]
        self.batches = data["batches"]
        self.i = 0
        self.record = False
        self.last_loss = None
        self.last_grads = None

    def _next(self):
        x, y = self.batches[self.i]
        self.i = (self.i + 1) % len(self.batches)
        return x, y

    def loss_dtype(self):
        return str(np.asarray(self.last_loss).dtype)

    def loss(self):
        return float(self.last_loss)

    def params(self):
        return self.ps

    def grads(self):
        return self.last_grads


class FloorLSTM(_Base):
    """One SGD step of LSTM (time-major) -> Linear of h_T -> cross-entropy."""

    def __init__(self, case, data):
        super().__init__(case, data)
        H = case.sizes[1]
        self.H = H
        # a -> [s s tanh s](a) as m * tanh(k * a) + c per column: one tanh for all four gates.
        self.k = np.r_[np.full(2 * H, 0.5), np.ones(H), np.full(H, 0.5)].astype(np.float32)
        self.m = self.k.copy()
        self.c = np.r_[np.full(2 * H, 0.5), np.zeros(H), np.full(H, 0.5)].astype(np.float32)
        self.rows = np.arange(case.batch)

    def step(self):
        x, y = self._next()
        W_ih, W_hh, b_ih, b_hh, W_o, b_o = self.ps
        T, B, F = x.shape
        H = self.H
        k, m, c0 = self.k, self.m, self.c
        xg = x.reshape(T * B, F) @ W_ih.T
        xg += b_ih + b_hh
        xg = xg.reshape(T, B, 4 * H)          # becomes the gates, step by step, in place
        hs = np.empty((T + 1, B, H), np.float32)
        cs = np.empty((T + 1, B, H), np.float32)
        tcs = np.empty((T, B, H), np.float32)
        hs[0] = 0
        cs[0] = 0
        W_hh_T = W_hh.T
        for t in range(T):
            a = xg[t]
            a += hs[t] @ W_hh_T
            a *= k
            np.tanh(a, out=a)
            a *= m
            a += c0
            i, f, g, o = a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H], a[:, 3 * H:]
            ct = cs[t + 1]
            np.multiply(f, cs[t], out=ct)
            ct += i * g
            np.tanh(ct, out=tcs[t])
            np.multiply(o, tcs[t], out=hs[t + 1])
        # Head and cross-entropy (mean over the batch), gradient (p - onehot) / B.
        z = hs[T] @ W_o.T
        z += b_o
        z -= row_max(z)
        picked = z[self.rows, y]
        np.exp(z, out=z)
        s = z.sum(axis=1, keepdims=True)
        loss = (np.log(s).sum() - picked.sum()) / B
        z /= s
        z[self.rows, y] -= 1
        z *= 1.0 / B
        gW_o = z.T @ hs[T]
        gb_o = z.sum(axis=0)
        gh = z @ W_o
        gc = np.zeros((B, H), np.float32)
        dG = np.empty((T, B, 4 * H), np.float32)
        der = np.empty((B, 4 * H), np.float32)
        for t in range(T - 1, -1, -1):
            a = xg[t]
            i, f, g, o = a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H], a[:, 3 * H:]
            tc = tcs[t]
            d = dG[t]
            np.multiply(gh, tc, out=d[:, 3 * H:])          # d o
            dc = tc * tc                                     # dc = gh o (1 - tc^2) + gc
            np.subtract(1, dc, out=dc)
            dc *= o
            dc *= gh
            dc += gc
            np.multiply(dc, g, out=d[:, :H])                 # d i
            np.multiply(dc, cs[t], out=d[:, H:2 * H])        # d f
            np.multiply(dc, i, out=d[:, 2 * H:3 * H])        # d g
            np.subtract(1, a, out=der)                       # s (1 - s); 1 - g^2 on g
            der *= a
            dg = der[:, 2 * H:3 * H]
            np.multiply(g, g, out=dg)
            np.subtract(1, dg, out=dg)
            d *= der
            gh = d @ W_hh
            dc *= f
            gc = dc
        dG2 = dG.reshape(T * B, 4 * H)
        gW_ih = dG2.T @ x.reshape(T * B, F)
        gW_hh = dG[1:].reshape(-1, 4 * H).T @ hs[1:T].reshape(-1, H)
        gb = dG2.sum(axis=0)
        grads = [gW_ih, gW_hh, gb, gb.copy(), gW_o, gb_o]
        if self.record:
            self.last_grads = [g.copy() for g in grads]
        _sgd(self.ps, grads)
        self.last_loss = loss
        return loss


# erf to float32 precision: Abramowitz & Stegun 7.1.26 (|error| <= 1.5e-7).
_P = 0.3275911
_A = (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429)
_INV_SQRT2 = np.float32(1 / np.sqrt(2))
_INV_SQRT_2PI = np.float32(1 / np.sqrt(2 * np.pi))


def _erf(x):
    a = np.abs(x)
    t = a * np.float32(_P)
    t += 1
    np.reciprocal(t, out=t)
    poly = t * np.float32(_A[4])
    for coef in _A[3::-1]:
        poly += np.float32(coef)
        poly *= t
    e = a * a
    np.negative(e, out=e)
    np.exp(e, out=e)
    poly *= e
    np.subtract(1, poly, out=poly)
    return np.copysign(poly, x, out=poly)


def _layer_norm(x, w, b, eps=1e-5):
    mean = x.mean(axis=1, keepdims=True)
    xc = x - mean
    var = np.mean(xc * xc, axis=1, keepdims=True)
    invstd = 1 / np.sqrt(var + np.float32(eps))
    xc *= invstd                                   # xhat
    y = xc * w
    y += b
    return y, xc, invstd


def _layer_norm_backward(g, xhat, invstd, w):
    gw = (g * xhat).sum(axis=0)
    gb = g.sum(axis=0)
    gx = g * w
    mean_g = gx.mean(axis=1, keepdims=True)
    mean_gx = (gx * xhat).mean(axis=1, keepdims=True)
    gx -= mean_g
    gx -= xhat * mean_gx
    gx *= invstd
    return gx, gw, gb


class FloorEncoder(_Base):
    """One SGD step of a pre-norm encoder layer (batch-first), loss mean(y^2)."""

    def __init__(self, case, data):
        super().__init__(case, data)
        self.D, self.heads, self.FF = case.sizes

    def step(self):
        x, _ = self._next()
        (W_in, b_in, W_o, b_o, W1, b1, W2, b2, w_n1, b_n1, w_n2, b_n2) = self.ps
        B, T, D = x.shape
        Hh, hd = self.heads, D // self.heads
        scale = np.float32(1 / np.sqrt(hd))
        x2 = x.reshape(B * T, D)
        n1, xhat1, inv1 = _layer_norm(x2, w_n1, b_n1)
        qkv = n1 @ W_in.T
        qkv += b_in
        q5 = qkv.reshape(B, T, 3, Hh, hd)
        q = q5[:, :, 0].transpose(0, 2, 1, 3)       # (B, H, T, hd), strided views
        k = q5[:, :, 1].transpose(0, 2, 1, 3)
        v = q5[:, :, 2].transpose(0, 2, 1, 3)
        p = q @ k.swapaxes(-1, -2)
        p *= scale
        p -= p.max(axis=-1, keepdims=True)
        np.exp(p, out=p)
        p /= p.sum(axis=-1, keepdims=True)
        o = p @ v
        o2 = o.transpose(0, 2, 1, 3).reshape(B * T, D)
        x1 = o2 @ W_o.T
        x1 += b_o
        x1 += x2
        n2, xhat2, inv2 = _layer_norm(x1, w_n2, b_n2)
        h1 = n2 @ W1.T
        h1 += b1
        cdf = _erf(h1 * _INV_SQRT2)
        cdf += 1
        cdf *= 0.5
        act = h1 * cdf
        y = act @ W2.T
        y += b2
        y += x1
        n = y.size
        loss = np.float32(np.dot(y.reshape(-1), y.reshape(-1)) / n)
        gy = y
        gy *= np.float32(2.0 / n)
        # feed-forward
        gW2 = gy.T @ act
        gb2 = gy.sum(axis=0)
        g_act = gy @ W2
        pdf = h1 * h1                                 # gelu' = cdf + h1 pdf(h1)
        pdf *= -0.5
        np.exp(pdf, out=pdf)
        pdf *= _INV_SQRT_2PI
        pdf *= h1
        pdf += cdf
        g_act *= pdf
        gW1 = g_act.T @ n2
        gb1 = g_act.sum(axis=0)
        g_n2 = g_act @ W1
        g_x1, gw_n2, gb_n2 = _layer_norm_backward(g_n2, xhat2, inv2, w_n2)
        g_x1 += gy
        # attention
        gW_o = g_x1.T @ o2
        gb_o = g_x1.sum(axis=0)
        g_o = (g_x1 @ W_o).reshape(B, T, Hh, hd).transpose(0, 2, 1, 3)
        dqkv = np.empty((B, T, 3, Hh, hd), np.float32)
        np.matmul(p.swapaxes(-1, -2), g_o, out=dqkv[:, :, 2].transpose(0, 2, 1, 3))
        dp = g_o @ v.swapaxes(-1, -2)
        dp -= (dp * p).sum(axis=-1, keepdims=True)
        dp *= p
        dp *= scale
        np.matmul(dp, k, out=dqkv[:, :, 0].transpose(0, 2, 1, 3))
        np.matmul(dp.swapaxes(-1, -2), q, out=dqkv[:, :, 1].transpose(0, 2, 1, 3))
        dqkv2 = dqkv.reshape(B * T, 3 * D)
        gW_in = dqkv2.T @ n1
        gb_in = dqkv2.sum(axis=0)
        g_n1 = dqkv2 @ W_in
        gw_n1 = (g_n1 * xhat1).sum(axis=0)          # the input needs no gradient
        gb_n1 = g_n1.sum(axis=0)
        grads = [gW_in, gb_in, gW_o, gb_o, gW1, gb1, gW2, gb2, gw_n1, gb_n1, gw_n2, gb_n2]
        if self.record:
            self.last_grads = [g.copy() for g in grads]
        _sgd(self.ps, grads)
        self.last_loss = loss
        return loss


def build(case: Case, data):
    return {"lstm": FloorLSTM, "encoder": FloorEncoder}[case.model](case, data)
