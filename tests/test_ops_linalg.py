"""matmul in every torch.matmul case, and the fused ops (linear, cross_entropy), vs PyTorch."""

import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import chainrule as cr
from oracle import check_gradcheck, check_op, check_second_order

MATMUL_SHAPES = [
    [(4,), (4,)],                 # dot product, 0-d result
    [(3, 4), (4, 5)],             # matrix @ matrix
    [(4,), (4, 5)],               # vector @ matrix
    [(3, 4), (4,)],               # matrix @ vector
    [(2, 3, 4), (2, 4, 5)],       # batched
    [(2, 3, 4), (4, 5)],          # batch @ matrix (broadcast)
    [(3, 4), (2, 4, 5)],          # matrix @ batch
    [(2, 1, 3, 4), (5, 4, 2)],    # broadcast batch dims
    [(2, 3, 4), (4,)],            # batch @ vector
    [(4,), (2, 4, 5)],            # vector @ batch
    [(1, 4), (4, 1)],
]


@pytest.mark.parametrize("shapes", MATMUL_SHAPES, ids=str)
def test_matmul_vs_torch(shapes):
    check_op(shapes, lambda a, b: a @ b, atol=1e-5)
    check_op(shapes, torch.matmul, cr.matmul, atol=1e-5)
    check_op(shapes, lambda a, b: a.matmul(b), atol=1e-5)


@pytest.mark.parametrize("shapes", MATMUL_SHAPES, ids=str)
def test_matmul_gradcheck(shapes):
    check_gradcheck(shapes, lambda a, b: (a @ b) ** 2)


@pytest.mark.parametrize("shapes", [[(3, 4), (4, 5)], [(2, 3, 4), (4,)], [(4,), (4,)]], ids=str)
def test_matmul_second_order_vs_torch(shapes):
    check_second_order(shapes, lambda a, b: (a @ b).tanh())


def test_matmul_with_constant_operand():
    w = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    check_op([(2, 4)], lambda x: x @ torch.from_numpy(w), lambda x: x @ cr.tensor(w))
    check_op([(4, 3)], lambda x: torch.from_numpy(w.T.copy()) @ x,
             lambda x: cr.tensor(w.T.copy()) @ x)
    # an ndarray on the left hands over to Tensor.__rmatmul__
    x = cr.randn(3, 2, requires_grad=True)
    y = w @ x
    assert isinstance(y, cr.Tensor) and y.shape == (4, 2)


def test_mm_dot_outer():
    check_op([(3, 4), (4, 2)], torch.mm, cr.mm)
    check_op([(3, 4), (4, 2)], lambda a, b: a.mm(b))
    check_op([(5,), (5,)], torch.dot, cr.dot)
    check_op([(3,), (4,)], torch.outer, cr.outer)


@pytest.mark.parametrize("a,b", [((3, 4), (5, 6)), ((4,), (3,)), ((2, 3, 4), (2, 5, 6)), ((), (3,))],
                         ids=str)
def test_matmul_misaligned_shapes_error(a, b):
    with pytest.raises(ValueError, match=r"matmul: .*" + re.escape(str(a))):
        cr.randn(*a) @ cr.randn(*b)


def test_matmul_batch_mismatch_errors_name_the_op():
    with pytest.raises(ValueError, match="matmul"):
        cr.randn(2, 3, 4) @ cr.randn(3, 4, 5)


def test_mm_and_dot_check_dims():
    with pytest.raises(ValueError, match=r"mm: .*\(2, 3, 4\)"):
        cr.mm(cr.randn(2, 3, 4), cr.randn(4, 2))
    with pytest.raises(ValueError, match="dot"):
        cr.dot(cr.randn(2, 3), cr.randn(3))


# --- linear ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("x_shape", [(5, 4), (4,), (2, 3, 4)], ids=str)
@pytest.mark.parametrize("bias", [True, False])
def test_linear_vs_torch(x_shape, bias):
    shapes = [x_shape, (3, 4)] + ([(3,)] if bias else [])
    check_op(shapes, F.linear, cr.linear, atol=1e-5)
    check_gradcheck(shapes, lambda *a: cr.linear(*a) ** 2)


