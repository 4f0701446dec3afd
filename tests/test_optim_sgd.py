"""SGD against torch.optim.SGD, and the lectures' identity: L2 penalty == weight decay."""

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.optim import SGD
from chainrule.backend import host_blas
from chainrule.optim.sgd import sgd_update
from test_optim_base import Pair, assert_state_like_torch, run_pair

GRID = [
    dict(lr=0.1),
    dict(lr=0.1, momentum=0.9),
    dict(lr=0.05, momentum=0.9, nesterov=True),
    dict(lr=0.1, momentum=0.8, dampening=0.3),
    dict(lr=0.1, weight_decay=0.05),
    dict(lr=0.05, momentum=0.9, weight_decay=0.01, nesterov=True),
    dict(lr=0.1, momentum=0.5, dampening=0.5, weight_decay=0.1, maximize=True),
    dict(lr=0.1, maximize=True),
]


@pytest.mark.parametrize("kwargs", GRID, ids=lambda k: ",".join(f"{a}={b}" for a, b in k.items()))
@pytest.mark.parametrize("use_closure", [False, True])
def test_sgd_matches_torch(kwargs, use_closure):
    _, opt, topt = run_pair(lambda ps: SGD(ps, **kwargs), lambda ps: torch.optim.SGD(ps, **kwargs),
                            steps=25, maximize=kwargs.get("maximize", False),
                            use_closure=use_closure)
    assert_state_like_torch(opt, topt)


def test_sgd_default_lr_is_torchs():
    w = cr.zeros(2, requires_grad=True)
    assert SGD([w]).defaults["lr"] == torch.optim.SGD([torch.zeros(2)]).defaults["lr"]


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_l2_penalty_in_the_loss_equals_weight_decay(momentum):
    """SGD on loss + (lambda/2)||w||^2 takes the same steps as SGD(weight_decay=lambda)."""
    lam = 0.1
    a, b = Pair(), Pair()
    opt_penalty = SGD(a.cr_params, lr=0.1, momentum=momentum)
    opt_decay = SGD(b.cr_params, lr=0.1, momentum=momentum, weight_decay=lam)
    for step in range(25):
        opt_penalty.zero_grad()
        opt_decay.zero_grad()
        penalty = sum((p * p).sum() for p in a.cr_params[:4]) * (lam / 2)
        (a.cr_loss() + penalty).backward()
        b.cr_loss().backward()
        opt_penalty.step()
        opt_decay.step()
        for p, q in zip(a.cr_params, b.cr_params):
            np.testing.assert_allclose(p._array, q._array, rtol=1e-5, atol=1e-6,
                                       err_msg=f"step {step + 1}")


def test_update_function_by_hand():
    """One momentum-SGD step written out in float64 arithmetic."""
    rng = np.random.default_rng(1)
    w, g, buf = (rng.standard_normal(5) for _ in range(3))
    expected_buf = 0.9 * buf + (1 - 0.2) * (g + 0.01 * w)
    expected_w = w - 0.1 * expected_buf
    tmp, tmp2 = np.empty(5), np.empty(5)
    sgd_update(w, g, buf, tmp, tmp2, lr=0.1, weight_decay=0.01, momentum=0.9, dampening=0.2,
               nesterov=False, maximize=False, first=False)
    np.testing.assert_allclose(buf, expected_buf, rtol=1e-14)
    np.testing.assert_allclose(w, expected_w, rtol=1e-14)


def test_large_parameters_are_updated_block_by_block():
    """A parameter bigger than one block gives the same numbers as torch."""
    rng = np.random.default_rng(2)
    w0 = rng.standard_normal((300, 400)).astype(np.float32)
    grads = [rng.standard_normal((300, 400)).astype(np.float32) for _ in range(3)]
    w, tw = cr.tensor(w0.copy(), requires_grad=True), torch.tensor(w0.copy(), requires_grad=True)
    opt = SGD([w], lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)
    topt = torch.optim.SGD([tw], lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)
    for g in grads:
        w.grad, tw.grad = cr.tensor(g), torch.tensor(g)
        opt.step()
        topt.step()
        np.testing.assert_allclose(w._array, tw.detach().numpy(), rtol=1e-6, atol=1e-6)


