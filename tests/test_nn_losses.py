"""Every loss (class and functional) against torch.nn: value, input grad, each reduction."""

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import nn
from chainrule.nn import functional as F

RNG = np.random.default_rng(7)
REDUCTIONS = ["mean", "sum", "none"]


def _run(loss_c, loss_t, x, target, rtol=1e-5, atol=1e-6, target_grad=False):
    cx = cr.tensor(x, requires_grad=True)
    tx = torch.tensor(x, requires_grad=True)
    ct = cr.tensor(target, requires_grad=target_grad)
    tt = torch.tensor(target, requires_grad=target_grad)
    out, tout = loss_c(cx, ct), loss_t(tx, tt)
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=rtol, atol=atol)
    g = RNG.standard_normal(tout.shape).astype(x.dtype)
    out.backward(cr.tensor(g))
    tout.backward(torch.tensor(g))
    np.testing.assert_allclose(cx.grad.numpy(), tx.grad.numpy(), rtol=rtol, atol=atol)
    if target_grad:
        np.testing.assert_allclose(ct.grad.numpy(), tt.grad.numpy(), rtol=rtol, atol=atol)


def _f32(*shape):
    return RNG.standard_normal(shape).astype(np.float32)


def _w(n):
    return (RNG.random(n) + 0.5).astype(np.float32)


SHAPES = [(6,), (4, 3), (2, 3, 4)]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name,kwargs", [
    ("MSELoss", {}), ("L1Loss", {}), ("HuberLoss", {}), ("HuberLoss", {"delta": 0.3}),
    ("SmoothL1Loss", {}), ("SmoothL1Loss", {"beta": 0.5}),
])
def test_regression_losses(name, kwargs, shape, reduction):
    x, y = _f32(*shape), _f32(*shape)
    _run(getattr(nn, name)(reduction=reduction, **kwargs),
         getattr(torch.nn, name)(reduction=reduction, **kwargs), x, y, target_grad=True)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", SHAPES)
def test_bce(shape, reduction):
    p = (RNG.random(shape) * 0.98 + 0.01).astype(np.float32)
    y = RNG.random(shape).astype(np.float32)  # soft targets too
    _run(nn.BCELoss(reduction=reduction), torch.nn.BCELoss(reduction=reduction), p, y,
         target_grad=True)
    w = _w(shape[-1])
    _run(nn.BCELoss(weight=cr.tensor(w), reduction=reduction),
         torch.nn.BCELoss(weight=torch.tensor(w), reduction=reduction), p, y)


def test_bce_clamps_log_like_torch():
    p = np.array([0.0, 1.0, 0.5, 1e-30], dtype=np.float32)
    y = np.array([1.0, 0.0, 1.0, 1.0], dtype=np.float32)
    _run(nn.BCELoss(reduction="none"), torch.nn.BCELoss(reduction="none"), p, y, rtol=1e-4)
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.binary_cross_entropy(cr.tensor([1.5]), cr.tensor([1.0]))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", SHAPES)
def test_bce_with_logits(shape, reduction):
    x = (_f32(*shape) * 5).astype(np.float32)
    y = RNG.random(shape).astype(np.float32)
    _run(nn.BCEWithLogitsLoss(reduction=reduction),
         torch.nn.BCEWithLogitsLoss(reduction=reduction), x, y, target_grad=True)
    w, pw = _w(shape[-1]), _w(shape[-1]) * 3
    _run(nn.BCEWithLogitsLoss(weight=cr.tensor(w), pos_weight=cr.tensor(pw), reduction=reduction),
         torch.nn.BCEWithLogitsLoss(weight=torch.tensor(w), pos_weight=torch.tensor(pw),
                                    reduction=reduction), x, y, target_grad=True)