def test_linear_second_order_and_errors():
    check_second_order([(5, 4), (3, 4), (3,)], lambda x, w, b: F.linear(x, w, b).sigmoid(),
                       lambda x, w, b: cr.linear(x, w, b).sigmoid())
    with pytest.raises(ValueError, match="linear"):
        cr.linear(cr.randn(5, 4), cr.randn(3, 5))
    with pytest.raises(ValueError, match=r"linear: bias shape \(4,\)"):
        cr.linear(cr.randn(5, 4), cr.randn(3, 4), cr.randn(4))


# --- cross_entropy --------------------------------------------------------------------------------

CE_CASES = [
    dict(),
    dict(reduction="sum"),
    dict(reduction="none"),
    dict(label_smoothing=0.1),
    dict(weight=True),
    dict(ignore_index=2),
    dict(weight=True, label_smoothing=0.2),
    dict(weight=True, ignore_index=1),
    dict(weight=True, label_smoothing=0.15, ignore_index=0),
    dict(weight=True, label_smoothing=0.15, ignore_index=0, reduction="sum"),
    dict(weight=True, label_smoothing=0.15, ignore_index=0, reduction="none"),
    dict(label_smoothing=0.3, ignore_index=3, reduction="none"),
]


def _ce_inputs(n=6, c=4, seed=0, spatial=()):
    rng = np.random.default_rng(seed)
    logits = rng.standard_normal((n, c) + spatial).astype(np.float32) * 2
    target = rng.integers(0, c, (n,) + spatial)
    target.flat[0] = 0
    target.flat[1] = 1
    weight = rng.uniform(0.2, 2.0, c).astype(np.float32)
    return logits, target, weight


def _ce_both(case, logits, target, weight):
    kw = dict(case)
    w = kw.pop("weight", False)
    tk = dict(kw, weight=torch.from_numpy(weight) if w else None)
    ck = dict(kw, weight=cr.tensor(weight) if w else None)
    return (lambda x: F.cross_entropy(x, torch.from_numpy(target), **tk),
            lambda x: cr.cross_entropy(x, cr.tensor(target), **ck))


@pytest.mark.parametrize("case", CE_CASES, ids=[str(c) for c in CE_CASES])
@pytest.mark.parametrize("spatial", [(), (3,), (2, 2)], ids=str)
def test_cross_entropy_vs_torch(case, spatial):
    logits, target, weight = _ce_inputs(spatial=spatial)
    torch_fn, cr_fn = _ce_both(case, logits, target, weight)
    check_op(None, torch_fn, cr_fn, inputs=[logits])
    check_gradcheck(None, cr_fn, inputs=[logits.astype(np.float64)], second_order=False)


@pytest.mark.parametrize("case", [dict(), dict(weight=True, label_smoothing=0.1, ignore_index=2)],
                         ids=str)
def test_cross_entropy_second_order_vs_torch(case):
    logits, target, weight = _ce_inputs()
    torch_fn, cr_fn = _ce_both(case, logits, target, weight.astype(np.float64))
    check_second_order(None, torch_fn, cr_fn, inputs=[logits.astype(np.float64)])
    check_gradcheck(None, cr_fn, inputs=[logits.astype(np.float64)])


def test_cross_entropy_probability_targets():
    rng = np.random.default_rng(1)
    logits = rng.standard_normal((5, 3)).astype(np.float32)
    probs = rng.dirichlet(np.ones(3), 5).astype(np.float32)
    weight = np.array([0.5, 1.0, 2.0], dtype=np.float32)
    for kw in (dict(), dict(label_smoothing=0.2), dict(reduction="sum"), dict(reduction="none")):
        check_op(None, lambda x: F.cross_entropy(x, torch.from_numpy(probs), **kw),
                 lambda x: cr.cross_entropy(x, cr.tensor(probs), **kw), inputs=[logits])
    check_op(None,
             lambda x: F.cross_entropy(x, torch.from_numpy(probs), weight=torch.from_numpy(weight)),
             lambda x: cr.cross_entropy(x, cr.tensor(probs), weight=cr.tensor(weight)),
             inputs=[logits])


