"""Adagrad against torch.optim.Adagrad over a grid of its options."""

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.optim import Adagrad
from chainrule.optim.adagrad import adagrad_update
from test_optim_base import assert_state_like_torch, run_pair

GRID = [
    dict(lr=0.1),
    dict(lr=0.1, lr_decay=0.01),
    dict(lr=0.1, weight_decay=0.1, initial_accumulator_value=0.5),
    dict(lr=0.05, eps=1e-6, lr_decay=0.1, maximize=True),
]


@pytest.mark.parametrize("kwargs", GRID, ids=lambda k: ",".join(f"{a}={b}" for a, b in k.items()))
def test_adagrad_matches_torch(kwargs):
    _, opt, topt = run_pair(lambda ps: Adagrad(ps, **kwargs),
                            lambda ps: torch.optim.Adagrad(ps, **kwargs),
                            steps=25, maximize=kwargs.get("maximize", False))
    # Like torch, every parameter has its accumulator from the start (even the unused one).
    assert_state_like_torch(opt, topt)


def test_state_exists_before_the_first_step():
    w = cr.zeros(3, requires_grad=True)
    opt = Adagrad([w], initial_accumulator_value=0.25)
    np.testing.assert_array_equal(opt.state[w]["sum"]._array, np.full(3, 0.25, np.float32))
    assert float(opt.state[w]["step"]) == 0.0


def test_update_function_by_hand():
    rng = np.random.default_rng(7)
    w, g, s = rng.standard_normal(5), rng.standard_normal(5), rng.random(5)
    t, lr, decay, eps = 4, 0.1, 0.05, 1e-10
    s_ref = s + g * g
    w_ref = w - lr / (1 + (t - 1) * decay) * g / (np.sqrt(s_ref) + eps)
    adagrad_update(w, g, s, np.empty(5), np.empty(5), step=t, lr=lr, lr_decay=decay,
                   weight_decay=0.0, eps=eps, maximize=False)
    np.testing.assert_allclose(s, s_ref, rtol=1e-14)
    np.testing.assert_allclose(w, w_ref, rtol=1e-13)
