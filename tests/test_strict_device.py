"""No NumPy-only path: ops, layers, optimizers and ``fit`` run on the strict test device.

The strict device (tests/strict_device.py) holds arrays that refuse to meet plain host
ndarrays, as CuPy's do: an ``np.zeros`` in op code that should have been ``xp.zeros``
raises here, on a CPU-only machine. Every check also asserts that results and gradients
stay on the device. The op tables are the other test modules' own rows, one shape each.
"""

import numpy as np
import pytest
import torch

import chainrule as cr
import strict_device as sd
from chainrule import backend, nn
from oracle import assert_on_device, check_op, check_second_order, to_numpy

import test_nn_functional as functional_tests
import test_nn_layers as layer_tests
import test_ops_elementwise as elementwise
import test_ops_inplace as inplace_tests
import test_ops_linalg as linalg
import test_ops_reduce as reduce_tests
import test_ops_scan as scan_tests
import test_ops_shape_index as shape_index
import test_ops_sorting as sorting_tests

DEVICE = sd.NAME


@pytest.fixture(autouse=True)
def strict():
    """Register the strict device for each test of this module, and only there."""
    sd.register()
    yield DEVICE
    sd.unregister()


# --- the harness itself: it must catch what it is meant to catch ------------------------------

def test_strict_arrays_refuse_host_arrays_naming_the_function():
    x = cr.ones(3, device=DEVICE)._array
    with pytest.raises(TypeError, match="strict device: add mixes"):
        x + np.ones(3)
    with pytest.raises(TypeError, match="concatenate"):
        np.concatenate([x, np.zeros(2)])
    with pytest.raises(TypeError, match="__setitem__"):
        x[...] = np.zeros(3)
    with pytest.raises(TypeError, match="__setitem__"):
        x[np.array([0, 1])] = np.ones(2)
    assert sd.is_strict(x[np.array([0, 1])])  # a host index array is copied over, as on CuPy
    with pytest.raises(TypeError, match="np.asarray of a strict"):
        np.asarray(x)
    with pytest.raises(TypeError, match="np.array of a strict"):
        np.array([x, x])
    # numbers and NumPy scalars mix, as on CuPy; results stay on the device
    assert sd.is_strict(x * 2.0 + np.float32(1)) and sd.is_strict(x.sum())
    assert sd.is_strict(np.concatenate([x, x])) and sd.is_strict(np.exp(x))


def test_the_device_is_known_only_while_registered():
    t = cr.zeros(2, 3, device=DEVICE)
    assert t.device == DEVICE and sd.is_strict(t._array)
    assert backend.get_array_module(t._array) is sd.strict
    assert type(t.to("cpu")._array) is np.ndarray and t.cpu().device == "cpu"
    assert sd.is_strict(cr.tensor([1.0, 2.0]).to(DEVICE)._array)
    sd.unregister()
    try:
        with pytest.raises(ValueError, match="unknown device"):
            cr.device(DEVICE)
    finally:
        sd.register()


FACTORIES = [
    ("zeros", lambda d: cr.zeros(2, 3, device=d)),
    ("ones", lambda d: cr.ones(4, device=d)),
    ("empty", lambda d: cr.empty(2, device=d)),
    ("full", lambda d: cr.full((2, 2), 1.5, device=d)),
    ("arange", lambda d: cr.arange(5, device=d)),
    ("linspace", lambda d: cr.linspace(0, 1, 5, device=d)),
    ("eye", lambda d: cr.eye(3, device=d)),
    ("rand", lambda d: cr.rand(3, device=d)),
    ("randn", lambda d: cr.randn(3, device=d)),
    ("randint", lambda d: cr.randint(0, 5, (3,), device=d)),
    ("randperm", lambda d: cr.randperm(4, device=d)),
    ("tensor", lambda d: cr.tensor([1.0, 2.0], device=d)),
    ("as_tensor", lambda d: cr.as_tensor(np.ones(2), device=d)),
    ("zeros_like", lambda d: cr.zeros_like(cr.ones(2, device=d))),
    ("ones_like", lambda d: cr.ones_like(cr.ones(2, device=d))),
    ("full_like", lambda d: cr.full_like(cr.ones(2, device=d), 3.0)),
    ("empty_like", lambda d: cr.empty_like(cr.ones(2, device=d))),
    ("rand_like", lambda d: cr.rand_like(cr.ones(2, device=d))),
    ("randn_like", lambda d: cr.randn_like(cr.ones(2, device=d))),
]


