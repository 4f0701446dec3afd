"""Tensor factories against torch's (values, shapes, dtypes) and seeded reproducibility."""

import numpy as np
import pytest
import torch

import chainrule as cr
from oracle import assert_close

DETERMINISTIC = [
    ("zeros", lambda m: m.zeros(2, 3)),
    ("zeros_tuple", lambda m: m.zeros((2, 3))),
    ("zeros_list", lambda m: m.zeros([4])),
    ("zeros_0d", lambda m: m.zeros(())),
    ("zeros_f64", lambda m: m.zeros(2, dtype=m.float64)),
    ("zeros_int", lambda m: m.zeros(2, dtype=m.int64)),
    ("ones", lambda m: m.ones(3, 1)),
    ("ones_f64", lambda m: m.ones((2,), dtype=m.float64)),
    ("full_float", lambda m: m.full((2, 2), 1.5)),
    ("full_int", lambda m: m.full((2,), 7)),
    ("full_bool", lambda m: m.full((2,), True)),
    ("full_dtype", lambda m: m.full((3,), 2, dtype=m.float32)),
    ("arange", lambda m: m.arange(5)),
    ("arange_start", lambda m: m.arange(2, 7)),
    ("arange_step", lambda m: m.arange(1, 10, 3)),
    ("arange_float", lambda m: m.arange(0, 1, 0.25)),
    ("arange_float_end", lambda m: m.arange(2.5)),
    ("arange_neg", lambda m: m.arange(5, 0, -2)),
    ("arange_dtype", lambda m: m.arange(4, dtype=m.float32)),
    ("linspace", lambda m: m.linspace(0, 1, 5)),
    ("linspace_neg", lambda m: m.linspace(-2, 3, 7)),
    ("linspace_f64", lambda m: m.linspace(0, 1, 4, dtype=m.float64)),
    ("eye", lambda m: m.eye(3)),
    ("eye_rect", lambda m: m.eye(2, 4)),
    ("zeros_like", lambda m: m.zeros_like(m.ones(2, 3, dtype=m.float64))),
    ("ones_like", lambda m: m.ones_like(m.zeros(2, dtype=m.int64))),
    ("full_like", lambda m: m.full_like(m.zeros(2, 2), 3.5)),
    ("ones_like_dtype", lambda m: m.ones_like(m.zeros(2), dtype=m.float64)),
]


@pytest.mark.parametrize("name,make", DETERMINISTIC, ids=[r[0] for r in DETERMINISTIC])
def test_factory_matches_torch(name, make):
    assert_close(make(cr), make(torch), atol=0, rtol=3e-7)  # linspace may differ by an ulp


def test_empty_and_empty_like_shapes_and_dtypes():
    e = cr.empty(2, 3)
    assert e.shape == (2, 3) and e.dtype == np.float32
    assert cr.empty((4,), dtype=cr.float64).dtype == np.float64
    assert cr.empty_like(cr.zeros(2, dtype=cr.int64)).dtype == np.int64


def test_factories_with_requires_grad():
    for t in (cr.zeros(2, requires_grad=True), cr.ones(2, requires_grad=True),
              cr.randn(2, requires_grad=True), cr.rand(2, requires_grad=True),
              cr.full((2,), 1.0, requires_grad=True), cr.arange(0.0, 2.0, requires_grad=True),
              cr.linspace(0, 1, 3, requires_grad=True), cr.eye(2, requires_grad=True),
              cr.zeros_like(cr.ones(2), requires_grad=True)):
        assert t.requires_grad and t.is_leaf
        (t * 2).sum().backward()
        np.testing.assert_allclose(t.grad._array, 2.0)


def test_negative_size_errors():
    with pytest.raises(ValueError, match="negative"):
        cr.zeros(2, -1)
    with pytest.raises(ValueError, match="arange"):
        cr.arange(0, 5, 0)


def test_from_numpy_shares_memory_and_keeps_dtype():
    a = np.arange(6, dtype=np.float64).reshape(2, 3)
    t = cr.from_numpy(a)
    assert t.dtype == np.float64 and np.shares_memory(t._array, a)
    a[0, 0] = 42
    assert t._array[0, 0] == 42
    with pytest.raises(TypeError, match="from_numpy"):
        cr.from_numpy([1, 2])


