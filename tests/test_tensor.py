"""The Tensor API: attributes, conversions, dtype policy, repr, in-place ops."""

import numpy as np
import pytest
import torch

import chainrule as cr
from oracle import assert_close, to_torch


def test_attributes():
    x = cr.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    assert isinstance(x._array, np.ndarray)
    assert x.grad is None and x.requires_grad and x.grad_fn is None and x.is_leaf
    assert x.shape == (2, 3) and x.ndim == 2 and x.dim() == 2
    assert x.dtype == cr.float32 == np.float32
    assert x.device == "cpu"
    assert x.size() == (2, 3) and x.size(1) == 3 and x.size(-1) == 3
    assert x.numel() == 6 and len(x) == 2
    y = x * 2
    assert not y.is_leaf and y.grad_fn is not None and y.requires_grad
    assert y.grad_fn.name == "mul"


def test_T_and_methods_match_torch():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    assert_close(cr.tensor(a).T, to_torch(a).T)
    b = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    assert_close(cr.tensor(b).mT, to_torch(b).mT)
    v = cr.tensor([1.0, 2.0])
    assert v.T.shape == (2,)


def test_item_tolist_numpy():
    x = cr.tensor([[1.5, 2.0]])
    assert x.tolist() == [[1.5, 2.0]]
    assert cr.tensor(3.5).item() == 3.5 and isinstance(cr.tensor(3.5).item(), float)
    assert cr.tensor([7]).item() == 7 and isinstance(cr.tensor([7]).item(), int)
    with pytest.raises(ValueError, match=r"item.*\(1, 2\)"):
        x.item()
    arr = x.numpy()
    assert isinstance(arr, np.ndarray) and arr.dtype == np.float32
    w = cr.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="detach"):
        w.numpy()
    assert w.detach().numpy().tolist() == [1.0]
    assert float(cr.tensor(2.5)) == 2.5 and int(cr.tensor(3)) == 3
    assert np.asarray(x).shape == (1, 2)


def test_detach_shares_data_and_cuts_graph():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    d = y.detach()
    assert d.grad_fn is None and not d.requires_grad and d.is_leaf
    assert np.shares_memory(d._array, y._array)
    (d * x).sum().backward()
    np.testing.assert_allclose(x.grad._array, [2.0, 4.0])


def test_requires_grad_():
    x = cr.tensor([1.0, 2.0])
    assert x.requires_grad_() is x and x.requires_grad
    x.requires_grad_(False)
    assert not x.requires_grad
    x.requires_grad = True
    assert x.requires_grad
    y = x * 2
    with pytest.raises(RuntimeError, match="non-leaf"):
        y.requires_grad = False


def test_integer_and_bool_tensors_cannot_require_grad():
    for data, dtype in (([1, 2], None), ([True], None), ([1.0], cr.int64)):
        with pytest.raises(RuntimeError, match=r"requires_grad.*floating.*int64|bool"):
            cr.tensor(data, dtype=dtype, requires_grad=True)
    x = cr.tensor([1, 2])
    with pytest.raises(RuntimeError, match="int64"):
        x.requires_grad_()
    with pytest.raises(RuntimeError, match="int64"):
        cr.arange(5, requires_grad=True)


def test_dtype_policy_matches_torch():
    cases = [1.5, [1.0, 2.0], [[1, 2]], [True, False], 3, [1, 2.5]]
    for data in cases:
        assert cr.tensor(data).dtype == torch.tensor(data).numpy().dtype, data
    # NumPy arrays keep their dtype, like torch.from_numpy / torch.tensor(ndarray)
    for dtype in (np.float64, np.float32, np.int32, np.int64, np.bool_, np.uint8):
        a = np.zeros(3, dtype=dtype)
        assert cr.tensor(a).dtype == torch.tensor(a).numpy().dtype
    assert cr.tensor([1, 2], dtype=cr.float64).dtype == np.float64
    assert cr.tensor([1, 2], dtype="float32").dtype == np.float32
    assert cr.tensor([1.7], dtype=cr.int64).tolist() == [1]


