"""The Tensor API: attributes, conversions, dtype policy, repr, in-place ops."""

import numpy as np
import pytest
import torch

import chainrule as cr
from custom_functions import Cube
from oracle import assert_close, to_torch

INF, NAN = float("inf"), float("nan")


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
    # The format comes from the finite nonzero values only: zeros, infs and nans never widen
    # the columns nor switch the mode (torch's _Formatter); rows wrap at 80 columns.
    (lambda m: m.tensor([[0.0, -INF, -INF], [0.0, 0.0, -INF], [0.0, 0.0, 0.0]])),
    (lambda m: m.tensor([0.0, -INF, 5.0])),
    (lambda m: m.tensor([[0.0, NAN, 12.0], [INF, -1.0, 0.0]])),
    (lambda m: m.tensor([0.0, NAN])),
    (lambda m: m.tensor([NAN, NAN])),
    (lambda m: m.tensor([-INF])),
    (lambda m: m.tensor([1.5, INF, 0.0])),
    (lambda m: m.tensor([1e10, 0.0])),
    (lambda m: m.tensor([[1e-8, NAN], [INF, 3.0]])),
    (lambda m: m.tensor([0.1, 100000.0, 0.0])),
    (lambda m: m.tensor([-0.0, 1.0])),
    (lambda m: m.tensor(-INF)),
    (lambda m: m.arange(40.0)),
    (lambda m: m.arange(30)),
    (lambda m: m.linspace(-3, 3, 30).reshape(3, 10)),
    (lambda m: m.arange(2000.0).reshape(40, 50)),
    (lambda m: m.linspace(-1, 1, 12 ** 3).reshape(12, 12, 12)),
    (lambda m: m.zeros(0, 3)),
    (lambda m: m.zeros(0, dtype=m.int64)),
    (lambda m: m.zeros(2, 0, requires_grad=True)),
    (lambda m: m.nn.Transformer.generate_square_subsequent_mask(3)),
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
    t = cr.Tensor([1.0, 2.0])
    t.requires_grad = True  # micrograd's idiom: the legacy constructor takes no requires_grad
    assert t.dtype == np.float32 and t.requires_grad and t.is_leaf
    assert cr.is_tensor(t) and not cr.is_tensor(np.zeros(2)) and cr.numel(t) == 2
    t.retain_grad()  # a leaf keeps its grad anyway
    (t * 2).sum().backward()
    np.testing.assert_allclose(t.grad._array, [2.0, 2.0])


LEGACY_CALLS = [
    "T()", "T(3)", "T(2, 3)", "T(0)", "T((2, 3))", "T([2, 3])", "T([[1, 2], [3, 4]])", "T([])",
    "T([True, False])", "T(np.arange(3))", "T(np.ones(2))", "T(np.array(3))",
    "T(np.array([True]))", "T([1.5], device='cpu')", "T(2, 3, device='cpu')",
]
LEGACY_REFUSED = ["T(2.5)", "T(True)", "T(np.float32(2.5))", "T(-1)",
                  "T([1.0], requires_grad=True)", "T([1, 2], dtype=D)"]


@pytest.mark.parametrize("call", LEGACY_CALLS)
def test_legacy_tensor_constructor_as_torch(call):
    """``torch.Tensor(...)``: sizes give an uninitialized float32 tensor, data a float32
    copy (micrograd and the 60-minute blitz build tensors this way)."""
    ours = eval(call, {"T": cr.Tensor, "np": np})
    theirs = eval(call, {"T": torch.Tensor, "np": np})
    assert ours.dtype == np.float32 and tuple(ours.shape) == tuple(theirs.shape)
    assert not ours.requires_grad
    if "np.arange" in call or "[" in call:  # data, not sizes: the values too
        np.testing.assert_array_equal(ours._array, theirs.numpy())


@pytest.mark.parametrize("call", LEGACY_REFUSED)
def test_legacy_tensor_constructor_refuses_as_torch(call):
    with pytest.raises(Exception) as theirs:
        eval(call, {"T": torch.Tensor, "np": np, "D": torch.float64})
    with pytest.raises(type(theirs.value)):
        eval(call, {"T": cr.Tensor, "np": np, "D": cr.float64})


