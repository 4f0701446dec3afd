"""ReLU's in-place rules (those of torch, whose backward reads the output) and layouts,
against torch 2.13.

The values and derivatives of relu at its edge points (0, -0, +-inf, nan, first and second
order) are rows of ``test_ops_edge_points.py``; this module checks which in-place
modifications make backward refuse, as torch's does.
"""

import numpy as np
import pytest
import torch

import chainrule as cr


def _modify_relu_output(lib):
    x = lib.tensor([[-1.0, 2.0], [3.0, -4.0]], requires_grad=True)
    y = (x * 1.0).relu()
    y.mul_(2)              # relu's backward needs y as it was
    y.sum().backward()


def test_modifying_relu_output_in_place_refuses_backward_like_torch():
    with pytest.raises(RuntimeError):
        _modify_relu_output(torch)
    with pytest.raises(RuntimeError, match="relu"):
        _modify_relu_output(cr)


@pytest.mark.parametrize("lib", [torch, cr], ids=["torch", "chainrule"])
def test_relu_in_place_then_more_ops(lib):
    x = lib.tensor([[-1.0, 2.0], [3.0, float("nan")]], requires_grad=True)
    y = (x * 2).relu_()    # relu_ on a fresh value: its gradient rule reads the result
    (y * y).sum().backward()
    got = x.grad.numpy() if lib is torch else x.grad._array
    # d/dx (2x)^2 where 2x > 0 (and nan passes: nan * ... stays nan), 0 where 2x <= 0
    np.testing.assert_array_equal(got[0], [0.0, 16.0])
    assert got[1, 0] == 24.0 and np.isnan(got[1, 1])


def test_relu_gradient_of_a_channels_last_input_matches_torch():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 5, 4)).astype(np.float32)
    g = rng.standard_normal((3, 4, 5)).astype(np.float32)
    xt = torch.tensor(a, requires_grad=True)
    xt.permute(0, 2, 1).relu().backward(torch.tensor(g))
    xc = cr.tensor(a, requires_grad=True)
    xc.permute(0, 2, 1).relu().backward(cr.tensor(g))
    np.testing.assert_array_equal(xc.grad._array, xt.grad.numpy())
