"""Lines from course code that stopped under chainrule (a sweep of makemore, the PyTorch
basics, d2l and CS231n-style scripts), each now checked against torch 2.13."""

import warnings

import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.nn.functional as F


@pytest.mark.parametrize("name", ["randn", "rand", "zeros", "ones", "empty"])
@pytest.mark.parametrize("size", [(), (2, 3), [4]])
def test_size_keyword_as_torch(name, size):
    """d2l writes ``torch.randn(size=(), requires_grad=True)``: the same draws as the
    positional form (torch's stream), and both forms at once are refused."""
    cr.manual_seed(5)
    torch.manual_seed(5)
    ours = getattr(cr, name)(size=size)
    theirs = getattr(torch, name)(size=size)
    assert tuple(ours.shape) == tuple(theirs.shape) and ours.dtype == cr.float32
    if name != "empty":
        np.testing.assert_array_equal(ours._array, theirs.numpy())
    with pytest.raises(TypeError):
        getattr(cr, name)(2, size=(2,))
    assert getattr(cr, name)(size=(2,), requires_grad=name != "empty").shape == (2,)


def test_one_hot_by_scatter_of_a_0d_index_as_torch():
    """Learn the Basics' target_transform: ``zeros(10).scatter_(0, tensor(y), value=1)``."""
    ours = cr.zeros(10, dtype=cr.float32).scatter_(0, cr.tensor(2), value=1)
    theirs = torch.zeros(10, dtype=torch.float).scatter_(0, torch.tensor(2), value=1)
    np.testing.assert_array_equal(ours._array, theirs.numpy())
    x = cr.zeros(4, requires_grad=True)
    s = cr.tensor(5.0, requires_grad=True)
    tx = torch.zeros(4, requires_grad=True)
    ts = torch.tensor(5.0, requires_grad=True)
    (x.scatter(0, cr.tensor(1), s) * cr.arange(4.0)).sum().backward()
    (tx.scatter(0, torch.tensor(1), ts) * torch.arange(4.0)).sum().backward()
    np.testing.assert_array_equal(x.grad._array, tx.grad.numpy())
    assert s.grad.shape == () and s.grad.item() == ts.grad.item()
    added = cr.zeros(4).scatter_add(0, cr.tensor(3), cr.tensor(2.0))
    np.testing.assert_array_equal(
        added._array, torch.zeros(4).scatter_add(0, torch.tensor(3), torch.tensor(2.0)).numpy())
    with pytest.raises(ValueError, match="index has 0 dims but the input has 2"):
        cr.zeros(2, 3).scatter_(0, cr.tensor(1), value=1)  # torch refuses it too