@pytest.mark.parametrize("name,make", FACTORIES, ids=[f[0] for f in FACTORIES])
def test_factories_make_arrays_on_the_device(name, make):
    assert_on_device(make(DEVICE), DEVICE, name)
    # the same values as on the CPU (random ones from the same seed)
    cr.manual_seed(3)
    on_device = make(DEVICE)
    cr.manual_seed(3)
    on_cpu = make(None)
    if name not in ("empty", "empty_like"):
        np.testing.assert_array_equal(to_numpy(on_device), to_numpy(on_cpu))


# --- op tables: one shape per row of the other modules' tables ----------------------------------

@pytest.mark.parametrize("name,torch_fn,cr_fn,low,high,away", elementwise.UNARY,
                         ids=[r[0] for r in elementwise.UNARY])
def test_unary_ops_on_the_device(name, torch_fn, cr_fn, low, high, away):
    check_op([(3, 4)], torch_fn, cr_fn, low=low, high=high, away_from=away, device=DEVICE)


@pytest.mark.parametrize("name,fn,low,high", elementwise.BINARY,
                         ids=[r[0] for r in elementwise.BINARY])
@pytest.mark.parametrize("shapes", [[(3, 4), (4,)], [(2, 3), ()]], ids=str)
def test_binary_ops_on_the_device(name, fn, low, high, shapes):
    check_op(shapes, fn, low=low, high=high, device=DEVICE)


@pytest.mark.parametrize("name,fn", reduce_tests.REDUCE, ids=[r[0] for r in reduce_tests.REDUCE])
@pytest.mark.parametrize("dim,keepdim", [(None, False), (1, True), ((0, 2), False)], ids=str)
def test_reductions_on_the_device(name, fn, dim, keepdim):
    if not reduce_tests._applicable(name, dim):
        pytest.skip("torch has no such reduction")
    low = 0.5 if name == "prod" else -2.0
    check_op([(3, 4, 5)], lambda x: fn(x, dim, keepdim), low=low, high=2.0, away_from=0.0,
             atol=1e-5, rtol=1e-5, device=DEVICE)


@pytest.mark.parametrize("shape,dim", reduce_tests.SOFTMAX_SHAPES[:3], ids=str)
def test_softmax_family_on_the_device(shape, dim):
    check_op([shape], lambda x: x.softmax(dim), device=DEVICE)
    check_op([shape], lambda x: x.log_softmax(dim), device=DEVICE)


@pytest.mark.parametrize("name,shapes,torch_fn,cr_fn", shape_index.SHAPE_ROWS,
                         ids=[r[0] for r in shape_index.SHAPE_ROWS])
def test_shape_ops_on_the_device(name, shapes, torch_fn, cr_fn):
    check_op(shapes, torch_fn, cr_fn, device=DEVICE)


# Rows whose index is a constant chainrule tensor or array: made on the CPU, as a user
# would, and indexing a device tensor with it must work (torch takes CPU indices too).
@pytest.mark.parametrize("name,shape,torch_fn,cr_fn", shape_index.INDEX_ROWS,
                         ids=[r[0] for r in shape_index.INDEX_ROWS])
def test_indexing_on_the_device(name, shape, torch_fn, cr_fn):
    check_op([shape], torch_fn, cr_fn, device=DEVICE)


@pytest.mark.parametrize("shapes", linalg.MATMUL_SHAPES, ids=str)
def test_matmul_on_the_device(shapes):
    check_op(shapes, lambda a, b: a @ b, atol=1e-5, device=DEVICE)


