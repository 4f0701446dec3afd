"""chainrule.linalg and its top-level relatives against torch.linalg (torch 2.13).

One table of functions: each row gives the chainrule function, torch's, and how to draw its
inputs (general, symmetric positive-definite, well-conditioned). Every row is checked for
forward values in float32 and float64, gradients against torch's for the same upstream
gradient, and gradcheck / gradgradcheck in float64. Decompositions whose factors are unique
only up to signs are checked through sign-invariant functions of the factors.
"""

import math

import numpy as np
import pytest
import torch

import chainrule as cr
import chainrule.linalg  # noqa: F401 - registers cr.linalg until chainrule/__init__ imports it
from chainrule import linalg
from chainrule.ops import decompositions as D


# --- inputs --------------------------------------------------------------------------------

def general(*shape):
    return lambda rng: rng.standard_normal(shape)


def well_conditioned(*shape):  # far from singular: inv, det, solve are tame
    n = shape[-1]
    return lambda rng: rng.standard_normal(shape) + 3 * np.eye(n)


def spd(*shape):  # symmetric positive-definite, with distinct eigenvalues
    n = shape[-1]

    def draw(rng):
        X = rng.standard_normal(shape)
        return X @ np.swapaxes(X, -1, -2) + n * np.eye(n)
    return draw


def symmetric(*shape):
    def draw(rng):
        X = rng.standard_normal(shape)
        return X + np.swapaxes(X, -1, -2)
    return draw


# --- sign-invariant views of the factors ---------------------------------------------------

def _weights(k, like):
    """Fixed distinct weights (1, 2, ..., k) on ``like``'s framework and dtype."""
    if isinstance(like, torch.Tensor):
        return torch.arange(1, k + 1, dtype=like.dtype)
    return cr.tensor(np.arange(1, k + 1, dtype=like._array.dtype))


def eigh_views(mod):
    def f(A):
        w, Q = mod.eigh(A)
        return w, (Q * _weights(Q.shape[-1], Q)) @ Q.mT
    return f


def svd_views(mod, full_matrices):
    def f(A):
        U, S, Vh = mod.svd(A, full_matrices=full_matrices)
        k = S.shape[-1]
        U, Vh = U[..., :, :k], Vh[..., :k, :]
        c = _weights(k, S)
        # U diag(c) Vh, U diag(c) U^T, V diag(c) V^T: unchanged when a pair flips sign
        return S, (U * c) @ Vh, (U * c) @ U.mT, (Vh.mT * c) @ Vh
    return f


def qr_views(mod):
    def f(A):
        Q, R = mod.qr(A)
        return Q, R   # numpy and torch call the same LAPACK routines: the same signs
    return f


def svd_vectors_only(mod):
    def f(A):   # gS undefined: only the singular vectors carry a gradient
        U, S, Vh = mod.svd(A, full_matrices=False)
        c = _weights(S.shape[-1], S)
        return (U * c) @ Vh
    return f


def on_symmetric(fn):
    """fn of the symmetric part of A: gradcheck perturbs one entry at a time, while these
    functions read one triangle and give the symmetric gradient (as torch's gradcheck does)."""
    return lambda A: fn((A + A.mT) / 2)


def slogdet_parts(mod):
    def f(A):
        sign, logabsdet = mod.slogdet(A)
        return sign, logabsdet
    return f