RANDOM = [
    ("rand", lambda g: cr.rand(1000, generator=g)),
    ("randn", lambda g: cr.randn(10, 100, generator=g)),
    ("randint", lambda g: cr.randint(0, 10, (500,), generator=g)),
    ("randperm", lambda g: cr.randperm(50, generator=g)),
    ("rand_like", lambda g: cr.rand_like(cr.zeros(3, 4), generator=g)),
    ("randn_like", lambda g: cr.randn_like(cr.zeros(3, 4, dtype=cr.float64), generator=g)),
]


@pytest.mark.parametrize("name,draw", RANDOM, ids=[r[0] for r in RANDOM])
def test_generator_reproducibility(name, draw):
    a = draw(cr.Generator().manual_seed(123))
    b = draw(cr.Generator().manual_seed(123))
    c = draw(cr.Generator().manual_seed(124))
    np.testing.assert_array_equal(a._array, b._array)
    assert not np.array_equal(a._array, c._array)


@pytest.mark.parametrize("name,draw", RANDOM, ids=[r[0] for r in RANDOM])
def test_manual_seed_reproducibility(name, draw):
    cr.manual_seed(7)
    a, a2 = draw(None), draw(None)
    cr.manual_seed(7)
    b, b2 = draw(None), draw(None)
    np.testing.assert_array_equal(a._array, b._array)
    np.testing.assert_array_equal(a2._array, b2._array)
    assert not np.array_equal(a._array, a2._array)


def test_generators_are_independent_of_the_default():
    g = cr.Generator().manual_seed(5)
    first = cr.randn(4, generator=g)._array
    cr.manual_seed(0)
    cr.randn(100)  # draws on the default generator do not move g
    g2 = cr.Generator().manual_seed(5)
    np.testing.assert_array_equal(cr.randn(4, generator=g2)._array, first)
    g.manual_seed(5)
    np.testing.assert_array_equal(cr.randn(4, generator=g)._array, first)


def test_generator_state_round_trip():
    g = cr.Generator().manual_seed(9)
    cr.rand(3, generator=g)
    state = g.get_state()
    x = cr.rand(5, generator=g)._array
    g.set_state(state)
    np.testing.assert_array_equal(cr.rand(5, generator=g)._array, x)
    assert g.initial_seed() == 9


def test_random_distributions_and_dtypes():
    cr.manual_seed(0)
    u = cr.rand(20000)
    assert u.dtype == np.float32 and 0 <= u._array.min() and u._array.max() < 1
    assert abs(u._array.mean() - 0.5) < 0.01
    n = cr.randn(20000, dtype=cr.float64)
    assert n.dtype == np.float64
    assert abs(n._array.mean()) < 0.03 and abs(n._array.std() - 1) < 0.03
    i = cr.randint(3, 8, (2000,))
    assert i.dtype == np.int64 and set(np.unique(i._array)) == set(range(3, 8))
    assert cr.randint(5, size=(3,))._array.max() < 5
    p = cr.randperm(10)
    assert p.dtype == np.int64 and sorted(p.tolist()) == list(range(10))
    with pytest.raises(ValueError, match="randint"):
        cr.randint(5, 5, (2,))


def test_bernoulli_uses_the_generator():
    g = cr.Generator().manual_seed(1)
    a = cr.bernoulli(cr.full((1000,), 0.3), generator=g)
    assert a.dtype == np.float32 and set(np.unique(a._array)) <= {0.0, 1.0}
    assert abs(a._array.mean() - 0.3) < 0.05
    g.manual_seed(1)
    np.testing.assert_array_equal(cr.bernoulli(cr.full((1000,), 0.3), generator=g)._array, a._array)


def test_default_dtype_can_be_float64():
    cr.set_default_dtype(cr.float64)
    try:
        assert cr.tensor([1.5]).dtype == np.float64
        assert cr.zeros(2).dtype == np.float64 and cr.randn(2).dtype == np.float64
        assert cr.get_default_dtype() == np.float64
    finally:
        cr.set_default_dtype(cr.float32)
    assert cr.tensor([1.5]).dtype == np.float32
    with pytest.raises(TypeError, match="set_default_dtype"):
        cr.set_default_dtype(cr.int64)
