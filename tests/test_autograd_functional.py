"""``cr.autograd.functional`` (jacobian, hessian, vjp, jvp, hvp, vhp) and anomaly detection,
against torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr

F, TF = cr.autograd.functional, torch.autograd.functional
RNG = np.random.default_rng(5)


def _t(lib, a):
    return (cr if lib is cr else torch).tensor(a)


def _close(got, want):
    if isinstance(want, (tuple, list)):
        assert isinstance(got, tuple) and len(got) == len(want)
        for g, w in zip(got, want):
            _close(g, w)
        return
    assert tuple(got.shape) == tuple(want.shape)
    np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-10, atol=1e-12)


def f(x):
    return x ** 3 * x.sum()


def g(x):
    return (x.tanh() ** 2).sum() * x[0]


def two(x, y):
    return x * y.sin(), (x + y).exp()


def scalar2(x, y):
    return (x * y).sum() + x.sum() ** 2 * y[1]


A, B, V = RNG.standard_normal(3), RNG.standard_normal(3), RNG.standard_normal(3)


def test_jacobian():
    _close(F.jacobian(f, cr.tensor(A)), TF.jacobian(f, torch.tensor(A)))
    _close(F.jacobian(two, (cr.tensor(A), cr.tensor(B))),
           TF.jacobian(two, (torch.tensor(A), torch.tensor(B))))
    m = RNG.standard_normal((2, 3))
    _close(F.jacobian(lambda x: x @ x.T, cr.tensor(m)), TF.jacobian(lambda x: x @ x.T, torch.tensor(m)))
    # create_graph: the jacobian is differentiable
    x = cr.tensor(A, requires_grad=True)
    tx = torch.tensor(A, requires_grad=True)
    F.jacobian(f, x, create_graph=True).sum().backward()
    TF.jacobian(f, tx, create_graph=True).sum().backward()
    _close(x.grad, tx.grad)


def test_hessian():
    _close(F.hessian(g, cr.tensor(A)), TF.hessian(g, torch.tensor(A)))
    _close(F.hessian(scalar2, (cr.tensor(A), cr.tensor(B))),
           TF.hessian(scalar2, (torch.tensor(A), torch.tensor(B))))
    with pytest.raises(RuntimeError, match="^hessian: func must return a single-element Tensor"):
        F.hessian(f, cr.tensor(A))


def test_products():
    for name in ("vjp", "jvp"):
        got = getattr(F, name)(f, cr.tensor(A), cr.tensor(V))
        want = getattr(TF, name)(f, torch.tensor(A), torch.tensor(V))
        _close(got[0], want[0])
        _close(got[1], want[1])
    for name in ("hvp", "vhp"):
        got = getattr(F, name)(g, cr.tensor(A), cr.tensor(V))
        want = getattr(TF, name)(g, torch.tensor(A), torch.tensor(V))
        _close(got[0], want[0])
        _close(got[1], want[1])
    got = F.vjp(lambda x: x.sum(), cr.tensor(A))  # v omitted for a single-element output
    _close(got[1], TF.vjp(lambda x: x.sum(), torch.tensor(A))[1])
    with pytest.raises(RuntimeError, match="^vjp: v can be omitted only"):
        F.vjp(f, cr.tensor(A))


def test_strict_and_unused_inputs():
    def uses_x(x, y):
        return x * 2

    got = F.jacobian(uses_x, (cr.tensor(A), cr.tensor(B)))
    want = TF.jacobian(uses_x, (torch.tensor(A), torch.tensor(B)))
    _close(got, want)  # zeros for the unused input, as torch
    with pytest.raises(RuntimeError, match="^jacobian: output is independent of input 1"):
        F.jacobian(uses_x, (cr.tensor(A), cr.tensor(B)), strict=True)


def test_detect_anomaly_names_the_node():
    x = cr.tensor([0.0, 0.5], requires_grad=True)
    with cr.autograd.detect_anomaly():
        assert cr.autograd.is_anomaly_enabled()
        with np.errstate(invalid="ignore"):  # sqrt(-1): nan in forward, then in its backward
            y = cr.sqrt(x - 1).sum()
        with pytest.raises(RuntimeError, match=r"^Function 'SqrtBackward0' returned nan values in its 0th output\.$"):
            y.backward()
    assert not cr.autograd.is_anomaly_enabled()
    # no nan: the same numbers as without it
    with cr.autograd.set_detect_anomaly(True):
        (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])
    assert not cr.autograd.is_anomaly_enabled()

    class Broken(cr.autograd.Function):  # a custom rule that returns nan, no nan in forward
        @staticmethod
        def forward(ctx, t):
            return t * 2

        @staticmethod
        def backward(ctx, grad):
            return grad * float("nan")

    @cr.autograd.detect_anomaly()
    def step():
        (Broken.apply(x) * 3).sum().backward()

    with pytest.raises(RuntimeError, match="^Function 'BrokenBackward' returned nan values"):
        step()
    cr.autograd.set_detect_anomaly(True)
    try:
        assert cr.autograd.is_anomaly_enabled()
    finally:
        cr.autograd.set_detect_anomaly(False)
    assert not cr.autograd.is_anomaly_enabled()
