"""PyTorch as the oracle: move values between chainrule and torch and compare them.

Shared by every test module that checks chainrule's numbers against ``torch==2.13.0``.

    >>> from oracle import check_op
    >>> _ = check_op([(3, 4), (4,)], lambda x, y: x * y)   # forward and backward vs torch

``check_op`` is tinygrad's ``helper_test_op``: one call per row of an op table. It draws
inputs for the given shapes, runs the chainrule function and the torch function (the same
lambda when the APIs agree), compares the forward values, then backpropagates the same
random upstream gradient through both and compares every input's gradient.
"""

from __future__ import annotations

import numpy as np
import torch

import chainrule as cr
from chainrule import backend as _backend

# float32 against float32: a few ulps for one op, more for ops that sum many terms.
FWD_ATOL, FWD_RTOL = 1e-6, 1e-5
BWD_ATOL, BWD_RTOL = 1e-5, 1e-4


def to_numpy(x):
    """The values of a chainrule Tensor, torch tensor, array or number as an ndarray."""
    if isinstance(x, cr.Tensor):
        x = x._array
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    if hasattr(x, "shape"):  # an array of any device (the strict test device too)
        return np.asarray(_backend.to_device(x, "cpu"))
    return np.asarray(x)


def to_torch(x, requires_grad=None):
    """A torch tensor with ``x``'s values and dtype (and requires_grad, unless overridden)."""
    t = torch.from_numpy(np.array(to_numpy(x), copy=True))
    if requires_grad is None:
        requires_grad = isinstance(x, cr.Tensor) and x.requires_grad
    if requires_grad:
        t.requires_grad_(True)
    return t


def from_torch(t, requires_grad=None):
    """A chainrule Tensor with ``t``'s values and dtype (and requires_grad, unless overridden)."""
    arr = np.array(t.detach().cpu().numpy(), copy=True)
    if requires_grad is None:
        requires_grad = t.requires_grad
    return cr.tensor(arr, requires_grad=requires_grad)


def assert_close(actual, expected, atol=FWD_ATOL, rtol=FWD_RTOL, what="value", check_dtype=True):
    """``actual`` (chainrule) equals ``expected`` (torch) in shape, dtype and value."""
    a, e = to_numpy(actual), to_numpy(expected)
    assert a.shape == e.shape, f"{what}: shape {a.shape} != torch's {e.shape}"
    if check_dtype:
        assert a.dtype == e.dtype, f"{what}: dtype {a.dtype} != torch's {e.dtype}"
    if a.dtype.kind in "biu" and e.dtype.kind in "biu":
        np.testing.assert_array_equal(a, e, err_msg=what)
    else:
        np.testing.assert_allclose(a, e, atol=atol, rtol=rtol, err_msg=what, equal_nan=True)


def assert_on_device(t, device, what="value"):
    """``t`` is a Tensor whose array lives on ``device`` (its array type is that device's)."""
    assert isinstance(t, cr.Tensor), f"{what}: expected a Tensor, got {type(t).__name__}"
    assert t.device == device, f"{what}: on device {t.device}, expected {device}"
    expected = type(_backend.array_module(str(device)).zeros(0))
    assert type(t._array) is expected, (
        f"{what}: array of type {type(t._array).__name__}, expected {expected.__name__} "
        f"(an allocation bypassed the array module of the inputs)")


def random_inputs(shapes, low=-2.0, high=2.0, dtype=np.float32, seed=0, away_from=None):
    """Arrays of ``shapes`` uniform in [low, high); ``away_from`` keeps |x - c| > 0.05 (kinks)."""
    rng = np.random.default_rng(seed)
    arrays = []
    for shape in shapes:
        x = rng.uniform(low, high, size=shape)
        if away_from is not None:
            close = np.abs(x - away_from) < 0.05
            x = np.where(close, x + np.where(x >= away_from, 0.1, -0.1), x)
        arrays.append(np.asarray(x, dtype=dtype))
    return arrays


def _outputs(result):
    if isinstance(result, (tuple, list)):
        return list(result)
    return [result]


