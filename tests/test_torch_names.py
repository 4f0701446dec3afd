"""More of torch's names, against torch: the legacy tensor types and ``Tensor.type``,
``set_printoptions``, ``testing.assert_close``, ``meshgrid`` and ``diag``."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import chainrule as cr

RNG = np.random.default_rng(7)
LEGACY = ["FloatTensor", "DoubleTensor", "HalfTensor", "LongTensor", "IntTensor", "ShortTensor",
          "CharTensor", "ByteTensor", "BoolTensor"]


def _same_dtype(c, t):
    return str(c.dtype).split(".")[1] == str(t.dtype).split(".")[1]


@pytest.mark.parametrize("name", LEGACY)
def test_legacy_types_build_as_torch(name):
    C, T = getattr(cr, name), getattr(torch, name)
    for args in ([[1, 0, 2]], [[1.7, 2.2]], [np.array([1, 2])], [(2, 3)]):
        c, t = C(*args), T(*args)
        assert _same_dtype(c, t)
        np.testing.assert_array_equal(c.numpy(), t.numpy())
    for args in ((2, 3), (4,), (cr.Size([2, 1]),)):
        targs = (torch.Size(args[0]),) if isinstance(args[0], cr.Size) else args
        assert tuple(C(*args).shape) == tuple(T(*targs).shape) and _same_dtype(C(*args), T(*targs))
    assert tuple(C().shape) == tuple(T().shape) == (0,)
    assert isinstance(C([1]), C) and isinstance(T([1]), T)


def test_legacy_isinstance_and_refusal():
    assert isinstance(cr.zeros(2), cr.FloatTensor) and isinstance(cr.zeros(2), cr.Tensor)
    assert not isinstance(cr.zeros(2, dtype=cr.float64), cr.FloatTensor)
    assert not isinstance(np.zeros(2, np.float32), cr.FloatTensor)
    with pytest.raises(TypeError, match=r"^FloatTensor\(\): expected a tensor of dtype"):
        cr.FloatTensor(cr.tensor([1, 2]))
    with pytest.raises(TypeError):
        torch.FloatTensor(torch.tensor([1, 2]))
    f = cr.zeros(2)
    assert cr.FloatTensor(f) is f


def test_tensor_type_as_torch():
    c, t = cr.arange(3), torch.arange(3)
    assert c.type() == "chainrule.LongTensor" and t.type() == "torch.LongTensor"
    assert cr.zeros(1, dtype=cr.bool).type() == "chainrule.BoolTensor"
    for to, tto in ((cr.FloatTensor, torch.FloatTensor), ("torch.DoubleTensor", "torch.DoubleTensor"),
                    ("chainrule.IntTensor", "torch.IntTensor"), (cr.float16, torch.float16)):
        got, want = c.type(to), t.type(tto)
        assert _same_dtype(got, want)
        np.testing.assert_array_equal(got.numpy(), want.numpy())
    assert c.type(cr.LongTensor) is c
    with pytest.raises(ValueError, match="^type: unknown tensor type 'torch.Foo'"):
        c.type("torch.Foo")
    x = cr.tensor([1.5, 2.5], requires_grad=True)
    (x.type(cr.DoubleTensor) * 2).sum().backward()  # a cast in the graph
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0])


VALUES = [np.array([1 / 3, 2.5, -100.125]), np.array([1.0, 2.0, 3.0]),
          np.array([1e-5, 1.0, 12345.0]), np.arange(12.0).reshape(3, 4) / 7, np.arange(30.0),
          np.array([0.0, np.inf, np.nan, 1.5])]
OPTIONS = [dict(precision=2), dict(sci_mode=True), dict(sci_mode=False), dict(threshold=5),
           dict(threshold=5, edgeitems=1), dict(linewidth=30), dict(profile="short"),
           dict(profile="full"), dict(precision=6, sci_mode=True), dict(precision=0)]


@pytest.fixture
def restore_printoptions():
    yield
    cr.set_printoptions(profile="default")
    torch.set_printoptions(profile="default")


@pytest.mark.parametrize("options", OPTIONS, ids=str)
def test_set_printoptions_prints_as_torch(options, restore_printoptions):
    cr.set_printoptions(**options)
    torch.set_printoptions(**options)
    for v in VALUES:
        v = v.astype(np.float32)
        assert repr(cr.tensor(v)) == repr(torch.tensor(v)).replace("torch", "chainrule")


def test_set_printoptions_refuses_bad_values(restore_printoptions):
    with pytest.raises(ValueError, match="^set_printoptions: profile must be one of"):
        cr.set_printoptions(profile="long")
    with pytest.raises(ValueError, match="^set_printoptions: precision must be"):
        cr.set_printoptions(precision=-1)
    cr.set_printoptions(precision=1)
    cr.set_printoptions(profile="default")
    assert repr(cr.tensor([1 / 3])) == "tensor([0.3333])"


def test_assert_close_as_torch():
    pairs = [
        (cr.tensor([1.0, 2.0]), cr.tensor([1.0, 2.0 + 1e-6])),    # within float32's tolerance
        (cr.tensor([1.0, 2.0]), cr.tensor([1.0, 2.1])),
        (cr.tensor([1.0], dtype=cr.float64), cr.tensor([1.0 + 1e-6], dtype=cr.float64)),
        (cr.tensor([1, 2]), cr.tensor([1, 3])),
        (cr.tensor([float("nan")]), cr.tensor([float("nan")])),
        (cr.tensor([1.0]), cr.tensor([1.0], dtype=cr.float64)),   # dtypes differ
        (cr.tensor([1.0, 2.0]), cr.tensor([[1.0, 2.0]])),          # shapes differ
        ([cr.tensor([1.0]), cr.tensor([2.0])], [cr.tensor([1.0]), cr.tensor([2.0])]),
        ({"a": cr.tensor([1.0])}, {"a": cr.tensor([1.5])}),
    ]

    def to_torch(x):
        if isinstance(x, cr.Tensor):
            return torch.from_numpy(np.array(x.numpy()))
        if isinstance(x, list):
            return [to_torch(v) for v in x]
        return {k: to_torch(v) for k, v in x.items()}

    for a, e in pairs:
        outcomes = []
        for fn, args in ((cr.testing.assert_close, (a, e)),
                         (torch.testing.assert_close, (to_torch(a), to_torch(e)))):
            try:
                fn(*args)
                outcomes.append("close")
            except AssertionError:
                outcomes.append("not close")
        assert outcomes[0] == outcomes[1], (a, e, outcomes)
    cr.testing.assert_close(cr.tensor([float("nan")]), cr.tensor([float("nan")]), equal_nan=True)
    cr.testing.assert_close(cr.tensor([1.0]), cr.tensor([1.5]), rtol=0.0, atol=0.6)
    with pytest.raises(AssertionError, match=r"(?s)^Tensor-likes are not close!.*Mismatched elements: 1 / 2"):
        cr.testing.assert_close(cr.tensor([1.0, 2.0]), cr.tensor([1.0, 2.5]))


@pytest.mark.parametrize("indexing", ["ij", "xy"])
@pytest.mark.parametrize("sizes", [(3,), (3, 2), (3, 2, 4)])
def test_meshgrid_values_and_gradients(indexing, sizes):
    vecs = [RNG.standard_normal(n) for n in sizes]
    cs = [cr.tensor(v, requires_grad=True) for v in vecs]
    ts = [torch.tensor(v, requires_grad=True) for v in vecs]
    got, want = cr.meshgrid(*cs, indexing=indexing), torch.meshgrid(*ts, indexing=indexing)
    assert len(got) == len(want)
    w = RNG.standard_normal(tuple(want[0].shape))
    for g, t in zip(got, want):
        np.testing.assert_array_equal(g.detach().numpy(), t.detach().numpy())
    sum(g * cr.tensor(w) * (i + 1) for i, g in enumerate(got)).sum().backward()
    sum(t * torch.tensor(w) * (i + 1) for i, t in enumerate(want)).sum().backward()
    for c, t in zip(cs, ts):
        np.testing.assert_allclose(c.grad.numpy(), t.grad.numpy())
    assert [tuple(g.shape) for g in cr.meshgrid(cs, indexing=indexing)] == \
        [tuple(t.shape) for t in want]  # a list of tensors, as torch takes too


@pytest.mark.parametrize("k", [0, 1, -1, 2, -3])
@pytest.mark.parametrize("shape", [(4,), (3, 4), (4, 3), (3, 3)])
def test_diag_values_gradients_and_second_derivatives(shape, k):
    a = RNG.standard_normal(shape)
    if len(shape) == 2 and not -shape[0] < k < shape[1]:
        pytest.skip("an empty diagonal")
    c, t = cr.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    d, td = cr.diag(c, k), torch.diag(t, k)
    np.testing.assert_array_equal(d.detach().numpy(), td.detach().numpy())
    w = RNG.standard_normal(tuple(td.shape))
    (d * cr.tensor(w)).sum().backward()
    (td * torch.tensor(w)).sum().backward()
    np.testing.assert_array_equal(c.grad.numpy(), t.grad.numpy())
    assert cr.autograd.gradgradcheck(lambda x: cr.diag(x, k) ** 2, (cr.tensor(a, requires_grad=True),))


def test_diag_refusals():
    with pytest.raises(ValueError, match=r"^diag: expects a 1-D or 2-D tensor, got shape \(2, 2, 2\)"):
        cr.diag(cr.zeros(2, 2, 2))
    with pytest.raises(TypeError, match="^diag: diagonal must be an int"):
        cr.diag(cr.zeros(2), 1.0)
