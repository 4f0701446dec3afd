"""``is_contiguous``, ``contiguous`` and ``view`` as torch has them, on chainrule's own layouts.

chainrule keeps a convolution's output channels-last in memory, where torch's is
contiguous: ``x.view(x.size(0), -1)`` after a convolution and ``out.transpose(1, 2)
.contiguous().view(b, -1)`` must run as in torch, with torch's values and gradients; a
transposed matrix and a batch-first LSTM's output stay non-contiguous, as in torch.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import nn

RNG = np.random.default_rng(2024)


def _twin(make):
    """A chainrule module and its torch twin with the same float64 weights."""
    layer, tlayer = make(nn), make(torch.nn)
    tlayer.double()
    layer.to(np.float64)
    layer.load_state_dict({k: v.detach().numpy().copy() for k, v in tlayer.state_dict().items()})
    return layer, tlayer


def _first(out):
    return out[0] if isinstance(out, tuple) else out


MODELS = {
    "conv1d": (lambda m: m.Conv1d(3, 4, 3, padding=1), (2, 3, 9)),
    "conv2d": (lambda m: m.Conv2d(3, 4, 3), (2, 3, 7, 7)),
    "conv_transpose2d": (lambda m: m.ConvTranspose2d(3, 2, 3, stride=2), (2, 3, 4, 4)),
    "lenet_features": (lambda m: m.Sequential(m.Conv2d(1, 6, 5), m.ReLU(), m.MaxPool2d(2),
                                              m.Conv2d(6, 16, 5), m.ReLU(), m.MaxPool2d(2)),
                       (3, 1, 28, 28)),
    "conv_bn_relu": (lambda m: m.Sequential(m.Conv2d(3, 5, 3), m.BatchNorm2d(5), m.ReLU()),
                     (2, 3, 6, 6)),
}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_view_after_a_layer_as_torch(name):
    make, shape = MODELS[name]
    layer, tlayer = _twin(make)
    x0 = RNG.standard_normal(shape)
    x, tx = cr.tensor(x0, requires_grad=True), torch.tensor(x0, requires_grad=True)
    out, tout = _first(layer(x)), _first(tlayer(tx))
    assert out.is_contiguous() == tout.is_contiguous() is True
    assert out.contiguous() is out
    flat, tflat = out.view(shape[0], -1), tout.view(shape[0], -1)
    np.testing.assert_allclose(flat.detach().numpy(), tflat.detach().numpy(), atol=1e-10)
    w = RNG.standard_normal(tuple(tflat.shape))
    (flat * cr.tensor(w)).sum().backward()
    (tflat * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), atol=1e-10)


@pytest.mark.parametrize("rnn", ["LSTM", "GRU"])
def test_a_batch_first_rnn_output_is_not_contiguous_as_in_torch(rnn):
    layer, tlayer = _twin(lambda m: getattr(m, rnn)(4, 5, batch_first=True))
    x0 = RNG.standard_normal((2, 6, 4))
    x, tx = cr.tensor(x0, requires_grad=True), torch.tensor(x0, requires_grad=True)
    out, tout = layer(x)[0], tlayer(tx)[0]
    assert out.is_contiguous() == tout.is_contiguous() is False
    with pytest.raises(RuntimeError):
        out.view(2, -1)
    with pytest.raises(RuntimeError):
        tout.view(2, -1)
    flat, tflat = out.contiguous().view(-1, 5), tout.contiguous().view(-1, 5)
    np.testing.assert_allclose(flat.detach().numpy(), tflat.detach().numpy(), atol=1e-10)
    flat.sum().backward()
    tflat.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), atol=1e-10)


def test_the_attention_idiom_transpose_contiguous_view():
    # (B, heads, T, d) -> (B, T, heads * d), as nanoGPT and torch's tutorials write it
    a0 = RNG.standard_normal((2, 3, 5, 4))
    a, ta = cr.tensor(a0, requires_grad=True), torch.tensor(a0, requires_grad=True)
    t, tt = a.transpose(1, 2), ta.transpose(1, 2)
    assert t.is_contiguous() == tt.is_contiguous() is False
    y, ty = t.contiguous(), tt.contiguous()
    assert y.is_contiguous() and y.grad_fn is not None
    assert repr(y.grad_fn) == f"<{ty.grad_fn.name()}>"  # <CloneBackward0>
    v, tv = y.view(2, 5, 12), ty.view(2, 5, 12)
    np.testing.assert_allclose(v.detach().numpy(), tv.detach().numpy())
    w = RNG.standard_normal((2, 5, 12))
    (v * cr.tensor(w)).sum().backward()
    (tv * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy())


def test_a_transposed_matrix_is_not_contiguous_as_in_torch():
    m0 = RNG.standard_normal((2, 3))
    m, tm = cr.tensor(m0), torch.tensor(m0)
    assert m.is_contiguous() == tm.is_contiguous() is True
    assert m.t().is_contiguous() == tm.t().is_contiguous() is False
    assert m.contiguous() is m
    c = m.t().contiguous()
    assert c.is_contiguous()
    np.testing.assert_array_equal(c.view(6).numpy(), tm.t().contiguous().view(6).numpy())
    with pytest.raises(RuntimeError, match=r"^view: .* use \.reshape"):
        m.t().view(6)
    with pytest.raises(RuntimeError):
        tm.t().view(6)