def test_bce_with_logits_is_stable_and_one_node():
    x = np.array([-1e4, -50.0, 0.0, 50.0, 1e4], dtype=np.float32)
    y = np.array([1.0, 1.0, 0.5, 0.0, 0.0], dtype=np.float32)
    _run(nn.BCEWithLogitsLoss(reduction="none"), torch.nn.BCEWithLogitsLoss(reduction="none"),
         x, y)
    out = F.binary_cross_entropy_with_logits(cr.tensor(x, requires_grad=True), cr.tensor(y))
    assert np.isfinite(out.item())
    assert type(out.grad_fn).__name__ == "BCEWithLogits"
    assert all(a.grad_fn is None for a in out.grad_fn.inputs())


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("kwargs", [{}, {"label_smoothing": 0.2}, {"ignore_index": 1},
                                    {"weight": True}, {"weight": True, "ignore_index": 2,
                                                       "label_smoothing": 0.1}])
def test_cross_entropy_class_indices(kwargs, reduction):
    kwargs = dict(kwargs)
    if kwargs.pop("weight", False):
        w = _w(4)
        ck, tk = dict(kwargs, weight=cr.tensor(w)), dict(kwargs, weight=torch.tensor(w))
    else:
        ck = tk = kwargs
    for shape, tshape in (((5, 4), (5,)), ((3, 4, 2), (3, 2)), ((4,), ())):
        x = _f32(*shape)
        y = RNG.integers(0, 4, tshape).astype(np.int64)
        y.flat[0] = 0  # never every target ignored (torch gives nan then)
        _run(nn.CrossEntropyLoss(reduction=reduction, **ck),
             torch.nn.CrossEntropyLoss(reduction=reduction, **tk), x, y)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_probabilities(reduction):
    x = _f32(5, 4)
    y = RNG.random((5, 4)).astype(np.float32)
    y /= y.sum(1, keepdims=True)
    for kwargs in ({}, {"label_smoothing": 0.3}):
        _run(nn.CrossEntropyLoss(reduction=reduction, **kwargs),
             torch.nn.CrossEntropyLoss(reduction=reduction, **kwargs), x, y)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_nll_loss(reduction):
    for shape, tshape in (((5, 4), (5,)), ((3, 4, 2), (3, 2)), ((4,), ())):
        x = _f32(*shape)
        y = RNG.integers(0, 4, tshape).astype(np.int64)
        y.flat[0] = 0  # class 3 is ignored below: keep one target
        w = _w(4)
        for ck, tk in (({}, {}), ({"weight": cr.tensor(w)}, {"weight": torch.tensor(w)}),
                       ({"ignore_index": 3}, {"ignore_index": 3})):
            _run(nn.NLLLoss(reduction=reduction, **ck),
                 torch.nn.NLLLoss(reduction=reduction, **tk), x, y)


def test_nll_all_ignored_is_nan_like_torch():
    x = _f32(3, 4)
    y = np.array([1, 1, 1])
    out = F.nll_loss(cr.tensor(x), cr.tensor(y), ignore_index=1)
    tout = torch.nn.functional.nll_loss(torch.tensor(x), torch.tensor(y), ignore_index=1)
    assert np.isnan(out.item()) and np.isnan(tout.item())


def test_log_softmax_then_nll_equals_cross_entropy():
    x = cr.randn(6, 5)
    y = cr.randint(0, 5, (6,))
    a = nn.NLLLoss()(nn.LogSoftmax(dim=1)(x), y).item()
    b = nn.CrossEntropyLoss()(x, y).item()
    assert abs(a - b) < 1e-6


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", SHAPES)
def test_soft_margin_loss(shape, reduction):
    x = (_f32(*shape) * 10).astype(np.float32)
    y = np.where(RNG.random(shape) < 0.5, -1.0, 1.0).astype(np.float32)
    _run(nn.SoftMarginLoss(reduction=reduction), torch.nn.SoftMarginLoss(reduction=reduction),
         x, y)


