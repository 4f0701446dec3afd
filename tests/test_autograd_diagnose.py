"""cr.autograd.why_no_grad: one reason per way a tensor ends up without a gradient.

Each row builds the situation in chainrule and in torch, checks that torch's ``.grad`` is None
too (so the situation is real, not an artefact of chainrule), and checks the sentence.
"""

from __future__ import annotations

import warnings

import pytest
import torch

import chainrule as cr

why_no_grad = cr.autograd.why_no_grad


def _no_leaf_retain(lib):
    w = lib.randn(3, requires_grad=True)
    h = w * 2
    loss = (h * h).sum()
    loss.backward()
    return h, loss


def _no_grad_op(lib):
    w = lib.randn(3, requires_grad=True)
    with lib.no_grad():
        h = w * 2
    return h, (h * h).sum()


def _detached(lib):
    w = lib.randn(3, requires_grad=True)
    h = (w * 2).detach()
    return h, (h * h).sum()


def _requires_grad_false(lib):
    x = lib.randn(3)
    w = lib.randn(3, requires_grad=True)
    return x, (x * w).sum()


def _integer(lib):
    i = lib.tensor([1, 2, 3])
    w = lib.randn(3, requires_grad=True)
    return i, (i * w).sum()


def _not_used(lib):
    w = lib.randn(3, requires_grad=True)
    unused = lib.randn(3, requires_grad=True)
    loss = (w * w).sum()
    loss.backward()
    return unused, loss


def _not_called(lib):
    w = lib.randn(3, requires_grad=True)
    return w, (w * w).sum()


def _reset_after_backward(lib):
    w = lib.randn(3, requires_grad=True)
    loss = (w * w).sum()
    loss.backward()
    w.grad = None               # what zero_grad() does
    return w, loss


def _loss_under_no_grad(lib):
    w = lib.randn(3, requires_grad=True)
    with lib.no_grad():
        loss = (w * w).sum()
    return w, loss


CASES = [
    # (builder, words the explanation must contain)
    (_no_leaf_retain, ["not a leaf", "mul", "retain_grad()"]),
    (_no_grad_op, ["mul", "under no_grad()", "no graph was recorded"]),
    (_detached, ["detach()", "test_autograd_diagnose.py:", "shares the data"]),
    (_requires_grad_false, ["requires_grad=False", "requires_grad=True"]),
    (_integer, ["integer tensor", "int64", "floating-point"]),
    (_not_used, ["not used to compute the loss"]),
    (_not_called, ["backward() has not been called"]),
    (_reset_after_backward, ["backward() has run", "zero_grad()"]),
    (_loss_under_no_grad, ["the loss has no graph", "requires_grad=False"]),
]


@pytest.mark.parametrize("build, words", CASES, ids=[c[0].__name__.strip("_") for c in CASES])
def test_each_reason_is_named(build, words):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")      # torch warns on the non-leaf's .grad
        t_tensor, _ = build(torch)
        assert t_tensor.grad is None         # the situation is real in torch too
    tensor, loss = build(cr)
    text = why_no_grad(tensor, loss)
    for w in words:
        assert w in text, (w, text)
    assert text.count(". ") <= 1            # one or two sentences


def test_the_name_appears_in_the_sentence():
    w = cr.randn(3, requires_grad=True)
    h = w * 2
    loss = h.sum()
    loss.backward()
    text = why_no_grad(h, loss, name="h")
    assert text.startswith("h is not a leaf") and "h.retain_grad()" in text
    w.name = "w"
    assert why_no_grad(w, loss).startswith("w has a gradient")


def test_detach_names_the_op_while_its_node_is_alive():
    w = cr.randn(3, requires_grad=True)
    hidden = w * 3
    text = why_no_grad(hidden.detach())
    assert "made by detach() (test_autograd_diagnose.py:" in text and "output of mul" in text


