"""ASGD against torch.optim.ASGD over a grid of its options, and the update by hand."""

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.optim import ASGD
from chainrule.optim.asgd import asgd_schedule, asgd_update
from test_optim_base import Pair, assert_state_like_torch, run_pair

GRID = [
    dict(),
    dict(lr=0.05, lambd=0.01, alpha=0.5, t0=10),  # averaging starts within the run
    dict(lr=0.05, t0=0, weight_decay=0.1),
    dict(lr=0.02, t0=5, weight_decay=0.05, maximize=True),
]
IDS = lambda k: ",".join(f"{a}={b}" for a, b in k.items()) or "defaults"  # noqa: E731


@pytest.mark.parametrize("kwargs", GRID, ids=IDS)
def test_asgd_matches_torch(kwargs):
    _, opt, topt = run_pair(lambda ps: ASGD(ps, **kwargs),
                            lambda ps: torch.optim.ASGD(ps, **kwargs),
                            steps=25, maximize=kwargs.get("maximize", False))
    assert_state_like_torch(opt, topt)


@pytest.mark.parametrize("kwargs", GRID, ids=IDS)
def test_asgd_matches_torch_in_float64(kwargs):
    """eta and mu stay float32 scalars for float64 parameters, as torch keeps them."""
    _, opt, topt = run_pair(lambda ps: ASGD(ps, **kwargs),
                            lambda ps: torch.optim.ASGD(ps, **kwargs), steps=30,
                            maximize=kwargs.get("maximize", False),
                            pair=Pair(dtype=np.float64), rtol=1e-12, atol=1e-14)
    assert_state_like_torch(opt, topt, rtol=1e-12, atol=1e-14)
    state = opt.state[opt.param_groups[0]["params"][0]]
    assert state["eta"].dtype == state["mu"].dtype == np.float32


def test_update_and_schedule_by_hand():
    rng = np.random.default_rng(16)
    w, g, ax = rng.standard_normal(5), rng.standard_normal(5), rng.standard_normal(5)
    eta, mu, lambd, wd = 0.05, 0.25, 0.01, 0.1
    w_ref = w * (1 - lambd * eta) - eta * (g + wd * w)
    ax_ref = ax + mu * (w_ref - ax)
    asgd_update(w, g, ax, np.empty(5), np.empty(5), eta=eta, mu=mu, lambd=lambd,
                weight_decay=wd, maximize=False)
    np.testing.assert_allclose(w, w_ref, rtol=1e-13)
    np.testing.assert_allclose(ax, ax_ref, rtol=1e-13)
    assert asgd_schedule(10, lr=0.1, lambd=0.5, alpha=0.75, t0=4) == (0.1 / 1.5 ** 0.75, 1 / 6)
    assert asgd_schedule(3, lr=0.1, lambd=0.5, alpha=0.75, t0=4)[1] == 1.0


def test_the_average_is_the_mean_of_the_iterates_after_t0():
    """mu of step t is set by step t - 1 (1 / max(1, t - 1 - t0)): with t0 = 0 the average
    restarts at step 2 and is then the plain mean of the iterates w_2 ... w_t (as torch)."""
    w = cr.tensor(np.zeros(3), requires_grad=True)
    opt = ASGD([w], lr=0.1, lambd=0.0, t0=0)
    iterates = []
    for k in range(6):
        w.grad = cr.tensor(np.array([1.0, -2.0, 0.5]) * (k + 1))
        opt.step()
        iterates.append(w._array.copy())
    np.testing.assert_allclose(opt.state[w]["ax"]._array, np.mean(iterates[1:], axis=0))


@pytest.mark.parametrize("kwargs, message", [
    (dict(lr=-1), "Invalid learning rate: -1"), (dict(weight_decay=-1), "Invalid weight_decay"),
])
def test_hyperparameters_are_validated_like_torch(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ASGD(Pair().cr_params, **kwargs)
    with pytest.raises(ValueError, match=message):
        torch.optim.ASGD(Pair().th_params, **kwargs)
