"""SparseAdam: torch's arguments and checks; its step refuses dense gradients, as torch's does."""

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.optim import SparseAdam
from test_optim_base import Pair


def test_step_refuses_a_dense_gradient_like_torch_and_names_the_way_out():
    pair = Pair()
    opt, topt = SparseAdam(pair.cr_params), torch.optim.SparseAdam(pair.th_params)
    pair.cr_loss().backward()
    pair.th_loss().backward()
    with pytest.raises(RuntimeError, match="does not support dense gradients"):
        topt.step()
    before = [p._array.copy() for p in pair.cr_params]
    with pytest.raises(RuntimeError, match="dense gradients.*Adam.*no sparse gradients"):
        opt.step()
    for p, b in zip(pair.cr_params, before):  # nothing was half updated
        np.testing.assert_array_equal(p._array, b)
    assert not opt.state


def test_without_gradients_the_step_is_a_no_op_that_returns_the_closure_loss():
    w = cr.zeros(3, requires_grad=True)
    opt = SparseAdam([w])
    assert opt.step() is None
    assert float(opt.step(lambda: cr.tensor(2.5))) == 2.5
    assert opt.defaults == dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, maximize=False)


@pytest.mark.parametrize("kwargs, message", [
    (dict(lr=0.0), "Invalid learning rate: 0.0"), (dict(eps=0.0), "Invalid epsilon value"),
    (dict(betas=(1.0, 0.9)), "Invalid beta parameter at index 0"),
    (dict(betas=(0.9, -0.1)), "Invalid beta parameter at index 1"),
])
def test_hyperparameters_are_validated_like_torch(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SparseAdam(Pair().cr_params, **kwargs)
    with pytest.raises(ValueError, match=message):
        torch.optim.SparseAdam(Pair().th_params, **kwargs)