@pytest.mark.parametrize("name,fn", elementwise.COMPARE, ids=[r[0] for r in elementwise.COMPARE])
def test_comparisons_on_the_device(name, fn):
    a = np.array([[0.0, 1.0, -1.0], [2.0, 0.5, 0.0]], dtype=np.float32)
    b = np.array([0.0, 1.0, 3.0], dtype=np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = fn(cr.tensor(a, device=DEVICE), cr.tensor(b, device=DEVICE))
        expected = fn(cr.tensor(a), cr.tensor(b))
    assert_on_device(out, DEVICE, name)
    np.testing.assert_array_equal(to_numpy(out), to_numpy(expected))


@pytest.mark.parametrize("name,fn,low,high", elementwise.SECOND_ORDER,
                         ids=[r[0] for r in elementwise.SECOND_ORDER])
def test_second_order_unary_on_the_device(name, fn, low, high):
    check_second_order([(2, 3)], fn, low=low, high=high, device=DEVICE)


@pytest.mark.parametrize("name,fn,low,high", elementwise.BINARY,
                         ids=[r[0] for r in elementwise.BINARY])
def test_second_order_binary_on_the_device(name, fn, low, high):
    check_second_order([(2, 3), (3,)], fn, low=low, high=high, device=DEVICE)


@pytest.mark.parametrize("name,shape,fn", sorting_tests.SORT_OPS,
                         ids=[r[0] for r in sorting_tests.SORT_OPS])
def test_sorting_on_the_device(name, shape, fn):
    check_op([shape], fn, inputs=[sorting_tests._distinct(shape)], device=DEVICE)


@pytest.mark.parametrize("name,shape,torch_fn,cr_fn", scan_tests.ROWS,
                         ids=[r[0] for r in scan_tests.ROWS])
def test_scans_on_the_device(name, shape, torch_fn, cr_fn):
    check_op([shape], torch_fn, cr_fn, device=DEVICE)


@pytest.mark.parametrize("case", linalg.CE_CASES, ids=str)
def test_cross_entropy_on_the_device(case):
    logits, target, weight = linalg._ce_inputs()
    kw = dict(case)
    if kw.pop("weight", False):
        kw["weight"] = cr.tensor(weight, device=DEVICE)
    target_on_device = cr.tensor(target, device=DEVICE)
    x = cr.tensor(logits, requires_grad=True, device=DEVICE)
    loss = nn.functional.cross_entropy(x, target_on_device, **kw)
    tkw = dict(case)
    if tkw.pop("weight", False):
        tkw["weight"] = torch.from_numpy(weight)
    tx = torch.tensor(logits, requires_grad=True)
    tloss = torch.nn.functional.cross_entropy(tx, torch.from_numpy(target), **tkw)
    assert_on_device(loss, DEVICE, "loss")
    np.testing.assert_allclose(to_numpy(loss), tloss.detach().numpy(), rtol=1e-5, atol=1e-6)
    loss.sum().backward()
    tloss.sum().backward()
    assert_on_device(x.grad, DEVICE, "logits' gradient")
    np.testing.assert_allclose(to_numpy(x.grad), tx.grad.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("equation,shapes", linalg.EINSUM_CASES[:8], ids=str)
def test_einsum_on_the_device(equation, shapes):
    check_op(shapes, lambda *xs: cr.einsum(equation, *xs) if isinstance(xs[0], cr.Tensor)
             else torch.einsum(equation, *xs), atol=1e-5, device=DEVICE)


@pytest.mark.parametrize("program", [inplace_tests._iadd, inplace_tests._index_sub,
                                     inplace_tests._mask_put, inplace_tests._relu_,
                                     inplace_tests._mul_tensor, inplace_tests._chain,
                                     inplace_tests._view, inplace_tests._fill_copy],
                         ids=lambda f: f.__name__)
def test_in_place_ops_on_the_device(program):
    x = cr.tensor(inplace_tests.X, requires_grad=True, device=DEVICE)
    w = cr.tensor(inplace_tests.W, requires_grad=True, device=DEVICE)
    xt = torch.tensor(inplace_tests.X, requires_grad=True)
    wt = torch.tensor(inplace_tests.W, requires_grad=True)
    out, tout = program(cr, x, w), program(torch, xt, wt)
    assert_on_device(out, DEVICE, "result")
    np.testing.assert_allclose(to_numpy(out), tout.detach().numpy(), rtol=1e-12)
    out.sum().backward()
    tout.sum().backward()
    for a, b in ((x, xt), (w, wt)):
        if b.grad is not None:
            assert_on_device(a.grad, DEVICE, "gradient")
            np.testing.assert_allclose(to_numpy(a.grad), b.grad.numpy(), rtol=1e-12, atol=1e-14)


def _to_strict(value):
    """A chainrule tensor copied onto the strict device as a leaf (other values unchanged)."""
    if not isinstance(value, cr.Tensor):
        return value
    return cr.tensor(to_numpy(value), dtype=value.dtype, requires_grad=value.requires_grad,
                     device=DEVICE)


@pytest.mark.parametrize("name,fn,make", functional_tests.CASES,
                         ids=[c[0] for c in functional_tests.CASES])
def test_functional_on_the_device_as_on_the_cpu(name, fn, make):
    """nn.functional's table (float64): the same values and gradients on the device."""
    inputs = make()
    on_device = [_to_strict(t) for t in inputs]
    with _constants_on(DEVICE):
        out = fn(*on_device)
    expected = fn(*inputs)
    outs, expecteds = _as_list(out), _as_list(expected)
    for o, e in zip(outs, expecteds):
        assert_on_device(o, DEVICE, f"{name} output")
        np.testing.assert_allclose(to_numpy(o), to_numpy(e), rtol=1e-10, atol=1e-12)
    roots = [o for o in outs if o.requires_grad]
    if not roots:
        return
    grads = cr.autograd.grad([o.sum() for o in roots],
                             [t for t in on_device if getattr(t, "requires_grad", False)],
                             allow_unused=True)
    expected_grads = cr.autograd.grad([e.sum() for e in expecteds if e.requires_grad],
                                      [t for t in inputs if getattr(t, "requires_grad", False)],
                                      allow_unused=True)
    for g, e in zip(grads, expected_grads):
        if e is None:
            continue
        assert_on_device(g, DEVICE, f"{name} gradient")
        np.testing.assert_allclose(to_numpy(g), to_numpy(e), rtol=1e-10, atol=1e-12)


def _as_list(x):
    return list(x) if isinstance(x, (tuple, list)) else [x]


class _constants_on:
    """Inside, ``cr.tensor`` without ``device=`` makes tensors on ``device``: the table's
    lambdas build their constant targets and weights with it, as a user on a GPU would with
    ``cr.set_default_device``."""

    def __init__(self, device):
        self.device = device

    def __enter__(self):
        self.previous = cr.backend.get_default_device()
        cr.backend.set_default_device(self.device)

    def __exit__(self, *exc):
        cr.backend.set_default_device(self.previous)
        return False


def test_second_order_on_the_device():
    x = cr.tensor(np.linspace(-1, 1, 6).reshape(2, 3), dtype=cr.float64, requires_grad=True,
                  device=DEVICE)
    y = (x.tanh() * x.exp()).sum()
    (g,) = cr.autograd.grad(y, [x], create_graph=True)
    (h,) = cr.autograd.grad(g.sum(), [x])
    assert_on_device(g, DEVICE, "first derivative")
    assert_on_device(h, DEVICE, "second derivative")
    t = torch.tensor(np.linspace(-1, 1, 6).reshape(2, 3), requires_grad=True)
    (tg,) = torch.autograd.grad((t.tanh() * t.exp()).sum(), [t], create_graph=True)
    (th,) = torch.autograd.grad(tg.sum(), [t])
    np.testing.assert_allclose(to_numpy(h), th.numpy(), rtol=1e-10)


# --- layers ----------------------------------------------------------------------------------

@pytest.mark.parametrize("name,make,make_torch,shapes", layer_tests.LAYERS,
                         ids=[row[0] for row in layer_tests.LAYERS])
def test_layers_on_the_device(name, make, make_torch, shapes):
    _check_layer_on_device(name, make, make_torch, shapes)


# The later architectures (issues 13 and 14): convolution, pooling, 2-D normalization,
# recurrent layers, attention -- on the device as on the CPU, against torch.
LATER_LAYERS = [
    ("Conv1d", lambda: nn.Conv1d(3, 4, 3, padding=1), lambda: torch.nn.Conv1d(3, 4, 3, padding=1),
     [(2, 3, 9)]),
    ("Conv2d", lambda: nn.Conv2d(3, 4, 3, stride=2, padding=1, groups=1),
     lambda: torch.nn.Conv2d(3, 4, 3, stride=2, padding=1), [(2, 3, 7, 7)]),
    ("Conv2d depthwise", lambda: nn.Conv2d(4, 4, 3, padding="same", groups=4),
     lambda: torch.nn.Conv2d(4, 4, 3, padding="same", groups=4), [(2, 4, 6, 6)]),
    ("ConvTranspose2d", lambda: nn.ConvTranspose2d(3, 2, 3, stride=2),
     lambda: torch.nn.ConvTranspose2d(3, 2, 3, stride=2), [(2, 3, 4, 4)]),
    ("MaxPool2d", lambda: nn.MaxPool2d(2), lambda: torch.nn.MaxPool2d(2), [(2, 3, 6, 6)]),
    ("AvgPool2d", lambda: nn.AvgPool2d(3, stride=2, padding=1),
     lambda: torch.nn.AvgPool2d(3, stride=2, padding=1), [(2, 3, 7, 7)]),
    ("AdaptiveAvgPool2d", lambda: nn.AdaptiveAvgPool2d(2), lambda: torch.nn.AdaptiveAvgPool2d(2),
     [(2, 3, 5, 5)]),
    ("BatchNorm2d", lambda: nn.BatchNorm2d(3), lambda: torch.nn.BatchNorm2d(3), [(4, 3, 5, 5)]),
    ("GroupNorm", lambda: nn.GroupNorm(2, 4), lambda: torch.nn.GroupNorm(2, 4), [(2, 4, 3, 3)]),
    ("TransformerEncoderLayer",
     lambda: nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True),
     lambda: torch.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True),
     [(2, 5, 8)]),
]


