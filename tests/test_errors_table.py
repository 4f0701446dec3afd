"""Bad calls, one row each: the exception class, a regex of its message, and torch refusing too.

Every error names the op the user called and the shapes, dtypes or values at fault, and is
one of ValueError, TypeError, IndexError or RuntimeError (issue 11). Where torch is the
reference, the same call on torch tensors must raise as well: chainrule never gives a silent
result for an input that torch refuses. Our class may differ from torch's (torch raises
RuntimeError for most shape errors; we keep ValueError for shapes, as DESIGN.md says).
"""

import re

import pytest
import torch
import torch.nn.functional as TF

import chainrule as cr
import chainrule.nn.functional as F
from chainrule.errors import InvalidArgument, InvalidIndex, InvalidType, MissingMethod
from chainrule.promotion import NoKernelForDtype

ALLOWED = (ValueError, TypeError, IndexError, RuntimeError, InvalidArgument, InvalidIndex,
           InvalidType, MissingMethod, NoKernelForDtype)


def _grad_assign(lib, shape, dtype):
    p = lib.ones(3, requires_grad=True)
    p.grad = lib.ones(shape, dtype=dtype)


def _grad_assign_list(lib):
    p = lib.ones(3, requires_grad=True)
    p.grad = [1.0, 2.0, 3.0]


def _setitem(lib):
    a = lib.ones(3, 2)
    a[0] = lib.ones(3)


