"""Rprop against torch.optim.Rprop over a grid of its options, and the update by hand."""

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.optim import Rprop
from chainrule.optim.rprop import rprop_update
from test_optim_base import Pair, assert_state_like_torch, run_pair

GRID = [
    dict(),
    dict(lr=0.05, etas=(0.3, 1.5)),
    dict(lr=0.01, step_sizes=(1e-3, 0.02)),  # both bounds are reached
    dict(lr=0.02, maximize=True),
]
IDS = lambda k: ",".join(f"{a}={b}" for a, b in k.items()) or "defaults"  # noqa: E731


@pytest.mark.parametrize("kwargs", GRID, ids=IDS)
def test_rprop_matches_torch(kwargs):
    _, opt, topt = run_pair(lambda ps: Rprop(ps, **kwargs),
                            lambda ps: torch.optim.Rprop(ps, **kwargs),
                            steps=25, maximize=kwargs.get("maximize", False))
    assert_state_like_torch(opt, topt)


@pytest.mark.parametrize("kwargs", GRID, ids=IDS)
def test_rprop_matches_torch_in_float64(kwargs):
    _, opt, topt = run_pair(lambda ps: Rprop(ps, **kwargs),
                            lambda ps: torch.optim.Rprop(ps, **kwargs), steps=30,
                            maximize=kwargs.get("maximize", False),
                            pair=Pair(dtype=np.float64), rtol=1e-12, atol=1e-14)
    assert_state_like_torch(opt, topt, rtol=1e-12, atol=1e-14)


def test_update_function_by_hand():
    w = np.array([1.0, 1.0, 1.0, 1.0, 1.0])
    g = np.array([2.0, -3.0, 0.5, 0.0, -1.0])
    prev = np.array([1.0, 4.0, 0.0, 2.0, -2.0])  # same sign, flip, zero, zero, same sign
    step_size = np.array([0.1, 0.1, 0.1, 0.1, 0.45])
    rprop_update(w, g, prev, step_size, np.empty(5), np.empty(5), etaminus=0.5, etaplus=1.2,
                 step_size_min=1e-6, step_size_max=0.5, maximize=False)
    np.testing.assert_allclose(step_size, [0.12, 0.05, 0.1, 0.1, 0.5])  # 0.54 clipped to 0.5
    np.testing.assert_allclose(prev, [2.0, 0.0, 0.5, 0.0, -1.0])  # the flipped one is dropped
    np.testing.assert_allclose(w, [1 - 0.12, 1.0, 1 - 0.1, 1.0, 1 + 0.5])


def test_rprop_on_a_large_parameter_matches_torch():
    rng = np.random.default_rng(15)
    w0 = rng.standard_normal((300, 257)).astype(np.float32)
    w, tw = cr.tensor(w0.copy(), requires_grad=True), torch.tensor(w0.copy(), requires_grad=True)
    opt, topt = Rprop([w]), torch.optim.Rprop([tw])
    g = rng.standard_normal(w0.shape).astype(np.float32)
    for _ in range(5):
        g = g + 0.5 * rng.standard_normal(w0.shape).astype(np.float32)  # some signs flip
        w.grad, tw.grad = cr.tensor(g), torch.tensor(g)
        opt.step()
        topt.step()
        np.testing.assert_allclose(w._array, tw.detach().numpy(), rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(opt.state[w]["step_size"]._array,
                                  topt.state[tw]["step_size"].numpy())


@pytest.mark.parametrize("kwargs, message", [
    (dict(lr=-1), "Invalid learning rate: -1"),
    (dict(etas=(1.5, 1.2)), "Invalid eta values: 1.5, 1.2"),
    (dict(etas=(0.5, 0.9)), "Invalid eta values: 0.5, 0.9"),
])
def test_hyperparameters_are_validated_like_torch(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Rprop(Pair().cr_params, **kwargs)
    with pytest.raises(ValueError, match=message):
        torch.optim.Rprop(Pair().th_params, **kwargs)
