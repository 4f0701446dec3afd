"""In-place ops on tensors in the graph are recorded, as in PyTorch, and give its gradients."""

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import nn

X = np.array([[0.5, -1.0, 2.0], [1.5, -0.3, 0.7]], dtype=np.float64)
W = np.array([[0.2, 0.4, -0.6], [1.1, -0.9, 0.3]], dtype=np.float64)


def _both(program):
    """Run ``program(lib, x, w)`` in chainrule and torch; compare value and both gradients."""
    xc, wc = cr.tensor(X, requires_grad=True), cr.tensor(W, requires_grad=True)
    xt, wt = torch.tensor(X, requires_grad=True), torch.tensor(W, requires_grad=True)
    out_c, out_t = program(cr, xc, wc), program(torch, xt, wt)
    np.testing.assert_allclose(out_c.detach().numpy(), out_t.detach().numpy(), rtol=1e-12)
    out_c.sum().backward()
    out_t.sum().backward()
    for a, b in ((xc, xt), (wc, wt)):
        ga = None if a.grad is None else a.grad.numpy()
        gb = None if b.grad is None else b.grad.numpy()
        if gb is None:
            assert ga is None or not ga.any()
        else:
            np.testing.assert_allclose(ga, gb, rtol=1e-12, atol=1e-14)


def _iadd(lib, x, w):
    y = x * w
    z = y            # an alias: it sees the change
    y += 1
    return z * y


def _index_sub(lib, x, w):
    y = x * 2
    y[0] -= w[0]     # getitem, in-place sub on the view, setitem: an index-put node
    return y * w


def _mask_put(lib, x, w):
    y = x * w
    y[y > 0] = 0.0
    return y


def _relu_(lib, x, w):
    y = x * w
    y.relu_()
    return y * x


def _mul_tensor(lib, x, w):
    y = x + 0
    y.mul_(w)        # its backward reads y's old value: kept aside
    return y ** 2


def _chain(lib, x, w):
    y = (x * w).tanh()
    y = y * 1.0      # the tanh's output is not modified
    y.mul_(2).add_(w).div_(3)
    y.clamp_(-0.2, 0.5)
    return y


def _view(lib, x, w):
    y = x * w
    v = y[:, 1:]     # a view: changing it changes y, and y's gradient knows
    v.mul_(3)
    return y * x


def _fill_copy(lib, x, w):
    y = x * w
    y[1].fill_(2.0)
    y[0].copy_(w[1] * 3)
    return y * x


def _non_graph_target(lib, x, w):
    y = lib.zeros(2, 3, dtype=lib.float64)
    y += w           # a plain tensor joins the graph
    return y * x


@pytest.mark.parametrize("program", [_iadd, _index_sub, _mask_put, _relu_, _mul_tensor, _chain,
                                     _view, _fill_copy, _non_graph_target])
def test_in_place_in_the_graph_matches_torch(program):
    _both(program)


def test_an_alias_sees_the_change_and_shares_the_array():
    x = cr.randn(3, requires_grad=True)
    y = x * 2
    z = y
    arr = y._array
    y += 1
    assert z is y and y._array is arr


def test_a_leaf_that_requires_grad_still_refuses():
    w = cr.randn(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="^add_: a leaf"):
        w += 1
    with cr.no_grad():
        w += 1        # the optimizer's way: fine


def test_a_saved_value_modified_in_place_is_caught_at_backward():
    x = cr.randn(3, requires_grad=True)
    w = cr.randn(3, requires_grad=True)
    y = x * 2
    z = y * w        # saves y for w's gradient
    y.add_(1)
    with pytest.raises(RuntimeError, match="modified in place"):
        z.sum().backward()


def test_modifying_an_output_its_node_reads_is_caught():
    x = cr.randn(3, requires_grad=True)
    y = x.exp()      # exp's backward reads its output
    y.relu_()
    with pytest.raises(RuntimeError, match="modified in place"):
        y.sum().backward()


def test_relu_inplace_module_works_in_place():
    cr.manual_seed(0)
    lin = nn.Linear(4, 3)
    x = cr.randn(5, 4)
    h = lin(x)
    arr = h._array
    out = nn.ReLU(inplace=True)(h)
    assert out is h and out._array is arr and (arr >= 0).all()
    out.sum().backward()
    torch_lin = torch.nn.Linear(4, 3).double()
    with torch.no_grad():
        torch_lin.weight.copy_(torch.tensor(lin.weight.detach().numpy(), dtype=torch.float64))
        torch_lin.bias.copy_(torch.tensor(lin.bias.detach().numpy(), dtype=torch.float64))
    torch.relu_(torch_lin(torch.tensor(x.numpy(), dtype=torch.float64))).sum().backward()
    np.testing.assert_allclose(lin.weight.grad.numpy(), torch_lin.weight.grad.numpy(), rtol=1e-5)


def test_an_int_tensor_refuses_a_float_result_in_place_as_torch():
    t = cr.tensor([1, 2, 3])
    with pytest.raises(RuntimeError, match="add_: result type float"):
        t.add_(cr.tensor([0.5, 0.5, 0.5]))
    with pytest.raises(RuntimeError):
        torch.tensor([1, 2, 3]).add_(torch.tensor([0.5, 0.5, 0.5]))
    with pytest.raises(RuntimeError, match="div_"):
        t.div_(2)
    t.add_(2)      # int into int: fine
    assert t.tolist() == [3, 4, 5]
