"""gradcheck and gradgradcheck: they pass on correct ops and catch, precisely, wrong ones."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd import GradcheckError


class WrongSquare(cr.autograd.Function):
    """x^2 with a backward that is off by one on element 1 (a planted bug)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        bump = np.zeros(x.shape)
        bump.flat[1] = 1.0
        return grad * 2 * x + cr.tensor(bump)


class FirstOrderOnlyCube(cr.autograd.Function):
    """x^3 whose backward is right but not differentiable (it detaches x)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 3 * x.detach() ** 2


def _x(*shape, seed=0):
    data = np.random.default_rng(seed).uniform(0.5, 2.0, shape)
    return cr.tensor(data, dtype=cr.float64, requires_grad=True)


def test_gradcheck_passes_on_correct_ops():
    x, y = _x(3, 2), _x(2, seed=1)
    assert cr.autograd.gradcheck(lambda a, b: (a * b).sin() / (a + 1), (x, y))
    assert cr.autograd.gradcheck(lambda a: a.sum(), (x,))
    assert cr.autograd.gradgradcheck(lambda a, b: (a * b).tanh(), (x, y))


def test_gradcheck_accepts_single_tensor_and_several_outputs():
    x = _x(3)
    assert cr.autograd.gradcheck(lambda a: a.exp(), x)
    assert cr.autograd.gradcheck(lambda a: (a.exp(), a.sin(), a.argmax()), (x,))


def test_gradcheck_names_input_element_and_both_values():
    x, y = _x(2), _x(2, 2, seed=3)
    with pytest.raises(GradcheckError) as info:
        cr.autograd.gradcheck(lambda a, b: a.sum() + WrongSquare.apply(b), (x, y))
    msg = str(info.value)
    assert "input 1" in msg
    assert "element (0, 1)" in msg
    assert "analytic" in msg and "numerical" in msg
    # the two values in the message are the analytic and numerical vector-Jacobian products
    numbers = [float(s) for s in msg.replace(":", " ").split() if _is_number(s)]
    assert len(numbers) >= 2


def _is_number(s):
    try:
        float(s)
    except ValueError:
        return False
    return True


def test_gradcheck_without_raise_returns_false():
    x = _x(3)
    assert cr.autograd.gradcheck(lambda a: WrongSquare.apply(a), (x,), raise_exception=False) is False


def test_gradgradcheck_catches_non_differentiable_backward():
    x = _x(3)
    assert cr.autograd.gradcheck(lambda a: FirstOrderOnlyCube.apply(a), (x,))
    with pytest.raises(GradcheckError, match="gradgradcheck: mismatch for input 0"):
        cr.autograd.gradgradcheck(lambda a: FirstOrderOnlyCube.apply(a), (x,))


def test_gradcheck_requires_float64():
    x = cr.randn(3, requires_grad=True)
    with pytest.raises(GradcheckError, match="float64"):
        cr.autograd.gradcheck(lambda a: a * 2, (x,))


def test_gradcheck_needs_an_input_requiring_grad():
    with pytest.raises(GradcheckError, match="no input requires grad"):
        cr.autograd.gradcheck(lambda a: a * 2, (cr.randn(3, dtype=cr.float64),))


def test_gradcheck_leaves_inputs_unchanged_and_grad_empty():
    x = _x(2, 3)
    before = x._array.copy()
    cr.autograd.gradcheck(lambda a: (a * a).sum(1), (x,))
    np.testing.assert_array_equal(x._array, before)
    assert x.grad is None


def test_gradcheck_with_non_tensor_arguments():
    x = _x(2, 3)
    assert cr.autograd.gradcheck(lambda a, dim: a.softmax(dim), (x, 1))


def test_gradcheck_tolerances_are_arguments():
    x = _x(3)

    def slightly_off(a):
        return OffByTiny.apply(a)

    assert not cr.autograd.gradcheck(slightly_off, (x,), atol=1e-9, rtol=1e-9, raise_exception=False)
    assert cr.autograd.gradcheck(slightly_off, (x,), atol=1e-3, rtol=1e-3)


class OffByTiny(cr.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, grad):
        return grad * (2 + 1e-5)


def test_gradcheck_on_non_contiguous_and_0d_inputs():
    base = np.random.default_rng(5).uniform(0.5, 2.0, (3, 2))
    x = cr.from_numpy(base.T)  # a transposed view: not C-contiguous
    x.requires_grad_()
    assert not x._array.flags.c_contiguous
    assert cr.autograd.gradcheck(lambda a: (a * a).sum(0), (x,))
    s = cr.tensor(0.7, dtype=cr.float64, requires_grad=True)
    assert cr.autograd.gradcheck(lambda a: a.sin() * a, (s,))
    assert cr.autograd.gradgradcheck(lambda a: a.sin() * a, (s,))
