"""The NumPy floor of the CNN cases: one SGD step written by hand, channels-last throughout.

Activations live as (N, *S, C) arrays, so nothing is ever transposed between layers:

* conv: im2col through ``sliding_window_view`` (one contiguous copy of the windows into
  (N * L, K * C) rows, channels innermost: each kernel row of a window is one contiguous
  run of kW * C elements, ~10x faster to copy than PyTorch's (C, K) order on 25 channels)
  and one GEMM with the bias added in place (short rows joined: ``floor_kernels.add_bias``),
  the weights permuted once at set-up to (O, *K, C); the weight gradient is one GEMM on
  the same rows, the bias gradient a GEMV with ones (~5x faster than ``sum(axis=0)`` of
  the rows); the input gradient is one GEMM per kernel offset and one strided add each
  (col2im without the rows), or for a stride-1 "same" layer the full convolution of the
  output gradient with the flipped kernel (one im2col and one GEMM);
* ReLU in place against a block of zeros (``bench.floor_kernels``), its gradient a
  multiply by the mask;
* 2x2 max pooling as three maxima of strided views; its gradient goes to the first maximum
  of each window (PyTorch's rule), found by comparing the four views in order and written
  into an uninitialized buffer that the four views tile;
* flatten: the first Linear's columns are permuted once, at set-up, from PyTorch's (C, H, W)
  order to the channels-last (H, W, C) order, so flattening is a free reshape;
* Linear layers, softmax cross-entropy and SGD as the MLP floor (``bench.floor``): the
  product in the layout measured faster at set-up.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from . import cnn
from .cases import LR, Case
from .floor_kernels import add_bias, relu_, row_max, swapped_is_faster, times_transposed


def _conv_forward(x, W, b, k, s, p, d):
    """x (N, *S, C) -> y (N, *So, O), and the im2col rows (kept for the weight gradient)."""
    if p:
        xp = np.zeros((x.shape[0],) + tuple(n + 2 * p for n in x.shape[1:-1]) + x.shape[-1:],
                      dtype=x.dtype)
        xp[(slice(None),) + (slice(p, -p),) * d] = x
    else:
        xp = x
    v = sliding_window_view(xp, (k,) * d, axis=tuple(range(1, d + 1)))  # (N, *S', C, *K)
    v = v[(slice(None),) + (slice(None, None, s),) * d]
    out_sp = v.shape[1:1 + d]
    v = v.transpose((0,) + tuple(range(1, d + 1)) + tuple(range(d + 2, 2 * d + 2)) + (d + 1,))
    cols = np.ascontiguousarray(v).reshape(-1, W.shape[1])               # (N L, K C)
    y = cols @ W.T
    if b is not None:
        add_bias(y, b)
    return y.reshape((x.shape[0],) + out_sp + (W.shape[0],)), cols, xp.shape


def _conv_data(g, W, padded_shape, C, k, s, p, d):
    """The input gradient (N, *S, C) of a conv from its output gradient g (N, *So, O).

    Stride 1 with the output the input's size ("same"): the full convolution of g with the
    flipped kernel, one im2col and one GEMM. Otherwise one GEMM per kernel offset (a
    broadcast matmul, (K, N L, C)) and a strided add of each contiguous block onto the
    padded input (col2im without the (N L, K C) rows, whose adds read runs of C only).
    """
    O = g.shape[-1]
    out_sp = g.shape[1:1 + d]
    if s == 1 and 2 * p == k - 1:
        flipped = W.reshape((O,) + (k,) * d + (C,))[(slice(None),) + (slice(None, None, -1),) * d]
        Wf = np.ascontiguousarray(flipped.transpose((d + 1,) + tuple(range(1, d + 1)) + (0,)))
        Wf = Wf.reshape(C, -1)                                  # (C, *K O): rows of a conv O -> C
        return _conv_forward(g, Wf, None, k, 1, k - 1 - p, d)[0]
    n = padded_shape[0]
    wk = np.ascontiguousarray(W.reshape(O, k ** d, C).transpose(1, 0, 2))   # (K, O, C)
    blocks = g.reshape(-1, O) @ wk                                          # (K, N L, C)
    buf = np.zeros(padded_shape, dtype=g.dtype)
    for i, offset in enumerate(np.ndindex(*(k,) * d)):
        index = (slice(None),) + tuple(slice(o, o + s * (m - 1) + 1, s)
                                       for o, m in zip(offset, out_sp))
        buf[index] += blocks[i].reshape((n,) + out_sp + (C,))
    if p:
        buf = buf[(slice(None),) + (slice(p, -p),) * d]
    return buf


def _pool_views(x):
    return [x[:, i::2, j::2] for i in (0, 1) for j in (0, 1)]


class FloorCNN:
    """One SGD training step of a small CNN, channels-last, nothing wasted."""

    name = "floor"

    def __init__(self, case: Case, data):
        self.layers = cnn.layers(case)
        shape = cnn.NETS[case.variant][1]
        self.d = len(shape) - 1
        self.Ws = [W.copy() for W, _ in data["weights"]]
        self.bs = [b.copy() for _, b in data["weights"]]
        # Channels-last batches, conv weights as (O, *K, C) rows, and the first Linear's
        # columns in (H, W, C) order.
        self.batches = [(np.ascontiguousarray(np.moveaxis(x, 1, -1)), y)
                        for x, y in data["batches"]]
        self.flat_from = None
        self.conv_shapes = {}
        sp = shape[1:]
        c = shape[0]
        i = 0
        for layer in self.layers:
            if layer[0] == "conv":
                _, _, c, k, s, p = layer
                sp = tuple((n + 2 * p - k) // s + 1 for n in sp)
                W = self.Ws[i]
                self.Ws[i] = np.ascontiguousarray(np.moveaxis(W, 1, -1)).reshape(W.shape[0], -1)
                self.conv_shapes[i] = W.shape
                i += 1
            elif layer[0] == "pool":
                sp = tuple(n // 2 for n in sp)
            elif layer[0] == "flatten":
                self.flat_from = (i, c, sp)
                W = self.Ws[i]
                self.Ws[i] = np.ascontiguousarray(
                    np.moveaxis(W.reshape((W.shape[0], c) + sp), 1, -1).reshape(W.shape[0], -1))
            elif layer[0] == "linear":
                i += 1
        self.rows = np.arange(case.batch)
        with_weights = [layer for layer in self.layers if layer[0] in ("conv", "linear")]
        self.swapped = [layer[0] == "linear" and swapped_is_faster(case.batch, W)
                        for layer, W in zip(with_weights, self.Ws)]
        self.i = 0
        self.record = False
        self.last_loss = None
        self.last_grads = None

    def step(self):
        x, y = self.batches[self.i]
        self.i = (self.i + 1) % len(self.batches)
        d = self.d
        saved = []
        h = x
        p_i = 0
        for layer in self.layers:
            kind = layer[0]
            if kind == "conv":
                _, _, _, k, s, p = layer
                h_in_shape = h.shape
                h, cols, padded = _conv_forward(h, self.Ws[p_i], self.bs[p_i], k, s, p, d)
                saved.append((cols, padded, h_in_shape))
                p_i += 1
            elif kind == "relu":
                relu_(h)
                saved.append(h)
            elif kind == "pool":
                views = _pool_views(h)
                out = np.maximum(np.maximum(views[0], views[1]), np.maximum(views[2], views[3]))
                saved.append((views, out, h.shape))
                h = out
            elif kind == "flatten":
                saved.append(h.shape)
                h = h.reshape(h.shape[0], -1)
            else:
                saved.append(h)
                h = times_transposed(h, self.Ws[p_i], self.swapped[p_i])
                h += self.bs[p_i]
                p_i += 1
        n = h.shape[0]
        h -= row_max(h)
        picked = h[self.rows, y]
        np.exp(h, out=h)
        total = h.sum(axis=1, keepdims=True)
        loss = (np.log(total).sum() - picked.sum()) / n
        h /= total
        h[self.rows, y] -= 1
        h *= 1.0 / n
        g = h
        grads = [] if self.record else None
        for li in range(len(self.layers) - 1, -1, -1):
            layer, kept = self.layers[li], saved[li]
            kind = layer[0]
            if kind == "linear":
                p_i -= 1
                W = self.Ws[p_i]
                gW = g.T @ kept
                gb = g.sum(axis=0)
                g = g @ W if li > 0 else None
                self._update(p_i, gW, gb, grads)
            elif kind == "flatten":
                g = g.reshape(kept)
            elif kind == "pool":
                views, out, shape = kept
                # every element is written below when the sizes are even (all these nets)
                even = all(n % 2 == 0 for n in shape[1:-1])
                gx = (np.empty if even else np.zeros)(shape, dtype=g.dtype)
                left = None
                for (i, j), v in zip(((0, 0), (0, 1), (1, 0), (1, 1)), views):
                    hit = v == out
                    if left is None:
                        left = ~hit
                    else:
                        hit &= left
                        left ^= hit  # left & ~hit, without a new array
                    np.multiply(g, hit, out=gx[:, i::2, j::2])
                g = gx
            elif kind == "relu":
                g *= kept > 0
            else:  # conv
                p_i -= 1
                _, c_in, c_out, k, s, p = layer
                cols, padded, in_shape = kept
                W = self.Ws[p_i]
                g2 = g.reshape(-1, c_out)
                gW = g2.T @ cols
                gb = np.ones(g2.shape[0], dtype=g2.dtype) @ g2  # ~5x faster than a sum(axis=0)
                if li > 0:
                    g = _conv_data(g, W, padded, c_in, k, s, p, self.d)
                self._update(p_i, gW, gb, grads)
        self.last_loss = loss
        self.last_grads = grads
        return loss

    def _update(self, i, gW, gb, grads):
        if grads is not None:
            grads[:0] = [self._torch_layout(i, gW.copy()), gb.copy()]
        gW *= LR
        self.Ws[i] -= gW
        gb *= LR
        self.bs[i] -= gb

    def _torch_layout(self, i, W):
        """A weight (or its gradient) as PyTorch holds it (undo the set-up's permutations)."""
        if i in self.conv_shapes:
            shape = self.conv_shapes[i]
            return np.moveaxis(W.reshape((shape[0],) + shape[2:] + (shape[1],)), -1, 1)
        if self.flat_from is None or i != self.flat_from[0]:
            return W
        _, c, sp = self.flat_from
        return np.moveaxis(W.reshape((W.shape[0],) + sp + (c,)), -1, 1).reshape(W.shape[0], -1)

    def loss_dtype(self):
        return str(self.last_loss.dtype)

    def loss(self):
        return float(self.last_loss)

    def params(self):
        return [p for i, (W, b) in enumerate(zip(self.Ws, self.bs))
                for p in (self._torch_layout(i, W), b)]

    def grads(self):
        return self.last_grads