class _FirstOutput(nn.Module):
    """A recurrent layer's output sequence alone (the table checks one output)."""

    def __init__(self, layer):
        super().__init__()
        self.layer = layer

    def forward(self, x):
        return self.layer(x)[0]


class _TorchFirstOutput(torch.nn.Module):
    def __init__(self, layer):
        super().__init__()
        self.layer = layer

    def forward(self, x):
        return self.layer(x)[0]


LATER_LAYERS += [
    ("LSTM", lambda: _FirstOutput(nn.LSTM(3, 4, num_layers=2, bidirectional=True)),
     lambda: _TorchFirstOutput(torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True)),
     [(5, 2, 3)]),
    ("GRU", lambda: _FirstOutput(nn.GRU(3, 4, batch_first=True)),
     lambda: _TorchFirstOutput(torch.nn.GRU(3, 4, batch_first=True)), [(2, 5, 3)]),
]


@pytest.mark.parametrize("name,make,make_torch,shapes", LATER_LAYERS,
                         ids=[row[0] for row in LATER_LAYERS])
def test_later_layers_on_the_device(name, make, make_torch, shapes):
    _check_layer_on_device(name, make, make_torch, shapes)


def _check_layer_on_device(name, make, make_torch, shapes):
    tlayer = make_torch()
    layer_tests._randomize(tlayer)
    layer = make()
    layer.load_state_dict({k: v.detach().numpy() for k, v in tlayer.state_dict().items()})
    layer.to(DEVICE)
    for p in layer.parameters():
        assert_on_device(p, DEVICE, "parameter")
    shape = shapes[0]
    shapes = shape if isinstance(shape[0], tuple) else (shape,)
    rng = np.random.default_rng(0)
    xs = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    out = layer(*[cr.tensor(x, requires_grad=True, device=DEVICE) for x in xs])
    tout = tlayer(*[torch.tensor(x, requires_grad=True) for x in xs])
    assert_on_device(out, DEVICE, f"{name} output")
    np.testing.assert_allclose(to_numpy(out), tout.detach().numpy(), rtol=1e-5, atol=1e-6)
    g = rng.standard_normal(tuple(tout.shape)).astype(np.float32)
    out.backward(cr.tensor(g, device=DEVICE))
    tout.backward(torch.from_numpy(g))
    tparams = dict(tlayer.named_parameters())
    for pname, p in layer.named_parameters():
        if tparams[pname].grad is not None:
            assert_on_device(p.grad, DEVICE, f"{name}.{pname}.grad")
            np.testing.assert_allclose(to_numpy(p.grad), tparams[pname].grad.numpy(),
                                       rtol=1e-4, atol=1e-5, err_msg=pname)
    for bname, b in layer.named_buffers():
        assert_on_device(b, DEVICE, f"{name}.{bname}")


