"""Adamax against torch.optim.Adamax over a grid of its options, and the update by hand."""

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.optim import Adamax
from chainrule.optim.adamax import adamax_update
from test_optim_base import Pair, check_like_torch, grid_id

GRID = [
    dict(lr=0.01),
    dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6),
    dict(lr=0.01, weight_decay=0.1),
    dict(lr=0.02, weight_decay=0.05, maximize=True),
    dict(lr=0.01, betas=(0.3, 0.9)),  # 1 - beta1 >= 0.5: the other branch of lerp
]
IDS = grid_id


@pytest.mark.parametrize("kwargs", GRID, ids=IDS)
def test_adamax_matches_torch(kwargs):
    check_like_torch(Adamax, torch.optim.Adamax, kwargs)


@pytest.mark.parametrize("kwargs", GRID, ids=IDS)
def test_adamax_matches_torch_in_float64(kwargs):
    check_like_torch(Adamax, torch.optim.Adamax, kwargs, float64=True)


def test_default_lr_is_torchs():
    assert Adamax(Pair().cr_params).defaults["lr"] == 2e-3 == \
        torch.optim.Adamax(Pair().th_params).defaults["lr"]


def test_update_function_follows_the_paper():
    rng = np.random.default_rng(9)
    w, g = rng.standard_normal(6), rng.standard_normal(6)
    m, u = rng.standard_normal(6) * 0.1, rng.random(6) * 0.5
    t, lr, b1, b2, eps, wd = 4, 0.01, 0.9, 0.999, 1e-8, 0.1
    gd = g + wd * w
    m_ref = b1 * m + (1 - b1) * gd
    u_ref = np.maximum(b2 * u, np.abs(gd) + eps)
    w_ref = w - lr / (1 - b1 ** t) * m_ref / u_ref
    adamax_update(w, g, m, u, np.empty(6), np.empty(6), step=t, lr=lr, beta1=b1, beta2=b2,
                  eps=eps, weight_decay=wd, maximize=False)
    for got, want in zip((w, m, u), (w_ref, m_ref, u_ref)):
        np.testing.assert_allclose(got, want, rtol=1e-13)


def test_adamax_on_a_large_parameter_matches_torch():
    rng = np.random.default_rng(10)
    w0 = rng.standard_normal((300, 257)).astype(np.float32)
    w, tw = cr.tensor(w0.copy(), requires_grad=True), torch.tensor(w0.copy(), requires_grad=True)
    opt, topt = Adamax([w], weight_decay=0.01), torch.optim.Adamax([tw], weight_decay=0.01)
    for _ in range(4):
        g = rng.standard_normal(w0.shape).astype(np.float32)
        w.grad, tw.grad = cr.tensor(g), torch.tensor(g)
        opt.step()
        topt.step()
        np.testing.assert_allclose(w._array, tw.detach().numpy(), rtol=1e-6, atol=1e-7)
    assert opt.state[w]["exp_inf"].dtype == np.float32


@pytest.mark.parametrize("kwargs, message", [
    (dict(lr=-1), "Invalid learning rate: -1"), (dict(eps=-1), "Invalid epsilon value"),
    (dict(betas=(1.0, 0.9)), "Invalid beta parameter at index 0"),
    (dict(betas=(0.9, 1.0)), "Invalid beta parameter at index 1"),
    (dict(weight_decay=-1), "Invalid weight_decay"),
])
def test_hyperparameters_are_validated_like_torch(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Adamax(Pair().cr_params, **kwargs)
    with pytest.raises(ValueError, match=message):
        torch.optim.Adamax(Pair().th_params, **kwargs)