def test_legacy_tensor_constructor_shares_memory_as_torch():
    t = cr.arange(3)  # a Tensor: the same memory, its own dtype (int64 stays int64)
    u = cr.Tensor(t)
    assert u.dtype == cr.int64 and u.data_ptr() == t.data_ptr()
    assert torch.Tensor(torch.arange(3)).dtype == torch.int64
    a = np.ones(2, np.float32)  # a float32 array is shared, as torch shares it
    v = cr.Tensor(a)
    a[0] = 5
    assert v[0].item() == 5.0
    assert cr.Tensor([2.0]).double().dtype == cr.float64  # micrograd's comparison


# --- issue 12: the Tensor API that tutorials use ------------------------------------------------

def test_shape_is_a_size_like_torch():
    x = cr.zeros(2, 3)
    t = torch.zeros(2, 3)
    assert isinstance(x.shape, cr.Size) and isinstance(x.shape, tuple)
    assert repr(x.shape) == repr(t.shape).replace("torch", "chainrule") == "chainrule.Size([2, 3])"
    assert str(x.size()) == "chainrule.Size([2, 3])"
    assert repr(cr.tensor(1.0).shape) == "chainrule.Size([])"
    assert x.shape == (2, 3) and x.shape == t.shape and x.shape != (3, 2)
    assert x.shape.numel() == t.shape.numel() == 6 and cr.Size([]).numel() == 1
    assert x.shape[1:] == t.shape[1:] and isinstance(x.shape[1:], cr.Size)
    assert isinstance(x.shape + (4,), cr.Size) and (4,) + x.shape == (4, 2, 3)
    assert x.shape[0] == 2 and isinstance(x.shape[-1], int)
    assert np.zeros(x.shape).shape == (2, 3) and cr.zeros(x.shape).shape == (2, 3)
    assert hash(x.shape) == hash((2, 3)) and {x.shape: 1}[(2, 3)] == 1


def test_format_like_torch():
    for value in (1.5, -0.25, 7):
        assert "{:+.2f}".format(cr.tensor(value)) == "{:+.2f}".format(torch.tensor(value))
        assert f"{cr.tensor(value)}" == f"{torch.tensor(value)}"
    assert "{:03d}".format(cr.tensor(7)) == "{:03d}".format(torch.tensor(7)) == "007"
    loss = cr.tensor(0.123456, requires_grad=True) * 2
    assert f"loss {loss:.4f}" == "loss 0.2469"
    assert f"{cr.tensor([1.5])}" == repr(cr.tensor([1.5]))  # an empty spec is str()
    with pytest.raises(TypeError, match="unsupported format string"):
        "{:.2f}".format(cr.tensor([1.5]))


def test_nelement_and_methods_of_issue_12():
    a = np.arange(1, 7, dtype=np.float32).reshape(2, 3)
    x, t = cr.tensor(a), torch.from_numpy(a)
    assert x.nelement() == t.nelement() == 6
    for name in ("square", "erf", "log2", "log10"):
        assert_close(getattr(x, name)(), getattr(t, name)())
    for got, want in zip(x.unbind(1), t.unbind(1)):
        assert_close(got, want)
    assert_close(x.flip(0, 1), t.flip(0, 1))
    assert_close(x.flip([1]), t.flip([1]))
    v, w = cr.tensor(a[0]), torch.from_numpy(a[0].copy())
    assert_close(v.dot(v), w.dot(w))
    assert_close(v.outer(v * 2), w.outer(w * 2))
    assert_close(x.histc(4), t.histc(4))
    assert_close(x.histogram(3).hist, t.histogram(3).hist)


