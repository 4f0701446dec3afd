"""gradcheck and gradgradcheck: they pass on correct ops and catch, precisely, wrong ones."""

import sys

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.autograd import GradcheckError
from custom_functions import Cube


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


class FirstOrderOnlyCube(Cube):
    """x^3 whose backward is right but not differentiable (it detaches x)."""

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
    err, msg = info.value, str(info.value)
    assert "output 0 with respect to input 1: 4 of 16 entries differ" in msg
    # The bump lands on input entry (0, 1) for every output entry: analytic = numerical + 1.
    assert {(m.output_entry, m.input_entry) for m in err.mismatches} == {
        ((0, 0), (0, 1)), ((0, 1), (0, 1)), ((1, 0), (0, 1)), ((1, 1), (0, 1))}
    for m in err.mismatches:
        assert m.input == 1 and m.analytical == pytest.approx(m.numerical + 1, abs=1e-6)
    b = y._array
    assert f"d output 0[0, 1] / d input 1[0, 1]: analytic {2 * b[0, 1] + 1:.8g} vs " \
           f"numerical {2 * b[0, 1]:.8g}" in msg
    # The numerical Jacobians are the true ones (torch's), for both inputs.
    tx, ty = torch.tensor(x._array), torch.tensor(b)
    jx, jy = torch.autograd.functional.jacobian(lambda a, c: a.sum() + c * c, (tx, ty))
    np.testing.assert_allclose(err.numerical[0, 0], jx.numpy(), atol=1e-8)
    np.testing.assert_allclose(err.numerical[0, 1], jy.numpy(), atol=1e-8)
    np.testing.assert_allclose(err.analytical[0, 0], jx.numpy(), atol=1e-12)
    assert "analytic:" in msg and "numerical:" in msg      # a 4 x 4 Jacobian is printed whole


