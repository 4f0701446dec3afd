"""NAdam (and NAdamW) against torch.optim.NAdam over a grid of its options; the update by hand."""

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.optim import NAdam
from chainrule.optim.nadam import nadam_update
from test_optim_base import Pair, check_like_torch, grid_id

GRID = [
    dict(lr=0.01),
    dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, momentum_decay=0.01),
    dict(lr=0.01, weight_decay=0.1),
    dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True),
    dict(lr=0.02, weight_decay=0.05, maximize=True, momentum_decay=0.0),
    dict(lr=0.01, betas=(0.3, 0.9), decoupled_weight_decay=True, weight_decay=0.01),
]
IDS = grid_id


@pytest.mark.parametrize("kwargs", GRID, ids=IDS)
def test_nadam_matches_torch(kwargs):
    check_like_torch(NAdam, torch.optim.NAdam, kwargs)


@pytest.mark.parametrize("kwargs", GRID, ids=IDS)
def test_nadam_matches_torch_in_float64(kwargs):
    """mu_product stays a float32 scalar for float64 parameters, as torch keeps it."""
    opt = check_like_torch(NAdam, torch.optim.NAdam, kwargs, float64=True)
    mu_product = opt.state[opt.param_groups[0]["params"][0]]["mu_product"]
    assert mu_product.dtype == np.float32 and mu_product.shape == ()


def _nadam_reference(w, g, m, v, mu_product, t, lr, b1, b2, eps, wd, psi, decoupled):
    """NAdam as Dozat writes it, with PyTorch's weight decay, in float64."""
    if decoupled:
        w = w * (1 - lr * wd)
    else:
        g = g + wd * w
    mu = b1 * (1 - 0.5 * 0.96 ** (t * psi))
    mu_next = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * psi))
    mu_product = mu_product * mu
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g * g
    v_hat = v / (1 - b2 ** t)
    m_bar = (1 - mu) * g / (1 - mu_product) + mu_next * m / (1 - mu_product * mu_next)
    return w - lr * m_bar / (np.sqrt(v_hat) + eps), m, v, mu_product


@pytest.mark.parametrize("decoupled", [False, True])
def test_update_function_follows_the_paper(decoupled):
    rng = np.random.default_rng(11)
    w, g = rng.standard_normal(6), rng.standard_normal(6)
    m, v = rng.standard_normal(6) * 0.1, rng.random(6) * 0.01
    t, lr, b1, b2, eps, wd, psi = 5, 0.01, 0.9, 0.999, 1e-8, 0.1, 4e-3
    mu_before = 0.37
    w_ref, m_ref, v_ref, mu_product = _nadam_reference(w, g, m, v, mu_before, t, lr, b1, b2,
                                                       eps, wd, psi, decoupled)
    nadam_update(w, g, m, v, np.empty(6), np.empty(6), step=t, mu_product=mu_product, lr=lr,
                 beta1=b1, beta2=b2, eps=eps, weight_decay=wd, momentum_decay=psi,
                 decoupled_weight_decay=decoupled, maximize=False)
    for got, want in zip((w, m, v), (w_ref, m_ref, v_ref)):
        np.testing.assert_allclose(got, want, rtol=1e-12)


def test_nadam_on_a_large_parameter_matches_torch():
    rng = np.random.default_rng(12)
    w0 = rng.standard_normal((300, 257)).astype(np.float32)
    w, tw = cr.tensor(w0.copy(), requires_grad=True), torch.tensor(w0.copy(), requires_grad=True)
    kwargs = dict(weight_decay=0.01, decoupled_weight_decay=True)
    opt, topt = NAdam([w], **kwargs), torch.optim.NAdam([tw], **kwargs)
    for _ in range(4):
        g = rng.standard_normal(w0.shape).astype(np.float32)
        w.grad, tw.grad = cr.tensor(g), torch.tensor(g)
        opt.step()
        topt.step()
        np.testing.assert_allclose(w._array, tw.detach().numpy(), rtol=1e-6, atol=1e-7)
    # mu_product is multiplied once per step, not once per block.
    assert float(opt.state[w]["mu_product"]) == float(topt.state[tw]["mu_product"])


@pytest.mark.parametrize("kwargs, message", [
    (dict(lr=-1), "Invalid learning rate: -1"), (dict(eps=-1), "Invalid epsilon value"),
    (dict(betas=(1.0, 0.9)), "Invalid beta parameter at index 0"),
    (dict(weight_decay=-1), "Invalid weight_decay"),
    (dict(momentum_decay=-1), "Invalid momentum_decay value: -1"),
])
def test_hyperparameters_are_validated_like_torch(kwargs, message):
    with pytest.raises(ValueError, match=message):
        NAdam(Pair().cr_params, **kwargs)
    with pytest.raises(ValueError, match=message):
        torch.optim.NAdam(Pair().th_params, **kwargs)