REDUCTION_ALIASES = [  # PyTorch takes NumPy's axis= and keepdims= for dim= and keepdim=
    ("sum", lambda x: x.sum(axis=1, keepdims=True)),
    ("sum_fn", lambda x: _lib(x).sum(x, axis=0, keepdims=True)),
    ("sum_keepdims_only", lambda x: x.sum(1, keepdims=True)),
    ("mean", lambda x: x.mean(axis=(0, 1), keepdims=True)),
    ("prod", lambda x: x.prod(axis=1)),
    ("var", lambda x: x.var(axis=1, keepdims=True)),
    ("std", lambda x: x.std(axis=0)),
    ("max", lambda x: tuple(x.max(axis=1, keepdims=True))),
    ("min", lambda x: tuple(x.min(axis=0))),
    ("amax", lambda x: x.amax(axis=1, keepdims=True)),
    ("amin", lambda x: x.amin(axis=1)),
    ("argmax", lambda x: x.argmax(axis=1, keepdims=True)),
    ("argmin", lambda x: x.argmin(axis=0)),
    ("logsumexp", lambda x: x.logsumexp(axis=1, keepdims=True)),
    ("softmax", lambda x: x.softmax(axis=1)),
    ("log_softmax", lambda x: x.log_softmax(axis=0)),
    ("cumsum", lambda x: x.cumsum(axis=1)),
    ("cumprod", lambda x: x.cumprod(axis=0)),
    ("sort", lambda x: tuple(x.sort(axis=0))),
    ("argsort", lambda x: x.argsort(axis=1)),
    ("topk", lambda x: tuple(x.topk(2, axis=1))),
    ("unsqueeze", lambda x: x.unsqueeze(axis=0)),
    ("squeeze", lambda x: x.unsqueeze(0).squeeze(axis=0)),
    ("cat", lambda x: _lib(x).cat([x, x], axis=1)),
    ("stack", lambda x: _lib(x).stack([x, x], axis=1)),
    ("chunk", lambda x: tuple(x.chunk(2, axis=1))),
    ("unbind", lambda x: tuple(x.unbind(axis=1))),
    ("index_select", lambda x: x.index_select(axis=1, index=_index(x, [2, 0]))),
    ("gather", lambda x: x.gather(axis=1, index=_index(x, [[0], [2]]))),
]


def _lib(x):
    """torch for torch tensors, chainrule for chainrule's: one lambda for both."""
    return torch if isinstance(x, torch.Tensor) else cr


def _index(like, values):
    return torch.tensor(values) if isinstance(like, torch.Tensor) else cr.tensor(values)


@pytest.mark.parametrize("name,fn", REDUCTION_ALIASES, ids=[r[0] for r in REDUCTION_ALIASES])
def test_axis_and_keepdims_aliases_like_torch(name, fn):
    from oracle import check_op
    data = np.random.default_rng(3).permutation(12).astype(np.float32).reshape(3, 4) / 4
    check_op([(3, 4)], fn, inputs=[data])


def test_all_any_aliases_and_conflicts():
    b = np.array([[True, False], [True, True]])
    assert_close(cr.tensor(b).all(axis=1, keepdims=True),
                 torch.from_numpy(b).all(axis=1, keepdims=True))
    assert_close(cr.tensor(b).any(axis=0), torch.from_numpy(b).any(axis=0))
    with pytest.raises(TypeError, match="sum: got both dim= and its alias axis="):
        cr.ones(2, 3).sum(dim=0, axis=1)


KEYWORD_FORMS = [  # torch's own argument names, as keywords
    ("matmul", lambda m, x, y: m.matmul(input=x, other=y.T)),
    ("mm", lambda m, x, y: m.mm(input=x, mat2=y.T)),
    ("bmm", lambda m, x, y: m.bmm(input=x[None], mat2=y.T[None])),
    ("dot", lambda m, x, y: m.dot(input=x[0], tensor=y[0])),
    ("outer", lambda m, x, y: m.outer(input=x[0], vec2=y[1])),
    ("add", lambda m, x, y: m.add(input=x, other=y, alpha=2)),
    ("sub", lambda m, x, y: m.sub(input=x, other=y)),
    ("mul", lambda m, x, y: m.mul(input=x, other=y)),
    ("div", lambda m, x, y: m.div(input=x, other=y)),
    ("pow", lambda m, x, y: m.pow(input=x.abs(), exponent=y)),
    ("maximum", lambda m, x, y: m.maximum(input=x, other=y)),
    ("minimum", lambda m, x, y: m.minimum(input=x, other=y)),
    ("where", lambda m, x, y: m.where(condition=x > y, input=x, other=y)),
    ("eq", lambda m, x, y: m.eq(input=x, other=x)),
    ("lt", lambda m, x, y: m.lt(input=x, other=y)),
    ("method_matmul", lambda m, x, y: x.matmul(other=y.T)),
    ("method_add", lambda m, x, y: x.add(other=y)),
    ("method_mm", lambda m, x, y: x.mm(mat2=y.T)),
    ("method_bmm", lambda m, x, y: x[None].bmm(mat2=y.T[None])),
    ("method_pow", lambda m, x, y: x.abs().pow(exponent=2.5)),
    ("method_flip", lambda m, x, y: x.flip(dims=[1]) * y),
]


@pytest.mark.parametrize("name,fn", KEYWORD_FORMS, ids=[r[0] for r in KEYWORD_FORMS])
def test_keyword_forms_like_torch(name, fn):
    from oracle import check_op
    check_op([(2, 3), (2, 3)], lambda x, y: fn(torch, x, y), lambda x, y: fn(cr, x, y))