def test_tensor_copies_its_input():
    a = np.array([1.0, 2.0])
    t = cr.tensor(a)
    a[0] = 99
    assert t.tolist() == [1.0, 2.0]
    u = cr.tensor(t)
    u._array[0] = 5
    assert t.tolist() == [1.0, 2.0]


def test_float64_works_end_to_end():
    x = cr.tensor([0.1, 0.2], dtype=cr.float64, requires_grad=True)
    y = (x.exp() @ x + x.sum() * 0.5).sigmoid()
    y.backward()
    assert y.dtype == np.float64 and x.grad.dtype == np.float64


def test_to_and_casts():
    x = cr.tensor([1.5, -2.5], requires_grad=True)
    d = x.double()
    assert d.dtype == np.float64 and d.grad_fn is not None
    d.sum().backward()
    assert x.grad.dtype == np.float32
    assert x.to(cr.float64).dtype == np.float64
    assert x.to("cpu") is x
    assert x.float() is x
    assert x.detach().long().tolist() == [1, -2] and x.detach().long().dtype == np.int64
    assert x.detach().int().dtype == np.int32
    assert x.detach().bool().tolist() == [True, True]
    assert_close(cr.tensor([1.7, -1.7]).long(), torch.tensor([1.7, -1.7]).long())


REPRS = [
    (lambda m: m.tensor([1.0, 2.0])),
    (lambda m: m.tensor([[1.5, -2.25], [3.0, 4.0]])),
    (lambda m: m.tensor([1, 2, 3])),
    (lambda m: m.tensor(2.5)),
    (lambda m: m.tensor([1.0, 2.0], requires_grad=True)),
    (lambda m: m.tensor([1.0, 2.0], dtype=m.float64)),
    (lambda m: m.tensor([True, False])),
    (lambda m: m.tensor([1e-5, 1.0])),
    (lambda m: m.tensor([float("nan"), 1.5, float("inf")])),
    (lambda m: m.tensor([[0.1234567, 12.5]])),
]


@pytest.mark.parametrize("make", REPRS)
def test_repr_like_torch(make):
    # the same text, with chainrule's dtypes named as chainrule's
    assert repr(make(cr)) == repr(make(torch)).replace("torch.", "chainrule.")


def test_repr_of_non_leaf_names_grad_fn():
    y = cr.tensor([1.0], requires_grad=True) * 2
    r = repr(y)
    assert r.startswith("tensor([2.]") and "grad_fn=<MulBackward" in r


def test_bool_and_len_errors():
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(cr.tensor([1.0, 2.0]))
    assert bool(cr.tensor([1.0])) and not bool(cr.tensor(0.0))
    with pytest.raises(TypeError, match="0-d"):
        len(cr.tensor(1.0))


def test_iteration_and_index_protocol():
    x = cr.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    rows = list(x)
    assert [r.tolist() for r in rows] == [[1.0, 2.0], [3.0, 4.0]]
    sum(r.sum() for r in rows).backward()
    np.testing.assert_allclose(x.grad._array, np.ones((2, 2)))
    assert [10, 20, 30][cr.tensor(1)] == 20


# --- in-place ops: outside the graph -------------------------------------------------------------

INPLACE = [
    ("add_", lambda t, o: t.add_(o)),
    ("add_alpha", lambda t, o: t.add_(o, alpha=-0.5)),
    ("sub_", lambda t, o: t.sub_(o)),
    ("sub_alpha", lambda t, o: t.sub_(o, alpha=2.0)),
    ("mul_", lambda t, o: t.mul_(o)),
    ("div_", lambda t, o: t.div_(o)),
    ("add_scalar", lambda t, o: t.add_(1.5)),
    ("mul_scalar", lambda t, o: t.mul_(0.5)),
    ("zero_", lambda t, o: t.zero_()),
    ("fill_", lambda t, o: t.fill_(2.25)),
    ("copy_", lambda t, o: t.copy_(o)),
    ("copy_broadcast", lambda t, o: t.copy_(o[0])),
    ("setitem", lambda t, o: t.__setitem__((0, slice(1, 3)), 7.0)),
    ("setitem_tensor", lambda t, o: t.__setitem__(1, o[0])),
    ("clamp_", lambda t, o: t.clamp_(-0.5, 0.5)),
]