# (id, chainrule function, torch function, input draws, second derivatives checked);
# gradcheck sees the rows named in SYMMETRIC_INPUT through ``on_symmetric``
CASES = [
    ("inv", linalg.inv, torch.linalg.inv, [well_conditioned(3, 3)], True),
    ("inv_batched", linalg.inv, torch.linalg.inv, [well_conditioned(2, 2, 3, 3)], True),
    ("inverse", D.inverse, torch.inverse, [well_conditioned(3, 3)], True),
    ("det", linalg.det, torch.linalg.det, [general(3, 3)], True),
    ("det_batched", linalg.det, torch.linalg.det, [general(4, 2, 2)], True),
    ("det_top", D.det, torch.det, [general(1, 1)], True),
    ("slogdet", slogdet_parts(linalg), slogdet_parts(torch.linalg), [general(2, 3, 3)], True),
    ("logdet", D.logdet, torch.logdet, [spd(2, 3, 3)], True),
    ("solve_matrix", linalg.solve, torch.linalg.solve,
     [well_conditioned(3, 3), general(3, 2)], True),
    ("solve_vector", linalg.solve, torch.linalg.solve,
     [well_conditioned(3, 3), general(3)], True),
    ("solve_batch_vectors", linalg.solve, torch.linalg.solve,
     [well_conditioned(2, 3, 3), general(2, 3)], True),
    ("solve_broadcast", linalg.solve, torch.linalg.solve,
     [well_conditioned(3, 3), general(2, 3, 2)], True),
    ("solve_right", lambda A, B: linalg.solve(A, B, left=False),
     lambda A, B: torch.linalg.solve(A, B, left=False),
     [well_conditioned(3, 3), general(2, 3)], True),
    ("cholesky", linalg.cholesky, torch.linalg.cholesky, [spd(3, 3)], True),
    ("cholesky_batched_upper", lambda A: linalg.cholesky(A, upper=True),
     lambda A: torch.linalg.cholesky(A, upper=True), [spd(2, 3, 3)], True),
    ("qr_tall", qr_views(linalg), qr_views(torch.linalg), [general(4, 3)], True),
    ("qr_square_batched", qr_views(linalg), qr_views(torch.linalg), [general(2, 3, 3)], True),
    ("qr_wide", qr_views(linalg), qr_views(torch.linalg), [general(2, 4)], True),
    ("qr_complete_wide", lambda A: linalg.qr(A, mode="complete"),
     lambda A: torch.linalg.qr(A, mode="complete"), [general(2, 3)], False),
    ("eigh", eigh_views(linalg), eigh_views(torch.linalg), [symmetric(3, 3)], True),
    ("eigh_batched", eigh_views(linalg), eigh_views(torch.linalg), [symmetric(2, 4, 4)], False),
    ("eigvalsh", linalg.eigvalsh, torch.linalg.eigvalsh, [symmetric(2, 3, 3)], True),
    ("eigvalsh_upper", lambda A: linalg.eigvalsh(A, UPLO="U"),
     lambda A: torch.linalg.eigvalsh(A, UPLO="U"), [general(3, 3)], False),
    ("svd_tall", svd_views(linalg, False), svd_views(torch.linalg, False), [general(4, 3)],
     True),
    ("svd_wide_full", svd_views(linalg, True), svd_views(torch.linalg, True), [general(2, 4)],
     True),
    ("svd_tall_full_batched", svd_views(linalg, True), svd_views(torch.linalg, True),
     [general(2, 4, 3)], False),
    ("svd_vectors_only", svd_vectors_only(linalg), svd_vectors_only(torch.linalg),
     [general(3, 3)], True),
    ("svdvals", linalg.svdvals, torch.linalg.svdvals, [general(2, 3, 4)], True),
    ("pinv_tall", linalg.pinv, torch.linalg.pinv, [general(4, 3)], True),
    ("pinv_wide_batched", linalg.pinv, torch.linalg.pinv, [general(2, 2, 3)], True),
    ("pinv_hermitian", lambda A: linalg.pinv(A, hermitian=True),
     lambda A: torch.linalg.pinv(A, hermitian=True), [spd(3, 3)], False),
    ("vector_norm_2", linalg.vector_norm, torch.linalg.vector_norm, [general(3, 4)], True),
    ("vector_norm_3_dim", lambda x: linalg.vector_norm(x, 3, dim=1, keepdim=True),
     lambda x: torch.linalg.vector_norm(x, 3, dim=1, keepdim=True), [general(3, 4)], True),
    ("vector_norm_1", lambda x: linalg.vector_norm(x, 1, dim=(0, 2)),
     lambda x: torch.linalg.vector_norm(x, 1, dim=(0, 2)), [general(2, 3, 4)], False),
    ("vector_norm_half", lambda x: linalg.vector_norm(x, 0.5, dim=-1),
     lambda x: torch.linalg.vector_norm(x, 0.5, dim=-1), [general(2, 5)], True),
    ("vector_norm_inf", lambda x: linalg.vector_norm(x, math.inf, dim=0),
     lambda x: torch.linalg.vector_norm(x, math.inf, dim=0), [general(4, 3)], False),
    ("vector_norm_-inf", lambda x: linalg.vector_norm(x, -math.inf),
     lambda x: torch.linalg.vector_norm(x, -math.inf), [general(4, 3)], False),
    ("vector_norm_0", lambda x: linalg.vector_norm(x, 0, dim=1),
     lambda x: torch.linalg.vector_norm(x, 0, dim=1), [general(2, 3)], False),
    ("matrix_norm_fro", linalg.matrix_norm, torch.linalg.matrix_norm, [general(2, 3, 4)], True),
    ("matrix_norm_nuc", lambda A: linalg.matrix_norm(A, "nuc"),
     lambda A: torch.linalg.matrix_norm(A, "nuc"), [general(2, 3, 4)], True),
    ("matrix_norm_2_dims", lambda A: linalg.matrix_norm(A, 2, dim=(0, 2), keepdim=True),
     lambda A: torch.linalg.matrix_norm(A, 2, dim=(0, 2), keepdim=True), [general(3, 2, 4)],
     True),
    ("matrix_norm_-2", lambda A: linalg.matrix_norm(A, -2),
     lambda A: torch.linalg.matrix_norm(A, -2), [general(3, 3)], False),
    ("matrix_norm_1", lambda A: linalg.matrix_norm(A, 1),
     lambda A: torch.linalg.matrix_norm(A, 1), [general(2, 3, 4)], False),
    ("matrix_norm_-1_keepdim", lambda A: linalg.matrix_norm(A, -1, keepdim=True),
     lambda A: torch.linalg.matrix_norm(A, -1, keepdim=True), [general(3, 4)], False),
    ("matrix_norm_inf_dims", lambda A: linalg.matrix_norm(A, math.inf, dim=(2, 0)),
     lambda A: torch.linalg.matrix_norm(A, math.inf, dim=(2, 0)), [general(3, 2, 4)], False),
    ("matrix_norm_-inf", lambda A: linalg.matrix_norm(A, -math.inf),
     lambda A: torch.linalg.matrix_norm(A, -math.inf), [general(3, 4)], False),
    ("norm_default", linalg.norm, torch.linalg.norm, [general(2, 3, 4)], True),
    ("norm_default_keepdim", lambda x: linalg.norm(x, keepdim=True),
     lambda x: torch.linalg.norm(x, keepdim=True), [general(2, 3)], False),
    ("norm_vector_ord", lambda x: linalg.norm(x, 3), lambda x: torch.linalg.norm(x, 3),
     [general(5)], False),
    ("norm_matrix_ord", lambda x: linalg.norm(x, "nuc"), lambda x: torch.linalg.norm(x, "nuc"),
     [general(3, 4)], False),
    ("norm_matrix_2", lambda x: linalg.norm(x, 2), lambda x: torch.linalg.norm(x, 2),
     [general(3, 4)], False),
    ("norm_dim_int", lambda x: linalg.norm(x, dim=1), lambda x: torch.linalg.norm(x, dim=1),
     [general(2, 3, 4)], False),
    ("norm_dims_pair", lambda x: linalg.norm(x, 1, dim=(0, 1)),
     lambda x: torch.linalg.norm(x, 1, dim=(0, 1)), [general(3, 4, 2)], False),
    ("trace", D.trace, torch.trace, [general(3, 4)], True),
    ("kron", D.kron, torch.kron, [general(2, 3), general(3, 2)], True),
    ("kron_ndim", D.kron, torch.kron, [general(2, 1, 2), general(3, 2)], False),
    ("addmm", cr.addmm, torch.addmm, [general(2, 4), general(2, 3), general(3, 4)], True),
    ("addmm_scaled", lambda i, a, b: cr.addmm(i, a, b, beta=0.5, alpha=-2.0),
     lambda i, a, b: torch.addmm(i, a, b, beta=0.5, alpha=-2.0),
     [general(4), general(2, 3), general(3, 4)], True),
    ("cdist", D.cdist, torch.cdist, [general(3, 2), general(4, 2)], True),
    ("cdist_batched_p1", lambda a, b: D.cdist(a, b, p=1.0),
     lambda a, b: torch.cdist(a, b, p=1.0), [general(2, 3, 2), general(1, 4, 2)], False),
    ("cdist_p3", lambda a, b: D.cdist(a, b, p=3.0),
     lambda a, b: torch.cdist(a, b, p=3.0), [general(3, 2), general(2, 2)], True),
    ("cdist_inf", lambda a, b: D.cdist(a, b, p=math.inf),
     lambda a, b: torch.cdist(a, b, p=math.inf), [general(3, 2), general(2, 2)], False),
]