def test_cross_entropy_single_sample_and_extremes():
    check_op(None, lambda x: F.cross_entropy(x, torch.tensor(2)),
             lambda x: cr.cross_entropy(x, cr.tensor(2)),
             inputs=[np.array([0.5, -1.0, 2.0], dtype=np.float32)])
    big = np.array([[1e4, 0.0, -1e4], [-1e4, 1e4, 0.0]], dtype=np.float32)
    out = check_op(None, lambda x: F.cross_entropy(x, torch.tensor([2, 1])),
                   lambda x: cr.cross_entropy(x, cr.tensor([2, 1])), inputs=[big])
    assert np.isfinite(out[0]._array).all()


def test_cross_entropy_all_ignored_like_torch():
    logits = np.zeros((2, 3), dtype=np.float32)
    target = np.array([1, 1])
    check_op(None, lambda x: F.cross_entropy(x, torch.from_numpy(target), reduction="sum",
                                             ignore_index=1),
             lambda x: cr.cross_entropy(x, cr.tensor(target), reduction="sum", ignore_index=1),
             inputs=[logits])


def test_cross_entropy_errors():
    x = cr.randn(4, 3)
    with pytest.raises(IndexError, match="cross_entropy"):
        cr.cross_entropy(x, cr.tensor([0, 1, 3, 0]))
    with pytest.raises(ValueError, match=r"cross_entropy: target shape \(3,\)"):
        cr.cross_entropy(x, cr.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="reduction"):
        cr.cross_entropy(x, cr.tensor([0, 1, 2, 0]), reduction="avg")
    with pytest.raises(ValueError, match="weight"):
        cr.cross_entropy(x, cr.tensor([0, 1, 2, 0]), weight=cr.ones(4))


@pytest.mark.parametrize("case", [dict(), dict(weight=True), dict(ignore_index=2),
                                  dict(weight=True, ignore_index=0, reduction="none")], ids=str)
def test_cross_entropy_with_masked_logits(case):
    # -inf logits (masked classes) give a finite loss when the target is not masked
    logits = np.array([[0.0, -np.inf, 1.0], [2.0, 0.5, -np.inf], [-np.inf, 1.0, 0.0]],
                      dtype=np.float32)
    target = np.array([0, 1, 2])
    weight = np.array([1.0, 2.0, 0.5], dtype=np.float32)
    torch_fn, cr_fn = _ce_both(case, logits, target, weight)
    out = check_op(None, torch_fn, cr_fn, inputs=[logits])
    assert np.isfinite(out[0]._array).all()


# --- issue 12: bmm, baddbmm, einsum --------------------------------------------------------

EINSUM_CASES = [
    ("ij,jk->ik", [(3, 4), (4, 5)]),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("ij,ij->", [(3, 4), (3, 4)]),
    ("i,j->ij", [(3,), (4,)]),
    ("ij->ji", [(3, 4)]),
    ("ij->j", [(3, 4)]),
    ("ii->i", [(3, 3)]),
    ("ii", [(4, 4)]),
    ("iij->ij", [(3, 3, 2)]),
    ("ij,jk", [(2, 3), (3, 4)]),                      # implicit output
    ("ba,Ab", [(2, 3), (3, 2)]),                       # implicit, capitals sort first
    ("...ij,...jk->...ik", [(2, 3, 4), (4, 5)]),
    ("b...d,bd->b...", [(2, 3, 4, 5), (2, 5)]),
    ("...i,...i", [(2, 3), (3,)]),
    ("bhqd,bhkd->bhqk", [(2, 2, 3, 4), (2, 2, 5, 4)]),  # attention scores
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]),
    ("i,i,i->", [(4,), (4,), (4,)]),
    ("ij,k->ijk", [(2, 3), (4,)]),
    ("ij->", [(2, 3)]),
    ("i j , j k -> i k", [(2, 3), (3, 4)]),             # spaces
    ("ij,ij->ij", [(1, 3), (2, 3)]),                    # a size-1 dim broadcasts
]


