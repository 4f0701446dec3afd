"""The lectures' worked examples, with the numbers checked by hand."""

import math

import numpy as np
import pytest

import chainrule as cr


def test_x_plus_y_times_z():
    # q = x + y = 3, f = q z = -12; df/dz = q = 3, df/dq = z = -4, df/dx = df/dy = -4
    x = cr.tensor(-2.0, requires_grad=True)
    y = cr.tensor(5.0, requires_grad=True)
    z = cr.tensor(-4.0, requires_grad=True)
    q = x + y
    f = q * z
    f.backward()
    assert f.item() == -12.0
    assert (x.grad.item(), y.grad.item(), z.grad.item()) == (-4.0, -4.0, 3.0)


def test_sigmoid_neuron():
    # w0 x0 + w1 x1 + w2 = 2(-1) + (-3)(-2) + (-3) = 1; f = sigma(1) = 0.731;
    # df/d(dot) = (1 - f) f = 0.197; dw = (x0, x1, 1) 0.197, dx = (w0, w1) 0.197
    w = cr.tensor([2.0, -3.0, -3.0], requires_grad=True)
    x = cr.tensor([-1.0, -2.0], requires_grad=True)
    f = (w[0] * x[0] + w[1] * x[1] + w[2]).sigmoid()
    f.backward()
    assert f.item() == pytest.approx(0.73, abs=0.005)
    np.testing.assert_allclose(w.grad._array, [-0.20, -0.39, 0.20], atol=0.005)
    np.testing.assert_allclose(x.grad._array, [0.39, -0.59], atol=0.005)
    # the same neuron with the sigmoid written out gate by gate: 1 / (1 + exp(-dot))
    w2 = cr.tensor([2.0, -3.0, -3.0], requires_grad=True)
    x2 = cr.tensor([-1.0, -2.0], requires_grad=True)
    dot = w2[0] * x2[0] + w2[1] * x2[1] + w2[2]
    f2 = 1.0 / (1.0 + (-dot).exp())
    f2.backward()
    np.testing.assert_allclose(f2.item(), f.item(), rtol=1e-6)
    np.testing.assert_allclose(w2.grad._array, w.grad._array, rtol=1e-5)
    np.testing.assert_allclose(x2.grad._array, x.grad._array, rtol=1e-5)
    s = 1 / (1 + math.exp(-1.0))
    np.testing.assert_allclose(w.grad._array, np.array([-1.0, -2.0, 1.0]) * s * (1 - s), rtol=1e-6)


@pytest.mark.parametrize("label", [1.0, -1.0])
def test_logistic_regression_gradient(label):
    # L = -log sigma(y w.x)  =>  dL/dw = -y x (1 - sigma(y w.x))
    rng = np.random.default_rng(0)
    x_np = rng.standard_normal(5)
    w = cr.tensor(rng.standard_normal(5), dtype=cr.float64, requires_grad=True)
    x = cr.tensor(x_np, dtype=cr.float64)
    margin = label * (w @ x)
    loss = -margin.sigmoid().log()
    loss.backward()
    s = 1 / (1 + np.exp(-label * w._array @ x_np))
    np.testing.assert_allclose(w.grad._array, -label * x_np * (1 - s), rtol=1e-12)


def _numpy_two_layer_net(x, y, w1, w2, steps, lr):
    """The lectures' net in NumPy: sigmoid hidden layer, squared error, backprop by hand."""
    w1, w2 = w1.copy(), w2.copy()
    history = []
    for _ in range(steps):
        h = 1 / (1 + np.exp(-x.dot(w1)))
        y_pred = h.dot(w2)
        loss = np.square(y_pred - y).sum()
        grad_y_pred = 2.0 * (y_pred - y)
        grad_w2 = h.T.dot(grad_y_pred)
        grad_h = grad_y_pred.dot(w2.T)
        grad_w1 = x.T.dot(grad_h * h * (1 - h))
        history.append((loss, grad_w1, grad_w2))
        w1 -= lr * grad_w1
        w2 -= lr * grad_w2
    return history, w1, w2


def _chainrule_two_layer_net(x, y, w1, w2, steps, lr):
    x, y = cr.tensor(x), cr.tensor(y)
    w1 = cr.tensor(w1, requires_grad=True)
    w2 = cr.tensor(w2, requires_grad=True)
    history = []
    for _ in range(steps):
        h = (x @ w1).sigmoid()
        y_pred = h @ w2
        loss = ((y_pred - y) ** 2).sum()
        loss.backward()
        history.append((loss.item(), w1.grad._array.copy(), w2.grad._array.copy()))
        with cr.no_grad():
            w1 -= lr * w1.grad
            w2 -= lr * w2.grad
        w1.grad.zero_()
        w2.grad.zero_()
    return history, w1._array, w2._array


@pytest.mark.parametrize("dtype,rtol", [(np.float64, 1e-10), (np.float32, 2e-4)])
def test_two_layer_net_numpy_vs_chainrule(dtype, rtol):
    rng = np.random.default_rng(0)
    n, d_in, hidden, d_out = 64, 100, 30, 10
    x = rng.standard_normal((n, d_in)).astype(dtype)
    y = rng.standard_normal((n, d_out)).astype(dtype)
    w1 = rng.standard_normal((d_in, hidden)).astype(dtype) * 0.1
    w2 = rng.standard_normal((hidden, d_out)).astype(dtype) * 0.1
    steps, lr = 20, 1e-3
    ref, rw1, rw2 = _numpy_two_layer_net(x, y, w1, w2, steps, lr)
    got, gw1, gw2 = _chainrule_two_layer_net(x, y, w1, w2, steps, lr)
    for (rl, rg1, rg2), (gl, gg1, gg2) in zip(ref, got):
        np.testing.assert_allclose(gl, rl, rtol=rtol)
        np.testing.assert_allclose(gg1, rg1, rtol=rtol, atol=rtol * np.abs(rg1).max())
        np.testing.assert_allclose(gg2, rg2, rtol=rtol, atol=rtol * np.abs(rg2).max())
    np.testing.assert_allclose(gw1, rw1, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(gw2, rw2, rtol=rtol, atol=rtol)
    assert ref[-1][0] < ref[0][0]  # and it learns


def test_numerical_vs_analytic_gradient_of_the_neuron():
    # the lectures' gradient check: centered differences agree with backprop
    w = cr.tensor([2.0, -3.0, -3.0], dtype=cr.float64, requires_grad=True)
    x = cr.tensor([-1.0, -2.0], dtype=cr.float64, requires_grad=True)
    assert cr.autograd.gradcheck(lambda w, x: (w[:2] @ x + w[2]).sigmoid(), (w, x))