IDS = [c[0] for c in CASES]
SYMMETRIC_INPUT = {"cholesky", "cholesky_batched_upper", "eigh", "eigh_batched", "eigvalsh",
                   "eigvalsh_upper", "pinv_hermitian"}


def _draw(draws, seed):
    rng = np.random.default_rng(seed)
    return [d(rng) for d in draws]


def _as_tuple(out):
    return tuple(out) if isinstance(out, tuple) else (out,)


def _run(fn, arrays, framework, dtype):
    if framework == "torch":
        xs = [torch.tensor(a, dtype=dtype, requires_grad=True) for a in arrays]
    else:
        xs = [cr.tensor(a.astype(dtype), requires_grad=True) for a in arrays]
    return xs, _as_tuple(fn(*xs))


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_forward_and_gradient_vs_torch(case, dtype):
    name, cr_fn, torch_fn, draws, _ = case
    arrays = _draw(draws, seed=len(name))
    tol = dict(rtol=2e-4, atol=2e-5) if dtype == np.float32 else dict(rtol=1e-9, atol=1e-10)
    xs, outs = _run(cr_fn, arrays, "cr", dtype)
    txs, touts = _run(torch_fn, arrays, "torch", getattr(torch, np.dtype(dtype).name))
    assert len(outs) == len(touts), name
    for o, t in zip(outs, touts):
        assert tuple(o.shape) == tuple(t.shape), f"{name}: shape {tuple(o.shape)} vs {t.shape}"
        assert str(o.dtype).split(".")[-1] == str(t.dtype).split(".")[-1], name
        np.testing.assert_allclose(o.detach().numpy(), t.detach().numpy(), err_msg=name, **tol)
    # the same upstream gradient through both
    rng = np.random.default_rng(7)
    weights = [rng.standard_normal(tuple(t.shape)) for t in touts]
    loss = sum((o * cr.tensor(w.astype(dtype))).sum() for o, w, t in zip(outs, weights, touts)
               if t.requires_grad)
    tloss = sum((t * torch.tensor(w, dtype=t.dtype)).sum() for t, w in zip(touts, weights)
                if t.requires_grad)
    loss.backward()
    tloss.backward()
    for i, (x, tx) in enumerate(zip(xs, txs)):
        if tx.grad is None:   # torch gives no gradient at all (vector_norm with ord 0)
            assert x.grad is None or not np.any(x.grad.numpy()), f"{name}: input {i}"
            continue
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(),
                                   err_msg=f"{name}: gradient of input {i}",
                                   rtol=tol["rtol"] * 10, atol=tol["atol"] * 10)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_gradcheck(case):
    name, cr_fn, _, draws, second = case
    if name in SYMMETRIC_INPUT:
        cr_fn = on_symmetric(cr_fn)
    xs = [cr.tensor(a, dtype=cr.float64, requires_grad=True) for a in _draw(draws, seed=3)]
    assert cr.autograd.gradcheck(cr_fn, tuple(xs))
    if second:
        assert cr.autograd.gradgradcheck(cr_fn, tuple(xs))