def test_soft_margin_is_the_logistic_loss():
    """-log sigmoid(y w.x) with y in {-1, +1}, as in the lectures."""
    s = cr.tensor([2.0, -1.0, 0.5])
    y = cr.tensor([1.0, 1.0, -1.0])
    expected = -np.log(1 / (1 + np.exp(-(s.numpy() * y.numpy())))).mean()
    assert abs(nn.SoftMarginLoss()(s, y).item() - expected) < 1e-6


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("p,margin", [(1, 1.0), (2, 1.0), (1, 0.5)])
def test_multi_margin_loss(p, margin, reduction):
    x = _f32(6, 4)
    y = RNG.integers(0, 4, (6,)).astype(np.int64)
    _run(nn.MultiMarginLoss(p=p, margin=margin, reduction=reduction),
         torch.nn.MultiMarginLoss(p=p, margin=margin, reduction=reduction), x, y)
    w = _w(4)
    _run(nn.MultiMarginLoss(p=p, margin=margin, weight=cr.tensor(w), reduction=reduction),
         torch.nn.MultiMarginLoss(p=p, margin=margin, weight=torch.tensor(w),
                                  reduction=reduction), x, y)


def test_multi_margin_is_the_svm_loss():
    """sum_{j != y} max(0, 1 - s_y + s_j) / C, the lectures' multiclass hinge loss."""
    s = np.array([[3.2, 5.1, -1.7]], dtype=np.float32)
    loss = nn.MultiMarginLoss()(cr.tensor(s), cr.tensor([0])).item()
    assert abs(loss - (max(0, 1 - 3.2 + 5.1) + max(0, 1 - 3.2 - 1.7)) / 3) < 1e-6


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("margin", [1.0, 0.3])
def test_hinge_embedding_loss(margin, reduction):
    x = _f32(4, 5)
    y = np.where(RNG.random((4, 5)) < 0.5, -1.0, 1.0).astype(np.float32)
    _run(nn.HingeEmbeddingLoss(margin=margin, reduction=reduction),
         torch.nn.HingeEmbeddingLoss(margin=margin, reduction=reduction), x, y)


@pytest.mark.filterwarnings("ignore:reduction. .mean. divides:UserWarning")
@pytest.mark.parametrize("reduction", ["mean", "sum", "none", "batchmean"])
def test_kl_div(reduction):
    x = torch.log_softmax(torch.tensor(_f32(4, 5)), 1).numpy()
    y = torch.softmax(torch.tensor(_f32(4, 5)), 1).numpy()
    y[0, 0] = 0.0
    _run(nn.KLDivLoss(reduction=reduction), torch.nn.KLDivLoss(reduction=reduction), x, y)
    _run(nn.KLDivLoss(reduction=reduction, log_target=True),
         torch.nn.KLDivLoss(reduction=reduction, log_target=True), x, np.log(y + 0.1))


def test_gaussian_nll_loss():
    x, y = _f32(4, 3), _f32(4, 3)
    var = (RNG.random((4, 3)) + 0.1).astype(np.float32)
    for full in (False, True):
        out = nn.GaussianNLLLoss(full=full)(cr.tensor(x), cr.tensor(y), cr.tensor(var))
        tout = torch.nn.GaussianNLLLoss(full=full)(torch.tensor(x), torch.tensor(y),
                                                   torch.tensor(var))
        assert abs(out.item() - tout.item()) < 1e-5


def test_loss_errors_are_clear():
    with pytest.raises(ValueError, match="reduction must be"):
        nn.MSELoss(reduction="avg")
    # torch warns about the broadcast, then the shapes do not broadcast
    with pytest.warns(UserWarning, match=r"target size \(chainrule.Size\(\[3\]\)\) that is "
                                         r"different to the input size"):
        with pytest.raises(ValueError, match=r"sub: operands could not be broadcast"):
            F.mse_loss(cr.zeros(4), cr.zeros(3))
    with pytest.raises(IndexError, match="out of range for 3 classes"):
        F.nll_loss(cr.zeros(2, 3), cr.tensor([0, 3]))
    with pytest.raises(TypeError, match="class indices"):
        F.nll_loss(cr.zeros(2, 3), cr.tensor([0.0, 1.0]))