# id, chainrule call, torch call (None: torch is not the reference), class, message regex
ROWS = [
    # --- inputs torch refuses --------------------------------------------------------------
    ("embedding_negative_index",
     lambda: cr.nn.Embedding(10, 2)(cr.tensor([-1])),
     lambda: torch.nn.Embedding(10, 2)(torch.tensor([-1])),
     IndexError, r"^embedding: index -1 is out of range for 10 embeddings"),
    ("embedding_negative_index_with_padding_minus_one",
     lambda: cr.nn.Embedding(10, 2, padding_idx=-1)(cr.tensor([3, -1])),
     lambda: torch.nn.Embedding(10, 2, padding_idx=-1)(torch.tensor([3, -1])),
     IndexError, r"^embedding: index -1 is out of range"),
    ("gather_negative_index",
     lambda: cr.randn(2, 3).gather(1, cr.tensor([[-1], [0]])),
     lambda: torch.randn(2, 3).gather(1, torch.tensor([[-1], [0]])),
     IndexError, r"^gather: index -1 is out of bounds for dim 1 with size 3"),
    ("index_select_negative_index",
     lambda: cr.randn(2, 3).index_select(1, cr.tensor([-1])),
     lambda: torch.randn(2, 3).index_select(1, torch.tensor([-1])),
     IndexError, r"^index_select: index -1 is out of bounds for dim 1 with size 3"),
    ("index_select_too_big",
     lambda: cr.ones(3).index_select(0, cr.tensor([5])),
     lambda: torch.ones(3).index_select(0, torch.tensor([5])),
     IndexError, r"^index_select: index 5 is out of bounds for dim 0 with size 3"),
    ("cross_entropy_int_logits",
     lambda: F.cross_entropy(cr.tensor([[1, 2, 3]]), cr.tensor([0])),
     lambda: TF.cross_entropy(torch.tensor([[1, 2, 3]]), torch.tensor([0])),
     TypeError, r"^cross_entropy: .*float.*int64"),
    ("add__int_with_float",
     lambda: cr.tensor([1, 2]).add_(cr.tensor([0.5, 0.5])),
     lambda: torch.tensor([1, 2]).add_(torch.tensor([0.5, 0.5])),
     RuntimeError, r"^add_: result type float32 can't be cast to .* int64"),
    ("huber_negative_delta",
     lambda: F.huber_loss(cr.ones(2), cr.zeros(2), delta=-1.0),
     lambda: TF.huber_loss(torch.ones(2), torch.zeros(2), delta=-1.0),
     ValueError, r"^huber_loss: delta must be positive, got -1.0"),
    ("huber_zero_delta",
     lambda: F.huber_loss(cr.ones(2), cr.zeros(2), delta=0.0),
     lambda: TF.huber_loss(torch.ones(2), torch.zeros(2), delta=0.0),
     ValueError, r"^huber_loss: delta must be positive, got 0.0"),
    ("smooth_l1_negative_beta",
     lambda: F.smooth_l1_loss(cr.ones(2), cr.zeros(2), beta=-1.0),
     lambda: TF.smooth_l1_loss(torch.ones(2), torch.zeros(2), beta=-1.0),
     ValueError, r"^smooth_l1_loss: beta must be non-negative, got -1.0"),
    ("add_list",
     lambda: cr.add([cr.ones(2), cr.ones(2)], cr.ones(2)),
     lambda: torch.add([torch.ones(2), torch.ones(2)], torch.ones(2)),
     TypeError, r"^add: expected a Tensor, got a list of Tensors"),
    ("relu_list",
     lambda: F.relu([cr.ones(2)]),
     lambda: TF.relu([torch.ones(2)]),
     TypeError, r"^relu: expected a Tensor, got a list"),
    ("linear_module_list",
     lambda: cr.nn.Linear(2, 2)([cr.ones(2)]),
     lambda: torch.nn.Linear(2, 2)([torch.ones(2)]),
     TypeError, r"^linear: expected a Tensor, got a list"),
    ("linear_float_size",
     lambda: cr.nn.Linear(3.5, 2),
     lambda: torch.nn.Linear(3.5, 2),
     TypeError, r"^empty: size must be a sequence of ints, got \(2, 3.5\)"),
    ("cat_of_a_tensor",
     lambda: cr.cat(cr.ones(2, 3)),
     lambda: torch.cat(torch.ones(2, 3)),
     TypeError, r"^cat: expected a sequence of Tensors, got a Tensor"),
    ("view_of_transposed",
     lambda: cr.ones(2, 3).t().view(6),
     lambda: torch.ones(2, 3).t().view(6),
     RuntimeError, r"^view: a tensor of shape \(3, 2\) .* use \.reshape"),
    ("grad_wrong_shape",
     lambda: _grad_assign(cr, 4, cr.float32), lambda: _grad_assign(torch, 4, torch.float32),
     RuntimeError, r"^grad: cannot assign a gradient of shape \(4,\) .* shape \(3,\)"),
    ("grad_wrong_dtype",
     lambda: _grad_assign(cr, 3, cr.float64), lambda: _grad_assign(torch, 3, torch.float64),
     RuntimeError, r"^grad: .*dtype chainrule.float64 to a tensor .*float32"),
    ("grad_not_a_tensor",
     lambda: _grad_assign_list(cr), lambda: _grad_assign_list(torch),
     TypeError, r"^grad: expected a Tensor or None, got list"),
    ("gaussian_nll_negative_var",
     lambda: F.gaussian_nll_loss(cr.ones(2), cr.zeros(2), cr.tensor([1.0, -1.0])),
     lambda: TF.gaussian_nll_loss(torch.ones(2), torch.zeros(2), torch.tensor([1.0, -1.0])),
     ValueError, r"^gaussian_nll_loss: var has negative entries"),
    # --- errors that name the op ------------------------------------------------------------
    ("add_a_string",
     lambda: cr.ones(3) + "a", lambda: torch.ones(3) + "a",
     TypeError, r"^add: .*\(3,\) chainrule.float32, str"),
    ("chunk_zero",
     lambda: cr.chunk(cr.ones(3), 0), lambda: torch.chunk(torch.ones(3), 0),
     ValueError, r"^chunk: chunks must be positive, got 0"),
    ("setitem_wrong_shape",
     lambda: _setitem(cr), lambda: _setitem(torch),
     ValueError, r"^setitem: cannot write a value of shape \(3,\) into tensor of shape \(3, 2\)"),
    ("add__wrong_shape",
     lambda: cr.ones(3).add_(cr.ones(4)), lambda: torch.ones(3).add_(torch.ones(4)),
     ValueError, r"^add_: .*shape \(4,\) .*shape \(3,\)"),
    ("add__grows_the_tensor",
     lambda: cr.ones(3).add_(cr.ones(2, 3)), lambda: torch.ones(3).add_(torch.ones(2, 3)),
     ValueError, r"^add_: .*shape \(2, 3\) .*shape \(3,\)"),
    ("copy__wrong_shape",
     lambda: cr.ones(3).copy_(cr.ones(4)), lambda: torch.ones(3).copy_(torch.ones(4)),
     ValueError, r"^copy_: .*shape \(4,\) .*shape \(3,\)"),
    ("tensor_of_ragged_list",
     lambda: cr.tensor([[1, 2], [3]]), lambda: torch.tensor([[1, 2], [3]]),
     ValueError, r"^tensor: .*expected a sequence of length 2 at dim 1 \(got 1"),
    ("cross_entropy_probability_target_shape",
     lambda: F.cross_entropy(cr.randn(2, 3), cr.rand(2, 4)),
     lambda: TF.cross_entropy(torch.randn(2, 3), torch.rand(2, 4)),
     ValueError, r"^cross_entropy: .*target.*\(2, 4\).*\(2, 3\)"),
    ("dot_sizes",
     lambda: cr.dot(cr.ones(3), cr.ones(4)), lambda: torch.dot(torch.ones(3), torch.ones(4)),
     ValueError, r"^dot: .*\(3,\) and \(4,\)"),
    ("dot_2d",
     lambda: cr.dot(cr.ones(3, 1), cr.ones(3)), lambda: torch.dot(torch.ones(3, 1), torch.ones(3)),
     ValueError, r"^dot: .*1-D.*\(3, 1\)"),
    ("bilinear_input2_size",
     lambda: cr.nn.Bilinear(2, 3, 4)(cr.ones(1, 2), cr.ones(1, 4)),
     lambda: torch.nn.Bilinear(2, 3, 4)(torch.ones(1, 2), torch.ones(1, 4)),
     ValueError, r"^bilinear: input2 .*\(1, 4\).*3"),
]