class WrongAtOneEntry(cr.autograd.Function):
    """sin(x) whose backward uses sin instead of cos for entry 2 only (a planted bug)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.sin()

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        local = x._array.copy()
        local = np.cos(local)
        local[2] = np.sin(x._array[2])
        return grad * cr.tensor(local)


def test_a_wrong_derivative_is_reported_at_its_entry_only():
    x = _x(5, seed=7)
    with pytest.raises(GradcheckError) as info:
        cr.autograd.gradcheck(lambda a: WrongAtOneEntry.apply(a) * 1.0, x)
    (m,) = info.value.mismatches
    v = x._array[2]
    assert (m.output, m.output_entry, m.input, m.input_entry) == (0, (2,), 0, (2,))
    assert m.analytical == pytest.approx(np.sin(v), abs=1e-12)
    assert m.numerical == pytest.approx(np.cos(v), abs=1e-8)
    msg = str(info.value)
    assert "1 of 25 entries differ" in msg
    assert f"d output 0[2] / d input 0[2]: analytic {np.sin(v):.8g} vs numerical" in msg


def test_several_outputs_are_named_and_only_the_wrong_one_reported():
    x = _x(3, seed=2)
    with pytest.raises(GradcheckError) as info:
        cr.autograd.gradcheck(lambda a: (a.exp(), WrongAtOneEntry.apply(a)), x)
    assert {m.output for m in info.value.mismatches} == {1}
    assert "output 1 with respect to input 0: 1 of 9" in str(info.value)


def test_fast_mode_checks_a_projection_and_says_how_to_see_entries():
    x = _x(5, seed=7)
    good = (lambda a: (a.sin() * a).softmax(0), x)
    assert cr.autograd.gradcheck(*good, fast_mode=True)
    with pytest.raises(GradcheckError, match=r"\(fast mode\).*v\.J\.u.*fast_mode=False") as info:
        cr.autograd.gradcheck(lambda a: WrongAtOneEntry.apply(a), x, fast_mode=True)
    (m,) = info.value.mismatches
    assert m.output_entry is None and m.input_entry is None
    assert abs(m.analytical - m.numerical) > 1e-3
    assert not cr.autograd.gradcheck(lambda a: WrongAtOneEntry.apply(a), x, fast_mode=True,
                                     raise_exception=False)


def test_large_inputs_get_the_fast_check_small_ones_the_full_one(monkeypatch):
    x = _x(5, seed=7)
    wrong = (lambda a: WrongAtOneEntry.apply(a), x)
    with pytest.raises(GradcheckError, match="Jacobian mismatch"):
        cr.autograd.gradcheck(*wrong)
    module = sys.modules["chainrule.autograd.gradcheck"]   # the name is shadowed by the function
    monkeypatch.setattr(module, "FULL_JACOBIAN_MAX", 4)
    with pytest.raises(GradcheckError, match="fast mode"):
        cr.autograd.gradcheck(*wrong)
    with pytest.raises(GradcheckError, match="Jacobian mismatch"):
        cr.autograd.gradcheck(*wrong, fast_mode=False)     # torch's default: always full
    monkeypatch.setattr(module, "FULL_JACOBIAN_MAX", 4096)
    monkeypatch.setattr(module, "FULL_JACOBIAN_ENTRIES_MAX", 24)   # 5 x 5 = 25 entries
    with pytest.raises(GradcheckError, match="fast mode"):
        cr.autograd.gradcheck(*wrong)


class Noisy(cr.autograd.Function):
    """2x whose backward adds a tiny random term: correct to 1e-9, but not reentrant."""

    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, grad):
        return grad * 2 + cr.tensor(np.random.default_rng().normal(0, 1e-9, grad.shape))


def test_nondet_tol_bounds_how_much_two_backwards_may_differ():
    x = _x(3)
    with pytest.raises(GradcheckError, match="not reentrant.*nondet_tol=0.0"):
        cr.autograd.gradcheck(lambda a: Noisy.apply(a), x, check_undefined_grad=False)
    assert cr.autograd.gradcheck(lambda a: Noisy.apply(a), x, nondet_tol=1e-6,
                                 check_undefined_grad=False)


class Affine(cr.autograd.Function):
    """2x whose backward adds 1e-8 whatever the upstream gradient: not linear in it."""

    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, grad):
        return grad * 2 + 1e-8


def test_a_backward_must_give_zero_for_a_zero_grad_output():
    x = _x(3)
    with pytest.raises(GradcheckError, match="zero grad_output for output 0.*nonzero gradient"):
        cr.autograd.gradcheck(lambda a: Affine.apply(a), x)
    assert cr.autograd.gradcheck(lambda a: Affine.apply(a), x, check_undefined_grad=False)


def test_torchs_arguments_are_accepted_and_passing_cases_agree_with_torch():
    rng = np.random.default_rng(3)
    data = [rng.uniform(0.5, 2.0, s) for s in ((3, 2), (2,))]

    def fn(lib):
        return lambda a, b: ((a * b).sin() / (a + 1), (a @ b).exp())

    tx = [torch.tensor(d, requires_grad=True) for d in data]
    cx = [cr.tensor(d, dtype=cr.float64, requires_grad=True) for d in data]
    options = dict(eps=1e-6, atol=1e-5, rtol=1e-3, nondet_tol=0.0, check_undefined_grad=True,
                   check_grad_dtypes=True)
    for fast in (False, True):
        assert torch.autograd.gradcheck(fn(torch), tx, fast_mode=fast, **options)
        assert cr.autograd.gradcheck(fn(cr), cx, fast_mode=fast, **options)
        assert torch.autograd.gradgradcheck(fn(torch), tx, fast_mode=fast, atol=1e-5)
        assert cr.autograd.gradgradcheck(fn(cr), cx, fast_mode=fast, atol=1e-5)


def test_gradcheck_without_raise_returns_false():
    x = _x(3)
    assert cr.autograd.gradcheck(lambda a: WrongSquare.apply(a), (x,), raise_exception=False) is False


def test_gradgradcheck_catches_non_differentiable_backward():
    x = _x(3)
    assert cr.autograd.gradcheck(lambda a: FirstOrderOnlyCube.apply(a), (x,))
    with pytest.raises(GradcheckError) as info:
        cr.autograd.gradgradcheck(lambda a: FirstOrderOnlyCube.apply(a), (x,))
    msg = str(info.value)
    assert msg.startswith("gradgradcheck: Jacobian mismatch")
    assert "grad_input 0 with respect to input 0: 3 of 9 entries differ" in msg
    # d/dx of the first derivative 3 x^2 g is 6 x g; the detached backward gives 0
    assert {(m.output_entry, m.input_entry) for m in info.value.mismatches} == {
        ((0,), (0,)), ((1,), (1,)), ((2,), (2,))}
    assert all(m.analytical == 0 for m in info.value.mismatches)


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