LAYERS_WITH_DEVICE = [
    ("Linear", lambda **kw: nn.Linear(3, 2, **kw)),
    ("Bilinear", lambda **kw: nn.Bilinear(3, 4, 2, **kw)),
    ("PReLU", lambda **kw: nn.PReLU(3, **kw)),
    ("BatchNorm1d", lambda **kw: nn.BatchNorm1d(3, **kw)),
    ("LayerNorm", lambda **kw: nn.LayerNorm(3, **kw)),
    ("Embedding", lambda **kw: nn.Embedding(5, 3, **kw)),
]


@pytest.mark.parametrize("name,make", LAYERS_WITH_DEVICE, ids=[r[0] for r in LAYERS_WITH_DEVICE])
def test_layers_take_device_and_dtype(name, make):
    layer = make(device=DEVICE, dtype=cr.float64)
    tensors = list(layer.parameters()) + list(layer.buffers())
    assert tensors
    for t in tensors:
        assert_on_device(t, DEVICE, name)
    assert all(p.dtype == cr.float64 for p in layer.parameters())
    # the same initial values as on the CPU from the same seed
    cr.manual_seed(0)
    a = make(device=DEVICE)
    cr.manual_seed(0)
    b = make()
    for (k, x), y in zip(a.state_dict().items(), b.state_dict().values()):
        np.testing.assert_array_equal(to_numpy(x), to_numpy(y), err_msg=k)