def check_op(shapes, torch_fn, cr_fn=None, low=-2.0, high=2.0, atol=FWD_ATOL, rtol=FWD_RTOL,
             grad_atol=BWD_ATOL, grad_rtol=BWD_RTOL, inputs=None, seed=0, away_from=None,
             backward=True, dtype=np.float32, device=None):
    """Forward and backward of ``cr_fn`` against ``torch_fn`` on inputs of ``shapes``.

    ``cr_fn`` defaults to ``torch_fn`` (the same lambda works when the APIs agree). Every
    float output is backpropagated with the same random upstream gradient in both.
    ``device`` puts chainrule's inputs there and checks that outputs and gradients stay there
    (the strict test device: tests/strict_device.py).
    """
    cr_fn = cr_fn or torch_fn
    arrays = inputs if inputs is not None else random_inputs(shapes, low, high, dtype, seed,
                                                             away_from)
    xs = [cr.tensor(a, requires_grad=backward and a.dtype.kind == "f", device=device)
          for a in arrays]
    ts = [to_torch(a, requires_grad=backward and a.dtype.kind == "f") for a in arrays]
    out_cr, out_t = _outputs(cr_fn(*xs)), _outputs(torch_fn(*ts))
    assert len(out_cr) == len(out_t)
    for k, (o, e) in enumerate(zip(out_cr, out_t)):
        if device is not None and isinstance(o, cr.Tensor):
            assert_on_device(o, device, f"forward output {k}")
        assert_close(o, e, atol, rtol, what=f"forward output {k}")
    if not backward:
        return out_cr
    rng = np.random.default_rng(seed + 1)
    roots_cr, roots_t, grads_cr, grads_t = [], [], [], []
    for o, e in zip(out_cr, out_t):
        if isinstance(e, torch.Tensor) and e.requires_grad:
            g = rng.standard_normal(e.shape).astype(to_numpy(e).dtype)
            assert o.requires_grad, "chainrule output does not require grad but torch's does"
            roots_cr.append(o)
            grads_cr.append(cr.tensor(g, device=device))
            roots_t.append(e)
            grads_t.append(torch.from_numpy(g))
    if not roots_t:
        return out_cr
    want_cr = [x for x in xs if x.requires_grad]
    want_t = [t for t in ts if t.requires_grad]
    got = cr.autograd.grad(roots_cr, want_cr, grads_cr, allow_unused=True)
    exp = torch.autograd.grad(roots_t, want_t, grads_t, allow_unused=True)
    for i, (g, e, t) in enumerate(zip(got, exp, want_t)):
        e = torch.zeros_like(t) if e is None else e
        if device is not None and g is not None:
            assert_on_device(g, device, f"gradient of input {i}")
        g = np.zeros(t.shape, dtype=to_numpy(t).dtype) if g is None else g
        assert_close(g, e, grad_atol, grad_rtol, what=f"gradient of input {i}")
    return out_cr


def check_gradcheck(shapes, fn, low=-2.0, high=2.0, seed=0, away_from=None, inputs=None,
                    second_order=True, atol=1e-5, rtol=1e-3):
    """Float64 gradcheck (and gradgradcheck) of ``fn`` on inputs of ``shapes``."""
    arrays = inputs if inputs is not None else random_inputs(shapes, low, high, np.float64, seed,
                                                             away_from)
    xs = [cr.tensor(a, dtype=a.dtype, requires_grad=a.dtype.kind == "f") for a in arrays]
    assert cr.autograd.gradcheck(fn, xs, atol=atol, rtol=rtol)
    if second_order:
        assert cr.autograd.gradgradcheck(fn, xs, atol=atol, rtol=rtol)


def check_second_order(shapes, torch_fn, cr_fn=None, low=-2.0, high=2.0, seed=0, away_from=None,
                       inputs=None, atol=1e-9, rtol=1e-7, device=None):
    """Second derivatives against torch in float64: grad of <v, grad(<u, f(x)>, x)> w.r.t. x.

    Both the first derivative (built with create_graph) and its gradient are compared; with
    ``device``, both must also stay on it.
    """
    cr_fn = cr_fn or torch_fn
    arrays = inputs if inputs is not None else random_inputs(shapes, low, high, np.float64, seed,
                                                             away_from)
    xs = [cr.tensor(a, dtype=a.dtype, requires_grad=a.dtype.kind == "f", device=device)
          for a in arrays]
    ts = [to_torch(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    rng = np.random.default_rng(seed + 7)
    out_cr, out_t = cr_fn(*xs), torch_fn(*ts)
    u = rng.standard_normal(tuple(out_t.shape))
    wx = [x for x in xs if x.requires_grad]
    wt = [t for t in ts if t.requires_grad]
    g_cr = cr.autograd.grad(out_cr, wx, cr.tensor(u, dtype=np.float64, device=device),
                            create_graph=True, allow_unused=True)
    g_t = torch.autograd.grad(out_t, wt, torch.from_numpy(u), create_graph=True,
                              allow_unused=True)
    total_cr, total_t = None, None
    for k, (a, b) in enumerate(zip(g_cr, g_t)):
        if b is None:
            assert a is None or np.allclose(to_numpy(a), 0)
            continue
        if device is not None and a is not None:
            assert_on_device(a, device, f"first derivative {k}")
        assert_close(a, b, atol, rtol, what=f"first derivative {k}")
        if not b.requires_grad:  # the first derivative is constant in x (linear op)
            continue
        v = rng.standard_normal(tuple(b.shape))
        term_cr = (a * cr.tensor(v, dtype=np.float64, device=device)).sum()
        term_t = (b * torch.from_numpy(v)).sum()
        total_cr = term_cr if total_cr is None else total_cr + term_cr
        total_t = term_t if total_t is None else total_t + term_t
    if total_t is None:
        return
    if total_cr is None or not total_cr.requires_grad:
        h_cr = [None] * len(wx)
    else:
        h_cr = cr.autograd.grad(total_cr, wx, allow_unused=True)
    h_t = torch.autograd.grad(total_t, wt, allow_unused=True)
    for k, (a, b, t) in enumerate(zip(h_cr, h_t, wt)):
        b = torch.zeros_like(t) if b is None else b
        if device is not None and a is not None:
            assert_on_device(a, device, f"second derivative {k}")
        a = np.zeros(t.shape) if a is None else a
        assert_close(a, b, atol, rtol, what=f"second derivative {k}")


def intel_with_mkl() -> bool:
    """Whether torch draws some masks (bernoulli_, dropout) from MKL's random stream here
    (Intel CPUs with MKL), not from the stream chainrule reproduces."""
    import torch  # noqa: PLC0415
    try:
        with open("/proc/cpuinfo") as f:
            intel = "GenuineIntel" in f.read()
    except OSError:
        intel = False
    return intel and torch.backends.mkl.is_available()