@pytest.mark.parametrize("loss", ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"])
def test_regression_loss_broadcast_warns_as_torch(loss):
    """A (N, 1) prediction against a (N,) target: torch warns, then broadcasts."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((4, 1)).astype(np.float32)
    b = rng.standard_normal(4).astype(np.float32)
    with pytest.warns(UserWarning, match=r"Using a target size \(chainrule.Size\(\[4\]\)\) that "
                                         r"is different to the input size"):
        ours = getattr(F, loss)(cr.tensor(a), cr.tensor(b))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        theirs = getattr(torch.nn.functional, loss)(torch.tensor(a), torch.tensor(b))
    np.testing.assert_allclose(ours.item(), theirs.item(), rtol=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        getattr(F, loss)(cr.tensor(a), cr.tensor(a))  # the same shapes: no warning


def test_next_functions_as_torch():
    """The 60-minute blitz walks ``loss.grad_fn.next_functions[0][0]``."""
    x = cr.ones(2, requires_grad=True)
    w = cr.ones(2)
    y = (x * w).sum()
    tx = torch.ones(2, requires_grad=True)
    ty = (tx * torch.ones(2)).sum()
    (mul, nr), = y.grad_fn.next_functions
    (tmul, tnr), = ty.grad_fn.next_functions
    assert nr == tnr == 0 and repr(mul) == "<MulBackward0>" and type(tmul).__name__ == "MulBackward0"
    edges = mul.next_functions
    tedges = tmul.next_functions
    assert [type(f).__name__ if f is not None else None for f, _ in edges] == \
        [type(f).__name__ if f is not None else None for f, _ in tedges] == ["AccumulateGrad", None]
    assert edges[0][0].variable is x and edges[0][0].next_functions == ()


def _pair(shape_a, shape_b, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape_a)
    b = rng.standard_normal(shape_b)
    return ((cr.tensor(a, requires_grad=True), cr.tensor(b, requires_grad=True)),
            (torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)))


PRODUCTS = [
    ("mv", (3, 4), (4,), lambda m, a, b: m.mv(a, b)),
    ("inner", (2, 3), (4, 3), lambda m, a, b: m.inner(a, b)),
    ("inner of vectors", (3,), (3,), lambda m, a, b: m.inner(a, b)),
    ("vdot", (5,), (5,), lambda m, a, b: m.vdot(a, b)),
    ("cross dim 1", (4, 3), (4, 3), lambda m, a, b: m.cross(a, b, dim=1)),
    ("cross broadcast", (2, 1, 3), (1, 5, 3), lambda m, a, b: m.linalg.cross(a, b)),
    ("cross dim 0", (3, 2), (3, 2), lambda m, a, b: m.cross(a, b, dim=0)),
    ("dist", (2, 3), (2, 3), lambda m, a, b: m.dist(a, b)),
    ("dist p=1", (2, 3), (3,), lambda m, a, b: m.dist(a, b, 1)),
    ("dist p=3", (4,), (4,), lambda m, a, b: m.dist(a, b, 3)),
    ("addmv", (3,), (3, 4), lambda m, a, b: m.addmv(a, b, a[:1].expand(4) * 0 + 1, beta=2,
                                                    alpha=0.5)),
    ("ravel", (2, 3), (1,), lambda m, a, b: m.ravel(a.transpose(0, 1)) * b),
    ("Tensor.mv", (3, 4), (4,), lambda m, a, b: a.mv(b)),
    ("Tensor.cross", (4, 3), (4, 3), lambda m, a, b: a.cross(b, dim=-1)),
    ("Tensor.dist", (2, 3), (2, 3), lambda m, a, b: a.dist(b)),
    ("Tensor.ravel", (2, 3), (6,), lambda m, a, b: a.ravel() * b),
]


@pytest.mark.parametrize("case", PRODUCTS, ids=[c[0] for c in PRODUCTS])
def test_products_as_torch(case):
    """d2l's ``torch.mv`` and its neighbours: values and gradients (float64) as torch's."""
    _, sa, sb, f = case
    (a, b), (ta, tb) = _pair(sa, sb)
    ours, theirs = f(cr, a, b), f(torch, ta, tb)
    np.testing.assert_allclose(ours._array, theirs.detach().numpy(), rtol=1e-12, atol=1e-12)
    g = np.random.default_rng(1).standard_normal(tuple(theirs.shape))
    ours.backward(cr.tensor(g))
    theirs.backward(torch.tensor(g))
    for mine, torch_ in ((a, ta), (b, tb)):
        if torch_.grad is None:
            assert mine.grad is None or not np.any(mine.grad._array)
        else:
            np.testing.assert_allclose(mine.grad._array, torch_.grad.numpy(), rtol=1e-12,
                                       atol=1e-12)


def test_cross_without_dim_warns_and_takes_the_first_3_as_torch():
    (a, b), (ta, tb) = _pair((3, 3), (3, 3))
    with pytest.warns(UserWarning, match="without specifying the dim arg is deprecated"):
        ours = cr.cross(a, b)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        theirs = torch.cross(ta, tb)
    np.testing.assert_allclose(ours._array, theirs.detach().numpy(), rtol=1e-12)


@pytest.mark.parametrize("call", ["mv(ones(2, 3), ones(2))", "mv(ones(3), ones(3))",
                                  "cross(ones(2, 2), ones(2, 2), dim=1)",
                                  "cross(ones(3, 3), ones(3), dim=0)",
                                  "vdot(ones(2, 2), ones(2, 2))"])
def test_product_shape_errors_as_torch(call):
    with pytest.raises(RuntimeError):
        eval(call, {n: getattr(torch, n) for n in ("mv", "ones", "cross", "vdot")})
    with pytest.raises(RuntimeError, match=call.split("(")[0]):
        eval(call, {n: getattr(cr, n) for n in ("mv", "ones", "cross", "vdot")})


@pytest.mark.parametrize("args", [(10,), (2, 7)])
@pytest.mark.parametrize("dtype", ["float32", "int64"])
def test_randint_like_draws_as_torch(args, dtype):
    cr.manual_seed(3)
    torch.manual_seed(3)
    ours = cr.randint_like(cr.zeros(6, dtype=getattr(cr, dtype)), *args)
    theirs = torch.randint_like(torch.zeros(6, dtype=getattr(torch, dtype)), *args)
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
    np.testing.assert_array_equal(ours._array, theirs.numpy())


@pytest.mark.parametrize("dtype", ["int64", "int16", "int8", "uint8", "float32", "float64",
                                   "bool"])
def test_random_without_bounds_draws_as_torch(dtype):
    """``torch.empty((), dtype=torch.int64).random_()``: how DataLoader draws its seeds."""
    for seed in (0, 42, 2147483647):
        cr.manual_seed(seed)
        torch.manual_seed(seed)
        ours = cr.empty(7, dtype=getattr(cr, dtype)).random_()
        theirs = torch.empty(7, dtype=getattr(torch, dtype)).random_()
        np.testing.assert_array_equal(ours._array.astype(np.float64),
                                      theirs.numpy().astype(np.float64))
        np.testing.assert_array_equal(cr.rand(3)._array, torch.rand(3).numpy())
    with pytest.raises(TypeError, match="give the bounds"):
        cr.empty(2, dtype=cr.int32).random_()


OUT_CALLS = [
    ("matmul", lambda m, a, b: (a, b.T), (2, 3), (2, 3)),
    ("mul", lambda m, a, b: (a, b), (2, 3), (2, 3)),
    ("add", lambda m, a, b: (a, b), (2, 3), (3,)),
    ("sub", lambda m, a, b: (a, 2.0), (2, 3), (3,)),
    ("exp", lambda m, a, b: (a,), (4,), (1,)),
    ("sum", lambda m, a, b: (a, 0), (3, 2), (1,)),
    ("cat", lambda m, a, b: ([a, b],), (2,), (3,)),
    ("stack", lambda m, a, b: ([a, b],), (3,), (3,)),
    ("clamp", lambda m, a, b: (a, -0.5, 0.5), (5,), (1,)),
]


@pytest.mark.parametrize("case", OUT_CALLS, ids=[c[0] for c in OUT_CALLS])
def test_out_argument_as_torch(case):
    """The tensors tutorial: ``torch.matmul(tensor, tensor.T, out=y3)``."""
    name, args, sa, sb = case
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(sa).astype(np.float32), rng.standard_normal(sb).astype(np.float32)
    theirs = torch.empty(0)
    getattr(torch, name)(*args(torch, torch.tensor(a), torch.tensor(b)), out=theirs)
    ours = cr.empty(0)  # no elements: resized without a warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        returned = getattr(cr, name)(*args(cr, cr.tensor(a), cr.tensor(b)), out=ours)
    assert returned is ours
    np.testing.assert_allclose(ours._array, theirs.numpy(), rtol=1e-6)
    same = cr.zeros(tuple(theirs.shape))  # the right shape: written in place, memory kept
    ptr = same.data_ptr()
    getattr(cr, name)(*args(cr, cr.tensor(a), cr.tensor(b)), out=same)
    assert same.data_ptr() == ptr
    np.testing.assert_allclose(same._array, theirs.numpy(), rtol=1e-6)


def test_out_argument_refusals_as_torch():
    with pytest.warns(UserWarning, match="An output with one or more elements was resized"):
        out = cr.add(cr.ones(2), 1, out=cr.empty(5))
    assert out.shape == (2,)
    with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
        torch.add(torch.ones(2, requires_grad=True), 1, out=torch.empty(2))
    with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
        cr.add(cr.ones(2, requires_grad=True), 1, out=cr.empty(2))
    with cr.no_grad():  # no graph to record: torch allows it
        cr.mul(cr.ones(2, requires_grad=True), 3, out=cr.empty(2))
    with pytest.raises(RuntimeError, match="can't be cast to the desired output type"):
        torch.add(torch.ones(2), 1.5, out=torch.empty(2, dtype=torch.int64))
    with pytest.raises(RuntimeError, match="can't be cast to the desired output type"):
        cr.add(cr.ones(2), 1.5, out=cr.empty(2, dtype=cr.int64))
    assert cr.subtract(cr.ones(2), 1).tolist() == torch.subtract(torch.ones(2), 1).tolist()
    assert cr.multiply(cr.ones(2), 3).tolist() == torch.multiply(torch.ones(2), 3).tolist()


REPRS = [
    lambda m, a: m.tensor(a, requires_grad=True) * 2,                      # grad_fn wraps
    lambda m, a: m.tensor(a[0, :3], requires_grad=True) * 2,               # fits on the line
    lambda m, a: m.tensor(a.astype(np.float64)),                           # dtype wraps
    lambda m, a: m.tensor(a[:, :5], requires_grad=True).exp(),             # fits after "]]"
    lambda m, a: m.tensor(a, dtype=m.float64, requires_grad=True) + 1,     # both, one line
    lambda m, a: m.tensor(a[:, :2], dtype=m.float64, requires_grad=True) * 3,
]


@pytest.mark.parametrize("make", REPRS)
def test_repr_suffixes_wrap_as_torch(make):
    """GPT-from-scratch's ``print(wei[0])``: a suffix that would pass 80 columns goes on a
    line of its own, as torch prints it."""
    a = np.random.default_rng(0).standard_normal((2, 8)).astype(np.float32)
    ours = repr(make(cr, a))
    theirs = repr(make(torch, a)).replace("torch.", "chainrule.")
    if len(max(theirs.split("\n"), key=len)) <= 76:  # our dtype name is 4 longer: same lines
        assert ours == theirs
    assert [line.strip()[:9] for line in ours.split("\n")] == \
        [line.strip()[:9] for line in theirs.split("\n")]


@pytest.mark.parametrize("call", ["x.max(1)", "x.min(0)", "x.sort(1)", "x.topk(1, 1)",
                                  "x.median(1)", "m.aminmax(x)", "m.histogram(x.flatten(), 2)"])
def test_return_types_print_as_torch(call):
    x = [[1.0, 5.0], [7.0, 2.0]]
    ours = eval(call, {"x": cr.tensor(x), "m": cr})
    theirs = eval(call, {"x": torch.tensor(x), "m": torch})
    assert repr(ours) == repr(theirs).replace("torch.", "chainrule.")
    assert type(ours).__name__ == type(theirs).__name__ and len(ours) == len(theirs)
    for i, field in enumerate(ours._fields):  # by name and by position, as torch's
        assert getattr(ours, field) is ours[i]
        np.testing.assert_allclose(np.asarray(getattr(ours, field).tolist()),
                                   np.asarray(getattr(theirs, field).tolist()))


def test_load_state_dict_result_prints_as_torch():
    m, tm = cr.nn.Linear(2, 2), torch.nn.Linear(2, 2)
    assert repr(m.load_state_dict(m.state_dict())) == \
        repr(tm.load_state_dict(tm.state_dict())) == "<All keys matched successfully>"
    ours = m.load_state_dict({"weight": m.weight.detach()}, strict=False)
    theirs = tm.load_state_dict({"weight": tm.weight.detach()}, strict=False)
    assert repr(ours) == repr(theirs) and ours.missing_keys == ["bias"]


def test_grad_fn_name_as_torch():
    """The basics tutorial prints ``loss.grad_fn.name()``; chainrule's messages use
    ``grad_fn.name`` as the op's name, and both work."""
    x, tx = cr.ones(2, 3, requires_grad=True), torch.ones(2, 3, requires_grad=True)
    cases = [(lambda m, t: t * 2), (lambda m, t: t.cumsum(0)), (lambda m, t: t.sum()),
             (lambda m, t: m.nn.functional.cross_entropy(t, m.tensor([0, 1]))),
             (lambda m, t: t.exp())]
    for f in cases:
        ours, theirs = f(cr, x).grad_fn, f(torch, tx).grad_fn
        assert ours.name() == theirs.name()
        assert isinstance(ours.name, str) and f"{ours.name}" == str(ours.name)


@pytest.mark.parametrize("index", ["t", "t[1:]", "t[2]", "t[:, 1]", "t[1:, 2:]", "t.T", "t.T[1]",
                                   "t.reshape(-1)[3:]", "t[::2, 1]"])
def test_storage_offset_as_torch(index):
    ours = eval(index, {"t": cr.arange(12.0).reshape(3, 4)})
    theirs = eval(index, {"t": torch.arange(12.0).reshape(3, 4)})
    assert ours.storage_offset() == theirs.storage_offset()


@pytest.mark.parametrize("shape,dim,keepdim", [((2, 7), 1, False), ((2, 7), 0, False),
                                               ((4,), -1, False), ((3, 5, 6), 1, True),
                                               ((), 0, False), ((5, 9), -1, True)])
def test_mode_as_torch(shape, dim, keepdim):
    """The most frequent value (the smallest on ties) and its last index, as torch.mode."""
    a = np.random.default_rng(sum(shape)).integers(0, 4, shape).astype(np.float64)
    x, tx = cr.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    ours, theirs = cr.mode(x, dim, keepdim), torch.mode(tx, dim, keepdim)
    np.testing.assert_array_equal(ours.values._array, theirs.values.detach().numpy())
    np.testing.assert_array_equal(ours.indices._array, theirs.indices.numpy())
    g = np.random.default_rng(1).standard_normal(tuple(theirs.values.shape))
    ours.values.backward(cr.tensor(g))
    theirs.values.backward(torch.tensor(g))
    np.testing.assert_array_equal(x.grad._array, tx.grad.numpy())
    assert repr(x.mode(dim, keepdim)).startswith("chainrule.return_types.mode(")


def test_tensor_of_a_list_of_tensors_as_torch():
    """One-element tensors in a list are numbers; longer ones are refused (``cr.stack``
    joins tensors), as torch."""
    for items in ([1.0, [2.0]], [1, 2], [[3.0], 4.0]):
        ours = cr.tensor([cr.tensor(v) for v in items])
        theirs = torch.tensor([torch.tensor(v) for v in items])
        assert ours.tolist() == theirs.tolist()
        assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
    with pytest.raises(ValueError, match="only one element tensors"):
        torch.tensor([torch.ones(2), torch.ones(2)])
    with pytest.raises(ValueError, match="only one element tensors"):
        cr.tensor([cr.ones(2), cr.ones(2)])


@pytest.mark.parametrize("name", ["float32", "float64", "float16", "bfloat16"])
def test_finfo_as_torch(name):
    """``torch.finfo(torch.float32).min`` is a Python float (d2l prints it)."""
    ours, theirs = cr.finfo(getattr(cr, name)), torch.finfo(getattr(torch, name))
    for field in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution", "dtype"):
        assert getattr(ours, field) == getattr(theirs, field), field
        assert type(getattr(ours, field)) is type(getattr(theirs, field)), field
    assert repr(ours) == repr(theirs)
    assert cr.finfo().eps == torch.finfo().eps


@pytest.mark.parametrize("name", ["int8", "int16", "int32", "int64", "uint8"])
def test_iinfo_as_torch(name):
    ours, theirs = cr.iinfo(getattr(cr, name)), torch.iinfo(getattr(torch, name))
    for field in ("bits", "max", "min", "dtype"):
        assert getattr(ours, field) == getattr(theirs, field)
        assert type(getattr(ours, field)) is type(getattr(theirs, field))
    assert repr(ours) == repr(theirs)


OPTIMIZERS = ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "NAdam",
              "RAdam", "Rprop", "ASGD", "LBFGS", "SparseAdam"]