# --- values and edge cases -----------------------------------------------------------------

def test_eigh_ascending_and_reconstructs():
    A = symmetric(2, 4, 4)(np.random.default_rng(0))
    w, Q = linalg.eigh(cr.tensor(A))
    assert np.all(np.diff(w.numpy(), axis=-1) > 0)
    np.testing.assert_allclose((Q * w.unsqueeze(-2)) @ Q.mT, A, atol=1e-10)


def test_svd_full_matrices_shapes_and_reconstruction():
    A = general(2, 5, 3)(np.random.default_rng(1))
    U, S, Vh = linalg.svd(cr.tensor(A))
    assert (U.shape, S.shape, Vh.shape) == ((2, 5, 5), (2, 3), (2, 3, 3))
    np.testing.assert_allclose((U[..., :3] * S.unsqueeze(-2)) @ Vh, A, atol=1e-10)


def test_det_of_singular_matrix_is_zero_with_the_cofactors_as_gradient():
    # torch 2.13 gives zeros here (det * A^-T with det = 0); the derivative of det is the
    # cofactor matrix, non-zero for a matrix of rank n - 1, and that is what we give
    A = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 0.0, 1.0]])
    x = cr.tensor(A, requires_grad=True)
    d = linalg.det(x)
    assert abs(d.item()) < 1e-12
    d.backward()
    cofactors = np.array([[(-1) ** (i + j) * np.linalg.det(np.delete(np.delete(A, i, 0), j, 1))
                           for j in range(3)] for i in range(3)])
    assert np.abs(cofactors).max() > 1
    np.testing.assert_allclose(x.grad.numpy(), cofactors, atol=1e-10)