def test_randint_high_size_positional():
    g = cr.Generator().manual_seed(0)
    x = cr.randint(10, (3, 4), generator=g)
    assert x.shape == (3, 4) and x.dtype == np.int64
    assert int(x.min()) >= 0 and int(x.max()) < 10
    assert cr.randint(3, 5, (100,)).min().item() >= 3
    assert cr.randint(5, size=(2,)).shape == (2,) and cr.randint(4, [2, 2]).shape == (2, 2)
    assert cr.randint(2, 3, (2,)).tolist() == [2, 2]
    assert torch.randint(10, (3, 4)).shape == x.shape  # torch takes the same call


def _torch_name(t):
    return type(t.grad_fn).__name__


GRAD_FN_NAMES = [
    ("mul", lambda x, w, b: x * 2),
    ("add", lambda x, w, b: x + x),
    ("sub", lambda x, w, b: x - 1),
    ("div", lambda x, w, b: x / 3),
    ("neg", lambda x, w, b: -x),
    ("pow_scalar", lambda x, w, b: x ** 3),
    ("pow_tensor", lambda x, w, b: x ** x),
    ("rpow", lambda x, w, b: 2 ** x),
    ("exp", lambda x, w, b: x.exp()),
    ("tanh", lambda x, w, b: x.tanh()),
    ("sigmoid", lambda x, w, b: x.sigmoid()),
    ("relu", lambda x, w, b: x.relu()),
    ("clamp", lambda x, w, b: x.clamp(0, 1)),
    ("sum", lambda x, w, b: x.sum()),
    ("sum_dim", lambda x, w, b: x.sum(1)),
    ("mean", lambda x, w, b: x.mean()),
    ("mean_dim", lambda x, w, b: x.mean(0)),
    ("logsumexp", lambda x, w, b: x.logsumexp(1)),
    ("softmax", lambda x, w, b: x.softmax(1)),
    ("log_softmax", lambda x, w, b: x.log_softmax(1)),
    ("mm", lambda x, w, b: x @ w.T),
    ("dot", lambda x, w, b: x[0] @ x[0]),
    ("mv", lambda x, w, b: x @ x[0]),
    ("addmm", lambda x, w, b: _lib(x).nn.functional.linear(x, w, b)),
    ("view", lambda x, w, b: x.reshape(3, 2)),
    ("expand", lambda x, w, b: x.expand(2, 2, 3)),
    ("permute", lambda x, w, b: x.permute(1, 0)),
    ("select", lambda x, w, b: x[0]),
    ("slice", lambda x, w, b: x[:, 1:]),
    ("index", lambda x, w, b: x[[0, 0]]),
    ("cat", lambda x, w, b: _lib(x).cat([x, x])),
    ("to_double", lambda x, w, b: x.double()),
    ("cumsum", lambda x, w, b: x.cumsum(0)),
    ("cumprod", lambda x, w, b: x.cumprod(1)),
    ("roll", lambda x, w, b: x.roll(1, 0)),
    ("nll_loss", lambda x, w, b: _lib(x).nn.functional.cross_entropy(x, _index(x, [0, 1]))),
]


@pytest.mark.parametrize("name,fn", GRAD_FN_NAMES, ids=[r[0] for r in GRAD_FN_NAMES])
def test_grad_fn_names_like_torch(name, fn):
    a = np.ones((2, 3), dtype=np.float32)
    args_cr = [cr.tensor(a, requires_grad=True), cr.ones(4, 3, requires_grad=True),
               cr.ones(4, requires_grad=True)]
    args_t = [torch.ones(2, 3, requires_grad=True), torch.ones(4, 3, requires_grad=True),
              torch.ones(4, requires_grad=True)]
    got, want = fn(*args_cr), fn(*args_t)
    assert repr(got.grad_fn) == f"<{_torch_name(want)}>"
    assert f"grad_fn=<{_torch_name(want)}>" in repr(got)


def test_node_name_stays_for_errors_and_user_functions_keep_their_name():
    y = cr.ones(2, requires_grad=True) * 2
    assert y.grad_fn.name == "mul" and repr(y.grad_fn) == "<MulBackward0>"

    assert repr(Cube.apply(cr.ones(2, requires_grad=True)).grad_fn) == "<CubeBackward>"
