"""nn.utils: gradient clipping and parameter vectors against torch.nn.utils."""

import math

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.nn.utils import (
    clip_grad_norm_, clip_grad_value_, get_total_norm, parameters_to_vector,
    vector_to_parameters,
)

SHAPES = [(3, 4), (5,), (2, 2, 2), (1,)]


def _pair(seed=0, dtype=np.float32, scale=1.0, with_unused=True):
    """Parameters with gradients in both libraries; the last one has no gradient."""
    rng = np.random.default_rng(seed)
    ours, theirs = [], []
    for i, shape in enumerate(SHAPES):
        w = rng.standard_normal(shape).astype(dtype)
        p, tp = cr.tensor(w.copy(), requires_grad=True), torch.tensor(w.copy(), requires_grad=True)
        if not (with_unused and i == len(SHAPES) - 1):
            g = (rng.standard_normal(shape) * scale).astype(dtype)
            p.grad, tp.grad = cr.tensor(g.copy()), torch.tensor(g.copy())
        ours.append(p)
        theirs.append(tp)
    return ours, theirs


def _assert_grads_equal(ours, theirs, rtol=1e-6):
    for p, tp in zip(ours, theirs):
        if tp.grad is None:
            assert p.grad is None
        else:
            np.testing.assert_allclose(p.grad._array, tp.grad.numpy(), rtol=rtol, atol=1e-7)


@pytest.mark.parametrize("norm_type", [2.0, math.inf, 1.0, 3.0, 0.5])
@pytest.mark.parametrize("max_norm", [0.5, 1e3])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_clip_grad_norm_matches_torch(norm_type, max_norm, dtype):
    ours, theirs = _pair(dtype=dtype)
    total = clip_grad_norm_(ours, max_norm, norm_type)
    th_total = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type)
    assert isinstance(total, cr.Tensor) and total.shape == () and total.dtype == dtype
    np.testing.assert_allclose(total._array, th_total.numpy(), rtol=1e-6)
    _assert_grads_equal(ours, theirs)


def test_clip_grad_norm_bounds_the_norm_and_keeps_directions():
    ours, _ = _pair(scale=10.0)
    before = [p.grad._array.copy() for p in ours if p.grad is not None]
    total = float(clip_grad_norm_(ours, 1.0))
    grads = [p.grad._array for p in ours if p.grad is not None]
    after = math.sqrt(sum(float((g.astype(np.float64) ** 2).sum()) for g in grads))
    assert total > 1.0 and after == pytest.approx(1.0, rel=1e-5)
    for b, g in zip(before, grads):
        np.testing.assert_allclose(g, b / total, rtol=1e-5)  # one common factor


def test_clip_grad_norm_leaves_small_gradients_alone():
    ours, _ = _pair(scale=1e-3)
    before = [p.grad._array.copy() for p in ours if p.grad is not None]
    clip_grad_norm_(ours, 1.0)
    for b, p in zip(before, ours):
        np.testing.assert_array_equal(p.grad._array, b)


def test_clip_grad_norm_single_tensor_empty_and_nonfinite():
    ours, theirs = _pair()
    total = clip_grad_norm_(ours[0], 0.1)  # one Tensor instead of an iterable
    th_total = torch.nn.utils.clip_grad_norm_(theirs[0], 0.1)
    np.testing.assert_allclose(total._array, th_total.numpy(), rtol=1e-6)
    _assert_grads_equal(ours, theirs)
    assert float(clip_grad_norm_([ours[-1]], 1.0)) == 0.0  # no gradients at all
    ours[0].grad._array[0, 0] = np.inf
    with pytest.raises(RuntimeError, match="non-finite"):
        clip_grad_norm_(ours, 1.0, error_if_nonfinite=True)


def test_get_total_norm_matches_torch():
    ours, theirs = _pair()
    grads = [p.grad for p in ours if p.grad is not None]
    th_grads = [p.grad for p in theirs if p.grad is not None]
    for norm_type in (2.0, math.inf, 1.0):
        np.testing.assert_allclose(get_total_norm(grads, norm_type)._array,
                                   torch.nn.utils.get_total_norm(th_grads, norm_type).numpy(),
                                   rtol=1e-6)


@pytest.mark.parametrize("clip_value", [0.1, 0.7, 5.0])
def test_clip_grad_value_matches_torch(clip_value):
    ours, theirs = _pair()
    assert clip_grad_value_(ours, clip_value) is None
    torch.nn.utils.clip_grad_value_(theirs, clip_value)
    _assert_grads_equal(ours, theirs, rtol=0)
    assert max(np.abs(p.grad._array).max() for p in ours if p.grad is not None) <= clip_value


def test_parameters_to_vector_and_back_match_torch():
    ours, theirs = _pair(with_unused=False)
    vec = parameters_to_vector(ours)
    th_vec = torch.nn.utils.parameters_to_vector(theirs)
    np.testing.assert_array_equal(vec._array, th_vec.detach().numpy())
    # The vector is part of the graph: its gradient flows back to every parameter.
    (vec * vec).sum().backward()
    for p in ours:
        assert p.grad is not None
    new = cr.tensor(np.arange(vec.shape[0], dtype=np.float32))
    vector_to_parameters(new, ours)
    torch.nn.utils.vector_to_parameters(torch.arange(vec.shape[0], dtype=torch.float32), theirs)
    for p, tp in zip(ours, theirs):
        np.testing.assert_array_equal(p._array, tp.detach().numpy())
    new._array[0] = 100.0  # chainrule copies: the parameters do not alias the vector
    assert ours[0]._array[0, 0] == 0.0


def test_vector_to_parameters_checks_its_input():
    ours, _ = _pair()
    with pytest.raises(TypeError, match="expected a Tensor"):
        vector_to_parameters(np.zeros(26, np.float32), ours)
    with pytest.raises(ValueError, match="26 elements"):
        vector_to_parameters(cr.zeros(25), ours)


def test_clip_works_with_nn_modules_and_an_optimizer():
    """The usual loop: backward, clip, step -- the same numbers as torch."""
    rng = np.random.default_rng(11)
    model = cr.nn.Linear(4, 3)
    th_model = torch.nn.Linear(4, 3)
    with torch.no_grad():
        th_model.weight.copy_(torch.from_numpy(model.weight._array.copy()))
        th_model.bias.copy_(torch.from_numpy(model.bias._array.copy()))
    opt = cr.optim.SGD(model.parameters(), lr=0.1)
    topt = torch.optim.SGD(th_model.parameters(), lr=0.1)
    X = rng.standard_normal((16, 4)).astype(np.float32) * 5
    for _ in range(5):
        opt.zero_grad()
        topt.zero_grad()
        (model(cr.tensor(X)) ** 2).mean().backward()
        (th_model(torch.tensor(X)) ** 2).mean().backward()
        n = cr.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
        tn = torch.nn.utils.clip_grad_norm_(th_model.parameters(), 0.5)
        np.testing.assert_allclose(n._array, tn.numpy(), rtol=1e-5)
        opt.step()
        topt.step()
    np.testing.assert_allclose(model.weight._array, th_model.weight.detach().numpy(), rtol=1e-5,
                               atol=1e-6)