def test_slogdet_of_negative_and_singular():
    A = cr.tensor([[[0.0, 1.0], [1.0, 0.0]], [[1.0, 1.0], [1.0, 1.0]]], dtype=cr.float64)
    sign, logabsdet = linalg.slogdet(A)
    np.testing.assert_array_equal(sign.numpy(), [-1.0, 0.0])
    assert logabsdet.numpy()[0] == 0.0 and logabsdet.numpy()[1] == -np.inf
    logdet = D.logdet(A).numpy()
    assert np.isnan(logdet[0]) and logdet[1] == -np.inf


def test_matrix_rank_matches_torch():
    rng = np.random.default_rng(2)
    A = rng.standard_normal((3, 5, 2)) @ rng.standard_normal((3, 2, 4))  # rank 2
    A[1] = 0.0
    for kwargs in ({}, {"atol": 1.0}, {"rtol": 0.5}, {"hermitian": False}):
        got = linalg.matrix_rank(cr.tensor(A), **kwargs)
        want = torch.linalg.matrix_rank(torch.tensor(A), **kwargs)
        assert got.dtype == cr.int64
        np.testing.assert_array_equal(got.numpy(), want.numpy())
    S = spd(4, 4)(rng)
    assert linalg.matrix_rank(cr.tensor(S), hermitian=True).item() == 4
    assert not linalg.matrix_rank(cr.tensor(A, requires_grad=True)).requires_grad


def test_pinv_of_rank_deficient_matrix_matches_torch():
    A = np.array([[1.0, 2.0], [2.0, 4.0], [0.0, 0.0]])
    np.testing.assert_allclose(linalg.pinv(cr.tensor(A)).numpy(),
                               torch.linalg.pinv(torch.tensor(A)).numpy(), atol=1e-12)


def test_vector_norm_gradient_at_zero_is_zero_as_torchs():
    x = cr.zeros(3, dtype=cr.float64, requires_grad=True)
    linalg.vector_norm(x).backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros(3))
    a = cr.tensor([[0.0, 0.0]], dtype=cr.float64, requires_grad=True)
    D.cdist(a, a).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), np.zeros((1, 2)))


def test_vector_norm_of_0d_tensor_and_dtype_argument():
    x = cr.tensor(-3.0)
    assert linalg.vector_norm(x).shape == () and linalg.vector_norm(x).item() == 3.0
    y = linalg.vector_norm(cr.tensor([3.0, 4.0]), dtype=cr.float64)
    assert y.dtype == cr.float64 and y.item() == 5.0