@pytest.mark.skipif(backend.cuda_device_count() > 0, reason="this machine has a usable GPU")
@pytest.mark.parametrize("name,make", LAYERS_WITH_DEVICE, ids=[r[0] for r in LAYERS_WITH_DEVICE])
def test_layers_on_cuda_without_a_gpu_raise_the_factories_error(name, make):
    with pytest.raises(RuntimeError, match="device 'cuda'.*(CuPy|GPU)"):
        make(device="cuda")


# --- optimizers and fit ----------------------------------------------------------------------

OPTIMIZERS = [
    ("SGD", lambda ps: cr.optim.SGD(ps, lr=0.1)),
    ("SGD-momentum", lambda ps: cr.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True,
                                              weight_decay=0.01)),
    ("Adam", lambda ps: cr.optim.Adam(ps, lr=0.01)),
    ("Adam-amsgrad", lambda ps: cr.optim.Adam(ps, lr=0.01, amsgrad=True, weight_decay=0.1)),
    ("AdamW", lambda ps: cr.optim.AdamW(ps, lr=0.01)),
    ("RMSprop", lambda ps: cr.optim.RMSprop(ps, lr=0.01, momentum=0.5, centered=True)),
    ("Adagrad", lambda ps: cr.optim.Adagrad(ps, lr=0.1)),
    ("Adadelta", lambda ps: cr.optim.Adadelta(ps)),
    ("Adamax", lambda ps: cr.optim.Adamax(ps, lr=0.01)),
    ("NAdam", lambda ps: cr.optim.NAdam(ps, lr=0.01)),
    ("RAdam", lambda ps: cr.optim.RAdam(ps, lr=0.01)),
    ("ASGD", lambda ps: cr.optim.ASGD(ps, lr=0.01, t0=1)),
    ("Rprop", lambda ps: cr.optim.Rprop(ps, lr=0.01)),
    ("LBFGS", lambda ps: cr.optim.LBFGS(ps, lr=0.5, max_iter=3)),
]


def _bowl(device):
    """Parameters on ``device`` and a quadratic bowl f(p) = 1/2 sum a (p - c)^2 around them."""
    rng = np.random.default_rng(1)
    params = [nn.Parameter(cr.tensor(rng.standard_normal(s).astype(np.float32), device=device))
              for s in [(3, 4), (4,)]]
    curvature = [cr.tensor(rng.uniform(0.5, 2.0, p.shape).astype(np.float32), device=device)
                 for p in params]
    centre = [cr.tensor(rng.standard_normal(p.shape).astype(np.float32), device=device)
              for p in params]

    def closure():
        """The loss, with its gradient a (p - c) set by hand: the step alone is under test."""
        total = 0.0
        with cr.no_grad():
            for p, a, c in zip(params, curvature, centre):
                diff = p - c
                p.grad = a * diff
                total = total + 0.5 * (a * diff * diff).sum()
        return total
    return params, closure


def _optimize(make_opt, device, steps=3):
    params, closure = _bowl(device)
    opt = make_opt(params)
    for _ in range(steps):
        opt.step(closure)
    return params, opt, closure


@pytest.mark.parametrize("name,make_opt", OPTIMIZERS, ids=[r[0] for r in OPTIMIZERS])
def test_optimizer_steps_on_the_device(name, make_opt):
    params, opt, closure = _optimize(make_opt, DEVICE)
    reference, _, _ = _optimize(make_opt, None)
    for p, q in zip(params, reference):
        assert_on_device(p, DEVICE, "parameter")
        np.testing.assert_allclose(to_numpy(p), to_numpy(q), rtol=1e-5, atol=1e-6)
    for state in opt.state.values():
        for key, value in state.items():
            if isinstance(value, cr.Tensor) and value.ndim > 0:
                assert_on_device(value, DEVICE, f"{name} state {key}")
    # a state_dict round trip keeps the state on the device, and the next step works
    opt.load_state_dict(opt.state_dict())
    opt.step(closure)
    for p in params:
        assert_on_device(p, DEVICE, "parameter after a reloaded step")


