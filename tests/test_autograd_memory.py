"""Backward releases what the graph saved: activations do not outlive loss.backward()."""

import gc
import weakref

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, viz


def _loss_and_refs(model, x, y):
    """An MLP loss, and weak references to the arrays of its hidden activations."""
    refs = []
    h = model[0](x)
    refs.append(weakref.ref(h._array))
    a = model[1](h)
    refs.append(weakref.ref(a._array))
    logits = model[2](a)
    refs.append(weakref.ref(logits._array))
    return nn.functional.cross_entropy(logits, y), refs


@pytest.fixture
def mlp():
    cr.manual_seed(0)
    return nn.Sequential(nn.Linear(100, 1000), nn.Tanh(), nn.Linear(1000, 10))


def test_a_hidden_activation_is_freed_by_backward(mlp):
    x, y = cr.randn(64, 100), cr.randint(0, 10, (64,))
    loss, refs = _loss_and_refs(mlp, x, y)
    gc.collect()
    assert all(r() is not None for r in refs), "the graph keeps activations until backward"
    loss.backward()
    gc.collect()
    # The (64, 1000) activations are freed; the (64, 10) logits, under RELEASE_MIN_SIZE
    # elements, are kept (a placeholder would cost more time than their 2.5 KB are worth).
    assert [r() is None for r in refs] == [True, True, False]
    # What inspection needs stays: the structure, shapes, dtypes and op names.
    node = loss.grad_fn
    assert node.name == "cross_entropy"
    assert tuple(node.args[0].shape) == (64, 10) and node.args[0].dtype == np.float32


def test_retain_graph_and_keep_graph_keep_the_values(mlp):
    x, y = cr.randn(64, 100), cr.randint(0, 10, (64,))
    loss, refs = _loss_and_refs(mlp, x, y)
    loss.backward(retain_graph=True)
    gc.collect()
    assert all(r() is not None for r in refs)
    loss, refs = _loss_and_refs(mlp, x, y)
    with viz.keep_graph():
        loss.backward()
    gc.collect()
    assert all(r() is not None for r in refs)
    assert viz.walk(loss).info  # and it can still be drawn


def test_drawing_after_a_releasing_backward_says_how_to_keep_the_values(mlp):
    x, y = cr.randn(8, 100), cr.randint(0, 10, (8,))
    loss, _ = _loss_and_refs(mlp, x, y)
    loss.backward()
    with pytest.raises(RuntimeError, match="keep_graph"):
        viz.walk(loss)


def test_a_second_backward_through_a_released_graph_still_raises(mlp):
    x, y = cr.randn(8, 100), cr.randint(0, 10, (8,))
    loss, _ = _loss_and_refs(mlp, x, y)
    loss.backward()
    with pytest.raises(RuntimeError, match="second time"):
        loss.backward()


@pytest.mark.parametrize("fn", [cr.exp, cr.sigmoid, cr.tanh, cr.sqrt,
                                lambda t: cr.softmax(t, 1), lambda t: cr.log_softmax(t, 1)])
def test_second_order_rules_reuse_the_saved_output(fn, monkeypatch):
    """Under create_graph the rules that read their output use it, not a new forward."""
    x = cr.rand(3, 4, dtype=cr.float64, requires_grad=True) + 0.5
    y = fn(x)
    node = y.grad_fn
    calls = []
    original = type(node).forward
    monkeypatch.setattr(type(node), "forward", lambda self, *a: calls.append(1) or original(self, *a))
    (g,) = cr.autograd.grad(y.sum(), x, create_graph=True)
    assert calls == [], "the backward recomputed the forward"
    assert cr.autograd.gradgradcheck(fn, (x.detach().requires_grad_(),))


def test_a_big_mask_constant_and_a_functions_saved_tensors_are_released():
    """release frees what vjp saw big, a Tensor or a constant array (here a boolean mask of
    a masked_fill), and a Function's saved tensors; small nodes are only marked freed."""
    x = cr.randn(100, 100, requires_grad=True)
    mask = cr.rand(100, 100) > 0.5
    y = x.masked_fill(mask, 0.0)
    small = cr.randn(3, requires_grad=True) * 2.0
    (y.sum() + small.sum()).backward()
    node = y.grad_fn
    assert node.freed and node.holds_big
    # The mask is an argument of the node (a Tensor input, so that a replay reads the new
    # one); after backward it is a placeholder that holds no memory.
    masks = [a._array if isinstance(a, cr.Tensor) else a for a in node.args
             if getattr(a, "dtype", None) == cr.bool and tuple(a.shape) == (100, 100)]
    assert masks and all(a.strides == (0, 0) for a in masks)  # placeholders, no memory
    assert small.grad_fn.freed and not small.grad_fn.holds_big

    class Square(cr.autograd.Function):
        @staticmethod
        def forward(ctx, t):
            ctx.save_for_backward(t)
            return t * t

        @staticmethod
        def backward(ctx, g):
            (t,) = ctx.saved_tensors
            return 2 * t * g

    w = cr.randn(5, requires_grad=True)
    out = Square.apply(w)
    ctx = out.grad_fn
    assert len(ctx.saved_tensors) == 1
    out.sum().backward()
    assert ctx.freed and ctx.saved_tensors == ()
    assert np.allclose(w.grad._array, 2 * w._array)


def test_release_called_on_a_node_that_never_ran_backward_still_frees():
    x = cr.randn(100, 100, requires_grad=True)
    h = x * 2.0
    y = h * 3.0
    ref = weakref.ref(h._array)
    node = y.grad_fn
    del h
    node.release()  # no vjp has run: release looks at the arguments itself
    gc.collect()
    assert node.freed and ref() is None
