"""User-defined ops with cr.autograd.Function: the lectures' "gate", PyTorch style."""

import numpy as np
import pytest
import torch

import chainrule as cr
from custom_functions import Cube
from oracle import assert_close, to_torch


class MulAdd(cr.autograd.Function):
    """f(x, y, z) = x * y + z: a gate with a local gradient per input."""

    @staticmethod
    def forward(ctx, x, y, z):
        ctx.save_for_backward(x, y)
        return x * y + z

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        gx = grad * y if ctx.needs_input_grad[0] else None
        gy = grad * x if ctx.needs_input_grad[1] else None
        gz = grad if ctx.needs_input_grad[2] else None
        return gx, gy, gz


class TorchMulAdd(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, y, z):
        ctx.save_for_backward(x, y)
        return x * y + z

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        return grad * y, grad * x, grad


class SplitSigns(cr.autograd.Function):
    """Two outputs: the positive and the negative part."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.clamp(min=0), x.clamp(max=0)

    @staticmethod
    def backward(ctx, g_pos, g_neg):
        (x,) = ctx.saved_tensors
        pos = x > 0
        return cr.where(pos, g_pos, g_neg)


def test_gate_forward_backward_vs_torch():
    rng = np.random.default_rng(0)
    a, b, c = (rng.standard_normal((3, 4)).astype(np.float32) for _ in range(3))
    xs = [cr.tensor(v, requires_grad=True) for v in (a, b, c)]
    ts = [to_torch(v, requires_grad=True) for v in (a, b, c)]
    out = MulAdd.apply(*xs)
    ref = TorchMulAdd.apply(*ts)
    assert_close(out, ref)
    assert out.grad_fn is not None and isinstance(out.grad_fn, MulAdd)
    (out * out).sum().backward()
    (ref * ref).sum().backward()
    for x, t in zip(xs, ts):
        assert_close(x.grad, t.grad)


def test_needs_input_grad_and_constants():
    seen = {}

    class Probe(cr.autograd.Function):
        @staticmethod
        def forward(ctx, x, y, scale):
            seen["needs"] = ctx.needs_input_grad
            return x * y * scale

        @staticmethod
        def backward(ctx, grad):
            return grad, None, None

    x = cr.randn(3, requires_grad=True)
    y = cr.randn(3)
    Probe.apply(x, y, 2.0).sum().backward()
    assert seen["needs"] == (True, False, False)
    np.testing.assert_allclose(x.grad._array, np.ones(3))


def test_forward_runs_without_recording():
    class Inner(cr.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            y = x.exp() * 2
            assert y.grad_fn is None
            return y

        @staticmethod
        def backward(ctx, grad):
            return grad

    out = Inner.apply(cr.randn(2, requires_grad=True))
    assert isinstance(out.grad_fn, Inner)


def test_no_node_without_grad():
    x = cr.randn(3)
    assert MulAdd.apply(x, x, x).grad_fn is None
    w = cr.randn(3, requires_grad=True)
    with cr.no_grad():
        assert MulAdd.apply(w, w, w).grad_fn is None


def test_function_double_backward():
    x = cr.tensor([1.5, -2.0], dtype=cr.float64, requires_grad=True)
    y = Cube.apply(x).sum()
    (g,) = cr.autograd.grad(y, x, create_graph=True)
    np.testing.assert_allclose(g._array, 3 * x._array ** 2)
    (gg,) = cr.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(gg._array, 6 * x._array)
    assert cr.autograd.gradcheck(lambda v: Cube.apply(v), (x,))
    assert cr.autograd.gradgradcheck(lambda v: Cube.apply(v), (x,))


def test_multiple_outputs():
    a = np.array([1.0, -2.0, 3.0], dtype=np.float32)
    x = cr.tensor(a, requires_grad=True)
    pos, neg = SplitSigns.apply(x)
    (pos * 2 + neg * 3).sum().backward()
    np.testing.assert_allclose(x.grad._array, [2.0, 3.0, 2.0])


def test_unused_output_gets_zero_gradient_like_torch():
    x = cr.tensor([1.0, -2.0, 3.0], requires_grad=True)
    pos, _ = SplitSigns.apply(x)
    (pos * 2).sum().backward()
    np.testing.assert_allclose(x.grad._array, [2.0, 0.0, 2.0])


def test_wrong_number_of_gradients_is_a_clear_error():
    class Bad(cr.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            return x + y

        @staticmethod
        def backward(ctx, grad):
            return grad

    x = cr.randn(2, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"Bad.backward returned 1 gradients, expected 2"):
        Bad.apply(x, x).sum().backward()


def test_forward_must_return_tensors():
    class NotTensor(cr.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return 3.0

        @staticmethod
        def backward(ctx, grad):
            return grad

    with pytest.raises(TypeError, match="NotTensor.forward must return Tensors"):
        NotTensor.apply(cr.randn(2, requires_grad=True))


def test_saved_input_modified_in_place_raises():
    x = cr.randn(3, requires_grad=True)
    y = cr.randn(3)
    out = MulAdd.apply(x, y, y).sum()
    y.mul_(2)
    with pytest.raises(RuntimeError, match="modified in place"):
        out.backward()


def test_mark_non_differentiable():
    class ArgMaxAndMax(cr.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            idx = x.argmax()
            ctx.mark_non_differentiable(idx)
            ctx.save_for_backward(x)
            ctx.idx = int(idx.item())
            return x.max(), idx

        @staticmethod
        def backward(ctx, g, g_idx):
            (x,) = ctx.saved_tensors
            out = cr.zeros_like(x)
            out._array[ctx.idx] = g.item()
            return out

    x = cr.tensor([1.0, 5.0, 2.0], requires_grad=True)
    m, idx = ArgMaxAndMax.apply(x)
    assert not idx.requires_grad and m.requires_grad
    m.backward()
    np.testing.assert_allclose(x.grad._array, [0.0, 1.0, 0.0])