def test_float64_parameters_stay_float64():
    w = cr.tensor(np.ones(3), requires_grad=True)
    opt = SGD([w], lr=0.1, momentum=0.9)
    (w * w).sum().backward()
    opt.step()
    assert w.dtype == np.float64 and opt.state[w]["momentum_buffer"].dtype == np.float64
    np.testing.assert_allclose(w._array, np.full(3, 0.8), rtol=1e-15)


def test_strided_parameters_are_updated_whole():
    """A parameter that is a strided view (not blockable) is updated correctly in place."""
    rng = np.random.default_rng(12)
    base = rng.standard_normal((400, 300)).astype(np.float32)
    w = cr.tensor(base.copy(), requires_grad=True)
    w._array = w._array.T  # a (300, 400) view with Fortran strides
    tw = torch.tensor(base.T.copy(), requires_grad=True)
    opt = SGD([w], lr=0.1, momentum=0.9)
    topt = torch.optim.SGD([tw], lr=0.1, momentum=0.9)
    for _ in range(3):
        g = rng.standard_normal((300, 400)).astype(np.float32)
        w.grad, tw.grad = cr.tensor(g), torch.tensor(g)
        opt.step()
        topt.step()
    assert not w._array.flags.c_contiguous
    np.testing.assert_allclose(w._array, tw.detach().numpy(), rtol=1e-6, atol=1e-6)


def test_a_momentum_buffer_saved_as_none_is_made_on_the_next_step_like_torch():
    """torch's state_dict can hold ``momentum_buffer: None`` (a buffer not made yet)."""
    pair = Pair()
    opt = SGD(pair.cr_params, lr=0.1, momentum=0.9, dampening=0.5)
    topt = torch.optim.SGD(pair.th_params, lr=0.1, momentum=0.9, dampening=0.5)
    state = {"state": {0: {"momentum_buffer": None}},
             "param_groups": [dict(opt.state_dict()["param_groups"][0])]}
    opt.load_state_dict(state)
    run_pair(lambda ps: opt, lambda ps: topt, steps=5, pair=pair)


@pytest.mark.skipif(not host_blas.fused(), reason="no BLAS axpy that rounds once")
@pytest.mark.parametrize("kwargs", GRID, ids=lambda k: ",".join(f"{a}={b}" for a, b in k.items()))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sgd_equals_torch_bit_for_bit(kwargs, dtype):
    """Every update of a parameter of MIN_SIZE elements or more rounds as torch's (``add_``
    with ``alpha``: one rounding), with and without a tail after the BLAS kernel's runs,
    one block and many; smaller ones (NumPy's two roundings) stay within an ulp."""
    rng = np.random.default_rng(3)
    m = host_blas.MIN_SIZE
    shapes = [(m + 19,), (130, 131), (300, 400), (33000,), (7,), (10, 13)]
    w0 = [rng.standard_normal(s).astype(dtype) for s in shapes]
    ws = [cr.tensor(w.copy(), requires_grad=True) for w in w0]
    tws = [torch.tensor(w.copy(), requires_grad=True) for w in w0]
    opt, topt = SGD(ws, **kwargs), torch.optim.SGD(tws, **kwargs)
    for _ in range(4):
        for w, tw, s in zip(ws, tws, shapes):
            g = rng.standard_normal(s).astype(dtype)
            w.grad, tw.grad = cr.tensor(g), torch.tensor(g)
        opt.step()
        topt.step()
    for w, tw in zip(ws, tws):
        if w.numel() >= m:
            np.testing.assert_array_equal(w._array, tw.detach().numpy())
        else:
            np.testing.assert_allclose(w._array, tw.detach().numpy(), rtol=1e-6, atol=1e-6)