def test_inf_norm_gradient_splits_ties_as_torch():
    data = np.array([3.0, -3.0, 1.0])
    x = cr.tensor(data, requires_grad=True)
    t = torch.tensor(data, requires_grad=True)
    linalg.vector_norm(x, math.inf).backward()
    torch.linalg.vector_norm(t, math.inf).backward()
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy())


def test_cholesky_reads_only_the_lower_triangle():
    A = spd(3, 3)(np.random.default_rng(4))
    B = np.tril(A) + np.triu(np.full((3, 3), 100.0), 1)
    np.testing.assert_allclose(linalg.cholesky(cr.tensor(B)).numpy(),
                               np.linalg.cholesky(A), atol=1e-12)


def test_top_level_examples():
    assert D.trace(cr.tensor([[1, 2], [3, 4]])).item() == 5
    np.testing.assert_array_equal(D.kron(cr.eye(2), cr.ones(1, 2)).numpy(),
                                  [[1, 1, 0, 0], [0, 0, 1, 1]])
    nan_input = cr.full((2, 2), float("nan"))
    out = cr.addmm(nan_input, cr.eye(2), cr.ones(2, 2), beta=0)
    np.testing.assert_array_equal(out.numpy(), np.ones((2, 2)))


def test_second_derivative_of_det_at_singular_matrix_is_refused():
    A = cr.tensor([[1.0, 2.0], [2.0, 4.0]], dtype=cr.float64, requires_grad=True)
    (g,) = cr.autograd.grad(linalg.det(A), A)     # first order: finite, the adjugate
    np.testing.assert_allclose(g.numpy(), [[4.0, -2.0], [-2.0, 1.0]])
    with pytest.raises(linalg.LinAlgError, match="det: second derivatives"):
        cr.autograd.grad(linalg.det(A), A, create_graph=True)


# --- errors --------------------------------------------------------------------------------

def test_linalg_error_is_a_runtime_error_as_torchs():
    assert issubclass(linalg.LinAlgError, RuntimeError)
    assert issubclass(torch.linalg.LinAlgError, RuntimeError)


@pytest.mark.parametrize("fn, torch_fn, arrays", [
    (linalg.inv, torch.linalg.inv, [np.zeros((2, 2))]),
    (linalg.inv, torch.linalg.inv, [np.array([[[1.0, 0.0], [0.0, 1.0]], [[1.0, 2.0], [2.0, 4.0]]])]),
    (linalg.solve, torch.linalg.solve, [np.array([[1.0, 1.0], [1.0, 1.0]]), np.ones(2)]),
    (linalg.cholesky, torch.linalg.cholesky, [np.array([[1.0, 2.0], [2.0, 1.0]])]),
], ids=["inv_zero", "inv_batch_singular", "solve_singular", "cholesky_not_pd"])
def test_factorization_failures_raise_linalg_error(fn, torch_fn, arrays):
    with pytest.raises(torch.linalg.LinAlgError):
        torch_fn(*[torch.tensor(a) for a in arrays])
    with pytest.raises(linalg.LinAlgError, match=r"^linalg\.\w+: .*\(inputs: "):
        fn(*[cr.tensor(a) for a in arrays])


@pytest.mark.parametrize("fn", [linalg.inv, linalg.det, linalg.slogdet, linalg.cholesky,
                                linalg.eigh, linalg.eigvalsh, D.logdet],
                         ids=lambda f: f.__name__)
def test_non_square_refused(fn):
    with pytest.raises(RuntimeError, match=r"square matrices, but they are 2 by 3"):
        fn(cr.ones(2, 3))


@pytest.mark.parametrize("fn", [linalg.inv, linalg.det, linalg.svd, linalg.qr, linalg.svdvals,
                                linalg.pinv, linalg.matrix_rank])
def test_one_dimensional_input_refused(fn):
    with pytest.raises(RuntimeError, match=r"at least 2 dimensions"):
        fn(cr.ones(3))


@pytest.mark.parametrize("name", ["inv", "det", "cholesky", "qr", "eigh", "svd", "svdvals",
                                  "pinv", "vector_norm", "matrix_norm", "norm", "slogdet"])