def _train_steps(make_opt, device, steps=1):
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 2)).to(device)
    opt = make_opt(model.parameters())
    rng = np.random.default_rng(1)
    x = cr.tensor(rng.standard_normal((8, 4)).astype(np.float32), device=device)
    y = cr.tensor(rng.standard_normal((8, 2)).astype(np.float32), device=device)
    for _ in range(steps):
        opt.zero_grad()
        nn.functional.mse_loss(model(x), y).backward()
        opt.step()
    return model, opt


def test_clip_grad_norm_on_the_device():
    model, _ = _train_steps(lambda ps: cr.optim.SGD(ps, lr=0.0), DEVICE, steps=1)
    total = nn.utils.clip_grad_norm_(model.parameters(), max_norm=0.01)
    assert_on_device(total, DEVICE, "total norm")
    for p in model.parameters():
        assert_on_device(p.grad, DEVICE, "clipped grad")
    nn.utils.clip_grad_value_(model.parameters(), 0.001)


def test_fit_runs_on_the_device():
    cr.manual_seed(0)
    rng = np.random.default_rng(0)
    x = cr.tensor(rng.standard_normal((32, 4)).astype(np.float32), device=DEVICE)
    labels = cr.tensor(rng.integers(0, 3, 32), device=DEVICE)
    model = nn.Sequential(nn.Linear(4, 8, device=DEVICE), nn.ReLU(),
                          nn.Linear(8, 3, device=DEVICE))
    opt = cr.optim.Adam(model.parameters(), lr=0.01)
    loader = cr.data.DataLoader(cr.data.TensorDataset(x, labels), batch_size=8)
    val = cr.data.DataLoader(cr.data.TensorDataset(x[:8], labels[:8]), batch_size=4)
    history = cr.train.fit(model, nn.CrossEntropyLoss(), opt, loader, val_loader=val, epochs=2,
                           metrics=["accuracy"], progress=False, clip_grad_norm=1.0)
    assert len(history["loss"]) == 2 and np.isfinite(history["loss"]).all()
    for p in model.parameters():
        assert_on_device(p, DEVICE, "trained parameter")


# --- the rest of the core: io, gradcheck, tensor methods, promotion, summary, viz --------------

def test_save_and_load_a_model_on_the_device(tmp_path):
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4)).to(DEVICE)
    cr.save(model.state_dict(), tmp_path / "model.safetensors")
    loaded = cr.load(tmp_path / "model.safetensors")
    fresh = nn.Sequential(nn.Linear(3, 4, device=DEVICE), nn.BatchNorm1d(4, device=DEVICE))
    fresh.load_state_dict(loaded)
    for (k, a), b in zip(model.state_dict().items(), fresh.state_dict().values()):
        assert_on_device(b, DEVICE, k)
        np.testing.assert_array_equal(to_numpy(a), to_numpy(b), err_msg=k)


def test_gradcheck_runs_on_the_device():
    x = cr.tensor(np.linspace(-1, 1, 6).reshape(2, 3), dtype=cr.float64, requires_grad=True,
                  device=DEVICE)
    w = cr.tensor(np.linspace(0.5, 1.5, 3), dtype=cr.float64, requires_grad=True,
                  device=DEVICE)
    def fn(a, b):
        return (a * b).tanh().sum(1) ** 2
    assert cr.autograd.gradcheck(fn, [x, w])
    assert cr.autograd.gradgradcheck(fn, [x, w])


