"""RAdam against torch.optim.RAdam over a grid of its options, and the update by hand."""

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.optim import RAdam
from chainrule.optim.radam import radam_update
from test_optim_base import Pair, check_like_torch, grid_id

# 25 steps cover both regimes: rho_t <= 5 (the first steps: momentum SGD) and rho_t > 5.
GRID = [
    dict(lr=0.01),
    dict(lr=0.01, betas=(0.8, 0.9), eps=1e-6),
    dict(lr=0.01, weight_decay=0.1),
    dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True),
    dict(lr=0.02, weight_decay=0.05, maximize=True),
    dict(lr=0.01, betas=(0.3, 0.99)),  # 1 - beta1 >= 0.5: the other branch of lerp
]
IDS = grid_id


@pytest.mark.parametrize("kwargs", GRID, ids=IDS)
def test_radam_matches_torch(kwargs):
    check_like_torch(RAdam, torch.optim.RAdam, kwargs)


@pytest.mark.parametrize("kwargs", GRID, ids=IDS)
def test_radam_matches_torch_in_float64(kwargs):
    check_like_torch(RAdam, torch.optim.RAdam, kwargs, float64=True)


def _radam_reference(w, g, m, v, t, lr, b1, b2, eps):
    """Algorithm 2 of Liu et al. (2019), eps added to sqrt(v) as PyTorch does, in float64."""
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g * g
    m_hat = m / (1 - b1 ** t)
    rho_inf = 2 / (1 - b2) - 1
    rho_t = rho_inf - 2 * t * b2 ** t / (1 - b2 ** t)
    if rho_t <= 5:
        return w - lr * m_hat, m, v
    l_t = np.sqrt(1 - b2 ** t) / (np.sqrt(v) + eps)
    r_t = np.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
    return w - lr * m_hat * r_t * l_t, m, v


@pytest.mark.parametrize("t", [1, 3, 5, 6, 7, 40])  # rho_t crosses 5 between t=5 and t=6
def test_update_function_follows_the_paper(t):
    rng = np.random.default_rng(13)
    w, g = rng.standard_normal(6), rng.standard_normal(6)
    m, v = rng.standard_normal(6) * 0.1, rng.random(6) * 0.01
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-8
    expected = _radam_reference(w, g, m, v, t, lr, b1, b2, eps)
    radam_update(w, g, m, v, np.empty(6), np.empty(6), step=t, lr=lr, beta1=b1, beta2=b2,
                 eps=eps, weight_decay=0.0, decoupled_weight_decay=False, maximize=False)
    for got, want in zip((w, m, v), expected):
        np.testing.assert_allclose(got, want, rtol=1e-12)


def test_radam_on_a_large_parameter_matches_torch():
    rng = np.random.default_rng(14)
    w0 = rng.standard_normal((300, 257)).astype(np.float32)
    w, tw = cr.tensor(w0.copy(), requires_grad=True), torch.tensor(w0.copy(), requires_grad=True)
    kwargs = dict(weight_decay=0.01, decoupled_weight_decay=True)
    opt, topt = RAdam([w], **kwargs), torch.optim.RAdam([tw], **kwargs)
    for _ in range(8):
        g = rng.standard_normal(w0.shape).astype(np.float32)
        w.grad, tw.grad = cr.tensor(g), torch.tensor(g)
        opt.step()
        topt.step()
        np.testing.assert_allclose(w._array, tw.detach().numpy(), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("kwargs, message", [
    (dict(lr=-1), "Invalid learning rate: -1"), (dict(eps=-1), "Invalid epsilon value"),
    (dict(betas=(0.9, 1.5)), "Invalid beta parameter at index 1"),
    (dict(weight_decay=-1), "Invalid weight_decay"),
])
def test_hyperparameters_are_validated_like_torch(kwargs, message):
    with pytest.raises(ValueError, match=message):
        RAdam(Pair().cr_params, **kwargs)
    with pytest.raises(ValueError, match=message):
        torch.optim.RAdam(Pair().th_params, **kwargs)
