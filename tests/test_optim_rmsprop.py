"""RMSprop against torch.optim.RMSprop over a grid of its options."""

import numpy as np
import pytest
import torch

from chainrule.optim import RMSprop
from chainrule.optim.rmsprop import rmsprop_update
from test_optim_base import Pair, assert_state_like_torch, run_pair

GRID = [
    dict(lr=0.01),
    dict(lr=0.01, alpha=0.9, eps=1e-6),
    dict(lr=0.01, momentum=0.9),
    dict(lr=0.01, centered=True),
    dict(lr=0.005, centered=True, momentum=0.5, weight_decay=0.1),
    dict(lr=0.01, weight_decay=0.05, maximize=True),
]


@pytest.mark.parametrize("kwargs", GRID, ids=lambda k: ",".join(f"{a}={b}" for a, b in k.items()))
def test_rmsprop_matches_torch(kwargs):
    # centered: sqrt(v - g_avg^2) cancels digits, and torch's fused multiply-add rounds once
    # where NumPy rounds twice, so allow a few more ulps there.
    tol = dict(rtol=1e-4, atol=1e-5) if kwargs.get("centered") else {}
    _, opt, topt = run_pair(lambda ps: RMSprop(ps, **kwargs),
                            lambda ps: torch.optim.RMSprop(ps, **kwargs),
                            steps=25, maximize=kwargs.get("maximize", False), **tol)
    assert_state_like_torch(opt, topt)


@pytest.mark.parametrize("kwargs", [dict(lr=0.01, alpha=0.3, centered=True),
                                    dict(lr=0.01, alpha=0.9, centered=True, momentum=0.9)])
def test_rmsprop_matches_torch_in_float64(kwargs):
    """alpha <= 0.5 takes lerp's other branch; a small alpha also makes v - g_avg^2 cancel,
    which float32 rounding turns into visible drift, so compare tightly in float64."""
    run_pair(lambda ps: RMSprop(ps, **kwargs), lambda ps: torch.optim.RMSprop(ps, **kwargs),
             steps=25, pair=Pair(dtype=np.float64), rtol=1e-10, atol=1e-12)


def test_update_function_by_hand():
    rng = np.random.default_rng(6)
    w, g, ga = rng.standard_normal(5), rng.standard_normal(5), rng.standard_normal(5) * 0.1
    v = rng.random(5) + 0.5
    buf = rng.standard_normal(5)
    alpha, lr, eps, mom = 0.9, 0.01, 1e-8, 0.5
    v_ref = alpha * v + (1 - alpha) * g * g
    ga_ref = alpha * ga + (1 - alpha) * g
    buf_ref = mom * buf + g / (np.sqrt(v_ref - ga_ref ** 2) + eps)
    w_ref = w - lr * buf_ref
    rmsprop_update(w, g, v, ga, buf, np.empty(5), np.empty(5), lr=lr, alpha=alpha, eps=eps,
                   weight_decay=0.0, momentum=mom, centered=True, maximize=False)
    for got, want in zip((v, ga, buf, w), (v_ref, ga_ref, buf_ref, w_ref)):
        np.testing.assert_allclose(got, want, rtol=1e-13)
