"""One dtype rule (chainrule.promotion), used by every binary op, matmul, linear, cat and the
in-place ops, against torch 2.13's answers."""

import itertools

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import nn
from chainrule.promotion import result_type

DTYPES = ["bool", "uint8", "int32", "int64", "float32", "float64"]


def _operand(lib, kind, dtype):
    if kind == "tensor":
        return lib.ones(2, dtype=getattr(lib, dtype))
    if kind == "0d":
        return lib.ones((), dtype=getattr(lib, dtype))
    return {"bool": True, "uint8": 1, "int32": 1, "int64": 1, "float32": 1.5,
            "float64": 1.5}[dtype]


CASES = [(ka, da, kb, db) for ka, kb in [("tensor", "tensor"), ("tensor", "0d"), ("0d", "0d"),
                                         ("tensor", "number"), ("0d", "number")]
         for da, db in itertools.product(DTYPES, DTYPES)
         if not (kb == "number" and db in ("uint8", "int32", "float32"))]


@pytest.mark.parametrize("ka,da,kb,db", CASES)
def test_result_type_and_add_follow_torch(ka, da, kb, db):
    want = torch.result_type(_operand(torch, ka, da), _operand(torch, kb, db))
    got = result_type(_operand(cr, ka, da), _operand(cr, kb, db))
    assert str(got) == str(want).replace("torch.", "")
    if da == db == "bool" or "bool" in (da, db):
        return  # torch refuses bool - bool etc.; the sum is what every other op follows
    out = cr.add(_operand(cr, ka, da), _operand(cr, kb, db))
    assert str(out.dtype) == str(want).replace("torch.", "chainrule.")


@pytest.mark.parametrize("call", [
    lambda lib: lib.ones(2) @ lib.ones(2, dtype=lib.float64),
    lambda lib: lib.ones(2, 3) @ lib.ones(3, 2, dtype=lib.float64),
    lambda lib: lib.nn.functional.linear(lib.ones(1, 2, dtype=lib.float64), lib.ones(3, 2)),
    lambda lib: lib.nn.functional.linear(lib.ones(1, 2, dtype=lib.int64), lib.ones(3, 2)),
])
def test_matmul_and_linear_do_not_promote_as_torch(call):
    with pytest.raises(RuntimeError):
        call(torch)
    with pytest.raises(RuntimeError, match="dtype"):
        call(cr)


def test_a_float64_input_to_a_float32_linear_layer_raises_and_names_the_dtypes():
    with pytest.raises(RuntimeError, match="float64.*float32|float32.*float64"):
        nn.Linear(2, 3)(cr.ones(4, 2, dtype=cr.float64))


def test_cat_and_stack_promote_as_torch():
    for lib_pairs in [("float32", "int64"), ("int32", "int64"), ("bool", "int32"),
                      ("float32", "float64")]:
        t = torch.cat([torch.ones(2, dtype=getattr(torch, d)) for d in lib_pairs])
        c = cr.cat([cr.ones(2, dtype=getattr(cr, d)) for d in lib_pairs])
        assert str(c.dtype) == str(t.dtype).replace("torch.", "chainrule.")
        s = cr.stack([cr.ones(2, dtype=getattr(cr, d)) for d in lib_pairs])
        assert s.dtype == c.dtype


def test_softmax_of_an_integer_tensor_is_refused_as_torch():
    with pytest.raises(NotImplementedError):
        torch.softmax(torch.ones(3, dtype=torch.int64), 0)
    with pytest.raises((TypeError, NotImplementedError), match="softmax"):
        cr.softmax(cr.ones(3, dtype=cr.int64), 0)


def test_in_place_float_into_int_is_refused_and_int_into_float_is_fine():
    with pytest.raises(RuntimeError, match="add_"):
        cr.ones(3, dtype=cr.int64).add_(cr.ones(3))
    t = cr.ones(3)
    t.add_(cr.ones(3, dtype=cr.int64))
    assert t.dtype == cr.float32
    np.testing.assert_array_equal(t.numpy(), [2, 2, 2])
