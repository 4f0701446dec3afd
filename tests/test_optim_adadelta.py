"""Adadelta against torch.optim.Adadelta over a grid of its options, and the update by hand."""

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.optim import Adadelta
from chainrule.optim.adadelta import adadelta_update
from test_optim_base import Pair, check_like_torch, grid_id

GRID = [
    dict(),
    dict(lr=0.5, rho=0.95, eps=1e-5),
    dict(lr=1.0, weight_decay=0.1),
    dict(lr=2.0, rho=0.3, weight_decay=0.05, maximize=True),
]
IDS = grid_id


@pytest.mark.parametrize("kwargs", GRID, ids=IDS)
def test_adadelta_matches_torch(kwargs):
    check_like_torch(Adadelta, torch.optim.Adadelta, kwargs)


@pytest.mark.parametrize("kwargs", GRID, ids=IDS)
def test_adadelta_matches_torch_in_float64(kwargs):
    check_like_torch(Adadelta, torch.optim.Adadelta, kwargs, float64=True)


def test_update_function_follows_the_paper():
    rng = np.random.default_rng(7)
    w, g = rng.standard_normal(6), rng.standard_normal(6)
    v, u = rng.random(6) * 0.1, rng.random(6) * 0.01
    lr, rho, eps, wd = 0.7, 0.9, 1e-6, 0.1
    gd = g + wd * w
    v_ref = rho * v + (1 - rho) * gd ** 2
    delta = np.sqrt(u + eps) / np.sqrt(v_ref + eps) * gd
    u_ref = rho * u + (1 - rho) * delta ** 2
    w_ref = w - lr * delta
    adadelta_update(w, g, v, u, np.empty(6), np.empty(6), np.empty(6), lr=lr, rho=rho, eps=eps,
                    weight_decay=wd, maximize=False)
    for got, want in zip((w, v, u), (w_ref, v_ref, u_ref)):
        np.testing.assert_allclose(got, want, rtol=1e-13)


def test_adadelta_on_a_large_parameter_matches_torch():
    """Past one block (BLOCK elements) the update runs block by block: same numbers."""
    rng = np.random.default_rng(8)
    w0 = rng.standard_normal((300, 257)).astype(np.float32)
    w, tw = cr.tensor(w0.copy(), requires_grad=True), torch.tensor(w0.copy(), requires_grad=True)
    opt, topt = Adadelta([w], weight_decay=0.01), torch.optim.Adadelta([tw], weight_decay=0.01)
    for _ in range(4):
        g = rng.standard_normal(w0.shape).astype(np.float32)
        w.grad, tw.grad = cr.tensor(g), torch.tensor(g)
        opt.step()
        topt.step()
        np.testing.assert_allclose(w._array, tw.detach().numpy(), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("kwargs, message", [
    (dict(lr=-1), "Invalid learning rate: -1"), (dict(rho=1.5), "Invalid rho value: 1.5"),
    (dict(eps=-1), "Invalid epsilon value"), (dict(weight_decay=-1), "Invalid weight_decay"),
])
def test_hyperparameters_are_validated_like_torch(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Adadelta(Pair().cr_params, **kwargs)
    with pytest.raises(ValueError, match=message):
        torch.optim.Adadelta(Pair().th_params, **kwargs)
