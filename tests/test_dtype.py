"""dtype objects: names and printing as torch's, and standing in for NumPy dtypes."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

import chainrule as cr

NAMES = ["float32", "float", "float64", "double", "float16", "half", "bfloat16", "int64",
         "long", "int32", "int", "int16", "short", "int8", "uint8", "bool", "complex64",
         "complex128", "cfloat", "cdouble", "uint16", "uint32", "uint64"]


@pytest.mark.parametrize("name", NAMES)
def test_names_print_and_behave_as_torchs(name):
    ours, theirs = getattr(cr, name), getattr(torch, name)
    assert str(ours) == str(theirs).replace("torch.", "chainrule.")
    assert repr(ours) == repr(theirs).replace("torch.", "chainrule.")
    assert ours.itemsize == theirs.itemsize
    assert ours.is_floating_point == theirs.is_floating_point
    assert ours.is_complex == theirs.is_complex
    assert ours.is_signed == theirs.is_signed


@pytest.mark.parametrize("name", [n for n in NAMES if n != "bfloat16"])
def test_stands_in_for_the_numpy_dtype(name):
    d = getattr(cr, name)
    np_dtype = np.dtype(d)
    assert np_dtype == np.dtype(str(getattr(torch, name)).replace("torch.", "").replace(
        "float", "float").replace("bool", "bool"))
    assert d == np_dtype and np_dtype == d and d == np_dtype.type
    assert hash(d) == hash(np_dtype)
    assert {np_dtype: "found"}[d] == "found"
    assert np.zeros(2, dtype=d).dtype == np_dtype
    assert np.arange(3).astype(d).dtype == np_dtype
    assert d.kind == np_dtype.kind and d.char == np_dtype.char and d.type is np_dtype.type
    assert d != None and d != "no such dtype"  # noqa: E711 - np.dtype(None) is float64
    assert copy.deepcopy(d) is d


@pytest.mark.parametrize("make", [
    lambda m: m.tensor([1.0, 2.0]),
    lambda m: m.tensor([1, 2]),
    lambda m: m.tensor([True]),
    lambda m: m.arange(3),
    lambda m: m.arange(0.0, 1.0, 0.5),
    lambda m: m.zeros(2, dtype=m.float64),
    lambda m: m.ones(2, dtype=m.int32),
    lambda m: m.randint(0, 3, (2,)),
    lambda m: m.randn(2).to(m.float16),
    lambda m: m.tensor([1.0]) > 0,
    lambda m: m.tensor([1, 2]) * 1.5,
])
def test_tensor_dtypes_print_as_torchs(make):
    ours, theirs = make(cr), make(torch)
    assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "chainrule.")
    assert ours.dtype.is_floating_point == theirs.dtype.is_floating_point
    assert cr.is_floating_point(ours) == torch.is_floating_point(theirs)


def test_tensor_repr_names_the_dtype_as_torch_does():
    ours = repr(cr.tensor([1.0, 2.0], dtype=cr.float64))
    theirs = repr(torch.tensor([1.0, 2.0], dtype=torch.float64))
    assert ours == theirs.replace("torch.", "chainrule.")


def test_bfloat16_is_named_but_refused_for_compute():
    for make in (lambda: cr.zeros(2, dtype=cr.bfloat16),
                 lambda: cr.tensor([1.0]).to(cr.bfloat16),
                 lambda: cr.tensor([1.0], dtype="bfloat16"),
                 lambda: np.dtype(cr.bfloat16)):
        with pytest.raises(TypeError, match="bfloat16 is not supported for compute.*NumPy"):
            make()
    assert cr.bfloat16 != cr.float16 and cr.bfloat16 != np.float32
    assert cr.bfloat16 == cr.bfloat16


def test_default_dtype_and_info():
    assert str(cr.get_default_dtype()) == "chainrule.float32"
    try:
        cr.set_default_dtype(cr.float64)
        assert cr.get_default_dtype() == cr.float64 and cr.tensor([1.0]).dtype == cr.float64
    finally:
        cr.set_default_dtype(cr.float32)
    assert cr.finfo(cr.float32).eps == torch.finfo(torch.float32).eps
    assert cr.finfo(cr.float16).max == torch.finfo(torch.float16).max
    assert cr.finfo().eps == torch.finfo().eps
    assert cr.iinfo(cr.int64).max == torch.iinfo(torch.int64).max


def test_unknown_dtype_names_are_refused():
    with pytest.raises(TypeError, match="unknown dtype"):
        cr.zeros(2, dtype="float128")