@pytest.mark.parametrize("equation,shapes", EINSUM_CASES, ids=[c[0] for c in EINSUM_CASES])
def test_einsum_vs_torch(equation, shapes):
    check_op(shapes, lambda *xs: torch.einsum(equation, *xs),
             lambda *xs: cr.einsum(equation, *xs), atol=1e-5)


@pytest.mark.parametrize("equation,shapes", EINSUM_CASES, ids=[c[0] for c in EINSUM_CASES])
def test_einsum_gradcheck_and_second_order(equation, shapes):
    check_gradcheck(shapes, lambda *xs: cr.einsum(equation, *xs) ** 2)
    check_second_order(shapes, lambda *xs: torch.einsum(equation, *xs).sin(),
                       lambda *xs: cr.einsum(equation, *xs).sin())


def test_einsum_operand_list_constants_and_errors():
    check_op([(2, 3), (3, 4)], lambda a, b: torch.einsum("ij,jk->ik", [a, b]),
             lambda a, b: cr.einsum("ij,jk->ik", [a, b]))
    w = np.random.default_rng(1).standard_normal((3, 4)).astype(np.float32)
    check_op([(2, 3)], lambda a: torch.einsum("ij,jk->ik", a, torch.from_numpy(w)),
             lambda a: cr.einsum("ij,jk->ik", a, cr.tensor(w)))
    with pytest.raises(ValueError, match="einsum: the equation 'ij,jk' has 2 operands"):
        cr.einsum("ij,jk", cr.ones(2, 3))
    with pytest.raises(ValueError, match="einsum: subscripts 'ij' name 2 dims"):
        cr.einsum("ij", cr.ones(2, 3, 4))
    with pytest.raises(ValueError, match="einsum: output subscript 'k'"):
        cr.einsum("ij->k", cr.ones(2, 3))
    with pytest.raises(ValueError, match="einsum"):
        cr.einsum("ij,jk->ik", cr.ones(2, 3), cr.ones(4, 5))


def test_bmm_and_baddbmm_vs_torch():
    check_op([(2, 3, 4), (2, 4, 5)], torch.bmm, cr.bmm, atol=1e-5)
    check_op([(2, 3, 4), (2, 4, 5)], lambda a, b: a.bmm(b), atol=1e-5)
    check_second_order([(2, 3, 4), (2, 4, 5)], lambda a, b: torch.bmm(a, b) ** 2,
                       lambda a, b: cr.bmm(a, b) ** 2)
    for input_shape in [(2, 3, 5), (3, 5), (1, 1, 5)]:
        shapes = [input_shape, (2, 3, 4), (2, 4, 5)]
        check_op(shapes, torch.baddbmm, cr.baddbmm, atol=1e-5)
        check_op(shapes, lambda c, a, b: torch.baddbmm(c, a, b, beta=0.5, alpha=-2.0),
                 lambda c, a, b: cr.baddbmm(c, a, b, beta=0.5, alpha=-2.0), atol=1e-5)
        check_op(shapes, lambda c, a, b: c.baddbmm(a, b, alpha=3), atol=1e-5)
        check_gradcheck(shapes, lambda c, a, b: cr.baddbmm(c, a, b, beta=2.0) ** 2)
    # beta = 0 ignores the input, NaNs included
    nan = cr.full((2, 3, 5), float("nan"))
    out = cr.baddbmm(nan, cr.ones(2, 3, 4), cr.ones(2, 4, 5), beta=0)
    assert out.tolist() == torch.baddbmm(torch.full((2, 3, 5), float("nan")), torch.ones(2, 3, 4),
                                         torch.ones(2, 4, 5), beta=0).tolist()


def test_bmm_errors():
    with pytest.raises(RuntimeError, match="bmm: expected 3-D tensors"):
        cr.bmm(cr.ones(3, 4), cr.ones(4, 5))
    with pytest.raises(RuntimeError, match=r"bmm: shapes \(2, 3, 4\) and \(3, 4, 5\)"):
        cr.bmm(cr.ones(2, 3, 4), cr.ones(3, 4, 5))
    with pytest.raises(RuntimeError, match="baddbmm: input of shape"):
        cr.baddbmm(cr.ones(4, 5), cr.ones(2, 3, 4), cr.ones(2, 4, 5))