@pytest.mark.parametrize("name", OPTIMIZERS)
@pytest.mark.parametrize("flag,value", [("foreach", None), ("foreach", False),
                                        ("foreach", True), ("fused", None), ("fused", False),
                                        ("capturable", False), ("differentiable", False)])
def test_optimizer_implementation_flags_as_torch(name, flag, value):
    """``optim.AdamW(params, lr=1e-3, foreach=False)``: taken where torch's class takes it
    (one implementation here, so nothing changes), refused where torch's refuses it."""
    kwargs = {"lr": 0.1} if name in ("SGD",) else {}
    try:
        getattr(torch.optim, name)([torch.nn.Parameter(torch.ones(2))], **kwargs, **{flag: value})
        theirs = None
    except TypeError as exc:
        theirs = exc
    if theirs is not None:
        with pytest.raises(TypeError, match=f"unexpected keyword argument '{flag}'"):
            getattr(cr.optim, name)([cr.nn.Parameter(cr.ones(2))], **kwargs, **{flag: value})
        return
    p = cr.nn.Parameter(cr.ones(2))
    opt = getattr(cr.optim, name)([p], **kwargs, **{flag: value})
    p.grad = cr.ones(2)
    if name != "LBFGS":
        opt.step()
        reference = cr.nn.Parameter(cr.ones(2))
        plain = getattr(cr.optim, name)([reference], **kwargs)
        reference.grad = cr.ones(2)
        plain.step()
        np.testing.assert_array_equal(p._array, reference._array)


def test_optimizer_modes_chainrule_lacks_are_refused():
    p = [cr.nn.Parameter(cr.ones(2))]
    with pytest.raises(RuntimeError, match="capturable=True is for CUDA graphs"):
        cr.optim.Adam(p, capturable=True)
    with pytest.raises(NotImplementedError, match="differentiable=True"):
        cr.optim.SGD(p, lr=0.1, differentiable=True)