def test_data_cuts_like_detach_and_is_named():
    w = cr.randn(3, requires_grad=True)
    hidden = w * 3
    v = cr.randn(3, requires_grad=True)
    loss = (hidden.data * v).sum()
    assert "made by .data (test_autograd_diagnose.py:" in why_no_grad(hidden.data)
    assert "cut by .data at test_autograd_diagnose.py:" in why_no_grad(w, loss)
    assert not hasattr(w.data, "_origin")      # a leaf's .data (the optimizers') records nothing


def test_a_detach_that_cuts_the_path_is_found_with_its_line():
    w = cr.randn(3, requires_grad=True)
    hidden = w * 3                        # still alive: the cut can be traced back to w
    cut = hidden.detach()
    v = cr.randn(3, requires_grad=True)
    loss = (cut * v).sum()
    text = why_no_grad(w, loss, name="w")
    assert "w is not used to compute the loss" in text
    assert "cut by detach() at test_autograd_diagnose.py:" in text and "mul" in text


def test_a_no_grad_tensor_on_the_path_is_named():
    w = cr.randn(3, requires_grad=True)
    v = cr.randn(3, requires_grad=True)
    with cr.no_grad():
        h = w.exp()
    loss = (h * v).sum()
    text = why_no_grad(w, loss)
    assert "not used to compute the loss" in text and "exp under no_grad()" in text


def test_retained_and_filled_grads_are_not_reported_missing():
    w = cr.randn(3, requires_grad=True)
    h = w * 2
    h.retain_grad()
    loss = (h * h).sum()
    loss.backward()
    assert why_no_grad(h, loss).startswith("the tensor has a gradient")
    assert why_no_grad(w, loss).startswith("the tensor has a gradient")


def test_a_detached_tensor_still_pickles_and_copies():
    import copy      # noqa: PLC0415
    import pickle    # noqa: PLC0415

    w = cr.randn(3, requires_grad=True)
    hidden = w * 2
    d = hidden.detach()
    for clone in (pickle.loads(pickle.dumps(d)), copy.deepcopy(d)):
        assert (clone._array == d._array).all()
        assert "made by detach() (test_autograd_diagnose.py:" in why_no_grad(clone)


def test_bad_arguments_are_refused():
    with pytest.raises(TypeError, match="why_no_grad: expected a Tensor"):
        why_no_grad([1.0, 2.0])
    with pytest.raises(TypeError, match="why_no_grad: loss must be a Tensor"):
        why_no_grad(cr.randn(2), 3.0)


# --- the .grad warning, as torch ---------------------------------------------------------------

def _situations(lib):
    """(what, tensor) pairs: some warn on .grad in torch, some do not."""
    w = lib.randn(3, requires_grad=True)
    h = w * 2
    r = w * 3
    r.retain_grad()
    with lib.no_grad():
        n = w * 2
    loss = (h + r).sum()
    before = [("non-leaf before backward", h)]
    loss.backward()
    return before + [("non-leaf after backward", h), ("retained non-leaf", r),
                     ("leaf", w), ("no_grad result", n), ("detached", h.detach())]


def test_grad_of_a_non_leaf_warns_where_torch_does():
    for (what, t_tensor), (_, c_tensor) in zip(_situations(torch), _situations(cr)):
        with warnings.catch_warnings(record=True) as t_caught:
            warnings.simplefilter("always")
            t_tensor.grad
        with warnings.catch_warnings(record=True) as c_caught:
            warnings.simplefilter("always")
            c_tensor.grad
        assert len(c_caught) == len(t_caught), what
        for w in c_caught:
            assert issubclass(w.category, UserWarning)
            assert "retain_grad()" in str(w.message) and "not a leaf" in str(w.message)
            assert w.filename == __file__        # points at the user's line


def test_the_engine_reading_a_non_leafs_grad_does_not_warn():
    w = cr.randn(3, requires_grad=True)
    h = w * 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (h * h).sum().backward(inputs=[h])    # accumulates into h.grad, as torch
        assert h.grad is not None and w.grad is None