@pytest.mark.parametrize("call,torch_call,cls,pattern", [r[1:] for r in ROWS],
                         ids=[r[0] for r in ROWS])
def test_bad_call(call, torch_call, cls, pattern):
    assert issubclass(cls, ALLOWED)
    theirs = None
    if torch_call is not None:
        with pytest.raises(Exception) as theirs:
            torch_call()
    with pytest.raises(cls) as info:
        call()
    assert type(info.value) in ALLOWED, f"{type(info.value).__name__} is not one of ours"
    if theirs is not None:  # code written for torch catches ours with torch's except clause
        base = next(c for c in (IndexError, TypeError, NotImplementedError, ValueError,
                                RuntimeError) if isinstance(theirs.value, c))
        assert isinstance(info.value, base), (type(info.value), type(theirs.value))
    assert re.search(pattern, str(info.value)), str(info.value)


def test_named_error_survives_numpy_exception_classes():
    # The class of failure behind `ones + "a"`: NumPy exceptions whose constructors take
    # other arguments must still come out named, as a plain class.
    import numpy as np
    from chainrule.autograd.function import _named_error
    try:
        np.add(np.ones(3), np.array(["a"]))
    except TypeError as exc:
        named = _named_error("add", exc, (cr.ones(3), "a"))
    # plain classes that are also torch's RuntimeError (chainrule.errors)
    assert type(named) is InvalidType and str(named).startswith("add: ")
    named = _named_error("div", ZeroDivisionError("division by zero"), ())
    assert type(named) is InvalidArgument and str(named).startswith("div: division by zero")
    assert isinstance(named, ValueError) and isinstance(named, RuntimeError)


def test_take_along_dim_still_counts_from_the_end():
    # torch allows negative indices here (and only here): gather's refusal must not reach it
    x = torch.arange(6.0).reshape(2, 3)
    idx = torch.tensor([[-1], [0]])
    got = cr.take_along_dim(cr.tensor(x.numpy()), cr.tensor(idx.numpy()), 1)
    assert got._array.tolist() == torch.take_along_dim(x, idx, 1).tolist()


def test_padding_idx_minus_one_is_the_last_row_and_gets_no_gradient():
    emb = cr.nn.Embedding(4, 2, padding_idx=-1)
    assert emb.padding_idx == torch.nn.Embedding(4, 2, padding_idx=-1).padding_idx == 3
    emb(cr.tensor([0, 3])).sum().backward()
    assert not emb.weight.grad._array[3].any() and emb.weight.grad._array[0].all()