@pytest.mark.parametrize("name,fn", INPLACE, ids=[r[0] for r in INPLACE])
def test_in_place_vs_torch(name, fn):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((2, 3)).astype(np.float32)
    b = rng.uniform(0.5, 2, (2, 3)).astype(np.float32)
    x, t = cr.tensor(a), to_torch(a)
    v0 = x._version
    out = fn(x, cr.tensor(b))
    fn(t, torch.from_numpy(b))
    assert out is x or name.startswith("setitem")
    assert_close(x, t)
    assert x._version > v0
    assert x.grad_fn is None


def test_in_place_keeps_dtype_and_memory():
    x = cr.zeros(3)
    before = x._array
    x.add_(cr.tensor([1, 2, 3]))
    x.copy_(np.array([1.0, 2.0, 3.0]))
    assert x._array is before and x.dtype == np.float32


def test_in_place_under_no_grad_on_parameters():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward()
    with cr.no_grad():
        w.sub_(w.grad, alpha=0.1)
    np.testing.assert_allclose(w._array, [0.8, 1.6], rtol=1e-6)
    assert w.is_leaf and w.requires_grad
    w.grad.zero_()
    assert w.grad.tolist() == [0.0, 0.0]


def test_augmented_assignment_inside_graph_is_out_of_place():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    h = w * 1
    h += 2
    h *= w
    h.sum().backward()
    np.testing.assert_allclose(w.grad._array, 2 * w._array + 2)
    c = cr.tensor([1.0, 2.0])
    data = c._array
    c += 1
    assert c._array is data and c.tolist() == [2.0, 3.0]


def test_augmented_assignment_under_no_grad_updates_the_leaf_in_place():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward()
    same, data = w, w._array
    with cr.no_grad():
        w -= 0.5 * w.grad
        w *= 2
        w += 1
        w /= 2
    assert w is same and w._array is data and w.requires_grad and w.is_leaf
    np.testing.assert_allclose(w._array, [0.5, 0.5])


# --- 0-d tensors ---------------------------------------------------------------------------------

def test_zero_dim_tensors_through_ops_vs_torch():
    from oracle import check_op
    check_op([(), ()], lambda a, b: (a * b + a.exp()) / (b * b + 1))
    check_op([(), (3,)], lambda a, b: a * b)
    check_op([()], lambda a: a.sigmoid().log())
    check_op([(), (2, 3)], lambda a, b: torch.where(b > 0, a, b), lambda a, b: cr.where(b > 0, a, b))
    x = cr.tensor(3.0, requires_grad=True)
    y = x * x
    assert y.shape == () and isinstance(y._array, np.ndarray)
    y.backward()
    assert x.grad.shape == () and isinstance(x.grad._array, np.ndarray) and x.grad.item() == 6.0


def test_tensor_class_constructor():
    t = cr.Tensor([1.0, 2.0], requires_grad=True)
    assert t.dtype == np.float32 and t.requires_grad and t.is_leaf
    assert cr.Tensor(np.arange(3)).dtype == np.int64
    assert cr.Tensor([1, 2], dtype=cr.float64).dtype == np.float64
    assert cr.is_tensor(t) and not cr.is_tensor(np.zeros(2)) and cr.numel(t) == 2
    t.retain_grad()  # a leaf keeps its grad anyway
    (t * 2).sum().backward()
    np.testing.assert_allclose(t.grad._array, [2.0, 2.0])