def test_tensor_methods_and_random_fills_on_the_device():
    t = cr.zeros(2, 3, device=DEVICE)
    cr.manual_seed(0)
    t.uniform_(-1, 1)
    cr.manual_seed(0)
    expected = cr.zeros(2, 3).uniform_(-1, 1)
    assert_on_device(t, DEVICE, "uniform_")
    np.testing.assert_array_equal(to_numpy(t), to_numpy(expected))
    t.normal_(0, 2).clamp_(-1, 1).relu_()
    assert_on_device(t, DEVICE, "normal_ / clamp_ / relu_")
    t.add_(1).mul_(2).fill_(3).copy_(cr.ones(2, 3))   # copy_ from the CPU crosses over
    assert_on_device(t, DEVICE, "in-place arithmetic")
    assert t.sum().item() == 6.0 and t.tolist() == [[1.0] * 3] * 2
    assert type(t.numpy()) is np.ndarray and "device='strict'" in repr(t)
    assert_on_device(cr.bernoulli(cr.full((3,), 0.5, device=DEVICE)), DEVICE, "bernoulli")
    assert_on_device(nn.functional.dropout(t, 0.5), DEVICE, "dropout")
    assert_on_device(t.data, DEVICE, ".data")
    t.data += 1                                        # the lectures' update line
    assert_on_device(t, DEVICE, "after .data +=")
    i = cr.tensor([1, 0, 1], device=DEVICE)
    assert_on_device(nn.functional.one_hot(i, 3), DEVICE, "one_hot")
    assert_on_device(t.argmax(1), DEVICE, "argmax")
    assert_on_device(t.max(1).indices, DEVICE, "max indices")


PROMOTION_IDS = [f"{d.__name__}-{i}" for i, (d, _) in enumerate(elementwise.PROMOTION)]


@pytest.mark.parametrize("dtype,fn", elementwise.PROMOTION, ids=PROMOTION_IDS)
def test_dtype_promotion_on_the_device_as_torch(dtype, fn):
    a = np.array([[1, 2, 3], [4, 5, 6]]).astype(dtype)
    got, want = fn(cr.tensor(a, device=DEVICE)), fn(torch.from_numpy(a))
    assert_on_device(got, DEVICE, "result")
    assert got.dtype == cr.backend.of_numpy(want.numpy().dtype)
    np.testing.assert_allclose(to_numpy(got), want.numpy(), rtol=1e-3 if dtype == np.float16
                               else 1e-6)


def test_zero_dim_float64_does_not_upcast_float32_on_the_device():
    x = cr.ones(3, device=DEVICE, requires_grad=True)
    y = x * cr.tensor(2.0, dtype=cr.float64, device=DEVICE)
    assert y.dtype == cr.float32     # dims win, as torch
    assert (cr.tensor([1, 2], device=DEVICE).sin()).dtype == cr.float32


def test_summary_of_a_model_on_the_device():
    import io
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU()).to(DEVICE)
    stats = model.summary(input_size=(2, 4), file=io.StringIO())
    assert stats is not None


def test_viz_draws_and_explains_a_graph_on_the_device():
    import io
    x = cr.ones(2, 3, device=DEVICE, requires_grad=True)
    y = (x * 2).tanh().sum()
    assert "tanh" in cr.viz.to_dot(y).lower()
    out = io.StringIO()
    cr.viz.explain(y, file=out)
    assert "tanh" in out.getvalue()


def test_host_values_written_into_device_tensors_are_copied_over():
    t = cr.zeros(3, 2, device=DEVICE)
    t[0] = np.ones(2)                 # a float64 host array
    t[1] = cr.tensor([2.0, 3.0])      # a CPU tensor of the same dtype
    t.add_(cr.ones(2))
    assert_on_device(t, DEVICE, "written tensor")
    np.testing.assert_array_equal(to_numpy(t), [[2, 2], [3, 4], [1, 1]])
    x = cr.ones(3, 2, device=DEVICE, requires_grad=True)
    y = x * 2
    y[0] = cr.tensor([5.0, 6.0])      # in the graph: an index-put node
    y[np.array([2])] = 3.0
    (y * y).sum().backward()
    assert_on_device(x.grad, DEVICE, "gradient through index-put")
    np.testing.assert_array_equal(to_numpy(x.grad), [[0, 0], [8, 8], [0, 0]])


def test_state_dicts_cross_between_the_device_and_the_cpu():
    cr.manual_seed(0)
    on_device = nn.Linear(3, 2, device=DEVICE)
    on_cpu = nn.Linear(3, 2)
    on_cpu.load_state_dict({k: v._array for k, v in on_device.state_dict().items()})  # raw arrays
    for p in on_cpu.parameters():
        assert type(p._array) is np.ndarray
    back = nn.Linear(3, 2, device=DEVICE)
    back.load_state_dict(on_cpu.state_dict())
    for (k, a), b in zip(on_device.state_dict().items(), back.state_dict().values()):
        assert_on_device(b, DEVICE, k)
        np.testing.assert_array_equal(to_numpy(a), to_numpy(b), err_msg=k)