def test_functional_and_module_forms_agree():
    x, y = cr.randn(5, 3), cr.randn(5, 3)
    assert F.mse_loss(x, y).item() == nn.MSELoss()(x, y).item()
    labels = cr.randint(0, 3, (5,))
    assert F.cross_entropy(x, labels).item() == nn.CrossEntropyLoss()(x, labels).item()


def test_class_weights_may_be_lists():
    x, y = cr.randn(4, 3), cr.tensor([0, 1, 2, 0])
    a = nn.CrossEntropyLoss(weight=[1.0, 2.0, 3.0])(x, y).item()
    b = nn.CrossEntropyLoss(weight=cr.tensor([1.0, 2.0, 3.0]))(x, y).item()
    assert a == b
    assert "weight" in nn.CrossEntropyLoss(weight=[1.0, 2.0, 3.0]).state_dict()


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.int64, np.uint8])
@pytest.mark.parametrize("bad", [-1, 3, 100, None])
def test_cross_entropy_refuses_class_indices_out_of_range(dtype, bad):
    """The target check (one reduction over the indices viewed unsigned) catches negatives
    and indices >= C in every integer dtype; ignore_index rows are not checked."""
    x = cr.tensor(RNG.standard_normal((4, 3)).astype(np.float32))
    if bad is not None and bad < 0 and np.dtype(dtype).kind == "u":
        pytest.skip("an unsigned target has no negative index")
    values = [0, 2, 1, 1 if bad is None else bad]
    target = cr.tensor(np.array(values, dtype=dtype))
    if bad is None:
        F.cross_entropy(x, target)
        F.cross_entropy(x, cr.tensor(np.array([0, 2, 1, 2], dtype=dtype)), ignore_index=2)
        return
    with pytest.raises(IndexError, match=rf"^cross_entropy: target {bad} is out of bounds"):
        F.cross_entropy(x, target)
    F.cross_entropy(x, target, ignore_index=bad)  # an ignored row may hold anything
    if dtype is np.int64:
        with pytest.raises(IndexError):
            torch.nn.functional.cross_entropy(torch.tensor(x.numpy()), torch.tensor(values))


@pytest.mark.parametrize("rows", [[[-np.inf, -np.inf, -np.inf], [0.5, -1.0, 2.0]],
                                  [[1.0, -np.inf, 2.0], [0.5, -np.inf, 2.0]],
                                  [[3e38, 3e38, 1.0], [3e38, 1.0, 2.0]]])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_of_non_finite_logits_as_torch_without_warnings(rows, reduction):
    """Rows of -inf (nan, as torch) take the guarded path; -inf entries and huge logits the
    quiet one. Either way no RuntimeWarning (the suite turns warnings into errors)."""
    x = np.array(rows, dtype=np.float32)
    y = np.array([1, 2])
    _run(lambda a, t: F.cross_entropy(a, t, reduction=reduction),
         lambda a, t: torch.nn.functional.cross_entropy(a, t, reduction=reduction), x, y)


def test_row_max_of_short_rows_is_numpys_max():
    """The loss's and softmax's max over a short last axis, taken over the transposed copy's
    columns: NumPy's values (nan and infinities included), other layouts passed through."""
    from chainrule.ops.softmax import row_max
    rng = np.random.default_rng(9)
    for shape in [(1024, 10), (100, 10), (7, 32), (64, 2), (5, 1), (1024, 33)]:
        x = rng.standard_normal(shape).astype(np.float32)
        x[0, 0], x[1, :] = np.nan, -np.inf
        if shape[1] > 1:
            x[2, 1] = np.inf
        got, expected = row_max(x, 1), x.max(axis=1, keepdims=True)
        assert got.shape == expected.shape
        np.testing.assert_array_equal(got, expected)
    strided = rng.standard_normal((10, 64)).astype(np.float32)[:, ::4]
    np.testing.assert_array_equal(row_max(strided, -1), strided.max(axis=-1, keepdims=True))