def test_integer_dtypes_refused_as_torch(name):
    data = np.array([[2, 1], [1, 2]])
    with pytest.raises(RuntimeError):
        getattr(torch.linalg, name)(torch.tensor(data))
    with pytest.raises(RuntimeError, match=rf"linalg\.{name}: Expected a float32 or float64 "
                                           r"tensor as input\. Got Long"):
        getattr(linalg, name)(cr.tensor(data))


def test_other_errors_name_the_op():
    A = cr.eye(3)
    with pytest.raises(RuntimeError, match="linalg.solve: Incompatible shapes"):
        linalg.solve(A, cr.ones(2, 2))
    with pytest.raises(RuntimeError, match="linalg.solve: Expected A and B to have the same"):
        linalg.solve(A, cr.ones(3, dtype=cr.float64))
    with pytest.raises(RuntimeError, match="linalg.qr: qr received unrecognized mode"):
        linalg.qr(A, mode="economic")
    with pytest.raises(RuntimeError, match="linalg.qr: The derivative .* mode='r'"):
        linalg.qr(cr.eye(3, requires_grad=True), mode="r")
    Q, R = linalg.qr(A, mode="r")
    assert Q.shape == (0,) and R.shape == (3, 3)
    with pytest.raises(RuntimeError, match="linalg.eigh: Expected UPLO"):
        linalg.eigh(A, UPLO="X")
    with pytest.raises(RuntimeError, match="linalg.vector_norm: ord must be a number"):
        linalg.vector_norm(A, "fro")
    with pytest.raises(RuntimeError, match="linalg.matrix_norm: Order 3 not supported"):
        linalg.matrix_norm(A, 3)
    with pytest.raises(RuntimeError, match="linalg.matrix_norm: dim must be a 2-tuple"):
        linalg.matrix_norm(A, dim=(0,))
    with pytest.raises(RuntimeError, match="linalg.norm: If dim is not specified but ord is, "
                                           "the input must be 1D or 2D. Got 3D"):
        linalg.norm(cr.ones(2, 2, 2), ord=2)
    with pytest.raises(RuntimeError, match="trace: expected a matrix"):
        D.trace(cr.ones(3))
    with pytest.raises(RuntimeError, match=r"addmm: mat1 and mat2 shapes cannot be multiplied "
                                           r"\(2x3 and 2x3\)"):
        cr.addmm(cr.ones(2, 3), cr.ones(2, 3), cr.ones(2, 3))
    with pytest.raises(RuntimeError, match="cdist: X1 and X2 must have the same number of "
                                           "columns"):
        D.cdist(cr.ones(2, 3), cr.ones(2, 4))
    with pytest.raises(RuntimeError, match="cdist: only supports non-negative p"):
        D.cdist(cr.ones(2, 3), cr.ones(2, 3), p=-1.0)
    with pytest.raises(TypeError, match=r"linalg.inv\(\): argument 'A' must be Tensor"):
        linalg.inv([[1.0]])


@pytest.mark.parametrize("upper", [False, True])
@pytest.mark.parametrize("left", [True, False])
@pytest.mark.parametrize("unitriangular", [False, True])
def test_solve_triangular_as_torch(upper, left, unitriangular):
    rng = np.random.default_rng(8)
    a = rng.standard_normal((2, 3, 3)) + 3 * np.eye(3)
    b = rng.standard_normal((2, 3, 4)) if left else rng.standard_normal((2, 4, 3))
    kw = dict(upper=upper, left=left, unitriangular=unitriangular)
    A, B = cr.tensor(a, requires_grad=True), cr.tensor(b, requires_grad=True)
    tA, tB = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    X, tX = cr.linalg.solve_triangular(A, B, **kw), torch.linalg.solve_triangular(tA, tB, **kw)
    np.testing.assert_allclose(X.detach().numpy(), tX.detach().numpy(), rtol=1e-10)
    w = rng.standard_normal(tuple(tX.shape))
    (X * cr.tensor(w)).sum().backward()
    (tX * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(A.grad.numpy(), tA.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(B.grad.numpy(), tB.grad.numpy(), rtol=1e-9, atol=1e-12)
